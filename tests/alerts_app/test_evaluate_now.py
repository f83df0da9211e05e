""" "Evaluate now" means one thing: the admin (button and bulk action) and the API store the
result and move the alerts as a scheduled evaluation does (`evaluate.evaluate_now`), and
however it is repeated or races the scheduler, an alert is notified once."""

import threading
from datetime import timedelta

import numpy as np
import pytest
from django.contrib.auth import get_user_model
from django.db import connection, connections
from django.utils import timezone

from alerts_app import evaluate, schedule
from alerts_app.models import Alert, AlertRule, AlertTransition, CheckResult, Delivery
from models_app.models import MetricPoint
from tests.alerts_app.conftest import wait_until
from tests.alerts_app.results import feature_table
from tests.factories import make_alert_rule, make_channel, make_model

pytestmark = pytest.mark.django_db
LIST = "/admin/alerts_app/alertrule/"
CATEGORIES = ["a", "b", "c", "d"]


@pytest.fixture
def staff(client):
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw-123-xyz")
    client.force_login(admin)
    return client


def log_loss(model, value: float, minutes_ago: float = 1) -> None:
    MetricPoint.objects.create(
        model=model,
        version=model.latest_version(),
        name="loss",
        value=value,
        timestamp=timezone.now() - timedelta(minutes=minutes_ago),
    )


def rows(rule: AlertRule) -> dict:
    """What an evaluation left behind for `rule`, without ids, times and names."""
    transitions = AlertTransition.objects.filter(alert__rule=rule).order_by("alert__feature", "id")
    return {
        "results": list(
            rule.results.values_list("status", "value", "threshold", "passed", "version__version")
        ),
        "details": [
            {k: v for k, v in d.items() if k not in ("last_arrival", "since")}
            for d in rule.results.values_list("details", flat=True)
        ],
        "alerts": list(
            rule.alerts.order_by("feature").values_list("feature", "state", "value", "threshold")
        ),
        "transitions": list(transitions.values_list("alert__feature", "old", "new", "event")),
        "deliveries": list(
            Delivery.objects.filter(transition__alert__rule=rule)
            .order_by("transition__alert__feature")
            .values_list("channel__name", "status")
        ),
    }


def drift_data(api, name: str) -> None:
    """The same reference and window for model `name`: x shifted, c re-weighted."""
    state = np.random.default_rng(3)
    ref = [
        {"x": float(v), "c": str(k)}
        for v, k in zip(state.normal(0, 1, 800), state.choice(CATEGORIES, 800), strict=True)
    ]
    now = timezone.now()
    cur = [
        {
            "timestamp": (now - timedelta(seconds=5 + i)).isoformat(),
            "features": {"x": float(v), "c": str(k)},
            "prediction": 1,
        }
        for i, (v, k) in enumerate(
            zip(
                state.normal(0.8, 1, 600),
                state.choice(CATEGORIES, 600, p=[0.1, 0.1, 0.1, 0.7]),
                strict=True,
            )
        )
    ]
    for path, body in (("reference", {"records": ref}), ("predictions", {"records": cur})):
        response = api.post(f"/api/v1/models/{name}/{path}/", body, format="json")
        assert response.status_code in (200, 201), response.json()


def drift_rule(model, channel) -> AlertRule:
    config = {"features": ["x", "c"], "method": "psi", "window": 3600}
    return make_alert_rule(model, kind="data_drift", config=config, channels=[channel])


def test_the_admin_and_the_api_leave_the_same_rows_for_the_same_rule_and_data(staff, api):
    """Per-feature data drift on two identical models: the admin evaluates one, the API the
    other; results, alerts, transitions and deliveries are the same."""
    channel = make_channel()
    by_admin, by_api = make_model("fraud"), make_model("churn")
    for model in (by_admin, by_api):
        drift_data(api, model.name)
    admin_rule, api_rule = drift_rule(by_admin, channel), drift_rule(by_api, channel)
    page = staff.post(f"{LIST}{admin_rule.id}/evaluate/").content.decode()
    table = feature_table(page)  # the evaluation reads as a table, as a stored result does
    assert sorted((row[0], row[1], row[3], row[5]) for row in table) == [
        ("c", "psi", "—", "yes"),
        ("x", "psi", "—", "yes"),
    ]
    response = api.post(f"/api/v1/rules/{api_rule.id}/evaluate/", {}, format="json")
    assert response.status_code == 200, response.json()
    assert rows(admin_rule) == rows(api_rule)
    left = rows(admin_rule)
    assert [alert[:2] for alert in left["alerts"]] == [("c", "firing"), ("x", "firing")]
    assert left["transitions"] == [("c", "ok", "firing", "firing"), ("x", "ok", "firing", "firing")]
    assert left["deliveries"] == [("ops-hook", "pending"), ("ops-hook", "pending")]


def test_the_api_answer_is_the_stored_result(api, model):
    rule = make_alert_rule(model, channels=[make_channel()])
    log_loss(model, 0.9)
    body = api.post(f"/api/v1/rules/{rule.id}/evaluate/", {}, format="json").json()
    stored = CheckResult.objects.get()
    assert (body["id"], body["status"], body["value"]) == (stored.id, "breached", 0.9)
    assert Alert.objects.get().state == "firing" and Delivery.objects.count() == 1


def test_store_false_only_answers_the_result(api, model):
    rule = make_alert_rule(model, channels=[make_channel()])
    log_loss(model, 0.9)
    body = api.post(f"/api/v1/rules/{rule.id}/evaluate/", {"store": False}, format="json").json()
    assert (body["id"], body["status"]) == (None, "breached")
    assert not CheckResult.objects.exists() and not Alert.objects.exists()


def test_evaluating_now_twice_notifies_once(staff, model):
    rule = make_alert_rule(model, channels=[make_channel()])
    log_loss(model, 0.9)
    for _ in range(2):
        staff.post(f"{LIST}{rule.id}/evaluate/")
    assert CheckResult.objects.count() == 2
    assert list(AlertTransition.objects.values_list("event", flat=True)) == ["firing"]
    assert Delivery.objects.count() == 1


def test_a_recovery_evaluated_now_resolves_and_notifies_the_resolution(api, model):
    rule = make_alert_rule(model, channels=[make_channel()])
    log_loss(model, 0.9, minutes_ago=20)
    log_loss(model, 0.9, minutes_ago=1)
    api.post(f"/api/v1/rules/{rule.id}/evaluate/", {}, format="json")
    MetricPoint.objects.all().update(value=0.1)
    api.post(f"/api/v1/rules/{rule.id}/evaluate/", {}, format="json")
    assert Alert.objects.get().state == "resolved"
    events = AlertTransition.objects.order_by("id").values_list("event", flat=True)
    assert list(events) == ["firing", "resolved"] and Delivery.objects.count() == 2


def test_evaluate_now_covers_the_slots_up_to_now(model):
    """A worker given a slot up to the evaluation's time skips it, as a redelivery."""
    rule = make_alert_rule(model, next_run_at=timezone.now() - timedelta(seconds=30))
    done = evaluate.evaluate_now(rule.id)
    rule.refresh_from_db()
    assert rule.last_run_at == done.result.evaluated_at == rule.last_slot
    slot = timezone.now() - timedelta(seconds=30)
    assert schedule.evaluate_due_rule(rule.id, slot=slot) is None
    assert CheckResult.objects.count() == 1
    later = timezone.now() + timedelta(seconds=60)
    assert schedule.evaluate_due_rule(rule.id, slot=later) is not None  # the next slot runs


def test_a_disabled_rule_is_refused_with_409(api, model):
    rule = make_alert_rule(model, enabled=False)
    response = api.post(f"/api/v1/rules/{rule.id}/evaluate/", {}, format="json")
    assert response.status_code == 409
    assert response.json() == {
        "detail": 'Rule "metric_threshold rule" is disabled: enable it to evaluate it now '
        "(its alerts are paused while it is disabled)."
    }
    assert not CheckResult.objects.exists()


def test_at_may_not_go_back_before_the_rules_newest_result(api, model):
    rule = make_alert_rule(model)
    first = timezone.now() - timedelta(minutes=5)
    url = f"/api/v1/rules/{rule.id}/evaluate/"
    assert api.post(url, {"at": first.isoformat()}, format="json").status_code == 200
    response = api.post(url, {"at": (first - timedelta(minutes=1)).isoformat()}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "at": [
            f"Must not be before the rule's newest result ({first.isoformat()}) when the "
            "result is stored and applied to the alerts."
        ]
    }
    assert CheckResult.objects.count() == 1
    earlier = {"at": (first - timedelta(minutes=1)).isoformat(), "store": False}
    assert api.post(url, earlier, format="json").status_code == 200  # a look stores nothing


# -- racing the scheduler (PostgreSQL: concurrent transactions and row locks) -------------


def waiting_on_a_lock() -> bool:
    with connections["default"].cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE wait_event_type = 'Lock' AND datname = current_database()"
        )
        return cursor.fetchone()[0] > 0


def hold_first(first, second, monkeypatch) -> dict:
    """Run `first` until it is inside its check (holding the rule's row lock), start
    `second`, wait until it waits on that lock, then let both finish."""
    real, inside, go, outcome = evaluate.run_check, threading.Event(), threading.Event(), {}

    def held_check(rule, config, now):
        if not inside.is_set():
            inside.set()
            go.wait(20)
        return real(rule, config, now)

    monkeypatch.setattr(evaluate, "run_check", held_check)

    def run(name, call):
        try:
            outcome[name] = call()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(n, c)) for n, c in (first, second)]
    threads[0].start()
    assert inside.wait(20)
    threads[1].start()
    assert wait_until(waiting_on_a_lock, timeout=20)
    go.set()
    for thread in threads:
        thread.join(30)
    return outcome


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: PostgreSQL only")
@pytest.mark.parametrize("first", ["evaluate_now", "scheduler"])
def test_evaluate_now_racing_the_scheduler_notifies_once(first, monkeypatch):
    model = make_model()
    rule = make_alert_rule(model, channels=[make_channel()])
    log_loss(model, 0.9)
    slot = timezone.now() - timedelta(seconds=10)
    calls = {
        "evaluate_now": lambda: evaluate.evaluate_now(rule.id),
        "scheduler": lambda: schedule.evaluate_due_rule(rule.id, slot=slot),
    }
    second = "scheduler" if first == "evaluate_now" else "evaluate_now"
    outcome = hold_first((first, calls[first]), (second, calls[second]), monkeypatch)
    assert list(AlertTransition.objects.values_list("event", flat=True)) == ["firing"]
    assert Delivery.objects.count() == 1
    assert Alert.objects.get().state == "firing"
    if first == "evaluate_now":  # the worker's slot is covered: it skips it
        assert len(outcome["evaluate_now"].transitions) == 1
        assert outcome["scheduler"] is None and CheckResult.objects.count() == 1
    else:  # evaluated after the worker: the alert is already firing, nothing to announce
        assert outcome["evaluate_now"].transitions == []
        assert outcome["scheduler"].status == "breached" and CheckResult.objects.count() == 2
