"""The ModelWatch client: register models and send their telemetry.

from modelwatch import Client

with Client("http://127.0.0.1:8000", token="...") as mw:
    fraud = mw.model("fraud")
    fraud.log_metric("accuracy", 0.93)
    fraud.log_predictions(df)          # a DataFrame or a list of dicts
    fraud.log_labels({"tx-1": 1, "tx-2": 0})
"""

from __future__ import annotations

import atexit
import gzip
import logging
import os
import tempfile
import time
import uuid
import weakref
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

from modelwatch import records as rec
from modelwatch.encoding import Record, dumps, is_path, timestamp_value, to_jsonable
from modelwatch.errors import ModelWatchError
from modelwatch.sender import BackgroundSender, BatchKey, pack, post_batch, rejected_indexes
from modelwatch.transport import RetryPolicy, Transport

log = logging.getLogger("modelwatch")

DEFAULT_BATCH_SIZE = 10_000
DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024


class Client:
    """A connection to one ModelWatch server.

    `url` and `token` default to the `MODELWATCH_URL` and `MODELWATCH_TOKEN` environment
    variables. Batches hold at most `batch_size` records (the server's
    `MODELWATCH_MAX_BATCH`, 10,000 by default) and `max_body_bytes` of JSON.

    With `background=True`, metrics, predictions and parameter statistics are queued
    (at most `max_queue` records; logging blocks while the queue is full) and sent by a
    daemon thread every `flush_interval` seconds or as soon as a batch is full. Call
    `flush()` to wait for delivery and `close()` (or use `with`) before exiting;
    batches that failed for good are raised from there as a ModelWatchError.
    """

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        timeout: float = 30.0,
        max_retries: int = 5,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        batch_size: int = DEFAULT_BATCH_SIZE,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        background: bool = False,
        max_queue: int = 100_000,
        flush_interval: float = 2.0,
    ) -> None:
        url = url or os.environ.get("MODELWATCH_URL") or "http://127.0.0.1:8000"
        token = token or os.environ.get("MODELWATCH_TOKEN")
        retry = RetryPolicy(max_retries=max_retries, backoff=backoff, max_backoff=max_backoff)
        self.transport = Transport(url, token, timeout=timeout, retry=retry)
        self.batch_size = batch_size
        self.max_body_bytes = max_body_bytes
        self._sender: BackgroundSender | None = None
        self._profile_specs: dict[tuple, tuple[float, dict]] = {}
        if background:
            self._sender = BackgroundSender(
                self._send_salvaging, batch_size, max_queue, flush_interval
            )
            atexit.register(_close_at_exit, weakref.ref(self))

    # -- registry ---------------------------------------------------------------------

    def register_model(
        self,
        name: str,
        task: str,
        *,
        framework: str = "",
        description: str = "",
        tags: Iterable[str] | None = None,
        features: Iterable[Mapping[str, Any]] | None = None,
        version: str | None = None,
        exist_ok: bool = False,
    ) -> dict:
        """Register a model (and its first version); answers the model as the server has it.

        With `exist_ok=True` a model of that name that already exists is returned as it
        is (its fields are not changed), and `version`, when given, is created if missing.
        """
        body = {
            "name": name,
            "task": task,
            "framework": framework,
            "description": description,
            "tags": list(tags or []),
            "features": [dict(f) for f in features or []],
        }
        if version is not None:
            body["version"] = version
        try:
            return self._json("POST", "api/v1/models/", json=to_jsonable(body))
        except ModelWatchError as exc:
            if not (exist_ok and _is_duplicate_name(exc)):
                raise
        if version is not None:
            self.create_version(name, version, exist_ok=True)
        return self.get_model(name)

    def get_model(self, name: str) -> dict:
        return self._json("GET", model_path(name))

    def list_models(self, **filters: str) -> list[dict]:
        """Every registered model (all pages), optionally filtered by `task`, `tag`, `search`."""
        url: str | None = "api/v1/models/"
        params: dict | None = {**filters, "page_size": 1000}
        models: list[dict] = []
        while url:
            page = self._json("GET", url, params=params)
            models += page["results"]
            url, params = page.get("next"), None
        return models

    def create_version(
        self, name: str, version: str, *, notes: str = "", exist_ok: bool = False
    ) -> dict:
        """Add a version to a model; with `exist_ok=True` an existing one is fine."""
        try:
            return self._json(
                "POST", model_path(name, "versions"), json={"version": version, "notes": notes}
            )
        except ModelWatchError as exc:
            if exist_ok and exc.status == 400 and "already exists" in str(exc):
                return {"version": version}
            raise

    def delete_model(self, name: str) -> None:
        self.transport.request("DELETE", model_path(name))

    def model(self, name: str, version: str | None = None) -> ModelHandle:
        """A handle that sends telemetry to `name` (to `version`, else the latest)."""
        return ModelHandle(self, name, version)

    # -- delivery ---------------------------------------------------------------------

    def deliver(self, key: BatchKey, records: list[Record]) -> int:
        """Send now, or queue when running in the background; returns the record count."""
        if self._sender is not None:
            self._sender.submit(key, records)
            return len(records)
        return self._send_now(key, records)

    def _send_now(self, key: BatchKey, records: list[Record]) -> int:
        path, version = key
        accepted = 0
        for batch in pack(path, version, records, self.batch_size, self.max_body_bytes):
            accepted += int(post_batch(self.transport, batch).get("accepted", batch.count))
        return accepted

    def _send_salvaging(self, key: BatchKey, records: list[Record]) -> int:
        """Send; when a batch is refused for some of its records, send the others again.

        In the background nobody can fix a bad record, and one must not cost the
        thousands of good ones queued beside it. The refusal is still raised (by
        `flush()`/`close()`), naming the records that were dropped.
        """
        path, version = key
        accepted, refusals = 0, []
        for batch in pack(path, version, records, self.batch_size, self.max_body_bytes):
            try:
                accepted += int(post_batch(self.transport, batch).get("accepted", batch.count))
            except ModelWatchError as exc:
                bad = rejected_indexes(exc, batch.count)
                if not bad:
                    raise
                kept = [
                    r
                    for i, r in enumerate(records[batch.start : batch.start + batch.count])
                    if i not in bad
                ]
                accepted += self._send_now(key, kept) if kept else 0
                refusals.append(exc)
        if refusals:
            raise refusals[0]
        return accepted

    def post_batches(self, path: str, records: list[Record]) -> list[dict]:
        """Send records synchronously (after what is queued) and answer every reply."""
        self.flush()
        return [
            post_batch(self.transport, batch)
            for batch in pack(path, None, records, self.batch_size, self.max_body_bytes)
        ]

    def flush(self, timeout: float | None = None) -> None:
        """Wait until queued records are sent; raise the first batch that failed for good."""
        if self._sender is None:
            return
        if not self._sender.flush(timeout):
            raise ModelWatchError(f"Flush timed out with {self._sender.pending} records queued.")
        self._raise_failures()

    def close(self, timeout: float | None = None) -> None:
        """Send everything queued, stop the background thread and release connections."""
        try:
            if self._sender is not None:
                if not self._sender.close(timeout):
                    raise ModelWatchError(
                        f"Close timed out with {self._sender.pending} records queued."
                    )
                self._raise_failures()
        finally:
            self.transport.close()

    def _raise_failures(self) -> None:
        failures = self._sender.take_failures() if self._sender else []
        if failures:
            first = failures[0]
            if len(failures) > 1:
                first.args = (f"{first} (and {len(failures) - 1} more failed batches)",)
            raise first

    def __enter__(self) -> Client:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
            return
        try:
            self.close()
        except ModelWatchError:
            log.exception("modelwatch: close() failed while handling another exception")

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.transport.request(method, path, **kwargs)
        return response.json() if response.content else None


class ModelHandle:
    """Telemetry of one model (and one version, or the latest when `version` is None)."""

    def __init__(self, client: Client, name: str, version: str | None = None) -> None:
        self.client = client
        self.name = name
        self.version = version

    def __repr__(self) -> str:
        return f"ModelHandle({self.name!r}, version={self.version!r})"

    def _deliver(self, endpoint: str, records: list[Record]) -> int:
        if not records:
            return 0
        return self.client.deliver((model_path(self.name, endpoint), self.version), records)

    def log_metrics(
        self,
        metrics: Mapping[str, Any] | Iterable[Mapping[str, Any]] | Any,
        *,
        step: int | None = None,
        stage: str | None = None,
        timestamp: Any = None,
    ) -> int:
        """Log `{"loss": 0.31, "accuracy": 0.9}` at one step/stage/time, or a list of records.

        Records are `{"name", "value", "timestamp"?, "step"?, "stage"?}` (or a DataFrame
        with those columns); `step`, `stage` and `timestamp` fill the records lacking
        them. Values may be tensors or numpy scalars; non-finite values are dropped with
        a warning. Timestamps: datetime, ISO-8601 text or epoch seconds; default now.
        Returns how many records were sent (or queued).
        """
        return self._deliver("metrics", rec.metric_records(metrics, step, stage, timestamp))

    def log_metric(
        self,
        name: str,
        value: Any,
        *,
        step: int | None = None,
        stage: str | None = None,
        timestamp: Any = None,
    ) -> int:
        """Log one metric value."""
        return self.log_metrics({name: value}, step=step, stage=stage, timestamp=timestamp)

    def log_predictions(
        self, data: Any, *, features: Iterable[str] | None = None, score_prefix: str = "score_"
    ) -> int:
        """Log served predictions from a DataFrame or a list of dicts.

        A flat row holds the reserved fields (`id`, `timestamp`, `prediction`, `scores`,
        `label`, `latency_ms`, `error`), class scores as `score_<class>` columns, and its
        input features as the other columns (or only those named in `features`). A row
        with a `features` mapping is sent as it is. Give an `id` to join labels later.
        """
        return self._deliver("predictions", rec.prediction_records(data, features, score_prefix))

    def log_prediction(
        self,
        features: Mapping[str, Any],
        prediction: Any,
        *,
        id: str | None = None,
        scores: Mapping[str, float] | None = None,
        label: Any = None,
        latency_ms: float | None = None,
        error: str | None = None,
        timestamp: Any = None,
    ) -> int:
        """Log one prediction with its input features."""
        row = {
            "features": dict(features),
            "prediction": prediction,
            "id": id,
            "scores": scores,
            "label": label,
            "latency_ms": latency_ms,
            "error": error,
            "timestamp": timestamp,
        }
        return self.log_predictions([row])

    def log_labels(self, labels: Mapping[Any, Any] | Iterable[Mapping[str, Any]] | Any) -> dict:
        """Attach late ground truth to logged predictions by their `id`.

        `labels` is `{id: label}`, a list of `{"id", "label"}` or a DataFrame with those
        columns. Queued predictions are sent first. Answers `{"matched", "unmatched"}`.
        """
        records = rec.label_records(labels)
        answer: dict = {"matched": 0, "unmatched": []}
        for reply in self.client.post_batches(model_path(self.name, "labels"), records):
            answer["matched"] += int(reply.get("matched", 0))
            answer["unmatched"] += list(reply.get("unmatched", []))
        return answer

    def log_parameters(
        self, stats: Iterable[Mapping[str, Any]] | Any, *, step: int | None = None
    ) -> int:
        """Log weight statistics: records with `tensor`, `step`?, `mean`, `std`, `min`, `max`,
        `l2_norm` and optionally `zero_fraction`, `nan_count`, `inf_count`, `grad_norm`,
        `update_ratio` (see `modelwatch.stats.tensor_stats`)."""
        return self._deliver("parameters", rec.parameter_records(stats, step))

    def profile_specs(self, refresh: bool = False) -> dict:
        """How the server profiles this model's features and outputs (`GET .../profiles/`):
        fetched once per client and model (and again after `SPECS_TTL` seconds or with
        `refresh=True`, e.g. after a new reference)."""
        key = (self.name, self.version)
        cached = self.client._profile_specs.get(key)
        if cached is None or refresh or time.monotonic() - cached[0] > SPECS_TTL:
            params = {"version": self.version} if self.version else None
            answer = self.client._json("GET", model_path(self.name, "profiles"), params=params)
            cached = self.client._profile_specs[key] = (time.monotonic(), answer)
        return cached[1]

    def post_profiles(self, records: list[dict]) -> int:
        """Send format-1 profile records (`modelwatch.profiles.profile_frame`); answers how
        many predictions they describe. Requests stay under the client's body limit; each
        has its own Idempotency-Key, reused on retries."""
        self.client.flush()
        accepted = 0
        for chunk in profile_chunks(records, self.client.max_body_bytes):
            body = {"records": chunk} | ({"version": self.version} if self.version else {})
            answer = self.client._json(
                "POST", model_path(self.name, "profiles"), json=body, headers=idempotency_header()
            )
            accepted += int(answer.get("accepted", 0))
        return accepted

    def log_profiles(self, frame: Any, **options: Any) -> int:
        """Profile a DataFrame of predictions here (`profile_frame`, numpy) and send only
        the profiles: one per hour bucket instead of every row. Options are
        `profile_frame`'s (`timestamp_col`, `features`, `score_prefix`)."""
        from modelwatch.profiles import profile_frame

        return self.post_profiles(profile_frame(frame, self.profile_specs(), **options))

    def set_reference(self, data: Any) -> dict:
        """Upload the baseline the drift checks compare against; answers its summary.

        `data` is a DataFrame, a list of flat dicts (features, and optionally
        `prediction`, `scores`/`score_<class>` and `label`) or the path of a CSV (`.csv`,
        `.csv.gz`) or Parquet file. The way is picked by size: up to one batch of rows
        as JSON records, then gzip-compressed CSV; a DataFrame of more than
        `PARQUET_CELLS` cells (rows x columns) as Parquet (pyarrow needed), written to a
        temporary file and streamed, so no request-body limit applies. The newest
        reference wins.
        """
        self.client.flush()
        if is_path(data):
            path = Path(data)
            if path.suffix.lower() in (".parquet", ".pq"):
                return self._upload_parquet_file(path)
            return self._upload_csv(path.read_bytes(), path.name)
        if rec.is_frame(data) and data.size > PARQUET_CELLS and parquet_ready(data):
            with tempfile.TemporaryDirectory() as folder:
                path = Path(folder) / "reference.parquet"
                data.to_parquet(path, engine="pyarrow", index=False)
                return self._upload_parquet_file(path)
        records = rec.reference_records(data)
        if len(records) > self.client.batch_size:
            return self._upload_csv(gzip.compress(rec.csv_bytes(records)), "reference.csv.gz")
        return self._post_reference({"records": records})

    def _upload_parquet_file(self, path: Path) -> dict:
        params = {"version": self.version} if self.version else None
        with open(path, "rb") as file:
            return self.client._json(
                "POST",
                model_path(self.name, "reference"),
                data=RewindingFile(file, path.stat().st_size),
                params=params,
                headers={"Content-Type": "application/vnd.apache.parquet"} | idempotency_header(),
            )

    def set_reference_window(self, start: Any, end: Any = None) -> dict:
        """Make the predictions logged between `start` and `end` (default now) the baseline."""
        self.client.flush()
        window = to_jsonable({"start": timestamp_value(start), "end": timestamp_value(end)})
        return self._post_reference({"window": {k: v for k, v in window.items() if v}})

    def reference(self) -> dict:
        """The current reference's summary (404 as a ModelWatchError when there is none)."""
        params = {"version": self.version} if self.version else None
        return self.client._json("GET", model_path(self.name, "reference"), params=params)

    def _post_reference(self, body: dict) -> dict:
        body = body | ({"version": self.version} if self.version else {})
        return self.client._json(
            "POST", model_path(self.name, "reference"), json=body, headers=idempotency_header()
        )

    def _upload_csv(self, content: bytes, filename: str) -> dict:
        form = {"version": self.version} if self.version else {}
        files = {"file": (filename, content, "text/csv")}
        return self.client._json(
            "POST",
            model_path(self.name, "reference"),
            files=files,
            data=form,
            headers=idempotency_header(),
        )

    def health(self) -> dict:
        """`{"status": "ok|warning|critical", "firing": [...]}` of this model."""
        return self.client._json("GET", model_path(self.name, "health"))

    def flush(self, timeout: float | None = None) -> None:
        self.client.flush(timeout)


PARQUET_CELLS = 1_000_000  # a DataFrame above this many cells goes up as Parquet


def parquet_ready(frame: Any) -> bool:
    """pyarrow is installed and every column is numbers, booleans or text."""
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    for name in frame.columns:
        kind = frame[name].dtype.kind
        if kind == "O":
            values = frame[name].dropna()
            if len(values) and not all(isinstance(v, str) for v in values.iloc[:1000]):
                return False
        elif kind not in "biufU" and str(frame[name].dtype) not in ("string", "category"):
            return False
    return True


class RewindingFile:
    """A file sent as a request body of known length, rewound after each complete read
    so that a retry of the request sends it again from its start."""

    def __init__(self, file, size: int) -> None:
        self.file, self.size = file, size

    def __len__(self) -> int:
        return self.size

    def read(self, size: int = -1) -> bytes:
        chunk = self.file.read(size)
        if not chunk:
            self.file.seek(0)
        return chunk


SPECS_TTL = 600.0
MAX_PROFILES_PER_REQUEST = 10_000  # the server's MODELWATCH_MAX_PROFILE_ROWS default


def profile_chunks(records: list[dict], max_bytes: int) -> Iterable[list[dict]]:
    """Records grouped into requests of at most `max_bytes` of JSON and 10,000 profiles."""
    chunk: list[dict] = []
    size = profiles = 0
    for record in records:
        length = len(dumps(record)) + 1
        count = len(record.get("features", {})) + len(record.get("outputs", {})) + 3
        if chunk and (size + length > max_bytes or profiles + count > MAX_PROFILES_PER_REQUEST):
            yield chunk
            chunk, size, profiles = [], 0, 0
        chunk.append(record)
        size, profiles = size + length, profiles + count
    if chunk:
        yield chunk


def idempotency_header() -> dict[str, str]:
    """A fresh key for one logical request; the transport reuses it on every retry."""
    return {"Idempotency-Key": uuid.uuid4().hex}


def model_path(name: str, endpoint: str | None = None) -> str:
    path = f"api/v1/models/{quote(name, safe='')}/"
    return f"{path}{endpoint}/" if endpoint else path


def _is_duplicate_name(exc: ModelWatchError) -> bool:
    errors = exc.errors if isinstance(exc.errors, dict) else {}
    return exc.status == 400 and any("exist" in str(m) for m in errors.get("name", []))


def _close_at_exit(ref: weakref.ref) -> None:
    client = ref()
    if client is not None and client._sender is not None:
        try:
            client.close(timeout=30)
        except ModelWatchError:
            log.exception("modelwatch: records were lost at exit")
