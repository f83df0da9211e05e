"""The README's runnable blocks run as written, against a live server, so it cannot rot.

A block is runnable when the line before its fence is `<!-- runnable -->`. The shell
blocks run first, in one bash (`set -euo pipefail`) in a fresh copy of the repository,
with PORT set to the live server's port and `pip` from a throwaway venv; the Python
blocks then run, in order, as one script in the environment the shell left behind.
"""

import os
import re
import subprocess
import sys
import venv
from pathlib import Path

import pytest
from django.db import connection

from models_app.models import Model, Prediction, Reference
from tests.celery_live import database_url
from tests.monitor_site.fresh_copy import ROOT, copy_repository

pytestmark = pytest.mark.slow

BLOCK = re.compile(r"^<!-- runnable -->\n```(sh|python)\n(.*?)^```$", re.M | re.S)
DONE = "README-BLOCK-DONE"


def runnable_blocks(text: str) -> list[tuple[str, str]]:
    return [(language, code) for language, code in BLOCK.findall(text)]


def test_the_block_finder_takes_only_marked_fences():
    text = (
        "```sh\nmake run\n```\n<!-- runnable -->\n```sh\necho a\n```\n"
        "`<!-- runnable -->` inline\n```python\nx = 1\n```\n"
        "<!-- runnable -->\n```python\nprint(1)\n\nprint(2)\n```\n"
    )
    assert runnable_blocks(text) == [("sh", "echo a\n"), ("python", "print(1)\n\nprint(2)\n")]


def shell_script(blocks: list[str], env_file: Path) -> str:
    """The shell blocks in one bash, each announcing its end, then the exported env."""
    parts = ["set -euo pipefail"]
    for number, code in enumerate(blocks):
        parts += [code, f"echo {DONE} sh {number}"]
    parts.append(f"env -0 > {env_file}")
    return "\n".join(parts)


def python_script(blocks: list[str]) -> str:
    parts = []
    for number, code in enumerate(blocks):
        parts += [code, f"print({DONE!r}, 'python', {number}, flush=True)"]
    return "\n".join(parts)


def run(args: list[str], **kwargs) -> str:
    done = subprocess.run(args, capture_output=True, text=True, timeout=300, **kwargs)
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"{args[:2]} failed ({done.returncode}):\n{output[-6000:]}"
    return output


@pytest.mark.django_db(transaction=True)
def test_every_runnable_readme_block_runs_against_a_live_server(live_server, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("the README's commands share the live server's database: PostgreSQL")
    blocks = runnable_blocks((ROOT / "README.md").read_text())
    shell = [code for language, code in blocks if language == "sh"]
    python = [code for language, code in blocks if language == "python"]
    assert (len(shell), len(python)) == (1, 2)  # the SDK section; update when adding blocks

    copy = copy_repository(tmp_path / "clone")
    pip_venv = tmp_path / "user-venv"  # the user's own environment, for `pip install`
    venv.create(pip_venv, with_pip=True)
    port = live_server.url.rsplit(":", 1)[1]
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("MODELWATCH_", "PORT"))
    }
    env |= {
        "PATH": f"{pip_venv / 'bin'}:{env['PATH']}",
        "PORT": port,
        "DATABASE_URL": database_url(),
    }
    env_file = tmp_path / "env"
    output = run(["bash", "-c", shell_script(shell, env_file)], cwd=copy, env=env)
    assert f"{DONE} sh 0" in output
    assert "Successfully installed" in output and "modelwatch" in output

    after_shell = dict(
        line.split("=", 1) for line in env_file.read_text().split("\0") if "=" in line
    )
    assert after_shell["MODELWATCH_URL"] == f"http://127.0.0.1:{port}"
    assert re.fullmatch(r"[0-9a-f]{40}", after_shell["MODELWATCH_TOKEN"])
    script = tmp_path / "readme.py"
    script.write_text(python_script(python))
    output = run([sys.executable, str(script)], cwd=copy, env=after_shell)
    assert [f"{DONE} python {n}" in output for n in range(len(python))] == [True, True]

    model = Model.objects.get(name="cancer")
    served = Prediction.objects.filter(model=model)
    assert served.count() == 169
    assert served.exclude(label=None).count() == 169
    assert served.filter(latency_ms=8.0).count() == 169
    assert Reference.objects.get(version__model=model).n_rows == 400
