"""Build the records of each telemetry endpoint from what users naturally have."""

from __future__ import annotations

import csv
import io
import logging
import math
import numbers
import time
from collections.abc import Iterable, Mapping
from typing import Any

from modelwatch.encoding import Record, as_records, is_dataframe, to_jsonable

log = logging.getLogger("modelwatch")

PREDICTION_FIELDS = ("id", "timestamp", "prediction", "scores", "label", "latency_ms", "error")
STAGES = ("train", "validation", "test", "production")


def now() -> float:
    """Epoch seconds: records are stamped when logged, not when a batch is sent."""
    return time.time()


def scalar(value: Any) -> Any:
    """A tensor or numpy scalar as a Python number (`loss` tensors are common here)."""
    item = getattr(value, "item", None)
    if item is not None and not isinstance(value, (int, float)):
        try:
            return item()
        except (TypeError, ValueError, RuntimeError):
            return value
    return value


def is_finite_number(value: Any) -> bool:
    return (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


def metric_records(
    metrics: Any, step: int | None, stage: str | None, timestamp: Any
) -> list[Record]:
    """`{"loss": 0.3, ...}` (sharing step/stage/timestamp) or records with name and value.

    Non-finite values (a NaN loss) are dropped with a warning: the server refuses
    them, and one would make it refuse the whole batch.
    """
    if isinstance(metrics, Mapping):
        rows = [{"name": str(name), "value": value} for name, value in metrics.items()]
    else:
        rows = as_records(metrics)
    defaults = {"step": step, "stage": stage, "timestamp": timestamp}
    records = []
    for row in rows:
        record = _with_defaults(row, defaults)
        record["value"] = scalar(record.get("value"))
        if record.get("value") is not None and not is_finite_number(record["value"]):
            log.warning(
                "modelwatch: dropped metric %r with non-finite value %r",
                record.get("name"),
                record["value"],
            )
            continue
        records.append(finish(record))
    return records


def _with_defaults(row: Mapping, defaults: Mapping) -> dict:
    record = dict(row)
    for key, value in defaults.items():
        if record.get(key) is None and value is not None:
            record[key] = value
    if record.get("step") is not None:
        record["step"] = int(scalar(record["step"]))
    return record


def finish(record: dict) -> Record:
    """JSON-safe, without empty fields, stamped now when the caller gave no timestamp."""
    clean = {k: v for k, v in to_jsonable(record).items() if v is not None}
    clean.setdefault("timestamp", now())
    return clean


def prediction_record(
    row: Mapping, feature_names: Iterable[str] | None = None, score_prefix: str = "score_"
) -> Record:
    """One prediction from a flat row: reserved fields, `score_<class>` columns, features.

    A row that already has a `features` mapping is taken as it is.
    """
    if isinstance(row.get("features"), Mapping):
        record = dict(row)
        if record.get("id") is not None:
            record["id"] = str(record["id"])
        return finish(record)
    record = {k: row[k] for k in PREDICTION_FIELDS if k in row}
    scores = {
        k[len(score_prefix) :]: scalar(v)
        for k, v in row.items()
        if score_prefix and k.startswith(score_prefix)
    }
    if scores and "scores" not in record:
        record["scores"] = scores
    names = (
        feature_names
        if feature_names is not None
        else [
            k
            for k in row
            if k not in PREDICTION_FIELDS and not (score_prefix and k.startswith(score_prefix))
        ]
    )
    record["features"] = {name: row.get(name) for name in names}
    if "prediction" in record:
        record["prediction"] = scalar(record["prediction"])
    if record.get("id") is not None:
        record["id"] = str(record["id"])
    return finish(record)


def prediction_records(
    data: Any, feature_names: Iterable[str] | None = None, score_prefix: str = "score_"
) -> list[Record]:
    names = list(feature_names) if feature_names is not None else None
    if is_dataframe(data) and "features" not in data.columns:
        return frame_prediction_records(data, names, score_prefix)
    return [prediction_record(row, names, score_prefix) for row in as_records(data)]


def column_values(series: Any) -> list:
    """A DataFrame column as JSON-safe Python values, converted a column at a time."""
    values = series.tolist()
    kind = getattr(series.dtype, "kind", "O") if type(series.dtype).__module__ == "numpy" else "O"
    if kind == "f":
        return [v if math.isfinite(v) else None for v in values]
    if kind in "iub":
        return values
    return [to_jsonable(v) for v in values]


def frame_prediction_records(
    frame: Any, feature_names: list[str] | None, score_prefix: str
) -> list[Record]:
    """`prediction_record` for every row of a DataFrame, column-wise (several times faster
    than converting row by row; the records are the same)."""
    columns = {str(name): column_values(frame.iloc[:, i]) for i, name in enumerate(frame.columns)}
    is_score = {k: bool(score_prefix) and k.startswith(score_prefix) for k in columns}
    reserved = [k for k in PREDICTION_FIELDS if k in columns]
    scores = [(k[len(score_prefix) :], columns[k]) for k in columns if is_score[k]]
    names = (
        feature_names
        if feature_names is not None
        else [k for k in columns if k not in PREDICTION_FIELDS and not is_score[k]]
    )
    features = [(name, columns.get(name)) for name in names]
    stamp, records = now(), []
    for i in range(len(frame)):
        record = {k: columns[k][i] for k in reserved if columns[k][i] is not None}
        if scores and "scores" not in record:
            record["scores"] = {label: values[i] for label, values in scores}
        record["features"] = {name: values[i] if values else None for name, values in features}
        record.setdefault("timestamp", stamp)
        if "id" in record:
            record["id"] = str(record["id"])
        records.append(record)
    return records


def label_records(labels: Any) -> list[Record]:
    """`{id: label}`, records with `id` and `label`, or a DataFrame with those columns."""
    if isinstance(labels, Mapping):
        rows = [{"id": key, "label": value} for key, value in labels.items()]
    else:
        rows = as_records(labels)
    records = []
    for index, row in enumerate(rows):
        if "id" not in row or "label" not in row:
            raise ValueError(f"Label {index} needs an 'id' and a 'label'.")
        records.append(to_jsonable({"id": str(row["id"]), "label": scalar(row["label"])}))
    return records


def parameter_records(data: Any, step: int | None = None) -> list[Record]:
    return [finish(_with_defaults(row, {"step": step})) for row in as_records(data)]


def reference_records(data: Any) -> list[Record]:
    return [to_jsonable(row) for row in as_records(data)]


def csv_bytes(records: list[Record]) -> bytes:
    """Records as CSV (columns in order of first appearance; missing cells empty)."""
    columns: dict[str, None] = {}
    for record in records:
        columns.update(dict.fromkeys(record))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    return buffer.getvalue().encode()


def is_frame(data: Any) -> bool:
    return is_dataframe(data)
