"""Shared plumbing of the benchmarks: a scratch PostgreSQL database and a gunicorn server."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import psycopg2
import requests

ROOT = Path(__file__).resolve().parent.parent
ADMIN_DSN = os.environ.get("BENCH_ADMIN_DSN", "postgres://postgres@127.0.0.1:5432/postgres")


def bench_database(name: str) -> tuple[str, dict]:
    """Drop and recreate database `name`, migrate it; return its DSN and an env using it."""
    conn = psycopg2.connect(ADMIN_DSN)
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    dsn = ADMIN_DSN.rsplit("/", 1)[0] + f"/{name}"
    env = os.environ | {
        "DATABASE_URL": dsn,
        "DJANGO_DEBUG": "1",
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "monitor_site.settings",
    }
    manage(env, "migrate", "--noinput", "-v", "0")
    return dsn, env


def ensure_venv(venv: Path, requirements: Path) -> Path:
    """The python of `venv`, created from `requirements` when missing: a bench-only tool
    (Evidently, NannyML) pins packages the app's venv must never share."""
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "-r", str(requirements)], check=True
        )
    return python


def manage(env: dict, *args: str) -> str:
    """Run `manage.py ARGS` with `env`; return its standard output."""
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stderr}")
    return result.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """gunicorn serving the app on a free local port, for the length of a `with` block."""

    def __init__(self, env: dict, workers: int = 2, port: int | None = None, threads: int = 1):
        self.env, self.workers, self.threads = env, workers, threads
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "Server":
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "monitor_site.wsgi",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(self.workers),
                "--threads",
                str(self.threads),
                "--log-level",
                "warning",
                "--timeout",
                "120",
            ],
            cwd=ROOT,
            env=self.env,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}")
            try:
                if requests.get(f"{self.url}/healthz", timeout=10).status_code in (200, 503):
                    return self
            except requests.RequestException:
                time.sleep(0.2)
        raise RuntimeError("gunicorn did not start")

    def worker_pids(self) -> list[int]:
        out = subprocess.run(
            ["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True
        ).stdout
        return [int(pid) for pid in out.split()]

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
