"""The dispatcher: due rules claimed once, rescheduled on their cadence, crashes contained."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from alerts_app import schedule
from alerts_app.models import Alert, AlertRule, CheckResult, Delivery
from models_app.models import MetricPoint
from tests.factories import make_alert_rule, make_channel, make_model

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def log_loss(model, value: float, when: datetime = T0) -> None:
    MetricPoint.objects.create(
        model=model, version=model.latest_version(), name="loss", value=value, timestamp=when
    )


@pytest.mark.parametrize(
    ("now", "expected"), [(0, 60), (59, 60), (60, 120), (61, 120), (3600, 3660)]
)
def test_the_next_run_keeps_the_cadence_and_skips_missed_runs(now, expected):
    assert schedule.next_slot(T0, 60, at(now)) == at(expected)


def test_a_zero_interval_still_moves_forward():
    assert schedule.next_slot(T0, 0, T0) == at(1)


def test_due_enabled_rules_are_claimed_and_rescheduled(model):
    due = make_alert_rule(model, name="due", next_run_at=at(-5), interval=60)
    later = make_alert_rule(model, name="later", next_run_at=at(30))
    off = make_alert_rule(model, name="off", next_run_at=at(-5), enabled=False)
    assert schedule.claim_due_rules(T0, limit=100) == [(due.id, 60, at(-5))]
    due.refresh_from_db(), later.refresh_from_db(), off.refresh_from_db()
    assert (due.next_run_at, later.next_run_at, off.next_run_at) == (at(55), at(30), at(-5))


def test_a_second_dispatch_in_the_same_cycle_finds_nothing(model):
    make_alert_rule(model, next_run_at=at(-1))
    assert len(schedule.claim_due_rules(T0, 100)) == 1
    assert schedule.claim_due_rules(at(10), 100) == []


def test_dispatch_claims_every_due_rule_once_in_batches(
    model, settings, django_capture_on_commit_callbacks
):
    settings.MODELWATCH_DISPATCH_BATCH = 3
    rules = [make_alert_rule(model, name=f"r{i}", next_run_at=at(-i)) for i in range(7)]
    published = []
    with django_capture_on_commit_callbacks(execute=True):
        assert schedule.dispatch_due_rules(T0, publish=published.append) == 7
    assert [len(batch) for batch in published] == [7]  # published once, in fair order
    claims = sorted(claim for batch in published for claim in batch)
    assert claims == sorted((rule.id, 60, rule.next_run_at) for rule in rules)


def test_evaluating_a_breaking_rule_fires_and_writes_the_outbox(model):
    rule = make_alert_rule(model, channels=[make_channel()])
    log_loss(model, 0.9, at(-30))
    result = schedule.evaluate_due_rule(rule.id, T0)
    assert result.status == "breached" and result.value == 0.9
    assert Alert.objects.get().state == "firing"
    assert Delivery.objects.count() == 1
    rule.refresh_from_db()
    assert rule.last_run_at == T0


def test_a_crashing_rule_records_an_error_and_keeps_its_alert(model, monkeypatch):
    rule = make_alert_rule(model)
    log_loss(model, 0.9, at(-30))
    schedule.evaluate_due_rule(rule.id, T0)

    def crash(*args, **kwargs):
        raise RuntimeError("profile store unavailable")

    monkeypatch.setattr(schedule, "evaluate_rule", crash)
    result = schedule.evaluate_due_rule(rule.id, at(60))
    assert (result.status, result.passed) == ("error", False)
    assert result.details == {
        "error": "RuntimeError: profile store unavailable",
        "type": "RuntimeError",
    }
    assert Alert.objects.get().state == "firing"


def test_a_crash_after_evaluation_leaves_no_half_written_state(model, monkeypatch):
    """Evaluation, result and alert move together: a failure rolls all of them back."""
    rule = make_alert_rule(model, channels=[make_channel()])
    log_loss(model, 0.9, at(-30))

    def crash(*args, **kwargs):
        raise RuntimeError("worker lost")

    monkeypatch.setattr(schedule, "apply_result", crash)
    schedule.evaluate_due_rule(rule.id, T0)
    assert list(CheckResult.objects.values_list("status", flat=True)) == ["error"]
    assert not Alert.objects.exists() and not Delivery.objects.exists()


def test_a_crashing_rule_does_not_block_the_others(model, monkeypatch):
    good, bad = make_alert_rule(model, name="good"), make_alert_rule(model, name="bad")
    real = schedule.evaluate_rule
    log_loss(model, 0.9, at(-30))

    def flaky(rule, now, store=True):
        if rule.id == bad.id:
            raise ValueError("bad config")
        return real(rule, now, store)

    monkeypatch.setattr(schedule, "evaluate_rule", flaky)
    statuses = {rule.name: schedule.evaluate_due_rule(rule.id, T0).status for rule in (bad, good)}
    assert statuses == {"bad": "error", "good": "breached"}


def test_claims_are_published_in_chunks_that_expire_after_one_interval(monkeypatch, settings):
    from alerts_app.tasks import evaluate_rules_task

    settings.MODELWATCH_DISPATCH_CHUNK = 2
    sent = []
    monkeypatch.setattr(
        evaluate_rules_task, "apply_async", lambda args, **kw: sent.append((args[0], kw["expires"]))
    )
    schedule.publish_evaluations([(7, 300, T0), (8, 600, at(1)), (9, 10, T0)])
    assert sent == [
        ([[7, T0.isoformat()], [8, at(1).isoformat()]], 300),
        ([[9, T0.isoformat()]], 30),
    ]


def test_a_redelivered_message_skips_the_rules_it_already_evaluated(model):
    rules = [make_alert_rule(model, name=f"r{i}") for i in range(3)]
    log_loss(model, 0.9, timezone.now() - timedelta(seconds=30))  # workers use the clock
    items = [[rule.id, T0.isoformat()] for rule in rules]
    schedule.evaluate_rules(items[:2])  # the worker died before the third
    assert schedule.evaluate_rules(items) == [None, None, CheckResult.objects.get(rule=rules[2])]
    assert CheckResult.objects.count() == 3
    later = schedule.evaluate_rules([[rules[0].id, at(60).isoformat()]])
    assert later[0].status == "breached"  # the next slot is evaluated again


def test_a_disabled_or_deleted_rule_is_not_evaluated(model):
    rule = make_alert_rule(model, enabled=False)
    assert schedule.evaluate_due_rule(rule.id, T0) is None
    assert schedule.evaluate_due_rule(987654, T0) is None
    assert not CheckResult.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_workers_given_the_same_slot_evaluate_it_once():
    if connection.vendor != "postgresql":
        pytest.skip("needs concurrent transactions (PostgreSQL)")
    model = make_model()
    rule = make_alert_rule(model)
    barrier, results = threading.Barrier(2), []

    def worker() -> None:
        barrier.wait()
        results.append(schedule.evaluate_due_rule(rule.id, slot=T0))
        connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r is None for r in results) == [False, True]
    assert CheckResult.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_dispatchers_claim_each_due_rule_exactly_once():
    if connection.vendor != "postgresql":
        pytest.skip("needs concurrent transactions (PostgreSQL)")
    model = make_model()
    AlertRule.objects.bulk_create(
        AlertRule(
            model=model,
            name=f"r{i}",
            kind="metric_threshold",
            config={},
            next_run_at=at(-1),
            interval=60,
        )
        for i in range(200)
    )
    claimed: list[list[int]] = [[], []]
    barrier = threading.Barrier(2)

    def dispatcher(slot: int) -> None:
        barrier.wait()
        for _ in range(10):  # small batches so the two interleave
            claimed[slot] += [c[0] for c in schedule.claim_due_rules(T0, limit=15)]
        connection.close()

    threads = [threading.Thread(target=dispatcher, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = claimed[0] + claimed[1]
    assert len(everything) == 200 and len(set(everything)) == 200
    assert claimed[0] and claimed[1]
