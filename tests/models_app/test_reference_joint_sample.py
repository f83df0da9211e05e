"""A reference keeps a joint sample of whole rows: every feature's value on the same rows
(the per-feature samples of its summary are drawn apart and are not aligned)."""

import io
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from models_app.models import Reference, ReferenceSample
from models_app.reference import (
    JOINT_MAX_CELLS,
    bounded_sample,
    joint_rows,
    joint_size,
    joint_value,
)

URL = "/api/v1/models/fraud/reference/"


def frame(n: int) -> pd.DataFrame:
    """Row k: k, x = 2k (missing every 7th row), city = c{k mod 3} (missing every 11th)."""
    k = np.arange(n)
    return pd.DataFrame(
        {
            "k": k.astype(float),
            "x": np.where(k % 7 == 0, np.nan, 2.0 * k),
            "city": [None if i % 11 == 0 else f"c{i % 3}" for i in k],
        }
    )


def records(df: pd.DataFrame) -> list[dict]:
    return [
        {name: (None if v is None or v != v else v) for name, v in row.items()}
        for row in df.to_dict("records")
    ]


def upload(api, **body) -> ReferenceSample:
    answer = api.post(URL, body, format="multipart" if "file" in body else "json")
    assert answer.status_code == 201, answer.json()
    return ReferenceSample.objects.get(reference_id=answer.json()["id"])


def parquet_bytes(df: pd.DataFrame) -> bytes:
    out = io.BytesIO()
    df.to_parquet(out, engine="pyarrow", index=False)
    return out.getvalue()


@pytest.mark.django_db
def test_the_joint_sample_holds_whole_rows_of_a_large_reference(api, model):
    sample = upload(api, records=records(frame(6000)))
    assert sample.size == 5000 and sample.types == {
        "k": "numeric",
        "x": "numeric",
        "city": "categorical",
    }
    columns = sample.columns
    assert all(len(values) == 5000 for values in columns.values())
    k = np.asarray(columns["k"], dtype=int)
    assert np.all(np.diff(k) > 0)  # rows in the file's order, each once
    assert k.tolist() == joint_rows(6000, 5000).tolist()
    for row, key in enumerate(k.tolist()):
        assert columns["x"][row] == (None if key % 7 == 0 else 2.0 * key)
        assert columns["city"][row] == (None if key % 11 == 0 else f"c{key % 3}")
    # the summary's own per-feature samples are not aligned like this (missing values
    # shift them): the reason the joint sample exists
    summary = Reference.objects.get().summary["features"]
    assert summary["x"]["sample"][:200] != [2.0 * v for v in k[:200]]


@pytest.mark.django_db
def test_csv_parquet_and_json_records_store_the_same_joint_sample(api, model):
    df = frame(400)
    by_json = upload(api, records=records(df))
    csv = SimpleUploadedFile("r.csv", df.to_csv(index=False).encode(), "text/csv")
    by_csv = upload(api, file=csv)
    parquet = SimpleUploadedFile("r.parquet", parquet_bytes(df), "application/octet-stream")
    by_parquet = upload(api, file=parquet)
    assert by_json.size == by_csv.size == by_parquet.size == 400
    assert by_csv.columns == by_json.columns == by_parquet.columns
    assert by_csv.types == by_json.types == by_parquet.types


@pytest.mark.django_db
def test_a_reference_from_profiles_has_no_joint_sample(api, model):
    t0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    rows = [
        {"timestamp": (t0 + timedelta(minutes=i % 60)).isoformat(), "features": {"a": float(i)}}
        | {"prediction": 1}
        for i in range(50)
    ]
    posted = api.post("/api/v1/models/fraud/predictions/", {"records": rows}, format="json")
    assert posted.status_code == 201, posted.json()
    window = {"start": t0.isoformat(), "end": (t0 + timedelta(hours=2)).isoformat()}
    answer = api.post(URL, {"profiles": window}, format="json")
    assert answer.status_code == 201, answer.json()
    assert not ReferenceSample.objects.filter(reference_id=answer.json()["id"]).exists()


def test_a_wide_reference_keeps_fewer_rows_and_cells_are_canonical():
    assert joint_size(10) == 5000
    assert joint_size(1000) == JOINT_MAX_CELLS // 1000 == 250
    assert joint_rows(10, 50).tolist() == list(range(10))
    assert joint_rows(9000, 500, seed=3).tolist() == bounded_sample(list(range(9000)), 500, 3)
    assert joint_value(True, "numeric") is None and joint_value(float("inf"), "numeric") is None
    assert joint_value(3, "numeric") == 3.0 and joint_value("3", "numeric") is None
    assert joint_value(1.0, "categorical") == "1" and joint_value(True, "categorical") == "true"
    assert joint_value([1], "categorical") is None and joint_value(None, "categorical") is None


@pytest.mark.django_db
def test_a_reference_from_a_window_of_predictions_has_its_rows(api, model):
    t0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    rows = [
        {
            "timestamp": (t0 + timedelta(seconds=i)).isoformat(),
            "features": {"k": float(i), "city": f"c{i % 3}"},
            "prediction": 1,
        }
        for i in range(120)
    ]
    posted = api.post("/api/v1/models/fraud/predictions/", {"records": rows}, format="json")
    assert posted.status_code == 201, posted.json()
    window = {"start": t0.isoformat(), "end": (t0 + timedelta(hours=1)).isoformat()}
    sample = upload(api, window=window)
    assert sample.size == 120 and sample.types == {"k": "numeric", "city": "categorical"}
    assert sample.columns["k"] == [float(i) for i in range(120)]
    assert sample.columns["city"] == [f"c{i % 3}" for i in range(120)]
