"""The model page: a heatmap cell's distribution, folded sections, alerts grouped by rule,
acknowledging a rule's alerts at once."""

import base64
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from django.test import Client

from access.roles import grant
from alerts_app.models import Alert, AlertRule
from models_app.models import Model, ModelVersion
from tests.factories import make_model, make_user
from tests.frontend.conftest import NOW

pytestmark = pytest.mark.django_db

CELL = "/models/churn/figures/drift-cell.json"
DRIFT = "/models/churn/figures/drift.json"


def cell(client, **params):
    return client.get(CELL, {"range": "24h", **params})


def decoded(array: dict) -> np.ndarray:
    """A Plotly binary array ({"dtype", "bdata"}) as numpy."""
    return np.frombuffer(base64.b64decode(array["bdata"]), dtype=array["dtype"])


def column_times(client) -> np.ndarray:
    """The heatmap's column times (epoch ms), as the browser reads them from the figure."""
    return decoded(client.get(DRIFT, {"range": "24h"}).json()["data"][0]["x"])


def test_a_cell_answers_the_distribution_behind_it(browser_client, watched, frozen_now):
    """The last column holds the result of NOW-1h: age by PSI, 0.1 against 0.2."""
    last = column_times(browser_client)[-1]
    response = cell(browser_client, feature="age", at=str(last))
    assert response.status_code == 200, response.content
    fig = response.json()
    reference, current = fig["data"]
    assert reference["x"] == ["&lt; 35", "[35, 50)", "≥ 50"]  # escaped for Plotly
    np.testing.assert_allclose(decoded(reference["y"]), [0.4, 0.4, 0.2])
    meta = fig["layout"]["meta"]
    assert meta["feature"] == "age" and meta["rule"] == "drift"
    assert meta["evaluated_at"] == "2026-03-02T11:00:00Z"
    assert meta["score"] == pytest.approx(0.5) and meta["drifted"] is False
    assert meta["window"][1] == "2026-03-02T11:00:00Z"
    assert "score 0.5×" in fig["layout"]["title"]["text"]


def test_a_cell_takes_the_time_plotly_sends_or_epoch_milliseconds(
    browser_client, watched, frozen_now
):
    last = column_times(browser_client)[-1]
    moment = datetime.fromtimestamp(last / 1000, tz=UTC)
    plotly = cell(browser_client, feature="age", at=moment.strftime("%Y-%m-%d %H:%M:%S.%f")[:-2])
    millis = cell(browser_client, feature="age", at=str(last))
    assert plotly.status_code == millis.status_code == 200
    assert plotly.json()["layout"]["meta"] == millis.json()["layout"]["meta"]


def test_an_unknown_feature_or_an_empty_bucket_is_a_json_404(browser_client, watched, frozen_now):
    at = str(column_times(browser_client)[-1])
    unknown = cell(browser_client, feature="height", at=at)
    assert unknown.status_code == 404
    assert unknown.json() == {"detail": "No drift result for that feature in that bucket."}
    empty = cell(browser_client, feature="age", at=(NOW - timedelta(minutes=30)).isoformat())
    assert empty.status_code == 404  # results are hourly, buckets 12 minutes wide
    outside = cell(browser_client, feature="age", at=(NOW - timedelta(days=3)).isoformat())
    assert outside.status_code == 404


def test_a_cell_without_a_time_is_400_naming_it(browser_client, watched, frozen_now):
    response = cell(browser_client, feature="age")
    assert response.status_code == 400
    assert response.json() == {"at": ["at (the cell's time) is required."]}
    assert cell(browser_client, feature="age", at="yesterday").json() == {
        "at": ["at must be an ISO-8601 date and time."]
    }


def test_a_user_without_access_to_the_model_gets_no_cell(watched, frozen_now):
    outsider = make_user("outsider")
    grant(make_model("other"), outsider, "admin")
    client = Client()
    client.force_login(outsider)
    at = (NOW - timedelta(hours=1, minutes=6)).isoformat()
    assert cell(client, feature="age", at=at).status_code == 404
    assert cell(Client(), feature="age", at=at).status_code == 401


def test_sections_without_data_fold_into_a_line_saying_how_to_send_it(browser_client, frozen_now):
    bare = Model.objects.create(name="bare", task="binary_classification", last_seen_at=NOW)
    ModelVersion.objects.create(model=bare, version="1")
    html = browser_client.get("/models/bare/").content.decode()
    for section in ("metrics", "serving", "performance", "drift", "training", "weights"):
        assert f'data-fold="{section}"' in html, section
    assert "data-figure=" in html  # the alert timeline stays
    assert 'data-figure="serving"' not in html and 'data-figure="drift"' not in html
    assert "<code>handle.log_predictions(df)</code>" in html
    assert "POST /api/v1/models/bare/predictions/" in html


def test_a_training_run_shows_its_curves_before_serving(browser_client, frozen_now):
    from models_app import ingest

    run = Model.objects.create(name="run", task="multiclass", last_seen_at=NOW)
    version = ModelVersion.objects.create(model=run, version="1")
    ingest.record_metrics(
        version,
        [
            {"name": "loss", "value": 1 / s, "timestamp": NOW, "step": s, "stage": "train"}
            for s in range(1, 5)
        ],
    )
    html = browser_client.get("/models/run/").content.decode()
    assert 'data-figure="training"' in html
    assert html.index("<h2>Training</h2>") < html.index("<h2>Metrics</h2>")
    assert html.index("<h2>Training</h2>") < html.index("<h2>Serving and performance</h2>")


def test_per_feature_alerts_of_one_rule_share_a_row_and_are_acknowledged_together(
    browser_client, watched, frozen_now
):
    rule = AlertRule.objects.get(model=watched, name="drift")
    version = watched.versions.get()
    alerts = [
        Alert.objects.create(
            rule=rule,
            version=version,
            feature=feature,
            fingerprint=f"{rule.pk}:{version.pk}:{feature}",
            state="firing",
            value=0.3,
            threshold=0.2,
            started_at=NOW - timedelta(hours=2),
            last_evaluated=NOW,
        )
        for feature in ("age", "city")
    ]
    response = browser_client.get("/models/churn/")
    rows = response.context["alert_rows"]
    assert [(r["rule"].name, [a.feature for a in r["alerts"]]) for r in rows] == [
        ("accuracy too low", [""]),
        ("drift", ["age", "city"]),
    ]
    html = response.content.decode()
    assert html.count(f'data-rule="{rule.pk}"') == 1
    for alert in alerts:
        assert f'href="/alerts/{alert.pk}/" data-alert-link="{alert.pk}"' in html
    assert f'data-ack="{alerts[0].pk} {alerts[1].pk}"' in html

    response = browser_client.post(
        "/models/churn/acknowledge/", {"alert": [a.pk for a in alerts], "note": "on it"}
    )
    assert response.status_code == 302 and response.url == "/models/churn/"
    assert set(Alert.objects.filter(rule=rule).values_list("acknowledged_note", flat=True)) == {
        "on it"
    }


def test_a_viewer_may_not_acknowledge_a_rule_row(watched, frozen_now):
    from tests.factories import grant_all_models

    viewer = grant_all_models(make_user("reader"), "viewer")
    client = Client()
    client.force_login(viewer)
    alert = Alert.objects.get(state="firing")
    assert client.post("/models/churn/acknowledge/", {"alert": [alert.pk]}).status_code == 403
    assert Alert.objects.get(pk=alert.pk).acknowledged_at is None
