"""Throwaway services and app processes for the fault drills.

The drills stop and start PostgreSQL and Redis, so they never touch the shared ones on
5432/6379: each session starts its own PostgreSQL cluster (initdb into a temporary
folder, as the `postgres` user when run as root) and each drill its own redis-server,
both on free ports. The app runs as it does in production: gunicorn (bench/harness.py's
Server), `celery worker` and `celery beat` processes with DATABASE_URL and
CELERY_BROKER_URL pointing at those services.
"""

import glob
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg2

from bench.harness import ROOT, free_port, manage

LOGS = ROOT / "test-artifacts" / "faults"


def wait_until(predicate, timeout: float = 60, step: float = 0.2):
    """Poll `predicate` until it is truthy (or time runs out); return its last value."""
    deadline = time.monotonic() + timeout
    value = predicate()
    while not value and time.monotonic() < deadline:
        time.sleep(step)
        value = predicate()
    return value


def postgres_bindir() -> Path | None:
    """The newest installed PostgreSQL server binaries (Debian's layout, or on PATH)."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/postgres"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("postgres")
    return Path(on_path).parent if on_path and shutil.which("initdb") else None


def missing_binaries() -> str | None:
    """Why the drills cannot run here (None when they can)."""
    if postgres_bindir() is None:
        return "PostgreSQL server binaries (initdb, pg_ctl, postgres) are not installed"
    if shutil.which("redis-server") is None:
        return "redis-server is not installed"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root needs a 'postgres' user to run initdb"
        if shutil.which("runuser") is None:
            return "running as root needs runuser to run initdb as 'postgres'"
    return None


class Postgres:
    """A PostgreSQL cluster of our own on a free port; `stop()`/`start()` for the drills."""

    def __init__(self) -> None:
        self.bindir = postgres_bindir()
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="mw-faults-pg-"))
        self.data = self.root / "data"
        self.log = LOGS / f"postgres-{self.port}.log"

    def run(self, *args: str) -> None:
        command = [str(self.bindir / args[0]), *args[1:]]
        if os.geteuid() == 0:  # initdb and postgres refuse to run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def init(self) -> "Postgres":
        LOGS.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
            self.log.touch()
            os.chown(self.log, owner.pw_uid, owner.pw_gid)
        self.run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
            "--locale=C",
        )
        return self.start()

    def start(self) -> "Postgres":
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c max_connections=60"
        )
        self.run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        )
        return self

    def stop(self, mode: str = "immediate") -> None:
        """Stop the server; `immediate` is a crash (clients cut, recovery at start)."""
        self.run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def destroy(self) -> None:
        try:
            self.stop("immediate")
        except subprocess.CalledProcessError:
            pass  # already stopped
        shutil.rmtree(self.root, ignore_errors=True)

    def dsn(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def execute(self, sql: str, database: str = "postgres", params=()) -> list:
        conn = psycopg2.connect(self.dsn(database))
        conn.autocommit = True
        try:
            with conn.cursor() as cursor:
                cursor.execute(sql, params)
                return cursor.fetchall() if cursor.description else []
        finally:
            conn.close()

    def migrated_template(self, name: str = "mw_template") -> str:
        self.execute(f'CREATE DATABASE "{name}"')
        manage(app_env(self.dsn(name), "memory://"), "migrate", "--noinput", "-v", "0")
        return name

    def database_from(self, template: str, name: str) -> str:
        """A fresh migrated database (a copy of `template`); its DATABASE_URL."""
        self.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return self.dsn(name)


class Redis:
    """A redis-server of our own (no persistence: a restart loses every queued message)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> "Redis":
        LOGS.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--logfile",
                str(LOGS / f"redis-{self.port}.log"),
            ]
        )
        wait_until(self.answers, timeout=20, step=0.05)
        return self

    def answers(self) -> bool:
        import redis

        try:
            return redis.Redis(port=self.port, socket_timeout=1).ping()
        except redis.RedisError:
            return False

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


def app_env(database_url: str, broker_url: str, **extra: str) -> dict:
    return (
        os.environ
        | {
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": broker_url,
            "DJANGO_DEBUG": "0",
            "SECRET_KEY": "faults-" + "x" * 50,
            "LOG_LEVEL": "WARNING",
            "SECURE_SSL_REDIRECT": "0",
            "SESSION_COOKIE_SECURE": "0",
            "CSRF_COOKIE_SECURE": "0",
            "MODELWATCH_ALLOW_PRIVATE_WEBHOOKS": "1",
            "PYTHONUNBUFFERED": "1",
            "CELERY_TASK_DEFAULT_QUEUE": "celery",
            "DJANGO_SETTINGS_MODULE": "monitor_site.settings",
        }
        | extra
    )


def celery(env: dict, log_name: str, *args: str) -> subprocess.Popen:
    """A celery process in a session of its own, so that a drill can kill its whole group."""
    LOGS.mkdir(parents=True, exist_ok=True)
    log = open(LOGS / f"{log_name}.log", "ab")  # noqa: SIM115 - lives as long as the process
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "monitor_site", *args],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def log_tail(log_name: str, lines: int = 30) -> str:
    """The last `lines` lines of a process's log that say more than a task's success
    (for a drill's failure message: what the worker or beat was doing)."""
    path = LOGS / f"{log_name}.log"
    if not path.exists():
        return f"({path} missing)"
    kept = [
        line
        for line in path.read_text(errors="replace").splitlines()
        if line.strip() and "succeeded in" not in line
    ]
    return f"--- {path.name} ---\n" + "\n".join(kept[-lines:])


def worker(env: dict, name: str, concurrency: int = 2) -> subprocess.Popen:
    """A worker of every queue, as `make run`'s (docs/scaling.md "Queues")."""
    queues = ",".join(
        env.get(setting, default)
        for setting, default in (
            ("MODELWATCH_QUEUE_INGEST", "ingest"),
            ("MODELWATCH_QUEUE_EVALUATE", "evaluate"),
            ("MODELWATCH_QUEUE_DELIVER", "deliver"),
            ("CELERY_TASK_DEFAULT_QUEUE", "celery"),
        )
    )
    return celery(
        env,
        name,
        "worker",
        "-Q",
        queues,
        "-n",
        f"{name}@localhost",
        "-c",
        str(concurrency),
        "--loglevel=INFO",
        "--without-gossip",
        "--without-mingle",
    )


def beat(env: dict, folder: str, name: str = "beat") -> subprocess.Popen:
    return celery(
        env,
        name,
        "beat",
        "--loglevel=INFO",
        "-S",
        "celery.beat:PersistentScheduler",
        "-s",
        os.path.join(folder, "schedule"),
        "--pidfile=",
    )


def stop(process: subprocess.Popen, kill: bool = False) -> None:
    """Terminate (or SIGKILL) a process and everything in its session."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, 9 if kill else 15)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, 9)
        process.wait()


def setup_script(env: dict, code: str) -> str:
    """Run Django code against the drill's database (`manage.py shell -c`); its stdout."""
    return manage(env, "shell", "-c", code).strip()


CAST = """
import json
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from models_app.models import Model, ModelVersion
user = get_user_model().objects.create_user("drill", is_staff=True, is_superuser=True)
model = Model.objects.create(name="drill", task="binary_classification")
ModelVersion.objects.create(model=model, version="1")
cast = {"token": Token.objects.create(user=user).key, "model_id": model.id}
"""


def create_cast(env: dict, more: str = "") -> dict:
    """A superuser's token and a model "drill" (version "1"); `more` may add to `cast`."""
    output = setup_script(env, CAST + more + "\nprint(json.dumps(cast))")
    return json.loads(output.splitlines()[-1])  # after the shell's "objects imported" note


class Hook:
    """A webhook target on a port chosen in advance, so that it can "come back" there.

    `with Hook(port) as hook:` then read `hook.bodies` (every POSTed JSON body).
    """

    def __init__(self, port: int) -> None:
        self.bodies: list = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                hook.bodies.append(json.loads(raw or b"null"))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> "Hook":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
