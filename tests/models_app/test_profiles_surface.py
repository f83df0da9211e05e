"""Profiles are one package: its public surface is complete and callers use only it."""

from pathlib import Path

import models_app.profiles as profiles
from tests.source_imports import imported_modules

ROOT = Path(__file__).resolve().parents[2]
INNER = {path.stem for path in (ROOT / "models_app" / "profiles").glob("*.py")} - {"__init__"}
CALLERS = [
    "frontend/queries.py",
    "frontend/distributions.py",
    "alerts_app/loaders/profiles.py",
    "alerts_app/loaders/predictions.py",
    "alerts_app/checks/drift.py",
    "models_app/ingest.py",
    "models_app/reference_io.py",
    "models_app/tasks.py",
]


def test_every_public_name_exists():
    assert [name for name in profiles.__all__ if not hasattr(profiles, name)] == []


def test_callers_import_the_package_not_its_modules_nor_the_profile_tables():
    for caller in CALLERS:
        modules = imported_modules(ROOT / caller)
        inner = {
            m
            for m in modules
            if m.startswith("models_app.profiles.") and m.rsplit(".", 1)[1] in INNER
        }
        tables = {
            m
            for m in modules
            if m in ("models_app.models.Profile", "models_app.models.DailyProfile")
        }
        assert (caller, inner, tables) == (caller, set(), set())


def test_the_profiles_package_never_imports_ingest():
    for path in (ROOT / "models_app" / "profiles").glob("*.py"):
        assert not any("ingest" in m for m in imported_modules(path)), path.name
