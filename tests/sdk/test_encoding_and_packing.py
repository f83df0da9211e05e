"""Pure parts of the SDK: JSON conversion, record building, packing, errors, backoff."""

import json
import random
from datetime import UTC, date, datetime
from email.utils import format_datetime

import numpy as np
import pandas as pd
import pytest

from modelwatch import RetryPolicy
from modelwatch.encoding import to_jsonable
from modelwatch.errors import ModelWatchError, flatten_errors
from modelwatch.records import csv_bytes, label_records, metric_records, prediction_records
from modelwatch.sender import pack, rejected_indexes
from modelwatch.transport import retry_after_seconds


def test_numpy_and_pandas_values_become_plain_json():
    value = {
        "a": np.float32(0.5),
        "b": np.int64(3),
        "c": np.array([1, 2]),
        "d": np.bool_(True),
        "e": pd.Timestamp("2024-01-02 03:04:05"),
        "f": np.datetime64("2024-01-02T00:00"),
        "g": pd.NA,
        "h": pd.NaT,
        "i": date(2024, 1, 2),
    }
    assert to_jsonable(value) == {
        "a": 0.5,
        "b": 3,
        "c": [1, 2],
        "d": True,
        "e": "2024-01-02T03:04:05",
        "f": "2024-01-02T00:00:00+00:00",
        "g": None,
        "h": None,
        "i": "2024-01-02T00:00:00+00:00",
    }


def test_non_finite_floats_become_null_because_strict_json_has_no_nan():
    assert to_jsonable([float("nan"), float("inf"), np.float64("-inf"), 1.5]) == [
        None,
        None,
        None,
        1.5,
    ]


def test_metric_records_from_a_mapping_share_step_stage_and_timestamp():
    stamp = datetime(2024, 1, 1, tzinfo=UTC)
    records = metric_records({"loss": np.float32(0.25), "acc": 1}, 7, "train", stamp)
    assert records == [
        {
            "name": "loss",
            "value": 0.25,
            "step": 7,
            "stage": "train",
            "timestamp": "2024-01-01T00:00:00+00:00",
        },
        {
            "name": "acc",
            "value": 1,
            "step": 7,
            "stage": "train",
            "timestamp": "2024-01-01T00:00:00+00:00",
        },
    ]


def test_a_flat_prediction_row_splits_into_fields_scores_and_features():
    frame = pd.DataFrame(
        {
            "id": [1, 2],
            "amount": [10.0, np.nan],
            "country": ["fr", None],
            "prediction": [1, 0],
            "score_1": [0.8, 0.3],
            "score_0": [0.2, 0.7],
            "timestamp": [1_700_000_000, 1_700_000_060],
        }
    )
    records = prediction_records(frame)
    assert records[0] == {
        "id": "1",
        "prediction": 1,
        "timestamp": 1_700_000_000,
        "scores": {"1": 0.8, "0": 0.2},
        "features": {"amount": 10.0, "country": "fr"},
    }
    assert records[1]["features"] == {"amount": None, "country": None}


def test_a_prediction_row_with_a_features_mapping_is_taken_as_it_is():
    [record] = prediction_records([{"features": {"x": 1}, "prediction": "cat", "id": 5}])
    assert record["features"] == {"x": 1} and record["id"] == "5" and "timestamp" in record


def test_only_the_named_feature_columns_are_sent():
    [record] = prediction_records([{"a": 1, "b": 2, "prediction": 0}], feature_names=["a"])
    assert record["features"] == {"a": 1}


def test_labels_come_from_a_mapping_or_records():
    assert label_records({"a": 1, 7: np.int64(0)}) == [
        {"id": "a", "label": 1},
        {"id": "7", "label": 0},
    ]
    with pytest.raises(ValueError, match="Label 0 needs"):
        label_records([{"id": "a"}])


def test_csv_bytes_keeps_every_column_of_every_record():
    assert csv_bytes([{"a": 1}, {"b": "x", "a": 2}]).decode() == "a,b\n1,\n2,x\n"


def test_pack_splits_by_count_and_bytes_and_every_body_is_valid_json():
    records = [{"name": "m", "value": i, "note": "x" * 50} for i in range(10)]
    by_count = list(pack("p", "1", records, batch_size=4, max_body_bytes=10**6))
    assert [b.count for b in by_count] == [4, 4, 2] and [b.start for b in by_count] == [0, 4, 8]
    by_bytes = list(pack("p", None, records, batch_size=100, max_body_bytes=500))
    assert sum(b.count for b in by_bytes) == 10 and all(len(b.body) <= 500 for b in by_bytes)
    bodies = [json.loads(b.body) for b in by_count]
    assert bodies[0]["version"] == "1" and bodies[2]["records"] == records[8:]
    assert "version" not in json.loads(by_bytes[0].body)
    assert len({b.key for b in by_count}) == 3


def test_flatten_errors_names_the_path_of_every_message():
    body = {"records": {"3": {"value": ["Must be a finite number."]}}, "version": ["Bad."]}
    assert flatten_errors(body) == ["records.3.value: Must be a finite number.", "version: Bad."]
    assert flatten_errors({"detail": "Not found."}) == ["detail: Not found."]


def test_rejected_indexes_are_read_from_a_records_error():
    error = ModelWatchError("x", status=400, errors={"records": {"0": {}, "2": {}}})
    assert rejected_indexes(error, 3) == {0, 2}
    assert rejected_indexes(ModelWatchError("x", 400, {"records": ["Too many."]}), 3) == set()
    assert rejected_indexes(ModelWatchError("x", 400, {"records": {"5": {}}}), 3) == set()


def test_retry_after_reads_seconds_and_http_dates():
    assert retry_after_seconds("7") == 7.0
    moment = datetime(2030, 1, 1, tzinfo=UTC)
    assert (
        retry_after_seconds(format_datetime(moment, usegmt=True), now=moment.timestamp() - 30)
        == 30.0
    )
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


def test_backoff_doubles_with_jitter_up_to_the_cap():
    policy, rng = RetryPolicy(backoff=1.0, max_backoff=8.0), random.Random(1)
    for attempt, ceiling in enumerate([1, 2, 4, 8, 8, 8]):
        delays = [policy.delay(attempt, rng) for _ in range(50)]
        assert ceiling / 2 <= min(delays) and max(delays) <= ceiling
        assert max(delays) - min(delays) > ceiling / 10  # jittered, not fixed


def test_records_encode_the_same_with_and_without_orjson(monkeypatch):
    from modelwatch import sender

    record = {"a": 1.5, "b": "é", "c": None, "d": [1, {"e": True}]}
    fast = sender.encode_record(record)
    monkeypatch.setattr(sender, "orjson", None)
    assert json.loads(sender.encode_record(record)) == json.loads(fast) == record


def test_a_dataframe_converted_column_wise_gives_the_records_of_the_row_by_row_path():
    from modelwatch.encoding import as_records
    from modelwatch.records import prediction_record

    frame = pd.DataFrame(
        {
            "id": [1, 2, 3],
            "amount": [1.5, np.nan, np.inf],
            "count": pd.array([1, None, 3], dtype="Int64"),
            "country": ["fr", None, "de"],
            "flag": [True, False, True],
            "kind": pd.Categorical(["a", "b", "a"]),
            "label": pd.array([1, pd.NA, 0], dtype="Int64"),
            "seen": pd.to_datetime(["2024-01-01", None, "2024-01-03"]),
            "timestamp": [1_700_000_000, None, 1_700_000_100],
            "prediction": ["x", "y", "z"],
            "score_x": [0.5, 0.25, 0.125],
            "latency_ms": [1.0, np.nan, 3.0],
        }
    )
    for names in (None, ["amount", "absent"]):
        fast = prediction_records(frame, feature_names=names)
        slow = [prediction_record(row, names) for row in as_records(frame)]
        assert [r.pop("timestamp") for r in fast][0] == 1_700_000_000
        assert [r.pop("timestamp") for r in slow][0] == 1_700_000_000
        assert fast == slow
    assert "label" not in fast[1] and fast[2]["features"] == {"amount": None, "absent": None}
