"""Tasks sent by name: the registered task's own apply_async, in any process."""

import subprocess
import sys
from pathlib import Path

import pytest

from monitor_site import enqueue

ROOT = Path(__file__).resolve().parents[2]


def test_send_is_the_named_tasks_apply_async_with_the_same_options(monkeypatch):
    task = enqueue.task("alerts_app.tasks.deliver_task")
    calls = []
    monkeypatch.setattr(task, "apply_async", lambda args, **options: calls.append((args, options)))
    enqueue.send("alerts_app.tasks.deliver_task", (7,), countdown=30)
    assert calls == [((7,), {"countdown": 30})]


def test_an_unknown_task_name_raises():
    with pytest.raises(KeyError):
        enqueue.task("alerts_app.tasks.no_such_task")


def test_a_process_that_never_imported_the_tasks_finds_them_by_name():
    code = (
        "import django; django.setup(); import sys; "
        "assert 'alerts_app.tasks' not in sys.modules; "
        "from monitor_site.enqueue import task; "
        "print(task('alerts_app.tasks.evaluate_rules_task').name, "
        "task('alerts_app.tasks.deliver_task').acks_late)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={
            "DJANGO_SETTINGS_MODULE": "monitor_site.settings",
            "CELERY_BROKER_URL": "memory://",
            "PATH": "",
        },
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["alerts_app.tasks.evaluate_rules_task", "True"]
