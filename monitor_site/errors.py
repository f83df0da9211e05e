"""A database outage answers 503 with Retry-After, never a 500 with a traceback.

While PostgreSQL restarts (or fails over, or refuses connections) every query raises
Django's `OperationalError` or `InterfaceError`. Clients treat 503 as "try again":
the SDK retries the batch with the same `Idempotency-Key`, so it is stored exactly once
when the database is back; load balancers take the instance out of rotation.

Three hooks, because a query can fail in three places:
- `exception_handler` (REST_FRAMEWORK["EXCEPTION_HANDLER"]): inside a DRF view,
  including token authentication;
- `DatabaseOutageMiddleware.process_exception`: inside any other view (dashboards, admin);
- the `got_request_exception` flag: inside another middleware (e.g. saving a session),
  where Django has already turned the exception into a 500 that the middleware replaces.
"""

import sys

from django.core.signals import got_request_exception
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.views import defaults
from rest_framework.exceptions import AuthenticationFailed, NotAuthenticated
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

RETRY_AFTER_SECONDS = 5
DETAIL = "The database is unavailable; retry later."


def outage_errors() -> tuple[type[Exception], ...]:
    """Django's wrappers, plus the driver's own classes for the rare unwrapped call."""
    errors: tuple[type[Exception], ...] = (OperationalError, InterfaceError)
    try:
        import psycopg2
    except ImportError:
        return errors
    return errors + (psycopg2.OperationalError, psycopg2.InterfaceError)


OUTAGE_ERRORS = outage_errors()


def is_database_outage(exc: BaseException | None) -> bool:
    return isinstance(exc, OUTAGE_ERRORS)


def wants_json(request) -> bool:
    accept = request.META.get("HTTP_ACCEPT", "")
    return is_api(request) or "json" in accept or "text/html" not in accept


def unavailable(request) -> HttpResponse:
    """The 503 answer: JSON for the API and scripts, a short page for browsers."""
    if wants_json(request):
        response = JsonResponse({"detail": DETAIL}, status=503)
    else:
        response = HttpResponse(
            f"<!doctype html><title>Service unavailable</title><h1>Service unavailable</h1>"
            f"<p>{DETAIL}</p>",
            status=503,
            content_type="text/html; charset=utf-8",
        )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


def exception_handler(exc, context):
    """DRF's handler, except that a database outage answers 503 (as plain JSON, so that
    rendering never touches the database again, e.g. the browsable API's user menu), and
    that a 401 counts against the address's anonymous rate limit (429 beyond it)."""
    if is_database_outage(exc):
        set_rollback()
        return unavailable(context["request"])
    if isinstance(exc, NotAuthenticated | AuthenticationFailed):
        from access.throttling import refuse_failed_auth

        exc = refuse_failed_auth(context["request"], context["view"]) or exc
    return drf_exception_handler(exc, context)


def flag_outage(sender, request=None, **kwargs) -> None:
    """Sent by Django inside its `except` block: mark requests that failed on the database."""
    if request is not None and is_database_outage(sys.exc_info()[1]):
        request.database_outage = True


class DatabaseOutageMiddleware:
    """Outermost middleware: turn a database outage anywhere below into a 503."""

    def __init__(self, get_response):
        self.get_response = get_response
        got_request_exception.connect(flag_outage, dispatch_uid="modelwatch-database-outage")

    def __call__(self, request):
        response = self.get_response(request)
        if getattr(request, "database_outage", False) and response.status_code == 500:
            return unavailable(request)
        return response

    def process_exception(self, request, exception):
        if is_database_outage(exception):
            return unavailable(request)
        return None


def is_api(request) -> bool:
    return request.path.startswith("/api/")


def not_found(request, exception=None):
    """handler404: JSON under /api/ (an id that matches no route, e.g. `/rules/0.5/`), the
    dashboards' 404 page (404.html, in their layout) elsewhere."""
    if is_api(request):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


def bad_request(request, exception=None):
    """handler400: JSON under /api/, the dashboards' 400 page (400.html) elsewhere."""
    if is_api(request):
        return JsonResponse({"detail": "Bad request."}, status=400)
    return defaults.bad_request(request, exception)


def server_error(request):
    """handler500: JSON under /api/, Django's page elsewhere; no details either way."""
    if is_api(request):
        return JsonResponse({"detail": "Server error."}, status=500)
    return defaults.server_error(request)
