"""End to end on real processes: beat -> dispatcher -> worker -> alert -> webhook receiver.

Two `celery worker` and two `celery beat` processes on Redis and the pytest PostgreSQL
database (tests/alerts_app/conftest.py); metrics arrive through the REST API; a local
HTTP receiver plays the webhook target.
"""

import os
import signal
import time

import psycopg2
import pytest
from django.db import connection

from alerts_app.lifecycle import fingerprint
from alerts_app.models import Alert, AlertTransition, CheckResult, Delivery
from tests.alerts_app.conftest import wait_until
from tests.alerts_app.receiver import Receiver
from tests.factories import make_alert_rule, make_channel

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]
CONFIG = {
    "metric": "loss",
    "aggregation": "last",
    "window": "10m",
    "operator": ">",
    "threshold": 0.5,
}


def send_loss(api, value: float) -> None:
    response = api.post(
        "/api/v1/models/fraud/metrics/",
        {"records": [{"name": "loss", "value": value}]},
        format="json",
    )
    assert response.status_code == 201, response.content


def watch(model, url: str, **overrides):
    channel = make_channel(config={"url": url})
    fields = {"config": CONFIG, "interval": 1, "repeat_interval": 0} | overrides
    return make_alert_rule(model, channels=[channel], **fields)


def test_a_bad_value_fires_exactly_once_and_recovery_resolves_exactly_once(alerting, api, model):
    with Receiver() as receiver:
        rule = watch(model, receiver.url)
        send_loss(api, 0.2)
        assert wait_until(lambda: CheckResult.objects.filter(rule=rule, status="ok").exists())
        send_loss(api, 0.9)
        assert wait_until(lambda: receiver.events() == ["firing"])
        firing = receiver.bodies[0]["alert"]
        assert (firing["model"], firing["rule"], firing["value"], firing["threshold"]) == (
            "fraud",
            rule.name,
            0.9,
            0.5,
        )
        evaluated = CheckResult.objects.filter(rule=rule).count()
        assert wait_until(lambda: CheckResult.objects.filter(rule=rule).count() >= evaluated + 2)
        send_loss(api, 0.1)
        assert wait_until(lambda: "resolved" in receiver.events())
        settled = CheckResult.objects.filter(rule=rule).count()
        wait_until(lambda: CheckResult.objects.filter(rule=rule).count() >= settled + 3)
        assert receiver.events() == ["firing", "resolved"]
    assert list(AlertTransition.objects.order_by("id").values_list("event", flat=True)) == [
        "firing",
        "resolved",
    ]
    assert list(Delivery.objects.values_list("status", "attempts")) == [("sent", 1)] * 2


def test_a_receiver_failing_twice_gets_the_notification_once_with_attempts_logged(
    alerting, api, model
):
    with Receiver(fail_first=2) as receiver:
        watch(model, receiver.url, interval=3600)
        send_loss(api, 0.9)
        assert wait_until(lambda: receiver.events() == ["firing"])
        time.sleep(1.5)  # a late duplicate would arrive by now
        assert receiver.attempts == 3 and receiver.events() == ["firing"]
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("sent", 3)
    assert [entry["ok"] for entry in delivery.log] == [False, False, True]
    assert [entry.get("retry_in") for entry in delivery.log[:2]] == [0.3, 0.6]


def lock_alert_row(alert_id: int):
    """Hold the alert's row lock from another connection: the evaluation blocks on it."""
    db = connection.settings_dict
    conn = psycopg2.connect(
        dbname=db["NAME"],
        user=db["USER"],
        password=db["PASSWORD"] or None,
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
    )
    conn.cursor().execute("SELECT id FROM alerts_app_alert WHERE id = %s FOR UPDATE", [alert_id])
    return conn


def test_a_worker_killed_mid_evaluation_is_redelivered_without_duplicate_notification(
    alerting, api, model
):
    with Receiver() as receiver:
        rule = watch(model, receiver.url, interval=3600)  # only redelivery can re-run it
        alert = Alert.objects.create(rule=rule, fingerprint=fingerprint(rule.id, None))
        send_loss(api, 0.9)
        lock = lock_alert_row(alert.id)
        try:
            running = wait_until(
                lambda: alerting.active_tasks("alerts_app.tasks.evaluate_rules_task"),
                timeout=60,
                step=0.2,
            )
            assert running, "the evaluation never started"
            time.sleep(0.5)  # it is now blocked on the row lock, mid-transaction
            os.kill(running[0]["worker_pid"], signal.SIGKILL)
            time.sleep(0.5)
        finally:
            lock.rollback()
            lock.close()
        assert wait_until(lambda: receiver.events() == ["firing"])
        time.sleep(1.5)
        assert receiver.events() == ["firing"]
    assert CheckResult.objects.filter(rule=rule).count() == 1  # the killed one rolled back
    assert AlertTransition.objects.filter(event="firing").count() == 1
    assert Delivery.objects.get().attempts == 1
