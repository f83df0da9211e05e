"""Drill: a whole Celery worker (main process and pool) is SIGKILLed mid-evaluation.

The evaluation is held mid-transaction on the alert's row lock, then the worker's
process group is killed, as when its machine dies. Its transaction never commits; a
second worker evaluates the rule at the next cycle of the dispatcher; the webhook gets
the firing notification exactly once. (The killed worker's message stays unacknowledged
in Redis until the visibility timeout, by which time it has expired: it never replays.
tests/alerts_app/test_e2e_alerting.py covers the other case, a pool process killed
under a living worker, where the message is redelivered at once.)
"""

import tempfile
import time
from datetime import UTC, datetime

import psycopg2
import pytest

from bench.harness import free_port
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
RULE = """
from alerts_app.lifecycle import fingerprint
from alerts_app.models import Alert, AlertRule, Channel
from models_app.models import MetricPoint
from django.utils import timezone
channel = Channel.objects.create(name="ops", kind="webhook", config={"url": HOOK})
rule = AlertRule.objects.create(
    model=model, name="loss high", kind="metric_threshold", interval=2, repeat_interval=0,
    config={"metric": "loss", "aggregation": "last", "window": "10m", "operator": ">",
            "threshold": 0.5})
rule.channels.set([channel])
MetricPoint.objects.create(model=model, version=model.versions.get(), name="loss", value=0.9,
                           timestamp=timezone.now())
cast["alert_id"] = Alert.objects.create(rule=rule, fingerprint=fingerprint(rule.id, None)).id
"""


def hold_alert_row(dsn: str, alert_id: int):
    """Lock the alert's row from another connection: an evaluation blocks on it."""
    conn = psycopg2.connect(dsn)
    conn.cursor().execute("SELECT id FROM alerts_app_alert WHERE id = %s FOR UPDATE", [alert_id])
    return conn


def test_a_killed_worker_is_replaced_without_a_lost_or_doubled_notification(
    scratch_postgres, drill_database
):
    port, redis = free_port(), Redis().start()
    env = app_env(drill_database, redis.url, MODELWATCH_DISPATCH_INTERVAL="1")
    cast = create_cast(env, f'HOOK = "http://127.0.0.1:{port}/hook"\n' + RULE)
    database = drill_database.rsplit("/", 1)[1]

    def rows(sql: str) -> list:
        return scratch_postgres.execute(sql, database)

    def blocked() -> bool:
        return (
            scratch_postgres.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND wait_event_type = "
                "'Lock'",
                params=[database],
            )[0][0]
            > 0
        )

    lock = hold_alert_row(drill_database, cast["alert_id"])
    doomed = worker(env, "doomed-worker", concurrency=1)
    processes = [doomed, beat(env, tempfile.mkdtemp(), "kill-beat")]
    try:
        with Hook(port) as hook:
            assert wait_until(blocked, timeout=90), "the evaluation never reached the lock"
            stop(doomed, kill=True)  # SIGKILL to the main process and its pool
            killed_at = datetime.now(UTC)
            lock.rollback()
            processes.append(worker(env, "second-worker"))
            assert wait_until(lambda: hook.bodies, timeout=90), "never notified"
            time.sleep(4)  # two more cycles: a duplicate would arrive by now
    finally:
        lock.close()
        for process in processes:
            stop(process)
        redis.stop()
    assert [body["event"] for body in hook.bodies] == ["firing"]
    evaluated = [at for (at,) in rows("SELECT evaluated_at FROM alerts_app_checkresult")]
    assert evaluated and min(evaluated) > killed_at  # the killed evaluation left nothing
    assert rows("SELECT state FROM alerts_app_alert") == [("firing",)]
    assert rows("SELECT event FROM alerts_app_alerttransition") == [("firing",)]
    assert rows("SELECT status, attempts FROM alerts_app_delivery") == [("sent", 1)]
