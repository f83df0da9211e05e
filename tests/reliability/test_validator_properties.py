"""Property tests of the ingestion validators on arbitrary JSON (no database).

Whatever a client sends, a validator either returns clean rows or raises one
ValidationError naming each bad record by index and each bad field by name; a record's
verdict does not depend on its neighbours; and what is accepted is what can be stored.
"""

import math
from datetime import UTC, datetime

import pytest
from django.test import override_settings
from hypothesis import given, settings
from hypothesis import strategies as st
from rest_framework.exceptions import ValidationError

from models_app import validation
from models_app.api.batch import parse_envelope
from tests.reliability.budget import DERANDOMIZE, examples

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
BIGINT = 2**63 - 1


def json_values(floats):
    """Any JSON value (NaN and infinities too, as in-process callers could pass them)."""
    scalars = (
        st.none()
        | st.booleans()
        | st.integers(min_value=-(2**70), max_value=2**70)
        | floats
        | st.text(max_size=30)
    )
    return st.recursive(
        scalars,
        lambda inner: (
            st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
        ),
        max_leaves=12,
    )


JSON = json_values(st.floats())
WIRE_JSON = json_values(st.floats(allow_nan=False, allow_infinity=False))  # what HTTP carries
FIELDS = {
    "metric": ["name", "value", "timestamp", "step", "stage"],
    "prediction": [
        "id",
        "timestamp",
        "features",
        "prediction",
        "scores",
        "label",
        "latency_ms",
        "error",
    ],
    "parameter": [
        "tensor",
        "step",
        "timestamp",
        "mean",
        "std",
        "min",
        "max",
        "l2_norm",
        "zero_fraction",
        "nan_count",
        "inf_count",
        "grad_norm",
        "update_ratio",
        "histogram",
    ],
    "label": ["id", "label"],
}
VALIDATORS = {
    "metric": validation.metric_record,
    "prediction": validation.prediction_record,
    "parameter": validation.parameter_record,
    "label": validation.label_record,
}
KINDS = sorted(VALIDATORS)


def field_values(name: str, values=JSON):
    """Values for one field: arbitrary JSON, plus the near misses that matter for it."""
    timestamps = (
        st.datetimes(timezones=st.just(UTC)).map(datetime.isoformat)
        | st.datetimes().map(datetime.isoformat)
        | st.integers()
        | values
    )
    special = {
        "timestamp": timestamps,
        "stage": st.sampled_from(["train", "production", "x"]),
        "features": st.dictionaries(st.text(max_size=5), values, max_size=3),
    }
    return special.get(name, values) | values


def records(kind: str, values=JSON):
    """Objects made of the kind's own fields (so each field validator runs), or any JSON."""
    fields = st.sampled_from(FIELDS[kind]).flatmap(
        lambda f: st.tuples(st.just(f), field_values(f, values))
    )
    return st.lists(fields, max_size=len(FIELDS[kind])).map(dict) | values


def verdict(kind: str, batch: list):
    """(rows, None) or (None, failures by index) from the validator of `kind`."""
    try:
        return validation.validate_records(batch, VALIDATORS[kind], now=NOW), None
    except ValidationError as exc:
        return None, exc.detail["records"]


@settings(max_examples=examples(300), deadline=None, derandomize=DERANDOMIZE)
@given(data=st.data(), kind=st.sampled_from(KINDS))
def test_a_batch_is_accepted_whole_or_refused_naming_each_bad_record_and_field(data, kind):
    batch = data.draw(st.lists(records(kind), max_size=5))
    rows, failures = verdict(kind, batch)
    if failures is None:
        assert len(rows) == len(batch)
        return
    assert failures and set(failures) <= {str(i) for i in range(len(batch))}
    for errors in failures.values():
        assert set(errors) <= {*FIELDS[kind], "non_field_errors"}, errors
        assert all(isinstance(m, str) and m for messages in errors.values() for m in messages)


@settings(max_examples=examples(200), deadline=None, derandomize=DERANDOMIZE)
@given(data=st.data(), kind=st.sampled_from(KINDS))
def test_a_records_verdict_does_not_depend_on_its_neighbours(data, kind):
    batch = data.draw(st.lists(records(kind), min_size=1, max_size=4))
    _, failures = verdict(kind, batch)
    alone = {str(i) for i, record in enumerate(batch) if verdict(kind, [record])[1]}
    assert set(failures or {}) == alone


def assert_storable_metric(row: dict) -> None:
    assert isinstance(row["name"], str) and 0 < len(row["name"]) <= 200
    assert isinstance(row["value"], float) and math.isfinite(row["value"])
    assert row["timestamp"].tzinfo is not None
    assert datetime(1970, 1, 1, tzinfo=UTC) <= row["timestamp"]
    assert row["step"] is None or (type(row["step"]) is int and abs(row["step"]) <= BIGINT)
    assert row["stage"] in {"train", "validation", "test", "production"}


@settings(max_examples=examples(300), deadline=None, derandomize=DERANDOMIZE)
@given(record=records("metric"))
def test_an_accepted_metric_is_storable_and_reads_back_the_same(record):
    rows, failures = verdict("metric", [record])
    if failures:
        return
    row = rows[0]
    assert_storable_metric(row)
    again = dict(row, timestamp=row["timestamp"].isoformat())
    assert verdict("metric", [again])[0] == [row]


@settings(max_examples=examples(300), deadline=None, derandomize=DERANDOMIZE)
@given(record=records("parameter"))
def test_accepted_weight_statistics_are_finite_and_counts_never_negative(record):
    rows, failures = verdict("parameter", [record])
    if failures:
        return
    row = rows[0]
    for name in ("mean", "std", "min", "max", "l2_norm"):
        assert math.isfinite(row[name])
    assert row["nan_count"] >= 0 and row["inf_count"] >= 0
    assert row["zero_fraction"] is None or 0 <= row["zero_fraction"] <= 1


@settings(max_examples=examples(300), deadline=None, derandomize=DERANDOMIZE)
@given(
    features=st.dictionaries(st.text(max_size=8), JSON, max_size=5),
    prediction=JSON.filter(lambda v: v is not None),
)
def test_anything_inside_features_is_data_never_an_error(features, prediction):
    rows, failures = verdict("prediction", [{"features": features, "prediction": prediction}])
    assert failures is None and rows[0]["features"] == features


@settings(max_examples=examples(300), deadline=None, derandomize=DERANDOMIZE)
@given(record=records("prediction"))
def test_an_accepted_prediction_has_an_object_of_features_and_finite_scores(record):
    rows, failures = verdict("prediction", [record])
    if failures:
        return
    row = rows[0]
    assert isinstance(row["features"], dict)
    assert row["prediction"] is not None or row["error"]
    assert row["latency_ms"] is None or (
        math.isfinite(row["latency_ms"]) and row["latency_ms"] >= 0
    )
    for score in (row["scores"] or {}).values():
        assert not isinstance(score, bool) and math.isfinite(score)


@settings(max_examples=examples(200), deadline=None, derandomize=DERANDOMIZE)
@given(ids=st.lists(st.one_of(st.none(), st.sampled_from(["a", "b", "c", "d"])), max_size=6))
def test_an_id_repeated_in_a_batch_is_refused_at_each_repetition(ids):
    rows = [{"id": key} for key in ids]
    present = [key for key in ids if key is not None]
    repeated = {str(i) for i, key in enumerate(ids) if key is not None and key in ids[:i]}
    if len(set(present)) == len(present):
        validation.unique_ids(rows)
        return
    with pytest.raises(ValidationError) as caught:
        validation.unique_ids(rows)
    assert set(caught.value.detail["records"]) == repeated


@settings(max_examples=examples(300), deadline=None, derandomize=DERANDOMIZE)
@given(body=JSON | st.fixed_dictionaries({}, optional={"version": JSON, "records": JSON}))
def test_any_envelope_is_read_or_refused_naming_its_field(body):
    try:
        with override_settings(MODELWATCH_MAX_BATCH=3):
            version, batch = parse_envelope(body)
    except ValidationError as exc:
        assert set(exc.detail) <= {"version", "records", "non_field_errors"}
        return
    assert version is None or (isinstance(version, str) and len(version) <= 100)
    assert isinstance(batch, list) and 1 <= len(batch) <= 3
