"""POST/GET /api/v1/models/{name}/reference/: CSV, JSON records, or a window of predictions."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from models_app.models import Reference
from tests.factories import make_model

URL = "/api/v1/models/fraud/reference/"
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def upload(api, text: str, **data):
    file = SimpleUploadedFile("ref.csv", text.encode(), content_type="text/csv")
    return api.post(URL, {"file": file, **data}, format="multipart")


def csv_text(rows: int = 40) -> str:
    lines = ["amount,country,flag,prediction,label,score"]
    for i in range(rows):
        lines.append(f"{i * 1.5},{'fr' if i % 3 else 'de'},{i % 2},{i % 2},{i % 2},{i / rows}")
    return "\n".join(lines) + "\n"


def test_a_csv_upload_builds_the_summary_per_feature(api, model):
    answer = upload(api, csv_text())
    assert answer.status_code == 201, answer.json()
    body = answer.json()
    assert body["n_rows"] == 40 and body["source"] == "upload" and body["version"] == "1"
    amount = body["summary"]["features"]["amount"]
    values = np.arange(40) * 1.5
    assert amount["type"] == "numeric"
    assert amount["edges"] == pytest.approx(
        np.unique(np.quantile(values, np.linspace(0.1, 0.9, 9)))
    )
    assert amount["mean"] == pytest.approx(values.mean())
    assert amount["std"] == pytest.approx(values.std())
    assert amount["sample_size"] == 40 and "sample" not in amount
    assert body["summary"]["features"]["country"]["categories"] == {"fr": 26, "de": 14}
    assert set(body["summary"]["features"]) == {"amount", "country", "flag"}
    stored = Reference.objects.get().summary
    assert sorted(stored["features"]["amount"]["sample"]) == pytest.approx(values.tolist())
    assert len(stored["calibration"]["scores"]) == 40


def test_a_numeric_feature_with_few_distinct_values_counts_as_categorical(api, model):
    flag = upload(api, csv_text()).json()["summary"]["features"]["flag"]
    assert flag["type"] == "categorical" and flag["categories"] == {"0": 20, "1": 20}
    assert flag["min"] == 0.0 and flag["max"] == 1.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "The file is empty: expected a header row and data rows."),
        ("a,b,a\n1,2,3\n", "Duplicate column names in the header: a."),
        ("a,,c\n1,2,3\n", "Header column(s) 2 have no name."),
        ("a,b\n1,2\n3\n", "Row 3 has 1 fields; the header has 2."),
        ("a,b\n", "The file has a header but no data rows."),
    ],
)
def test_a_csv_with_a_header_error_is_refused_naming_the_problem(api, model, text, message):
    answer = upload(api, text)
    assert answer.status_code == 400
    assert answer.json() == {"file": [message]}
    assert not Reference.objects.exists()


def test_declared_features_missing_from_the_csv_are_named(api, db):
    make_model(features=[{"name": "amount", "type": "numeric"}, {"name": "age", "type": "numeric"}])
    answer = upload(api, "amount,other\n1,2\n")
    assert answer.json() == {"file": ["Missing columns for declared features: age."]}


def test_declared_types_decide_how_csv_cells_are_read(api, db):
    make_model(
        features=[{"name": "zip", "type": "categorical"}, {"name": "amount", "type": "numeric"}]
    )
    text = "zip,amount\n007,1\n008,oops\n009,\n010,4\n011,5\n012,6\n"
    features = upload(api, text).json()["summary"]["features"]
    assert set(features["zip"]["categories"]) == {"007", "008", "009", "010", "011", "012"}
    assert features["amount"]["type_errors"] == 1
    assert features["amount"]["missing_rate"] == pytest.approx(1 / 6)
    assert features["amount"]["declared_type"] == "numeric"


def test_multipart_without_a_file_is_refused(api, model):
    answer = api.post(URL, {"version": "1"}, format="multipart")
    assert answer.json() == {"file": ["No file was submitted."]}


def test_json_records_build_a_reference_with_outputs(api, model):
    records = [
        {
            "amount": float(i),
            "country": "fr",
            "prediction": i % 2,
            "label": i % 2,
            "scores": {"0": 0.4, "1": 0.6},
        }
        for i in range(30)
    ]
    answer = api.post(URL, {"records": records}, format="json")
    assert answer.status_code == 201
    summary = Reference.objects.get().summary
    assert summary["prediction"]["categories"] == {"0": 15, "1": 15}
    assert summary["scores"]["sample"] == [0.6] * 30
    assert summary["label"]["count"] == 30
    assert summary["calibration"]["labels"].count(1) == 15


def test_json_records_that_are_not_objects_are_named(api, model):
    answer = api.post(URL, {"records": [{"a": 1}, [1, 2]]}, format="json")
    assert answer.json() == {"records": {"1": {"non_field_errors": ["Expected an object."]}}}


def test_a_reference_from_a_window_of_own_predictions(api, model):
    records = [
        {
            "timestamp": (T0 + timedelta(minutes=i)).isoformat(),
            "features": {"amount": float(i)},
            "prediction": 1,
        }
        for i in range(50)
    ]
    api.post("/api/v1/models/fraud/predictions/", {"records": records}, format="json")
    window = {"start": T0.isoformat(), "end": (T0 + timedelta(minutes=19)).isoformat()}
    answer = api.post(URL, {"window": window}, format="json")
    assert answer.status_code == 201, answer.json()
    assert answer.json()["source"] == "window" and answer.json()["n_rows"] == 20
    assert answer.json()["summary"]["features"]["amount"]["max"] == 19.0


def test_an_empty_or_bad_window_is_refused(api, model):
    empty = api.post(URL, {"window": {"start": T0.isoformat()}}, format="json")
    assert empty.json() == {"window": ['Version "1" has no predictions in this window.']}
    bad = api.post(URL, {"window": {"start": "soon"}}, format="json")
    assert bad.json() == {
        "window": {"start": ["Invalid timestamp: expected ISO-8601 or epoch seconds."]}
    }


def test_the_current_reference_can_be_read_back(api, model):
    assert api.get(URL).status_code == 404
    upload(api, csv_text())
    second = upload(api, csv_text(20)).json()
    answer = api.get(URL)
    assert answer.status_code == 200 and answer.json()["id"] == second["id"]


def test_a_replayed_upload_stores_one_reference(api, model):
    for _ in range(2):
        file = SimpleUploadedFile("ref.csv", csv_text().encode(), content_type="text/csv")
        api.post(URL, {"file": file}, format="multipart", HTTP_IDEMPOTENCY_KEY="ref-1")
    assert Reference.objects.count() == 1
