"""Labels and predictions that cross in flight are joined by the periodic sweep."""

from datetime import UTC, datetime, timedelta

from models_app import ingest, profiles
from models_app.models import PendingLabel, Prediction
from tests.factories import make_model

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_a_label_left_pending_beside_its_prediction_is_joined_by_the_sweep(db):
    version = make_model().versions.get()
    ingest.record_predictions(version, [{
        "id": "a", "timestamp": T0, "features": {}, "prediction": 1, "scores": None,
        "label": None, "latency_ms": None, "error": ""}])
    PendingLabel.objects.create(model=version.model, client_id="a", label=0)
    PendingLabel.objects.create(model=version.model, client_id="later", label=1)
    assert ingest.join_stale_labels() == 1
    assert Prediction.objects.get().label == 0
    assert list(PendingLabel.objects.values_list("client_id", flat=True)) == ["later"]
    window = profiles.window_profiles(version, T0, T0 + timedelta(minutes=1), ["__label__"])
    assert window["__label__"].count == 1
