"""Drill: the broker (Redis) dies while a rule is being checked every 2 seconds.

Ingestion does not need the broker: it keeps answering 201 at its usual speed.
/healthz reports the broker down (503) with the database up. When Redis comes back
(empty: it kept nothing), the worker and beat reconnect on their own and the checks
resume, with no process restarted by hand.
"""

import tempfile
import time

import pytest
import requests

from bench.harness import Server
from tests.faults.stack import (
    Redis,
    app_env,
    beat,
    create_cast,
    log_tail,
    stop,
    wait_until,
    worker,
)

pytestmark = pytest.mark.slow
RULE = """
from alerts_app.models import AlertRule
cast["rule_id"] = AlertRule.objects.create(
    model=model, name="loss high", kind="metric_threshold", interval=2,
    config={"metric": "loss", "aggregation": "last", "window": "10m", "operator": ">",
            "threshold": 0.5}).id
"""


def post(url: str, token: str, endpoint: str, records: list) -> tuple[int, float]:
    started = time.monotonic()
    response = requests.post(
        f"{url}/api/v1/models/drill/{endpoint}/",
        json={"records": records},
        headers={"Authorization": f"Token {token}"},
        timeout=30,
    )
    return response.status_code, time.monotonic() - started


def send_telemetry(url: str, token: str, batch: int) -> list[tuple[int, float]]:
    return [
        post(url, token, "metrics", [{"name": "loss", "value": 0.2, "step": batch}]),
        post(
            url,
            token,
            "predictions",
            [{"id": f"b{batch}", "features": {"x": batch}, "prediction": 0}],
        ),
    ]


def test_ingestion_survives_a_broker_outage_and_checks_resume(scratch_postgres, drill_database):
    redis = Redis().start()
    env = app_env(drill_database, redis.url, MODELWATCH_DISPATCH_INTERVAL="1")
    cast = create_cast(env, RULE)
    database = drill_database.rsplit("/", 1)[1]

    def checks() -> int:
        return scratch_postgres.execute(
            "SELECT count(*) FROM alerts_app_checkresult WHERE rule_id = %s",
            database,
            [cast["rule_id"]],
        )[0][0]

    processes = [worker(env, "broker-drill-worker"), beat(env, tempfile.mkdtemp(), "broker-beat")]
    try:
        with Server(env, workers=1) as server:
            assert wait_until(lambda: checks() >= 2, timeout=90), "checks never ran"
            redis.stop()
            answers = [
                a for batch in range(5) for a in send_telemetry(server.url, cast["token"], batch)
            ]
            health = requests.get(f"{server.url}/healthz", timeout=30)
            time.sleep(3)
            redis.start()
            resumed_from = checks()
            assert wait_until(lambda: checks() >= resumed_from + 2, timeout=120), (
                "checks did not resume after the broker came back\n"
                + log_tail("broker-drill-worker")
                + "\n"
                + log_tail("broker-beat")
            )
            healthy = wait_until(
                lambda: requests.get(f"{server.url}/healthz", timeout=30).status_code == 200,
                timeout=30,
            )
    finally:
        for process in processes:
            stop(process)
        redis.stop()
    assert [status for status, _ in answers] == [201] * 10
    assert max(seconds for _, seconds in answers) < 2.0, answers
    assert health.status_code == 503
    assert health.json()["broker"].startswith("down") and health.json()["database"] == "ok"
    assert healthy
    stored = scratch_postgres.execute(
        "SELECT (SELECT count(*) FROM models_app_metricpoint),"
        " (SELECT count(*) FROM models_app_prediction)",
        database,
    )[0]
    assert stored == (5, 5)
