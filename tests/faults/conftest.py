"""Fault drills: a PostgreSQL cluster of their own per session, a database per drill.

They never touch the shared PostgreSQL and Redis (other test runs use them), and they
skip, saying why, where the server binaries are not installed.
"""

import sys
import uuid
from pathlib import Path

import pytest

from tests.faults.stack import Postgres, missing_binaries

# The SDK from its source tree, as tests/sdk does.
SDK_SOURCE = str(Path(__file__).resolve().parents[2] / "modelwatch")
if SDK_SOURCE not in sys.path:
    sys.path.insert(0, SDK_SOURCE)


@pytest.fixture(scope="session")
def scratch_postgres():
    reason = missing_binaries()
    if reason:
        pytest.skip(f"fault drills need their own services: {reason}")
    cluster = Postgres().init()
    try:
        cluster.template = cluster.migrated_template()
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture
def drill_database(scratch_postgres) -> str:
    """DATABASE_URL of a fresh migrated database on the drills' own cluster."""
    return scratch_postgres.database_from(
        scratch_postgres.template, f"drill_{uuid.uuid4().hex[:8]}"
    )
