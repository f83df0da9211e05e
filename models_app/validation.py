"""Bulk validation of telemetry batches: plain loops over dicts, errors by index and field.

DRF serializers build one field object per value, which costs more than the write
itself at 10,000 records; these validators give the same error shape
(`{"records": {"3": {"value": ["Must be a finite number."]}}}`) at a fraction of it.
"""

import math
import re
from datetime import UTC, datetime, timedelta

from django.conf import settings
from rest_framework.exceptions import ValidationError

from models_app.models import Stage

STAGES = frozenset(Stage.values)
MIN_TIMESTAMP = datetime(1970, 1, 1, tzinfo=UTC)
MAX_FUTURE = timedelta(days=1)
BIGINT_MAX = 2**63 - 1
# The one spelling of an instant that goes to the database as the client sent it: UTC,
# seconds, at most microseconds. Every other ISO-8601 form Python reads (week dates,
# "10:00:00,5", offsets of -23:59 or +05:30:15.5, which PostgreSQL refuses) is formatted
# again from the parsed UTC instant.
CANONICAL_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:Z|\+00:00)\Z", re.ASCII)


class FieldError(Exception):
    """A bad value of one field of one record."""


def finite_float(value) -> float:
    if value is None:
        raise FieldError("This field is required.")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise FieldError("Must be a finite number.")
    try:
        number = float(value)
    except OverflowError:
        raise FieldError("Must be a finite number.") from None
    if not math.isfinite(number):
        raise FieldError("Must be a finite number.")
    return number


def optional_float(value) -> float | None:
    return None if value is None else finite_float(value)


def nonnegative_float(value) -> float | None:
    number = optional_float(value)
    if number is not None and number < 0:
        raise FieldError("Must be zero or more.")
    return number


def integer(value) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldError("Must be an integer.")
    if abs(value) > BIGINT_MAX:
        raise FieldError("Integer out of range.")
    return value


def text(value, max_length: int, required: bool = True) -> str | None:
    if value is None or value == "":
        if required:
            raise FieldError("This field is required.")
        return None
    if not isinstance(value, str):
        raise FieldError("Must be a string.")
    if len(value) > max_length:
        raise FieldError(f"Ensure this field has no more than {max_length} characters.")
    return value


def timestamp(value, now: datetime) -> datetime:
    """An ISO-8601 string (naive means UTC) or epoch seconds, as a UTC instant; `now` when
    absent.

    Refuses times before 1970 or more than a day ahead of `now` (clock skew allowed), so
    that every instant kept is one any database can store, whatever offset named it.
    """
    if value is None:
        return now
    if isinstance(value, bool):
        raise FieldError("Invalid timestamp: expected ISO-8601 or epoch seconds.")
    try:
        if isinstance(value, (int, float)):
            parsed = datetime.fromtimestamp(value, tz=UTC)
        elif isinstance(value, str):
            parsed = datetime.fromisoformat(value)
        else:
            raise TypeError
    except (TypeError, ValueError, OverflowError, OSError):
        raise FieldError("Invalid timestamp: expected ISO-8601 or epoch seconds.") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    if parsed < MIN_TIMESTAMP or parsed > now + MAX_FUTURE:
        raise FieldError("Timestamp out of range: before 1970 or more than a day ahead.")
    return parsed.astimezone(UTC)


def stage(value) -> str:
    if value is None:
        return Stage.PRODUCTION.value
    if not isinstance(value, str) or value not in STAGES:  # a list or object is unhashable
        raise FieldError(f'"{value}" is not a valid choice. Choose one of {sorted(STAGES)}.')
    return value


def validate_records(records, validate_one, **context) -> list[dict]:
    """Validate every record; raise one ValidationError naming each bad index and field.

    `validate_one(record, errors, **context)` returns the clean row and fills `errors`
    (field -> message) for what is wrong.
    """
    rows, failures = [], {}
    for index, record in enumerate(records):
        errors: dict[str, str] = {}
        if not isinstance(record, dict):
            failures[str(index)] = {"non_field_errors": ["Expected an object."]}
            continue
        row = validate_one(record, errors, **context)
        if errors:
            failures[str(index)] = {field: [message] for field, message in errors.items()}
        else:
            rows.append(row)
    if failures:
        raise ValidationError({"records": failures})
    return rows


def check(errors: dict, field: str, func, *args):
    """Run one field validator, recording its message under `field` on failure."""
    try:
        return func(*args)
    except FieldError as exc:
        errors[field] = str(exc)
        return None


def metric_record(record: dict, errors: dict, now: datetime) -> dict:
    return {
        "name": check(errors, "name", text, record.get("name"), 200),
        "value": check(errors, "value", finite_float, record.get("value")),
        "timestamp": check(errors, "timestamp", timestamp, record.get("timestamp"), now),
        "step": check(errors, "step", integer, record.get("step")),
        "stage": check(errors, "stage", stage, record.get("stage")),
    }


def client_id(value, required: bool = False) -> str | None:
    """A client-side record id: a non-empty string (≤ 200 characters) or an integer."""
    if type(value) is int:
        return str(value)
    if value is None or value == "":
        if required:
            raise FieldError("This field is required.")
        return None
    if not isinstance(value, str):
        raise FieldError("Must be a string or an integer.")
    if len(value) > 200:
        raise FieldError("Ensure this field has no more than 200 characters.")
    return value


def utc_timestamp(value, now: datetime) -> datetime:
    return timestamp(value, now).astimezone(UTC)


FEATURE_KEY_LENGTH = 200  # the length of `Profile.feature`, which holds each key


def features_object(value) -> dict:
    """The `features` object; what is inside is data (profiled), never an error, within
    the bounds that `feature_bounds` checks."""
    if value is None:
        raise FieldError("This field is required.")
    if not isinstance(value, dict):
        raise FieldError("Must be an object of feature values.")
    feature_bounds(value)
    return value


def shown(text: str, size: int = 60) -> str:
    return text if len(text) <= size else f"{text[:size]}…"


def feature_bounds(features: dict) -> None:
    """At most MODELWATCH_MAX_FEATURES keys, each of at most 200 characters, and string
    values of at most MODELWATCH_MAX_VALUE_LENGTH characters: what a profile row can hold
    and what one request may cost (docs/telemetry.md, "Limits")."""
    most = settings.MODELWATCH_MAX_FEATURES
    if len(features) > most:
        raise FieldError(f"Too many features: {len(features)}; at most {most} per record.")
    longest = settings.MODELWATCH_MAX_VALUE_LENGTH
    for key, value in features.items():
        if len(key) > FEATURE_KEY_LENGTH:
            raise FieldError(
                f'Feature key "{shown(key)}" has {len(key)} characters; '
                f"at most {FEATURE_KEY_LENGTH}."
            )
        if type(value) is str and len(value) > longest:
            raise FieldError(
                f'Feature "{shown(key)}" has a value of {len(value)} characters; at most {longest}.'
            )


def scores_object(value) -> dict | None:
    """Class -> probability: an object of finite numbers."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise FieldError("Must be an object mapping each class to a number.")
    for klass, score in value.items():
        if isinstance(score, bool) or not isinstance(score, (int, float)):
            raise FieldError(f'Score of class "{klass}" must be a finite number.')
    return value


def scalar(value, required: bool = False):
    """A label-like value: string, number or boolean."""
    if value is None:
        if required:
            raise FieldError("This field is required.")
        return None
    if not isinstance(value, (str, int, float)):
        raise FieldError("Must be a string, a number or a boolean.")
    return value


SCALAR_TYPES = frozenset({str, int, float, bool})
LARGEST_FLOAT = 1.7976931348623157e308


def prediction_record(record: dict, errors: dict, now: datetime) -> dict:
    """One prediction record. Common well-formed values pass a cheap type test; anything
    else goes through the field validators, which name the problem."""
    get = record.get
    ident, stamp, features = get("id"), get("timestamp"), get("features")
    scores, label, latency, error = get("scores"), get("label"), get("latency_ms"), get("error")
    error = "" if error is None else check(errors, "error", text, error, 10000, False) or ""
    prediction = get("prediction")
    if prediction is None and not error and "error" not in errors:
        errors["prediction"] = "This field is required (unless `error` is set)."
    if ident is not None and not (type(ident) is str and 0 < len(ident) <= 200):
        ident = check(errors, "id", client_id, ident)
    if type(features) is not dict:
        features = check(errors, "features", features_object, features)
    else:
        check(errors, "features", feature_bounds, features)
    if scores is not None:
        scores = check(errors, "scores", scores_object, scores)
    if label is not None and type(label) not in SCALAR_TYPES:
        label = check(errors, "label", scalar, label)
    if latency is not None and not (type(latency) is float and 0 <= latency <= LARGEST_FLOAT):
        latency = check(errors, "latency_ms", nonnegative_float, latency)
    moment = check(errors, "timestamp", utc_timestamp, stamp, now)
    return {
        "id": ident,
        "timestamp": moment,
        "timestamp_text": same_instant_text(stamp, moment),
        "features": features,
        "prediction": prediction,
        "scores": scores,
        "label": label,
        "latency_ms": latency,
        "error": error,
    }


def same_instant_text(stamp, moment: datetime | None) -> str | None:
    """The client's own text when it is already the canonical UTC spelling of `moment`,
    so that the COPY writer need not format it again; else None (formatted from `moment`)."""
    if type(stamp) is str and moment is not None and CANONICAL_UTC.match(stamp):
        return stamp
    return None


def label_record(record: dict, errors: dict, now: datetime | None = None) -> dict:
    return {
        "id": check(errors, "id", client_id, record.get("id"), True),
        "label": check(errors, "label", scalar, record.get("label"), True),
    }


def fraction(value) -> float | None:
    number = optional_float(value)
    if number is not None and not 0 <= number <= 1:
        raise FieldError("Must be between 0 and 1.")
    return number


def count(value) -> int:
    number = integer(value)
    if number is not None and number < 0:
        raise FieldError("Must be zero or more.")
    return number or 0


def histogram(value) -> dict | None:
    """`{"edges": [n + 1 finite numbers], "counts": [n counts]}`."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise FieldError('Must be an object {"edges": [...], "counts": [...]}.')
    edges, counts = value.get("edges"), value.get("counts")
    if not isinstance(edges, list) or not isinstance(counts, list) or len(edges) != len(counts) + 1:
        raise FieldError("Needs `edges` (n + 1 numbers) and `counts` (n counts).")
    clean_edges = [finite_float(edge) for edge in edges]
    if any(b < a for a, b in zip(clean_edges, clean_edges[1:], strict=False)):
        raise FieldError("`edges` must be ascending.")
    return {"edges": clean_edges, "counts": [count(c) for c in counts]}


def parameter_record(record: dict, errors: dict, now: datetime) -> dict:
    row = {
        "tensor": check(errors, "tensor", text, record.get("tensor"), 300),
        "step": check(errors, "step", integer, record.get("step")),
        "timestamp": check(errors, "timestamp", utc_timestamp, record.get("timestamp"), now),
        "zero_fraction": check(errors, "zero_fraction", fraction, record.get("zero_fraction")),
        "nan_count": check(errors, "nan_count", count, record.get("nan_count")),
        "inf_count": check(errors, "inf_count", count, record.get("inf_count")),
        "grad_norm": check(errors, "grad_norm", nonnegative_float, record.get("grad_norm")),
        "update_ratio": check(
            errors, "update_ratio", nonnegative_float, record.get("update_ratio")
        ),
        "histogram": check(errors, "histogram", histogram, record.get("histogram")),
    }
    for name in ("mean", "std", "min", "max", "l2_norm"):
        row[name] = check(errors, name, finite_float, record.get(name))
    return row


def unique_ids(rows: list[dict]) -> None:
    """400 naming every record whose `id` repeats an earlier one of the same batch."""
    first: dict[str, int] = {}
    failures = {}
    for index, row in enumerate(rows):
        key = row.get("id")
        if key is None:
            continue
        if key in first:
            failures[str(index)] = {"id": [f"Duplicate id (also at index {first[key]})."]}
        else:
            first[key] = index
    if failures:
        raise ValidationError({"records": failures})
