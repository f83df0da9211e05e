"""Real Celery processes for integration tests: a worker (and beat) on the test database.

The processes consume a queue of their own (`live-<random>`), so tasks that other
tests enqueue without a worker never reach them; tests marked `celery` send to that
queue while they run (`sent_to`: every task, routed ones included). The processes route
every task there too (MODELWATCH_QUEUE_* in `live_env`). Requires CELERY_BROKER_URL on
Redis or RabbitMQ and PostgreSQL.
"""

import contextlib
import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from monitor_site.celery import app

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class CeleryLive:
    queue: str
    env: dict
    worker: subprocess.Popen
    name: str

    def spawn(self, *args: str, log_name: str = "celery") -> subprocess.Popen:
        """Start another celery process (e.g. beat, a second worker) with the same env."""
        return spawn_celery(list(args), self.env, log_name)


def database_url() -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def live_env(queue: str) -> dict:
    return os.environ | {
        "DATABASE_URL": database_url(),
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "MODELWATCH_QUEUE_INGEST": queue,
        "MODELWATCH_QUEUE_EVALUATE": queue,
        "MODELWATCH_QUEUE_DELIVER": queue,
        "DATABASE_CONN_MAX_AGE": "0",
        "PYTHONUNBUFFERED": "1",
    }


def spawn_celery(args: list[str], env: dict, log_name: str) -> subprocess.Popen:
    logs = ROOT / "test-artifacts" / "celery"
    logs.mkdir(parents=True, exist_ok=True)
    log = open(logs / f"{log_name}.log", "ab")  # noqa: SIM115 - lives as long as the process
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "monitor_site", *args],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def start_worker(env: dict, queue: str, name: str, concurrency: int = 2) -> subprocess.Popen:
    return spawn_celery(
        [
            "worker",
            "-Q",
            queue,
            "-n",
            name,
            "-c",
            str(concurrency),
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
        ],
        env,
        name.split("@")[0],
    )


def wait_ready(name: str, process: subprocess.Popen, timeout: float = 180) -> None:
    """Until the worker answers a ping. A start takes a few seconds alone; on 2 cores
    shared with other test runs (load ~13) 60 s was seen to pass without an answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"celery worker {name} exited with {process.returncode}")
        if app.control.ping(destination=[name], timeout=1.0):
            return
    raise RuntimeError(f"celery worker {name} did not answer a ping in {timeout}s")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup):
    """A real `celery worker` subprocess on Redis, reading the pytest test database."""
    broker = os.environ.get("CELERY_BROKER_URL", "")
    if connection.vendor != "postgresql" or not broker.startswith(("redis://", "amqp://")):
        pytest.skip("needs PostgreSQL (DATABASE_URL) and a Redis/AMQP CELERY_BROKER_URL")
    queue = f"live-{uuid.uuid4().hex[:8]}"
    name = f"{queue}@localhost"
    env = live_env(queue)
    worker = start_worker(env, queue, name)
    try:
        wait_ready(name, worker)
        yield CeleryLive(queue=queue, env=env, worker=worker, name=name)
    finally:
        stop(worker)
        with app.connection_for_write() as conn:
            conn.default_channel.queue_purge(queue)


def use_routes(default_queue: str, routes: dict) -> None:
    """Make this process send unrouted tasks to `default_queue` and the others by `routes`
    (Celery caches its router: it is rebuilt from the new table)."""
    app.conf.task_default_queue = default_queue
    app.conf.task_routes = routes
    app.amqp.flush_routes()
    app.amqp.__dict__.pop("router", None)


@contextlib.contextmanager
def sent_to(queue: str, routes: dict | None = None):
    """While inside, this process sends every task to `queue` (or by `routes`)."""
    previous = app.conf.task_default_queue, app.conf.task_routes
    every_task = {name: {"queue": queue} for name in settings.TASK_QUEUES}
    use_routes(queue, every_task if routes is None else routes)
    try:
        yield
    finally:
        use_routes(*previous)


@pytest.fixture
def celery_live(celery_worker_process, transactional_db):
    """Send this test's tasks to the live worker's queue (data committed: transactional)."""
    with sent_to(celery_worker_process.queue):
        yield celery_worker_process
