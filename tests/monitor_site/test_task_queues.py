"""Every task goes to the queue of its kind of work; a worker takes only its queues."""

import time
import uuid

import pytest
from django.conf import settings

from monitor_site.celery import app
from monitor_site.enqueue import task
from tests.celery_live import live_env, sent_to, start_worker, stop, wait_ready

EXPECTED = {
    "models_app.tasks.rollup_profiles_task": "ingest",
    "models_app.tasks.prune_telemetry_task": "ingest",
    "alerts_app.tasks.heartbeat_task": "evaluate",
    "alerts_app.tasks.dispatch_task": "evaluate",
    "alerts_app.tasks.evaluate_rules_task": "evaluate",
    "alerts_app.tasks.deliver_task": "deliver",
    "alerts_app.tasks.sweep_deliveries_task": "deliver",
    "alerts_app.tasks.flush_incident_task": "deliver",
    "alerts_app.tasks.deliver_incident_task": "deliver",
    "alerts_app.tasks.sweep_incidents_task": "deliver",
}


def routed_queue(name: str) -> str:
    return app.amqp.router.route({}, name, (), {})["queue"].name


def test_each_task_routes_to_the_queue_of_its_kind_of_work():
    assert {name: routed_queue(name) for name in EXPECTED} == EXPECTED
    assert settings.CELERY_TASK_ROUTES == {name: {"queue": q} for name, q in EXPECTED.items()}


def test_every_task_of_the_project_is_routed():
    app.loader.import_default_modules()
    ours = {name for name in app.tasks if name.startswith(("alerts_app.", "models_app."))}
    assert ours == set(EXPECTED)


def waiting(queue: str) -> int:
    """Messages waiting in `queue` (the Redis transport's count; taken ones are gone)."""
    with app.connection_for_write() as conn:
        return conn.default_channel._size(queue)


@pytest.mark.celery
def test_a_worker_of_the_deliveries_queue_does_not_run_evaluations(celery_worker_process):
    base = f"split-{uuid.uuid4().hex[:8]}"
    queues = {kind: f"{base}-{kind}" for kind in ("ingest", "evaluate", "deliver")}
    routes = {name: {"queue": queues[kind]} for name, kind in EXPECTED.items()}
    env = live_env(base) | {f"MODELWATCH_QUEUE_{k.upper()}": q for k, q in queues.items()}
    name = f"{queues['deliver']}@localhost"
    worker = start_worker(env, queues["deliver"], name, concurrency=1)
    try:
        wait_ready(name, worker)
        with sent_to(base, routes):
            task("alerts_app.tasks.evaluate_rules_task").delay([[999999, None]])
            task("alerts_app.tasks.deliver_task").delay(999999)  # not ours to send: a no-op
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and waiting(queues["deliver"]):
            time.sleep(0.2)
        assert waiting(queues["deliver"]) == 0  # the worker took its delivery
        assert waiting(queues["evaluate"]) == 1  # and left the evaluation in its queue
    finally:
        stop(worker)
        with app.connection_for_write() as conn:
            for queue in queues.values():
                conn.default_channel.queue_purge(queue)
