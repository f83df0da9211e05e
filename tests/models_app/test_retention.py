"""Retention: old raw predictions go first, profiles and metrics stay longer."""

from datetime import UTC, datetime, timedelta

from django.test import override_settings

from models_app import ingest
from models_app.models import MetricPoint, PendingLabel, Prediction, Profile
from models_app.retention import prune_telemetry
from tests.factories import make_model

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def prediction(days_ago: int, i: int) -> dict:
    return {
        "id": f"{days_ago}-{i}",
        "timestamp": NOW - timedelta(days=days_ago),
        "features": {"x": i},
        "prediction": 1,
        "scores": None,
        "label": None,
        "latency_ms": None,
        "error": "",
    }


@override_settings(MODELWATCH_RETENTION_DAYS=90, MODELWATCH_PROFILE_RETENTION_DAYS=730)
def test_pruning_removes_only_rows_past_their_retention_in_bounded_batches(db):
    version = make_model().versions.get()
    ingest.record_predictions(version, [prediction(100, i) for i in range(7)])
    ingest.record_predictions(version, [prediction(800, i) for i in range(2)])
    ingest.record_predictions(version, [prediction(10, i) for i in range(3)])
    ingest.record_metrics(
        version,
        [
            {
                "name": "loss",
                "value": 1.0,
                "step": None,
                "stage": "train",
                "timestamp": NOW - timedelta(days=100),
            }
        ],
    )
    PendingLabel.objects.create(
        model=version.model, client_id="x", label=1, received_at=NOW - timedelta(days=91)
    )
    deleted = prune_telemetry(NOW, batch_size=2)
    assert deleted["predictions"] == 9 and deleted["pending_labels"] == 1
    assert Prediction.objects.count() == 3
    assert MetricPoint.objects.count() == 1
    assert Profile.objects.filter(bucket_start__lt=NOW - timedelta(days=730)).count() == 0
    assert Profile.objects.filter(bucket_start__lt=NOW - timedelta(days=90)).exists()


def test_a_bounded_run_stops_after_max_batches(db):
    version = make_model().versions.get()
    ingest.record_predictions(version, [prediction(200, i) for i in range(5)])
    assert prune_telemetry(NOW, batch_size=2, max_batches=2)["predictions"] == 4
    assert Prediction.objects.count() == 1
