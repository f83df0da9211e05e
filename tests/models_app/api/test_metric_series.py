"""GET /api/v1/models/{name}/metrics/: series downsampled in the database."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from models_app import ingest
from models_app.models import ModelVersion

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def store(model, values, stage="production", name="acc", every=timedelta(minutes=1)):
    version = ModelVersion.objects.get(model=model, version="1")
    rows = [
        {"name": name, "value": float(v), "timestamp": T0 + i * every, "step": i, "stage": stage}
        for i, v in enumerate(values)
    ]
    ingest.record_metrics(version, rows)


def series(api, model, query):
    response = api.get(f"/api/v1/models/{model.name}/metrics/?{query}")
    assert response.status_code == 200, response.content
    return response.json()


def test_buckets_keep_true_extremes_and_count_weighted_mean(api, model):
    values = np.random.default_rng(1).normal(size=1000)
    store(model, values)
    points = series(api, model, "name=acc&max_points=37")["points"]
    assert len(points) <= 37
    assert sum(p["count"] for p in points) == 1000
    assert min(p["min"] for p in points) == pytest.approx(values.min(), abs=1e-12)
    assert max(p["max"] for p in points) == pytest.approx(values.max(), abs=1e-12)
    mean = sum(p["value"] * p["count"] for p in points) / 1000
    assert mean == pytest.approx(values.mean(), abs=1e-9)


@pytest.mark.parametrize("max_points", [1, 2, 10, 100, 2000])
def test_max_points_is_honoured(api, model, max_points):
    store(model, range(500))
    points = series(api, model, f"name=acc&max_points={max_points}")["points"]
    assert len(points) <= max_points
    assert sum(p["count"] for p in points) == 500
    if max_points >= 500:
        assert [p["value"] for p in points] == list(map(float, range(500)))


def test_start_and_end_bound_the_series(api, model):
    store(model, range(100))
    start = (T0 + timedelta(minutes=10)).isoformat().replace("+00:00", "Z")
    end = (T0 + timedelta(minutes=19)).isoformat().replace("+00:00", "Z")
    points = series(api, model, f"name=acc&start={start}&end={end}")["points"]
    assert [p["value"] for p in points] == [float(v) for v in range(10, 20)]
    assert points[0]["timestamp"] == start


def test_a_stage_is_chosen_and_required_when_several_exist(api, model):
    store(model, [1, 2], stage="train", name="loss")
    store(model, [5], stage="validation", name="loss")
    assert api.get(f"/api/v1/models/{model.name}/metrics/?name=loss").status_code == 400
    body = series(api, model, "name=loss&stage=validation")
    assert body["stage"] == "validation"
    assert [p["value"] for p in body["points"]] == [5.0]


def test_an_unknown_metric_gives_an_empty_series(api, model):
    assert series(api, model, "name=nothing")["points"] == []


@pytest.mark.parametrize(
    "query", ["", "name=a&max_points=0", "name=a&start=garbage", "name=a&stage=nope"]
)
def test_bad_queries_are_refused_with_400(api, model, query):
    assert api.get(f"/api/v1/models/{model.name}/metrics/?{query}").status_code == 400
