"""A real worker process on Redis executes a project task against the test database."""

import time

import pytest

from alerts_app.models import WorkerHeartbeat
from alerts_app.tasks import heartbeat_task

pytestmark = pytest.mark.celery


def test_a_real_worker_runs_the_heartbeat_task(celery_live):
    heartbeat_task.delay()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not WorkerHeartbeat.objects.exists():
        time.sleep(0.2)
    beat = WorkerHeartbeat.objects.get()
    assert beat.name  # the worker's host name


def test_healthz_reports_the_worker_after_a_heartbeat(celery_live, client):
    heartbeat_task.delay()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not WorkerHeartbeat.objects.exists():
        time.sleep(0.2)
    body = client.get("/healthz").json()
    assert body["database"] == "ok"
    assert body["broker"] == "ok"
    assert body["worker"]["status"] == "ok"
    assert body["worker"]["last_seen"] is not None
