"""Drill: PostgreSQL crashes and restarts while four SDK clients ingest steadily.

While the database is down the API answers 503 with Retry-After (never a 500) and
/healthz reports it; the SDK retries each batch with its Idempotency-Key; once the
database is back every row is stored exactly once: no batch lost, none doubled.
"""

import threading
import time
from dataclasses import dataclass, field

import pytest
import requests

from bench.harness import Server
from modelwatch import Client
from tests.faults.stack import app_env, create_cast, wait_until

pytestmark = pytest.mark.slow
CLIENTS, BATCHES, RECORDS = 4, 24, 50
DOWN_SECONDS = 3.0


@dataclass
class Traffic:
    """What the clients sent and what the probe saw, shared between threads."""

    batches: int = 0
    errors: list = field(default_factory=list)
    answers: list = field(default_factory=list)  # (phase, path, status)
    phase: str = "up"
    lock: threading.Lock = field(default_factory=threading.Lock)

    def sent_one(self) -> None:
        with self.lock:
            self.batches += 1


def ingest(url: str, token: str, client: int, traffic: Traffic) -> None:
    """One client: alternate metric and prediction batches, each with unique keys."""
    try:
        with Client(url, token, max_retries=30, backoff=0.2, max_backoff=2.0, timeout=10) as mw:
            drill = mw.model("drill")
            for batch in range(BATCHES):
                first = (client * BATCHES + batch) * RECORDS
                if batch % 2:
                    drill.log_predictions(
                        [
                            {"id": f"p{n}", "features": {"x": n}, "prediction": 1}
                            for n in range(first, first + RECORDS)
                        ]
                    )
                else:
                    drill.log_metrics(
                        [
                            {"name": "loss", "value": 0.5, "step": n}
                            for n in range(first, first + RECORDS)
                        ]
                    )
                traffic.sent_one()
                time.sleep(0.05)
    except Exception as exc:  # reported by the test, with the client that failed
        traffic.errors.append(f"client {client}: {exc!r}")


def probe(url: str, token: str, traffic: Traffic, stop: threading.Event) -> None:
    """Read the API and /healthz every 0.1 s, noting each answer with the phase."""
    headers = {"Authorization": f"Token {token}"}
    while not stop.is_set():
        for path in ("/api/v1/models/drill/", "/healthz"):
            phase = traffic.phase  # as the request leaves
            try:
                status = requests.get(url + path, headers=headers, timeout=5).status_code
            except requests.RequestException as exc:
                status = type(exc).__name__
            traffic.answers.append((phase, path, status))
        time.sleep(0.1)


def statuses(traffic: Traffic, phase: str, path: str) -> set:
    return {status for seen, where, status in traffic.answers if (seen, where) == (phase, path)}


def test_a_database_restart_loses_no_row_and_doubles_none(scratch_postgres, drill_database):
    env = app_env(drill_database, "memory://")
    cast = create_cast(env)
    traffic, done = Traffic(), threading.Event()
    with Server(env, workers=2) as server:
        clients = [
            threading.Thread(target=ingest, args=(server.url, cast["token"], i, traffic))
            for i in range(CLIENTS)
        ]
        prober = threading.Thread(target=probe, args=(server.url, cast["token"], traffic, done))
        for thread in [*clients, prober]:
            thread.start()
        assert wait_until(lambda: traffic.batches >= CLIENTS * BATCHES // 4, timeout=60)
        scratch_postgres.stop("immediate")  # a crash: connections cut mid-transaction
        traffic.phase = "down"
        time.sleep(DOWN_SECONDS)
        traffic.phase = "restarting"
        scratch_postgres.start()
        traffic.phase = "back"
        for thread in clients:
            thread.join(timeout=180)
        time.sleep(0.5)
        done.set()
        prober.join()
    assert traffic.errors == []
    assert statuses(traffic, "down", "/api/v1/models/drill/") == {503}
    assert statuses(traffic, "down", "/healthz") == {503}
    assert statuses(traffic, "back", "/api/v1/models/drill/") >= {200}
    assert not {s for _, _, s in traffic.answers if s not in (200, 503)}, traffic.answers
    expected = CLIENTS * BATCHES * RECORDS // 2
    stored = scratch_postgres.execute(
        "SELECT (SELECT count(*) FROM models_app_metricpoint),"
        " (SELECT count(DISTINCT step) FROM models_app_metricpoint),"
        " (SELECT count(*) FROM models_app_prediction),"
        " (SELECT count(DISTINCT client_id) FROM models_app_prediction)",
        drill_database.rsplit("/", 1)[1],
    )[0]
    assert stored == (expected, expected, expected, expected)
