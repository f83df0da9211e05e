"""The live alerting stack for end-to-end tests: two real workers and two beats.

The workers start once per session on a queue of their own (nothing else publishes
there); the two beats start with the first test that needs them and stop after the last
one in a row, so that no dispatcher is left evaluating the rules of other tests.
Timings are short (the dispatcher ticks every second, retries back off from 0.3 s) and
private webhook targets are allowed so that a local receiver can listen on 127.0.0.1.
Beat uses Celery's file scheduler here: the pytest database is truncated between tests,
which would pull django-celery-beat's tables from under it; the schedule itself is the
same CELERY_BEAT_SCHEDULE.
"""

import os
import tempfile
import time
import uuid
from dataclasses import dataclass, field

import pytest
from django.db import connection

from monitor_site.celery import app
from tests.celery_live import live_env, sent_to, spawn_celery, start_worker, stop, wait_ready

ALERTING_ENV = {
    "MODELWATCH_DISPATCH_INTERVAL": "1",
    "MODELWATCH_NOTIFY_BACKOFF_SECONDS": "0.3",
    "MODELWATCH_ALLOW_PRIVATE_WEBHOOKS": "1",
    "MODELWATCH_WEBHOOK_TIMEOUT": "5",
}


@dataclass
class AlertingStack:
    queue: str
    env: dict
    workers: dict = field(default_factory=dict)  # name -> Popen
    beats: list = field(default_factory=list)
    directory: str = ""

    def start_beats(self) -> None:
        if not self.beats:
            self.directory = tempfile.mkdtemp(prefix="mw-beat-")
            self.beats = [start_beat(self.env, self.directory, i) for i in (1, 2)]

    def stop_beats(self) -> None:
        stop_all(self.beats)
        self.beats = []

    def active_tasks(self, task_name: str) -> list[dict]:
        """Tasks of this name that a worker is executing right now."""
        replies = app.control.inspect(destination=list(self.workers), timeout=1.0).active() or {}
        return [task for tasks in replies.values() for task in tasks if task["name"] == task_name]


def stop_all(processes) -> None:
    """Ask every process to stop first, then wait: warm shutdowns overlap."""
    processes = [p for p in processes if p.poll() is None]
    for process in processes:
        process.terminate()
    for process in processes:
        stop(process)


def start_beat(env: dict, directory: str, index: int):
    schedule = os.path.join(directory, f"beat-{index}")
    return spawn_celery(
        [
            "beat",
            "--loglevel=INFO",
            "-S",
            "celery.beat:PersistentScheduler",
            "-s",
            schedule,
            "--pidfile=",
        ],
        env,
        f"alerting-beat-{index}",
    )


@pytest.fixture(scope="session")
def alerting_stack(django_db_setup, django_db_blocker):
    broker = os.environ.get("CELERY_BROKER_URL", "")
    with django_db_blocker.unblock():
        vendor = connection.vendor
    if vendor != "postgresql" or not broker.startswith(("redis://", "amqp://")):
        pytest.skip("needs PostgreSQL (DATABASE_URL) and a Redis/AMQP CELERY_BROKER_URL")
    queue = f"alerting-{uuid.uuid4().hex[:8]}"
    with django_db_blocker.unblock():
        env = live_env(queue) | ALERTING_ENV
    stack = AlertingStack(queue, env)
    try:
        for index in (1, 2):
            name = f"{queue}-{index}@localhost"
            stack.workers[name] = start_worker(env, queue, name, concurrency=2)
        for name, process in stack.workers.items():
            wait_ready(name, process)
        yield stack
    finally:
        stack.stop_beats()
        stop_all(stack.workers.values())
        with app.connection_for_write() as conn:
            conn.default_channel.queue_purge(queue)


def next_test_needs_beats(request) -> bool:
    items = request.session.items
    index = items.index(request.node) if request.node in items else len(items)
    return index + 1 < len(items) and "alerting" in items[index + 1].fixturenames


@pytest.fixture
def alerting(request, alerting_stack, transactional_db):
    """The beats running for this test; its tasks go to the stack's queue; data committed."""
    with sent_to(alerting_stack.queue):
        alerting_stack.start_beats()
        try:
            yield alerting_stack
        finally:
            if not next_test_needs_beats(request):
                alerting_stack.stop_beats()


def wait_until(predicate, timeout: float = 60, step: float = 0.1):
    """Poll `predicate` until it is truthy; return its last value."""
    deadline = time.monotonic() + timeout
    value = predicate()
    while not value and time.monotonic() < deadline:
        time.sleep(step)
        value = predicate()
    return value
