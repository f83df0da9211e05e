"""Turn user data (dicts, numpy values, pandas frames, datetimes) into strict JSON.

The server parses strict JSON: NaN and Infinity are not numbers there. Inside
`features` a missing value is data, so non-finite floats become `null`.
numpy and pandas are optional: they are only touched when the data uses them.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

UTC = dt.timezone.utc  # noqa: UP017 (datetime.UTC needs Python 3.11)

Record = dict[str, Any]


def is_dataframe(data: Any) -> bool:
    """True for a pandas DataFrame, without importing pandas when it is not in use."""
    return type(data).__name__ == "DataFrame" and hasattr(data, "to_dict")


def timestamp_value(value: Any) -> Any:
    """A timestamp the server understands: ISO-8601 text or epoch seconds as sent."""
    if value is None or isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return value
    if isinstance(value, dt.datetime):
        return None if value != value else value.isoformat()  # NaT is the only one unequal
    if isinstance(value, dt.date):
        midnight = dt.datetime(value.year, value.month, value.day, tzinfo=UTC)
        return midnight.isoformat()
    return to_jsonable(value)


def _numpy_scalar(value: Any) -> Any:
    """A numpy/pandas scalar as the plain Python value, or the value unchanged."""
    item = getattr(value, "item", None)
    if item is not None and type(value).__module__.startswith("numpy") and value.ndim == 0:
        return item()
    return value


def to_jsonable(value: Any) -> Any:
    """Recursively convert `value` to JSON types; non-finite floats and NA become None."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    return _convert_other(value)


def _convert_other(value: Any) -> Any:
    module = type(value).__module__
    if isinstance(value, (dt.datetime, dt.date)):
        return timestamp_value(value)
    if isinstance(value, Decimal):
        return to_jsonable(float(value))
    if module.startswith("numpy"):
        if getattr(value, "ndim", 0) == 0:
            return _numpy_datetime(value) if value.dtype.kind == "M" else to_jsonable(value.item())
        return to_jsonable(value.tolist())
    if module.startswith("pandas"):
        return _pandas_value(value)
    if module.startswith("torch") and hasattr(value, "tolist"):
        return to_jsonable(value.detach().cpu().tolist())
    if isinstance(value, (set, frozenset)):
        return [to_jsonable(v) for v in sorted(value, key=str)]
    return str(value)


def _numpy_datetime(value: Any) -> str | None:
    moment = value.astype("datetime64[us]").item()
    return None if moment is None else moment.replace(tzinfo=UTC).isoformat()


def _pandas_value(value: Any) -> Any:
    if str(value) in ("<NA>", "NaT"):
        return None
    if hasattr(value, "isoformat"):
        if getattr(value, "tzinfo", None) is None and hasattr(value, "tz_localize"):
            value = value.tz_localize("UTC")
        return value.isoformat()
    if hasattr(value, "tolist"):
        return to_jsonable(value.tolist())
    return str(value)


def dumps(payload: Any) -> bytes:
    """Strict JSON bytes of an already JSON-safe payload."""
    return json.dumps(payload, allow_nan=False, separators=(",", ":")).encode()


def frame_records(frame: Any) -> list[Record]:
    """The rows of a DataFrame as dicts of plain values (NaN, NaT, <NA> -> None)."""
    columns = [str(c) for c in frame.columns]
    rows = frame.itertuples(index=False, name=None)
    return [{c: _numpy_scalar(v) for c, v in zip(columns, row, strict=True)} for row in rows]


def as_records(data: Any) -> list[Record]:
    """Records from a DataFrame, a mapping of columns, or an iterable of mappings."""
    if is_dataframe(data):
        return frame_records(data)
    if isinstance(data, Mapping):
        raise TypeError("Expected records (an iterable of mappings) or a DataFrame, not a mapping.")
    records = []
    for index, record in enumerate(data):
        if not isinstance(record, Mapping):
            raise TypeError(f"Record {index} is a {type(record).__name__}, expected a mapping.")
        records.append(dict(record))
    return records


def is_path(data: Any) -> bool:
    return isinstance(data, (str, os.PathLike))


def column_names(data: Iterable[Record]) -> set[str]:
    names: set[str] = set()
    for record in data:
        names.update(record)
    return names
