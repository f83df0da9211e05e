"""A database outage answers 503 with Retry-After (JSON for the API), never a 500."""

import pytest
from django.db import InterfaceError, OperationalError
from django.test import override_settings
from rest_framework.authentication import TokenAuthentication

from models_app.api.views import ModelViewSet
from monitor_site import errors

pytestmark = pytest.mark.django_db


def refuse(*args, **kwargs):
    raise OperationalError("connection to server at 127.0.0.1 port 5432 failed: refused")


class FailingMiddleware:
    """A middleware whose own query fails (as SessionMiddleware's save would)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        self.get_response(request)
        raise InterfaceError("connection already closed")


def assert_unavailable(response) -> None:
    assert response.status_code == 503
    assert response["Retry-After"] == str(errors.RETRY_AFTER_SECONDS)
    assert response.json() == {"detail": errors.DETAIL}


def test_an_api_view_whose_query_fails_answers_503_json(api, monkeypatch):
    monkeypatch.setattr(ModelViewSet, "get_queryset", refuse)
    assert_unavailable(api.get("/api/v1/models/"))


def test_token_authentication_failing_on_the_database_answers_503(api, monkeypatch):
    monkeypatch.setattr(TokenAuthentication, "authenticate_credentials", refuse)
    assert_unavailable(
        api.post(
            "/api/v1/models/fraud/metrics/",
            {"records": [{"name": "loss", "value": 1}]},
            format="json",
        )
    )


def test_a_browser_on_the_api_still_gets_json_not_the_browsable_page(api, monkeypatch):
    monkeypatch.setattr(TokenAuthentication, "authenticate_credentials", refuse)
    assert_unavailable(api.get("/api/v1/models/", HTTP_ACCEPT="text/html"))


def test_a_dashboard_page_answers_a_503_page(client, user, monkeypatch):
    client.force_login(user)
    monkeypatch.setattr("django.contrib.sessions.backends.db.SessionStore.load", refuse)
    response = client.get("/", HTTP_ACCEPT="text/html")
    assert response.status_code == 503 and response["Retry-After"]
    assert b"Service unavailable" in response.content


def test_a_failure_inside_another_middleware_answers_503(client, settings):
    middleware = [*settings.MIDDLEWARE, f"{__name__}.FailingMiddleware"]
    client.raise_request_exception = False  # as in production: Django answers, not raises
    with override_settings(MIDDLEWARE=middleware):
        assert_unavailable(client.get("/api/v1/models/"))


def test_other_errors_keep_their_status(api, monkeypatch):
    assert api.get("/api/v1/models/nope/").status_code == 404
    assert api.post("/api/v1/models/", {"name": "x"}, format="json").status_code == 400


def test_a_programming_error_is_still_a_500(api, monkeypatch):
    def broken(*args, **kwargs):
        raise ZeroDivisionError

    monkeypatch.setattr(ModelViewSet, "get_queryset", broken)
    api.raise_request_exception = False
    assert api.get("/api/v1/models/").status_code == 500
