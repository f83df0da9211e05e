"""References from gzip-compressed CSV, Parquet and stored profiles (docs/telemetry.md)."""

import gzip
import io
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from models_app.models import Reference
from models_app.profiles import NUMERIC, FeatureSpec, profile_values
from models_app.reference import profile_summary

URL = "/api/v1/models/fraud/reference/"
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def frame(rows: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    return pd.DataFrame(
        {
            "amount": rng.normal(100, 15, rows).round(6),
            "items": rng.integers(0, 40, rows),
            "country": rng.choice(["fr", "de", "it"], rows),
            "flag": rng.integers(0, 2, rows),
            "prediction": rng.integers(0, 2, rows),
            "label": rng.integers(0, 2, rows),
            "score": rng.uniform(size=rows).round(4),
        }
    )


def csv_bytes(df: pd.DataFrame) -> bytes:
    return df.to_csv(index=False).encode()


def parquet_bytes(df: pd.DataFrame) -> bytes:
    out = io.BytesIO()
    df.to_parquet(out, engine="pyarrow", index=False)
    return out.getvalue()


def post_file(api, name: str, content: bytes):
    file = SimpleUploadedFile(name, content, content_type="application/octet-stream")
    answer = api.post(URL, {"file": file}, format="multipart")
    assert answer.status_code == 201, answer.json()
    return Reference.objects.get(id=answer.json()["id"]).summary


def post_body(api, content: bytes, content_type: str, **headers):
    answer = api.generic("POST", URL, content, content_type=content_type, headers=headers)
    assert answer.status_code == 201, answer.json()
    return Reference.objects.get(id=answer.json()["id"]).summary


def test_gzip_csv_and_parquet_store_the_same_reference_as_plain_csv(api, model):
    df = frame()
    plain = post_file(api, "ref.csv", csv_bytes(df))
    assert set(plain["features"]) == {"amount", "items", "country", "flag"}
    assert "calibration" in plain and plain["scores"]["count"] == 300
    others = {
        ".csv.gz upload": post_file(api, "ref.csv.gz", gzip.compress(csv_bytes(df))),
        "gzip body": post_body(
            api, gzip.compress(csv_bytes(df)), "text/csv", content_encoding="gzip"
        ),
        "parquet upload": post_file(api, "ref.parquet", parquet_bytes(df)),
        "parquet body": post_body(api, parquet_bytes(df), "application/vnd.apache.parquet"),
    }
    for way, summary in others.items():
        assert summary.keys() == plain.keys(), way
        for name in plain["features"]:
            for field, value in plain["features"][name].items():
                assert summary["features"][name][field] == value, (way, name, field)
        for part in ("prediction", "label", "scores", "calibration"):
            assert summary[part] == plain[part], (way, part)


def test_a_reference_may_be_larger_than_the_body_limit(api, model, settings):
    settings.MODELWATCH_MAX_BODY_BYTES = 1000
    content = parquet_bytes(frame(2000))
    assert len(content) > 1000
    summary = post_body(api, content, "application/vnd.apache.parquet")
    assert summary["n_rows"] == 2000


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("ref.parquet", b"PAR1 this is not parquet at all PAR1", "The file is not valid Parquet: "),
        ("ref.parquet", b"amount\n1\n", "The file is not valid Parquet: "),
        ("ref.csv.gz", b"\x1f\x8b\x08\x00broken", "The file is not valid gzip data: "),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_naming_the_problem(
    api, model, name, content, message
):
    file = SimpleUploadedFile(name, content, content_type="application/octet-stream")
    answer = api.post(URL, {"file": file}, format="multipart")
    assert answer.status_code == 400
    assert answer.json()["file"][0].startswith(message), answer.json()
    assert not Reference.objects.exists()


def test_a_parquet_column_of_an_unreadable_type_is_refused(api, model):
    df = pd.DataFrame({"amount": [1.0, 2.0], "tags": [[1, 2], [3]]})
    file = SimpleUploadedFile("ref.parquet", parquet_bytes(df))
    answer = api.post(URL, {"file": file}, format="multipart")
    assert answer.status_code == 400
    assert answer.json() == {
        "file": [
            'Column "tags" has type list<element: int64>; expected numbers, strings or booleans.'
        ]
    }
    assert not Reference.objects.exists()


def test_a_parquet_file_without_a_declared_feature_is_refused(api, model):
    model.features = [
        {"name": "amount", "type": "numeric"},
        {"name": "city", "type": "categorical"},
    ]
    model.save()
    file = SimpleUploadedFile("ref.parquet", parquet_bytes(frame(10)))
    answer = api.post(URL, {"file": file}, format="multipart")
    assert answer.status_code == 400
    assert answer.json() == {"file": ["Missing columns for declared features: city."]}
    assert not Reference.objects.exists()


def records(rows: int) -> list[dict]:
    rng = np.random.default_rng(3)
    return [
        {
            "id": f"p{i}",
            "timestamp": (T0 + timedelta(minutes=i % 120)).isoformat(),
            "features": {"amount": float(rng.normal(100, 15)), "country": ["fr", "de"][i % 2]},
            "prediction": i % 2,
            "scores": {"0": 0.4, "1": 0.6},
        }
        for i in range(rows)
    ]


def test_a_reference_from_profiles_summarises_the_window_exactly_where_it_can(api, model):
    rows = records(300)
    posted = api.post("/api/v1/models/fraud/predictions/", {"records": rows}, format="json")
    assert posted.status_code == 201, posted.json()
    window = {"start": T0.isoformat(), "end": (T0 + timedelta(hours=2)).isoformat()}
    answer = api.post(URL, {"profiles": window}, format="json")
    assert answer.status_code == 201, answer.json()
    body = answer.json()
    assert body["source"] == "profiles" and body["n_rows"] == 300
    amount = Reference.objects.get().summary["features"]["amount"]
    values = np.array([r["features"]["amount"] for r in rows])
    assert amount["count"] == 300 and amount["type"] == "numeric"
    assert amount["min"] == values.min() and amount["max"] == values.max()
    assert amount["mean"] == pytest.approx(values.mean(), rel=1e-12)
    assert amount["std"] == pytest.approx(values.std(), rel=1e-9)
    assert amount["edges"] == pytest.approx(
        np.unique(np.quantile(values, np.linspace(0.1, 0.9, 9)))
    )
    assert body["summary"]["features"]["country"]["categories"] == {"fr": 150, "de": 150}


def test_a_reference_from_profiles_of_an_empty_window_is_refused(api, model):
    window = {"start": T0.isoformat(), "end": (T0 + timedelta(hours=2)).isoformat()}
    answer = api.post(URL, {"profiles": window}, format="json")
    assert answer.status_code == 400
    assert answer.json() == {"profiles": ['Version "1" has no profiles in this window.']}


def test_a_profile_summary_scales_bins_when_the_sample_holds_a_part():
    values = np.random.default_rng(1).normal(size=20000)
    profile = profile_values("x", values.tolist(), FeatureSpec(NUMERIC), seed=5)
    summary = profile_summary(profile)
    assert sum(summary["bin_counts"]) == 20000 and len(summary["sample"]) == 5000
    assert (
        summary["edges"]
        == np.unique(np.quantile(profile.sample, np.linspace(0.1, 0.9, 9))).tolist()
    )
    assert summary["count"] == 20000 and summary["missing_rate"] == 0.0
