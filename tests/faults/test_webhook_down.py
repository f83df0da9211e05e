"""Drill: the webhook target is down for "10 minutes" when an alert fires.

Time runs 100 times faster here, through settings only: the first retry waits 0.3 s
instead of 30 s (MODELWATCH_NOTIFY_BACKOFF_SECONDS), the longest 36 s instead of an hour,
and the outage lasts 6 s instead of 600 s. The attempts count is the production default
(MODELWATCH_NOTIFY_MAX_ATTEMPTS). The delivery is retried with doubling delays, the
alert stays firing with its one transition, and the target gets the notification exactly
once when it is back.
"""

import tempfile
import time

import pytest
import requests

from bench.harness import Server, free_port
from tests.faults.stack import (
    Hook,
    Redis,
    app_env,
    beat,
    create_cast,
    stop,
    wait_until,
    worker,
)

pytestmark = pytest.mark.slow
SPEEDUP = 100
OUTAGE = 600 / SPEEDUP
RULE = """
from alerts_app.models import AlertRule, Channel
channel = Channel.objects.create(name="ops", kind="webhook", config={"url": HOOK})
rule = AlertRule.objects.create(
    model=model, name="loss high", kind="metric_threshold", interval=1, repeat_interval=0,
    config={"metric": "loss", "aggregation": "last", "window": "10m", "operator": ">",
            "threshold": 0.5})
rule.channels.set([channel])
"""


def test_a_notification_waits_out_a_target_outage_and_arrives_once(
    scratch_postgres, drill_database
):
    port, redis = free_port(), Redis().start()
    env = app_env(
        drill_database,
        redis.url,
        MODELWATCH_DISPATCH_INTERVAL="1",
        MODELWATCH_NOTIFY_BACKOFF_SECONDS=str(30 / SPEEDUP),
        MODELWATCH_NOTIFY_BACKOFF_MAX=str(3600 / SPEEDUP),
    )
    cast = create_cast(env, f'HOOK = "http://127.0.0.1:{port}/hook"\n' + RULE)
    database = drill_database.rsplit("/", 1)[1]

    def one(sql: str):
        rows = scratch_postgres.execute(sql, database)
        return rows[0] if rows else None

    processes = [worker(env, "webhook-drill-worker"), beat(env, tempfile.mkdtemp(), "hook-beat")]
    try:
        with Server(env, workers=1) as server:
            requests.post(
                f"{server.url}/api/v1/models/drill/metrics/",
                json={"records": [{"name": "loss", "value": 0.9}]},
                headers={"Authorization": f"Token {cast['token']}"},
                timeout=30,
            )
            assert wait_until(
                lambda: one("SELECT 1 FROM alerts_app_delivery WHERE attempts > 0"), timeout=90
            ), "the alert never tried to notify"
            time.sleep(OUTAGE / 2)
            during = one("SELECT a.state, d.status FROM alerts_app_alert a, alerts_app_delivery d")
            time.sleep(OUTAGE / 2)
            with Hook(port) as hook:
                sent = wait_until(
                    lambda: one("SELECT 1 FROM alerts_app_delivery WHERE status = 'sent'"),
                    timeout=60,
                )
                time.sleep(2)  # a duplicate would arrive by now
    finally:
        for process in processes:
            stop(process)
        redis.stop()
    delivery = scratch_postgres.execute(
        "SELECT status, attempts, log FROM alerts_app_delivery", database
    )
    assert during == ("firing", "pending")
    assert sent, f"never delivered: {delivery}"
    assert [body["event"] for body in hook.bodies] == ["firing"]
    ((status, attempts, log),) = delivery
    waits = [entry["retry_in"] for entry in log[:-1]]
    assert status == "sent" and attempts == len(log) and log[-1]["ok"]
    assert waits == [round(0.3 * 2**n, 6) for n in range(len(waits))] and sum(waits) >= OUTAGE
    assert one("SELECT state FROM alerts_app_alert") == ("firing",)
    assert scratch_postgres.execute("SELECT event FROM alerts_app_alerttransition", database) == [
        ("firing",)
    ]
