"""Labels and predictions that cross in flight are joined by the periodic sweep."""

from datetime import UTC, datetime, timedelta

from models_app import ingest, profiles
from models_app.models import NEVER_CHECKED, PendingLabel, Prediction
from models_app.tasks import rollup_profiles_task
from tests.factories import make_model

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_a_label_left_pending_beside_its_prediction_is_joined_by_the_sweep(db):
    version = make_model().versions.get()
    ingest.record_predictions(
        version,
        [
            {
                "id": "a",
                "timestamp": T0,
                "features": {},
                "prediction": 1,
                "scores": None,
                "label": None,
                "latency_ms": None,
                "error": "",
            }
        ],
    )
    PendingLabel.objects.create(model=version.model, client_id="a", label=0)
    PendingLabel.objects.create(model=version.model, client_id="later", label=1)
    assert ingest.join_stale_labels() == 1
    assert Prediction.objects.get().label == 0
    assert list(PendingLabel.objects.values_list("client_id", flat=True)) == ["later"]
    window = profiles.window_profiles(version, T0, T0 + timedelta(minutes=1), ["__label__"])
    assert window["__label__"].count == 1


def predict(version, *ids: str) -> None:
    ingest.record_predictions(
        version,
        [
            {
                "id": key,
                "timestamp": T0,
                "features": {},
                "prediction": 1,
                "scores": None,
                "label": None,
                "latency_ms": None,
                "error": "",
            }
            for key in ids
        ],
    )


def strand(model, count: int, received_at: datetime) -> None:
    """`count` pending labels of `model` for predictions that never come."""
    PendingLabel.objects.bulk_create(
        [
            PendingLabel(model=model, client_id=f"never-{i}", label=0, received_at=received_at)
            for i in range(count)
        ]
    )


def test_a_model_with_more_stranded_labels_than_the_budget_does_not_starve_another(db, monkeypatch):
    monkeypatch.setattr(ingest, "LABEL_SWEEP_BUDGET", 10)
    noisy, quiet = make_model("noisy"), make_model("quiet").versions.get()
    strand(noisy, 30, T0)  # older than the quiet model's labels, more than a sweep takes
    predict(quiet, "raced")
    # crossed in flight: neither request saw the other, so the label stayed pending
    PendingLabel.objects.create(model=quiet.model, client_id="raced", label=1)
    rollup_profiles_task()  # one round of the periodic rollup
    assert Prediction.objects.get(client_id="raced").label == 1
    assert not PendingLabel.objects.filter(model=quiet.model).exists()
    assert PendingLabel.objects.filter(model=noisy).count() == 30


def test_labels_behind_a_budget_of_stranded_ones_are_reached_in_later_sweeps(db):
    version = make_model().versions.get()
    strand(version.model, 25, T0)  # checked in vain, in turn
    predict(version, "raced")
    # looked at once before its prediction committed: now behind the never-checked ones
    PendingLabel.objects.create(
        model=version.model,
        client_id="raced",
        label=1,
        received_at=T0 + timedelta(hours=1),
        checked_at=T0 + timedelta(hours=2),
    )
    now = T0 + timedelta(days=1)
    joined = [ingest.join_stale_labels(budget=10, now=now + timedelta(minutes=i)) for i in range(4)]
    assert joined == [0, 0, 1, 0]  # 10 + 10 + (5 never-matching, then "raced")
    assert Prediction.objects.get(client_id="raced").label == 1
    assert PendingLabel.objects.count() == 25


def test_a_label_younger_than_the_grace_is_looked_at_again_next_sweep(db):
    version = make_model().versions.get()
    now = T0 + timedelta(days=1)
    strand(version.model, 5, now - timedelta(seconds=30))
    ingest.join_stale_labels(budget=10, now=now)
    assert not PendingLabel.objects.exclude(checked_at=NEVER_CHECKED).exists()
    ingest.join_stale_labels(budget=10, now=now + ingest.LABEL_SWEEP_GRACE)
    assert PendingLabel.objects.filter(checked_at=NEVER_CHECKED).count() == 0


def test_a_newer_label_replaces_a_raced_pending_one_for_good(db):
    version = make_model().versions.get()
    predict(version, "a")
    PendingLabel.objects.create(model=version.model, client_id="a", label=0)  # raced
    ingest.record_labels(version.model, [{"id": "a", "label": 1}])
    assert ingest.join_stale_labels() == 0
    assert Prediction.objects.get(client_id="a").label == 1
