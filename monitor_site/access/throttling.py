"""API rate limits: anonymous, per user, and per ingest token/user for telemetry writes.

Rates come from `MODELWATCH_THROTTLE_ANON`, `MODELWATCH_THROTTLE_USER` and
`MODELWATCH_THROTTLE_INGEST` ("600/minute", "20/second", ...; "off" disables). Counts
are fixed windows in Django's cache (one increment per request, whatever the rate),
shared by every process when CACHES points at a shared cache, per process otherwise.
"""

import re
import time

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from rest_framework.throttling import BaseThrottle

from models_app.api.permissions import TELEMETRY_ACTIONS
from monitor_site.access.authentication import ingest_token_of

RATE = re.compile(r"^\s*(\d+)\s*/\s*(s|sec|second|m|min|minute|h|hour|d|day)\s*$")
PERIOD_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(name: str, text: str) -> tuple[int, int] | None:
    """"600/minute" -> (600, 60); "off", "0" or "" -> None (no limit); else fail fast."""
    if text.strip().lower() in {"", "off", "0", "none"}:
        return None
    match = RATE.match(text)
    if not match or int(match.group(1)) < 1:
        raise ImproperlyConfigured(
            f'{name} must look like "600/minute" (per second, minute, hour or day) or "off", '
            f"got {text!r}")
    return int(match.group(1)), PERIOD_SECONDS[match.group(2)[0]]


def is_telemetry_write(request, view) -> bool:
    return request.method == "POST" and getattr(view, "action", None) in TELEMETRY_ACTIONS


class FixedWindowThrottle(BaseThrottle):
    """At most N requests per period and identity; one cache increment per request."""

    setting = ""

    def rate(self) -> tuple[int, int] | None:
        return parse_rate(self.setting, getattr(settings, self.setting))

    def identity(self, request, view) -> str | None:
        raise NotImplementedError

    def allow_request(self, request, view) -> bool:
        rate, ident = self.rate(), self.identity(request, view)
        if rate is None or ident is None:
            return True
        limit, period = rate
        now = time.time()
        window = int(now // period)
        key = f"throttle:{self.setting}:{ident}:{window}"
        cache.add(key, 0, period + 1)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, period + 1)
            count = 1
        self.retry_after = (window + 1) * period - now
        return count <= limit

    def wait(self) -> float:
        return max(getattr(self, "retry_after", 1.0), 1.0)


class AnonThrottle(FixedWindowThrottle):
    setting = "MODELWATCH_THROTTLE_ANON"

    def identity(self, request, view) -> str | None:
        return None if request.user.is_authenticated else f"ip:{self.get_ident(request)}"


class UserThrottle(FixedWindowThrottle):
    """Every authenticated request except telemetry writes (those count as ingest)."""

    setting = "MODELWATCH_THROTTLE_USER"

    def identity(self, request, view) -> str | None:
        if not request.user.is_authenticated or is_telemetry_write(request, view):
            return None
        token = ingest_token_of(request)
        return f"token:{token.pk}" if token else f"user:{request.user.pk}"


class IngestThrottle(FixedWindowThrottle):
    """Telemetry writes, per ingest token or per user (generous: serving traffic)."""

    setting = "MODELWATCH_THROTTLE_INGEST"

    def identity(self, request, view) -> str | None:
        if not request.user.is_authenticated or not is_telemetry_write(request, view):
            return None
        token = ingest_token_of(request)
        return f"token:{token.pk}" if token else f"user:{request.user.pk}"
