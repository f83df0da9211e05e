"""A fresh copy of the repository, as a new user's clone, for tests that run its commands.

It holds the git-tracked files (as they are in the working tree) and a `.venv` made of
symlinks into the test's venv, with its own fresh `.runtime` stamp, so that `make` finds
the venv up to date and installs nothing (and the shared venv is never touched).
"""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def copy_repository(target: Path) -> Path:
    files = (
        subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True)
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, files):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, target / name)
    venv = target / ".venv"
    venv.mkdir()
    for entry in Path(sys.prefix).iterdir():
        if not entry.name.startswith("."):
            (venv / entry.name).symlink_to(entry)
    (venv / ".runtime").touch()  # newer than the copied requirements: make installs nothing
    return target
