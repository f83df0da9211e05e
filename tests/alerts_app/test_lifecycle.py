"""Applying results to alerts: fingerprints, guarded writes, transitions as the outbox."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from alerts_app import lifecycle
from alerts_app.checks.quality import quality_verdict
from alerts_app.models import Alert, AlertTransition, Delivery, Silence
from alerts_app.rule_config import validate_config
from tests.alerts_app.results import drift_result, result
from tests.factories import make_alert_rule, make_channel, make_model, make_user

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.fixture
def channels(db):
    return [make_channel("hook"), make_channel("mail", "email"), make_channel("off", enabled=False)]


@pytest.fixture
def rule(model, channels):
    return make_alert_rule(model, channels=channels, repeat_interval=0)


def apply(rule, minutes, status="breached", value=0.9, **details):
    return lifecycle.apply_result(rule, result(rule, status, value, **details), at(minutes))


def events(alert) -> list[str]:
    return list(alert.transitions.order_by("created_at", "id").values_list("event", flat=True))


def test_a_breach_fires_one_alert_with_a_delivery_per_enabled_channel(rule):
    (transition,) = apply(rule, 0)
    alert = Alert.objects.get()
    assert (alert.state, alert.started_at, alert.value, alert.threshold) == (
        "firing",
        at(0),
        0.9,
        0.5,
    )
    assert alert.fingerprint == f"rule:{rule.id}|version:-"
    assert (transition.old, transition.new, transition.event) == ("ok", "firing", "firing")
    assert transition.processed == at(0)
    assert sorted(transition.deliveries.values_list("channel__name", "status")) == [
        ("hook", "pending"),
        ("mail", "pending"),
    ]


def test_a_rule_that_never_breaks_stores_no_alert(rule):
    assert apply(rule, 0, "ok", 0.1) == []
    assert apply(rule, 1, "insufficient_data", None) == []
    assert not Alert.objects.exists()


def test_the_message_says_what_broke(rule):
    apply(rule, 0)
    assert Alert.objects.get().message == (
        f"{rule.name} on fraud: metric threshold breaks the rule: value 0.9 vs threshold 0.5."
    )


def test_recovery_resolves_and_notifies_once(rule):
    apply(rule, 0)
    apply(rule, 1, "breached", 0.8)
    apply(rule, 2, "ok", 0.1)
    apply(rule, 3, "ok", 0.1)
    alert = Alert.objects.get()
    assert alert.state == "resolved" and alert.resolved_at == at(2)
    assert events(alert) == ["firing", "resolved"]
    assert Delivery.objects.filter(transition__event="resolved").count() == 2


def test_pending_and_cleared_are_history_without_deliveries(rule):
    rule.pending_for = 300
    apply(rule, 0)
    apply(rule, 1, "ok", 0.1)
    assert events(Alert.objects.get()) == ["pending", "cleared"]
    assert not Delivery.objects.exists()


def test_pending_for_is_measured_across_evaluations(rule):
    rule.pending_for = 120
    for minute in (0, 1, 2, 3):
        apply(rule, minute)
    alert = Alert.objects.get()
    assert events(alert) == ["pending", "firing"]
    assert alert.started_at == at(2) and alert.pending_since == at(0)


def test_insufficient_data_keeps_a_firing_alert_firing(rule):
    apply(rule, 0)
    assert apply(rule, 1, "insufficient_data", None) == []
    alert = Alert.objects.get()
    assert alert.state == "firing" and alert.value == 0.9
    assert alert.last_evaluated == at(1)


def test_hysteresis_uses_the_evaluations_cleared_flag(rule):
    apply(rule, 0, cleared=False)
    apply(rule, 1, "ok", 0.45, cleared=False)
    assert Alert.objects.get().state == "firing"
    apply(rule, 2, "ok", 0.3, cleared=True)
    assert Alert.objects.get().state == "resolved"


def test_repeats_go_out_every_repeat_interval_while_firing(rule):
    rule.repeat_interval = 120
    for minute in range(5):
        apply(rule, minute)
    alert = Alert.objects.get()
    assert events(alert) == ["firing", "repeat", "repeat"]
    assert alert.last_notified_at == at(4)
    repeat = alert.transitions.filter(event="repeat").first()
    assert (repeat.old, repeat.new) == ("firing", "firing")
    assert repeat.deliveries.count() == 2


def test_an_acknowledged_alert_stops_repeating_but_still_resolves(rule):
    rule.repeat_interval = 60
    apply(rule, 0)
    assert lifecycle.acknowledge(Alert.objects.get().id, make_user(), at(0.5)) is not None
    for minute in (1, 2, 3):
        apply(rule, minute)
    apply(rule, 4, "ok", 0.1)
    assert events(Alert.objects.get()) == ["firing", "acknowledged", "resolved"]
    assert Delivery.objects.filter(transition__event="resolved", status="pending").count() == 2


def test_a_new_firing_episode_forgets_the_acknowledgement(rule):
    apply(rule, 0)
    lifecycle.acknowledge(Alert.objects.get().id, make_user(), at(0.5))
    apply(rule, 1, "ok", 0.1)
    apply(rule, 2)
    alert = Alert.objects.get()
    assert alert.acknowledged_at is None and alert.acknowledged_by is None


def test_only_pending_or_firing_alerts_can_be_acknowledged(rule):
    apply(rule, 0)
    apply(rule, 1, "ok", 0.1)
    assert lifecycle.acknowledge(Alert.objects.get().id, None, at(2)) is None
    assert lifecycle.acknowledge(123456, None, at(2)) is None


def test_acknowledging_twice_keeps_the_first(rule):
    apply(rule, 0)
    alert_id = Alert.objects.get().id
    first, second = make_user("ann"), make_user("bob")
    lifecycle.acknowledge(alert_id, first, at(1))
    alert = lifecycle.acknowledge(alert_id, second, at(2))
    assert (alert.acknowledged_at, alert.acknowledged_by) == (at(1), first)


def test_a_silence_mutes_deliveries_but_the_state_goes_on(rule):
    silence = Silence.objects.create(
        model=rule.model, starts_at=at(-1), ends_at=at(10), comment="deploy"
    )
    apply(rule, 0)
    apply(rule, 1, "ok", 0.1)
    assert Alert.objects.get().state == "resolved"
    statuses = set(Delivery.objects.values_list("status", "error"))
    assert statuses == {("muted", f"muted by silence #{silence.id}")}


def test_what_a_silence_held_back_goes_out_when_it_ends(rule):
    Silence.objects.create(rule=rule, starts_at=at(-1), ends_at=at(1.5))
    apply(rule, 0)
    apply(rule, 1)
    assert Alert.objects.get().muted is True
    apply(rule, 2)
    apply(rule, 3)
    alert = Alert.objects.get()
    assert events(alert) == ["firing", "repeat"] and alert.muted is False
    assert list(Delivery.objects.order_by("id").values_list("transition__event", "status")) == [
        ("firing", "muted"),
        ("firing", "muted"),
        ("repeat", "pending"),
        ("repeat", "pending"),
    ]


def test_a_silence_of_another_rule_or_an_expired_one_does_not_mute(rule, model):
    other = make_alert_rule(model, name="other")
    Silence.objects.create(rule=other, starts_at=at(-1), ends_at=at(10))
    Silence.objects.create(rule=rule, starts_at=at(-10), ends_at=at(-1))
    apply(rule, 0)
    assert set(Delivery.objects.values_list("status", flat=True)) == {"pending"}


def test_a_silence_of_this_rule_on_this_model_mutes(rule):
    Silence.objects.create(rule=rule, model=rule.model, starts_at=at(-1), ends_at=at(1))
    apply(rule, 0)
    assert set(Delivery.objects.values_list("status", flat=True)) == {"muted"}


def test_deliveries_are_enqueued_only_after_commit(
    rule, monkeypatch, django_capture_on_commit_callbacks
):
    sent = []
    monkeypatch.setattr("alerts_app.outbox.enqueue_delivery", sent.append)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        apply(rule, 0)
    assert sent == []
    for callback in callbacks:
        callback()
    assert sorted(sent) == sorted(Delivery.objects.values_list("id", flat=True))


def test_each_version_has_its_own_alert(rule, model):
    v1 = model.versions.get()
    v2 = model.versions.create(version="2")
    lifecycle.apply_result(rule, result(rule, version=v1), at(0))
    lifecycle.apply_result(rule, result(rule, version=v2), at(1))
    assert sorted(Alert.objects.values_list("fingerprint", flat=True)) == [
        f"rule:{rule.id}|version:{v1.id}",
        f"rule:{rule.id}|version:{v2.id}",
    ]


def test_a_drift_rule_with_listed_features_has_one_alert_per_feature(model, channels):
    rule = make_alert_rule(
        model,
        "data_drift",
        channels=channels[:1],
        config={"features": ["age", "income"], "method": "psi"},
    )
    lifecycle.apply_result(rule, drift_result(rule, {"age": True, "income": False}), at(0))
    alert = Alert.objects.get()
    assert (alert.feature, alert.state, alert.value, alert.threshold) == ("age", "firing", 0.4, 0.2)
    assert alert.fingerprint.endswith("|feature:age")
    lifecycle.apply_result(rule, drift_result(rule, {"age": True, "income": True}), at(1))
    lifecycle.apply_result(rule, drift_result(rule, {"age": False, "income": True}), at(2))
    states = dict(Alert.objects.values_list("feature", "state"))
    assert states == {"age": "resolved", "income": "firing"}
    assert AlertTransition.objects.filter(event="firing").count() == 2


def test_a_feature_missing_from_a_result_keeps_its_state(model):
    rule = make_alert_rule(model, "data_drift", config={"features": ["age", "income"]})
    lifecycle.apply_result(rule, drift_result(rule, {"age": True}), at(0))
    lifecycle.apply_result(rule, drift_result(rule, {"income": False}), at(1))
    assert Alert.objects.get(feature="age").state == "firing"


def test_a_drift_rule_over_all_features_has_one_dataset_alert(model):
    rule = make_alert_rule(model, "data_drift", config={"method": "psi"})
    lifecycle.apply_result(rule, drift_result(rule, {"age": True, "income": True}), at(0))
    assert Alert.objects.get().feature == ""


def quality(missing: float, type_errors: float = 0.0) -> dict:
    violations = [
        name
        for name, rate, limit in [
            ("missing_rate", missing, 0.1),
            ("type_error_rate", type_errors, 0.01),
        ]
        if rate > limit
    ]
    return {
        "missing_rate": missing,
        "type_error_rate": type_errors,
        "out_of_range_rate": 0.0,
        "unseen_category_rate": 0.0,
        "rows": 100,
        "violations": violations,
    }


def quality_result(rule, features: dict):
    """A data-quality result whose per-feature verdicts the check itself computed."""
    config = validate_config(rule.kind, rule.config)
    verdicts = {name: quality_verdict(q, config) for name, q in features.items()}
    return result(rule, features=features, verdicts=verdicts)


def test_data_quality_alerts_are_per_feature_with_the_worst_rate(model):
    rule = make_alert_rule(
        model, "data_quality", config={"max_missing_rate": 0.1, "max_type_error_rate": 0.01}
    )
    features = {"age": quality(0.3), "income": quality(0.0), "city": quality(0.05, 0.04)}
    lifecycle.apply_result(rule, quality_result(rule, features), at(0))
    alerts = {a.feature: (a.state, a.value, a.threshold) for a in Alert.objects.all()}
    assert alerts == {"age": ("firing", 0.3, 0.1), "city": ("firing", 0.04, 0.01)}
    features = {"age": quality(0.02), "income": quality(0.0), "city": quality(0.05, 0.04)}
    lifecycle.apply_result(rule, quality_result(rule, features), at(1))
    assert dict(Alert.objects.values_list("feature", "state")) == {
        "age": "resolved",
        "city": "firing",
    }


def test_a_write_from_a_stale_snapshot_loses(rule):
    apply(rule, 0)
    stale = Alert.objects.get()
    Alert.objects.filter(id=stale.id).update(revision=stale.revision + 1)
    decision = lifecycle.next_state(
        lifecycle.snapshot(stale),
        lifecycle.Observation("ok", 0.1),
        lifecycle.policy_of(rule),
        at(1),
    )
    assert not lifecycle.guarded_write(stale, decision, lifecycle.Observation("ok", 0.1), "", at(1))
    assert Alert.objects.get().state == "firing"


@pytest.mark.django_db(transaction=True)
def test_two_workers_applying_the_same_breach_record_one_firing(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("needs concurrent transactions (PostgreSQL)")
    monkeypatch.setattr("alerts_app.outbox.enqueue_delivery", lambda *args, **kwargs: None)
    model = make_model()
    rule = make_alert_rule(model, channels=[make_channel()])
    Alert.objects.create(rule=rule, fingerprint=lifecycle.fingerprint(rule.id, None))
    barrier, errors = threading.Barrier(4), []

    def worker():
        try:
            barrier.wait()
            lifecycle.apply_result(rule, result(rule), at(0))
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert AlertTransition.objects.filter(event="firing").count() == 1
    assert Delivery.objects.count() == 1
