"""The reliability tests send as staff: they are about what is sent, not who may send it
(tests of roles and permissions live with the access code)."""

import pytest
from rest_framework.test import APIClient

from tests.factories import make_token, make_user


@pytest.fixture
def api(db) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {make_token(make_user('ops', staff=True))}")
    return client


def pytest_terminal_summary(terminalreporter):
    """The random API fuzz's seed again at the end, where a failure is read."""
    from tests.reliability import budget

    if getattr(budget, "RANDOM_RUN", False):
        terminalreporter.write_line(budget.replay_hint())
