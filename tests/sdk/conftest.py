"""SDK tests talk HTTP to a real server: pytest-django's live server on the test database."""

import sys
from pathlib import Path

import pytest

# Test the SDK's source tree, whatever copy of it (if any) the venv has installed.
SDK_SOURCE = str(Path(__file__).resolve().parents[2] / "modelwatch")
if SDK_SOURCE not in sys.path:
    sys.path.insert(0, SDK_SOURCE)

from modelwatch import Client, ModelHandle  # noqa: E402
from tests.factories import make_model, make_token, make_user  # noqa: E402
from tests.sdk.proxy import FaultyProxy  # noqa: E402


@pytest.fixture
def server_url(live_server, transactional_db) -> str:
    return live_server.url


@pytest.fixture
def token(db) -> str:
    """SDK tests act as a staff user: who may see which model is the access layer's
    business (and its tests'), not the client's."""
    return make_token(make_user("sdk", staff=True))


@pytest.fixture
def fraud(transactional_db):
    """A registered binary classifier "fraud" with version "1"."""
    return make_model("fraud")


@pytest.fixture
def mw(server_url, token):
    """A synchronous client with fast retries (tests must not sleep for long)."""
    with Client(server_url, token, backoff=0.01, max_backoff=0.05) as client:
        yield client


@pytest.fixture
def faulty(server_url):
    """Build a FaultyProxy in front of the live server; stopped after the test."""
    proxies = []

    def start(faults: list[str]) -> FaultyProxy:
        proxies.append(FaultyProxy(server_url, faults))
        return proxies[-1]

    yield start
    for proxy in proxies:
        proxy.stop()


class CapturingHandle(ModelHandle):
    """A ModelHandle that keeps what it would send, by endpoint (records already built)."""

    def __init__(self) -> None:
        super().__init__(Client("http://127.0.0.1:9", "unused"), "captured")
        self.sent: dict[str, list[dict]] = {}

    def _deliver(self, endpoint: str, records: list[dict]) -> int:
        self.sent.setdefault(endpoint, []).extend(records)
        return len(records)


@pytest.fixture
def captured() -> CapturingHandle:
    return CapturingHandle()
