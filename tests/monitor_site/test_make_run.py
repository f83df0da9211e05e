"""`make run`, the product's front door, in a fresh copy of the repository.

The real recipe runs (migrate, ensure_admin, seed_demo, bin/run-embedded) on the embedded
default (SQLite and the filesystem broker), with PORT on a free port: the web server,
the worker, beat, the demo feed and the webhook receiver must all come up, a person must
be able to log in, the demo must fire an alert, and stopping must leave no process behind.

The copy (fresh_copy.py) holds the git-tracked files and a `.venv` linked to this one, so
make installs nothing. Every process started in the copy inherits a marker variable: the
test finds them (orphans too) by it in /proc.
"""

import os
import re
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import requests

from tests.monitor_site.fresh_copy import copy_repository

pytestmark = pytest.mark.slow

MARKER = "MODELWATCH_TEST_RUN_MARKER"
UP_TIMEOUT = 240  # migrate + seed + start on a busy 2-core machine
ALERT_TIMEOUT = 300
STOP_TIMEOUT = 60


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_env(marker: str, port: int, webhook_port: int) -> dict:
    """The environment of a new user: no database or broker URL, no test settings."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("MODELWATCH_", "DATABASE_", "CELERY_", "DJANGO_"))
        and key not in ("PORT", "ADMIN_PASSWORD", "SECRET_KEY")
    }
    return env | {
        "PORT": str(port),
        "MODELWATCH_DEMO_WEBHOOK_PORT": str(webhook_port),
        MARKER: marker,
        "PYTHONUNBUFFERED": "1",
    }


def marked_processes(marker: str) -> list[str]:
    """`pid cmdline` of every live process whose environment carries the marker."""
    needle = f"{MARKER}={marker}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                found.append(f"{entry.name} {cmdline.strip()}")
        except OSError:  # gone meanwhile, or not ours
            continue
    return found


def kill_marked(marker: str) -> None:
    for line in marked_processes(marker):
        try:
            os.kill(int(line.split()[0]), signal.SIGKILL)
        except OSError:
            pass


def as_from_a_terminal() -> None:
    """Start the script with the signals a terminal leaves it: a test run under `nohup`
    (or any parent ignoring HUP) would hand it an ignored SIGHUP, which a bash script
    cannot trap, and the hang-up test would find it still running."""
    for number in (signal.SIGHUP, signal.SIGINT, signal.SIGTERM):
        signal.signal(number, signal.SIG_DFL)


class Run:
    """One process tree started in the copy, its log, and the URL it serves."""

    def __init__(self, copy: Path, args: list[str], port: int, webhook_port: int):
        self.marker = uuid.uuid4().hex
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = copy / "var" / f"test-{self.marker[:8]}.log"
        self.log_path.parent.mkdir(exist_ok=True)
        log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            args,
            cwd=copy,
            env=run_env(self.marker, port, webhook_port),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=as_from_a_terminal,
        )
        log.close()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:]

    def wait_for(self, what: str, check, timeout: float):
        """Poll check() until it answers something truthy; fail if the run exits first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"exited ({self.process.returncode}) before {what}:\n{self.log()}")
            try:
                answer = check()
            except requests.RequestException:
                answer = None
            if answer:
                return answer
            time.sleep(2)
        pytest.fail(f"no {what} after {timeout} s:\n{self.log()}")

    def worker_last_seen(self):
        body = requests.get(f"{self.url}/healthz", timeout=5).json()
        return body["worker"]["last_seen"]

    def wait_until_stopped(self) -> int:
        try:
            return self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"still running {STOP_TIMEOUT} s after the signal:\n{self.log()}")

    def cleanup(self) -> None:
        """Whatever happened, nothing of this run survives the test."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        kill_marked(self.marker)


@pytest.fixture(scope="module")
def copy(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("fresh-clone")
    copy_repository(target)
    return target


@pytest.fixture
def ports() -> tuple[int, int]:
    return free_port(), free_port()


EMAIL_LINE = re.compile(r"INFO/ForkPoolWorker-\d+\] e-mail to oncall@example\.com: \[FIRING\]")


def log_in(url: str, password: str) -> requests.Session:
    session = requests.Session()
    session.get(f"{url}/accounts/login/", timeout=10).raise_for_status()
    answer = session.post(
        f"{url}/accounts/login/",
        timeout=10,
        allow_redirects=False,
        data={
            "username": "admin",
            "password": password,
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
        },
    )
    assert answer.status_code == 302, answer.text[:2000]
    assert answer.headers["Location"] == "/"
    return session


def firing_alerts(session: requests.Session, url: str) -> list[dict]:
    answer = session.get(f"{url}/api/v1/alerts/?state=firing", timeout=10)
    answer.raise_for_status()
    body = answer.json()
    return body["results"] if isinstance(body, dict) else body


def test_make_run_serves_the_demo_fires_an_alert_and_stops_everything_on_ctrl_c(copy, ports):
    run = Run(copy, ["make", "run"], *ports)
    try:
        run.wait_for("worker heartbeat in /healthz", run.worker_last_seen, UP_TIMEOUT)
        session = log_in(run.url, (copy / "var" / "admin_password").read_text().strip())
        alerts = run.wait_for(
            "firing demo alert", lambda: firing_alerts(session, run.url), ALERT_TIMEOUT
        )
        assert {alert["state"] for alert in alerts} == {"firing"}
        overview = session.get(f"{run.url}/", timeout=30)
        assert overview.status_code == 200
        assert "credit-risk" in overview.text
        # The demo's webhook channel reaches the receiver (same port on both sides)...
        run.wait_for(
            "a webhook printed by the receiver", lambda: "[firing  ]" in run.log(), ALERT_TIMEOUT
        )
        # ...e-mails are one INFO line each, and the app serves its favicon.
        run.wait_for(
            "an e-mail logged on one INFO line", lambda: EMAIL_LINE.search(run.log()), ALERT_TIMEOUT
        )
        assert "Content-Type: multipart/alternative" not in run.log()
        icon = session.get(f"{run.url}/favicon.ico", timeout=10)
        assert (icon.status_code, icon.headers["Content-Type"]) == (200, "image/svg+xml")
        assert len(marked_processes(run.marker)) >= 6  # make, the script and five children

        os.killpg(run.process.pid, signal.SIGINT)  # Ctrl-C in the terminal
        run.wait_until_stopped()
        assert marked_processes(run.marker) == []
        assert "stopping web, worker, beat" in run.log()
    finally:
        run.cleanup()


def start_embedded(copy: Path, ports) -> Run:
    """bin/run-embedded alone, on the copy that `make run` migrated and seeded."""
    if not (copy / "var" / "db.sqlite3").exists():
        subprocess.run(
            [".venv/bin/python", "manage.py", "migrate", "--noinput"],
            cwd=copy,
            env=run_env("setup", *ports),
            check=True,
            capture_output=True,
        )
    run = Run(copy, ["bin/run-embedded"], *ports)
    run.wait_for(
        "web, worker, beat, feed and receiver",
        lambda: (
            len(marked_processes(run.marker)) >= 6
            and requests.get(f"{run.url}/healthz", timeout=5).ok
        ),
        UP_TIMEOUT,
    )
    return run


def test_closing_the_terminal_stops_every_process(copy, ports):
    run = start_embedded(copy, ports)
    try:
        # A terminal's hang-up goes to its foreground process group (the script's group:
        # it is its session's leader here), as when the window of `make run` is closed.
        os.killpg(run.process.pid, signal.SIGHUP)
        status = run.wait_until_stopped()
        assert marked_processes(run.marker) == []  # no orphan of gunicorn or Celery
        assert status == 129
    finally:
        run.cleanup()


def test_a_child_that_exits_is_named_with_its_status_and_the_others_stop(copy, ports):
    run = start_embedded(copy, ports)
    try:
        receiver = next(
            line for line in marked_processes(run.marker) if "webhook_receiver.py" in line
        )
        pid = int(receiver.split()[0])
        os.kill(pid, signal.SIGTERM)
        assert run.wait_until_stopped() == 1
        assert f"webhook receiver (pid {pid}) stopped (killed by signal 15)" in run.log()
        assert marked_processes(run.marker) == []
    finally:
        run.cleanup()
