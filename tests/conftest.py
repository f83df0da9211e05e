"""The cast every test may use: a user with a token, an API client, a model."""

import pytest
from rest_framework.test import APIClient

from tests.factories import grant_all_models, make_model, make_token, make_user


def pytest_configure(config):
    from django.conf import settings

    # The default PBKDF2 hasher costs ~0.3 s per user: far too slow for tests.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def user(db):
    """Alice: not staff, but admin of every model (roles: docs/security.md)."""
    return grant_all_models(make_user(), "admin")


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    """API rate-limit counters live in Django's cache: every test starts without any."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def token(user) -> str:
    return make_token(user)


@pytest.fixture
def api(token) -> APIClient:
    """An API client authenticated with a token (may read and write)."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


@pytest.fixture
def anon() -> APIClient:
    return APIClient()


@pytest.fixture
def model(db):
    return make_model()


from tests.celery_live import celery_live, celery_worker_process  # noqa: E402,F401
