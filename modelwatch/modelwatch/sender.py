"""Batches: pack records under the server's limits, post each batch once, queue in background.

A batch gets one `Idempotency-Key` when it is packed; every retry of that batch
reuses it, so the server stores it once however many times it arrives.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from modelwatch.errors import ModelWatchError
from modelwatch.transport import Transport

try:
    import orjson
except ImportError:  # optional: the standard library does the same, slower
    orjson = None

log = logging.getLogger("modelwatch")

BatchKey = tuple[str, "str | None"]
ENVELOPE_OVERHEAD = 200


@dataclass
class Batch:
    """One request body, ready to post, with the key that makes its retries safe."""

    path: str
    body: bytes
    count: int
    start: int = 0
    key: str = field(default_factory=lambda: uuid.uuid4().hex)


def encode_record(record: dict) -> bytes:
    """Compact strict JSON of a JSON-safe record (orjson when installed: ~20x faster)."""
    if orjson is not None:
        return orjson.dumps(record)
    return json.dumps(record, allow_nan=False, separators=(",", ":")).encode()


def envelope(version: str | None, parts: list[bytes]) -> bytes:
    head = b'{"version":' + json.dumps(version).encode() if version is not None else b"{"
    head += b"," if version is not None else b""
    return head + b'"records":[' + b",".join(parts) + b"]}"


def pack(
    path: str, version: str | None, records: list[dict], batch_size: int, max_body_bytes: int
) -> Iterator[Batch]:
    """Split `records` into batches of at most `batch_size` records and `max_body_bytes`.

    A single record over the byte limit still goes alone (the server will answer 413).
    """
    parts: list[bytes] = []
    size, start = ENVELOPE_OVERHEAD, 0
    for index, record in enumerate(records):
        part = encode_record(record)
        if parts and (len(parts) >= batch_size or size + len(part) + 1 > max_body_bytes):
            yield Batch(path, envelope(version, parts), len(parts), start)
            parts, size, start = [], ENVELOPE_OVERHEAD, index
        parts.append(part)
        size += len(part) + 1
    if parts:
        yield Batch(path, envelope(version, parts), len(parts), start)


def post_batch(transport: Transport, batch: Batch) -> dict:
    """POST one batch (retried by the transport with the same Idempotency-Key)."""
    response = transport.request(
        "POST",
        batch.path,
        data=batch.body,
        headers={"Content-Type": "application/json", "Idempotency-Key": batch.key},
    )
    return response.json() if response.content else {}


def rejected_indexes(error: ModelWatchError, count: int) -> set[int]:
    """Indexes of the records a 400 names (`{"records": {"3": {...}}}`); empty if none."""
    errors = error.errors if isinstance(error.errors, dict) else {}
    named = errors.get("records") if error.status == 400 else None
    if not isinstance(named, dict):
        return set()
    indexes = {int(key) for key in named if str(key).isdigit()}
    return indexes if indexes and max(indexes) < count and len(named) == len(indexes) else set()


@dataclass
class _Item:
    key: BatchKey
    record: dict
    queued_at: float


class BackgroundSender:
    """A daemon thread that posts queued records in batches.

    The queue is bounded (`max_queue` records): `submit` blocks while it is full, so a
    slow server slows the producer instead of exhausting memory. Records are sent in
    the order they were queued, grouped per endpoint and version, as soon as
    `batch_size` are waiting or the oldest has waited `flush_interval` seconds.
    """

    def __init__(
        self,
        send: Callable[[BatchKey, list[dict]], Any],
        batch_size: int,
        max_queue: int,
        flush_interval: float,
    ) -> None:
        self._send = send
        self.batch_size = batch_size
        self.max_queue = max_queue
        self.flush_interval = flush_interval
        self._queue: deque[_Item] = deque()
        self._cond = threading.Condition()
        self._submitted = self._done = self._flushing = 0
        self._closing = False
        self.failures: list[ModelWatchError] = []
        self._thread = threading.Thread(target=self._run, name="modelwatch-sender", daemon=True)
        self._thread.start()

    @property
    def pending(self) -> int:
        return self._submitted - self._done

    def submit(self, key: BatchKey, records: list[dict]) -> None:
        """Queue records; blocks while the queue holds `max_queue` records."""
        if not records:
            return
        with self._cond:
            if self._closing:
                raise ModelWatchError("The client is closed.")
            while self.pending and self.pending + len(records) > self.max_queue:
                self._cond.wait()
            now = time.monotonic()
            self._queue.extend(_Item(key, record, now) for record in records)
            self._submitted += len(records)
            self._cond.notify_all()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything queued before the call is sent (or failed for good)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            target = self._submitted
            self._flushing += 1
            self._cond.notify_all()
            try:
                while self._done < target and self._thread.is_alive():
                    if not self._cond.wait(_remaining(deadline)) and _expired(deadline):
                        return False
            finally:
                self._flushing -= 1
        return True

    def close(self, timeout: float | None = None) -> bool:
        """Send what is queued, then stop the thread. True when everything was sent."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def take_failures(self) -> list[ModelWatchError]:
        with self._cond:
            failures, self.failures = self.failures, []
        return failures

    def _run(self) -> None:
        while (group := self._next_group()) is not None:
            key, records = group
            try:
                self._send(key, records)
            except ModelWatchError as exc:
                log.error("modelwatch: dropped %d records: %s", len(records), exc)
                with self._cond:
                    self.failures.append(exc)
            except Exception as exc:  # a bug must not kill the thread silently
                log.exception("modelwatch: dropped %d records", len(records))
                with self._cond:
                    self.failures.append(ModelWatchError(f"Unexpected error: {exc!r}"))
            with self._cond:
                self._done += len(records)
                self._cond.notify_all()

    def _next_group(self) -> tuple[BatchKey, list[dict]] | None:
        """Wait until a batch is due, then take it; None once closing and empty."""
        with self._cond:
            while True:
                if self._queue and self._due():
                    return self._take()
                if not self._queue and self._closing:
                    return None
                wait = None
                if self._queue:
                    wait = self._queue[0].queued_at + self.flush_interval - time.monotonic()
                self._cond.wait(wait)

    def _due(self) -> bool:
        oldest = self._queue[0].queued_at
        return (
            len(self._queue) >= self.batch_size
            or self._flushing > 0
            or self._closing
            or time.monotonic() - oldest >= self.flush_interval
        )

    def _take(self) -> tuple[BatchKey, list[dict]]:
        """The longest run of queued records for one endpoint, up to `batch_size`."""
        key = self._queue[0].key
        records = []
        while self._queue and self._queue[0].key == key and len(records) < self.batch_size:
            records.append(self._queue.popleft().record)
        self._cond.notify_all()
        return key, records


def _remaining(deadline: float | None) -> float | None:
    return None if deadline is None else max(0.0, deadline - time.monotonic())


def _expired(deadline: float | None) -> bool:
    return deadline is not None and time.monotonic() >= deadline
