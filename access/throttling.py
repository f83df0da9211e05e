"""API rate limits: anonymous, per user, and per ingest token/user for telemetry writes.

Rates come from `MODELWATCH_THROTTLE_ANON`, `MODELWATCH_THROTTLE_USER` and
`MODELWATCH_THROTTLE_INGEST` ("600/minute", "20/second", ...; "off" disables). Counts
are fixed windows in Django's cache (one increment per request, whatever the rate),
shared by every process when CACHES points at a shared cache, per process otherwise.

Anonymous requests are counted per client address (`client_address`: the peer, or the
address a trusted proxy forwarded), and that includes requests refused for want of
valid credentials (`refuse_failed_auth`): DRF checks throttles only after
authentication and permissions, so without it a 401 would never be counted.
"""

import ipaddress
import re
import time
from functools import lru_cache

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from rest_framework.exceptions import Throttled
from rest_framework.throttling import BaseThrottle

from access.authentication import ingest_token_of
from access.permissions import TELEMETRY_ACTIONS

RATE = re.compile(r"^\s*(\d+)\s*/\s*(s|sec|second|m|min|minute|h|hour|d|day)\s*$")
PERIOD_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(name: str, text: str) -> tuple[int, int] | None:
    """ "600/minute" -> (600, 60); "off", "0" or "" -> None (no limit); else fail fast."""
    if text.strip().lower() in {"", "off", "0", "none"}:
        return None
    match = RATE.match(text)
    if not match or int(match.group(1)) < 1:
        raise ImproperlyConfigured(
            f'{name} must look like "600/minute" (per second, minute, hour or day) or "off", '
            f"got {text!r}"
        )
    return int(match.group(1)), PERIOD_SECONDS[match.group(2)[0]]


@lru_cache(maxsize=8)
def parse_proxies(text: str) -> tuple:
    """ "10.0.0.0/8, 127.0.0.1" -> networks; anything else stops the process at start."""
    try:
        return tuple(
            ipaddress.ip_network(item.strip(), strict=False)
            for item in text.split(",")
            if item.strip()
        )
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"MODELWATCH_TRUSTED_PROXIES must be IP addresses or networks, comma-separated: {exc}"
        ) from None


def _is_trusted(address: str, proxies: tuple) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in proxies)


def client_address(request) -> str:
    """The address a request came from: the TCP peer (`REMOTE_ADDR`), unless the peer is a
    proxy listed in MODELWATCH_TRUSTED_PROXIES; then the right-most `X-Forwarded-For` hop
    that is not itself a trusted proxy. A client-supplied header is never believed."""
    meta = request.META
    peer = meta.get("REMOTE_ADDR", "") or ""
    proxies = parse_proxies(getattr(settings, "MODELWATCH_TRUSTED_PROXIES", ""))
    if not _is_trusted(peer, proxies):
        return peer
    hops = [hop.strip() for hop in meta.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    for hop in reversed([hop for hop in hops if hop]):
        if not _is_trusted(hop, proxies):
            return hop if _is_address(hop) else peer
    return peer


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def count_hit(name: str, ident: str, limit: int, period: int) -> tuple[bool, float]:
    """One more hit in `ident`'s current window: (still within `limit`, seconds left)."""
    now = time.time()
    window = int(now // period)
    key = f"throttle:{name}:{ident}:{window}"
    cache.add(key, 0, period + 1)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, period + 1)
        count = 1
    return count <= limit, (window + 1) * period - now


def hits_so_far(name: str, ident: str, period: int) -> tuple[int, float]:
    """The hits already counted in `ident`'s current window, and the seconds left in it."""
    now = time.time()
    window = int(now // period)
    return cache.get(f"throttle:{name}:{ident}:{window}", 0), (window + 1) * period - now


def forget_hits(name: str, ident: str, period: int) -> None:
    cache.delete(f"throttle:{name}:{ident}:{int(time.time() // period)}")


def is_telemetry_write(request, view) -> bool:
    return request.method == "POST" and getattr(view, "action", None) in TELEMETRY_ACTIONS


class FixedWindowThrottle(BaseThrottle):
    """At most N requests per period and identity; one cache increment per request."""

    setting = ""

    def rate(self) -> tuple[int, int] | None:
        return parse_rate(self.setting, getattr(settings, self.setting))

    def identity(self, request, view) -> str | None:
        raise NotImplementedError

    def get_ident(self, request) -> str:
        return client_address(request)

    def allow_request(self, request, view) -> bool:
        rate, ident = self.rate(), self.identity(request, view)
        if rate is None or ident is None:
            return True
        allowed, self.retry_after = count_hit(self.setting, ident, *rate)
        return allowed

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


def refuse_failed_auth(request, view) -> Throttled | None:
    """Count a request refused for missing or bad credentials against its address's
    anonymous budget (DRF never ran the throttles for it); over budget, the 429 to send."""
    throttle = AnonThrottle()
    if throttle.allow_request(request, view):
        return None
    return Throttled(throttle.wait())
