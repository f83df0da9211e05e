"""HTTP with retries: exponential backoff with jitter, Retry-After, never on a 4xx.

Retried: connection errors, timeouts, 5xx and 429. A POST is only retried with the
same `Idempotency-Key` header, so a batch the server stored before the connection
dropped is not stored twice.
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

from modelwatch import __version__
from modelwatch.errors import ModelWatchConnectionError, ModelWatchError

log = logging.getLogger("modelwatch")

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to wait: attempt n waits ~`backoff * 2**n`, capped."""

    max_retries: int = 5
    backoff: float = 0.5
    max_backoff: float = 30.0
    max_retry_after: float = 300.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Equal jitter: half the exponential delay, plus a random part of the other half."""
        ceiling = min(self.max_backoff, self.backoff * 2**attempt)
        return ceiling / 2 + rng.uniform(0, ceiling / 2)


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment is None:
        return None
    return max(0.0, moment.timestamp() - (time.time() if now is None else now))


def is_retryable(response: requests.Response) -> bool:
    return response.status_code in RETRY_STATUSES or response.status_code >= 500


class Transport:
    """Sends requests to one server with one token; safe to share between threads."""

    def __init__(
        self,
        url: str,
        token: str | None,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.sleep = sleep
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()
        self._rng = random.Random()

    def session(self) -> requests.Session:
        """One requests.Session per thread (a Session is not safe to share)."""
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers["User-Agent"] = f"modelwatch-python/{__version__}"
            if self.token:
                session.headers["Authorization"] = f"Token {self.token}"
            self._local.session = session
            with self._lock:
                self._sessions.append(session)
        return session

    def url(self, path: str) -> str:
        return path if path.startswith("http") else f"{self.base_url}/{path.lstrip('/')}"

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """Send, retrying what may succeed later; raise ModelWatchError otherwise."""
        url = self.url(path)
        attempt = 0
        while True:
            wait = self._attempt(method, url, attempt, kwargs)
            if isinstance(wait, requests.Response):
                return wait
            self.sleep(wait)
            attempt += 1

    def _attempt(
        self, method: str, url: str, attempt: int, kwargs: dict
    ) -> requests.Response | float:
        """One try: the answer, or how long to wait before the next try."""
        last = attempt >= self.retry.max_retries
        try:
            response = self.session().request(method, url, timeout=self.timeout, **kwargs)
        except (requests.ConnectionError, requests.Timeout) as exc:
            if last:
                raise ModelWatchConnectionError(
                    f"{method} {url} failed after {attempt + 1} attempts: {exc}",
                    method=method,
                    url=url,
                ) from exc
            log.info("modelwatch: %s %s failed (%s); retrying", method, url, exc)
            return self.retry.delay(attempt, self._rng)
        if response.status_code < 400:
            return response
        if last or not is_retryable(response):
            raise ModelWatchError.from_response(response)
        log.info("modelwatch: %s %s answered %s; retrying", method, url, response.status_code)
        return self._server_delay(response, attempt)

    def _server_delay(self, response: requests.Response, attempt: int) -> float:
        """Retry-After when the server gives one (capped), else our own backoff."""
        told = retry_after_seconds(response.headers.get("Retry-After"))
        if told is None:
            return self.retry.delay(attempt, self._rng)
        return min(told, self.retry.max_retry_after)

    def close(self) -> None:
        """Close the connections of every thread (call once the others are done)."""
        with self._lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()
        self._local = threading.local()
