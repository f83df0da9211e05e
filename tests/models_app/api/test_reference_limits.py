"""CSV reference uploads: bounded rows and columns, the delimiter detected, long names refused."""

import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from models_app.models import Reference

URL = "/api/v1/models/fraud/reference/"


def upload(api, content: bytes):
    file = SimpleUploadedFile("ref.csv", content, content_type="text/csv")
    return api.post(URL, {"file": file}, format="multipart")


def test_a_csv_with_more_rows_than_the_limit_is_refused_with_413(api, model, settings):
    settings.MODELWATCH_REFERENCE_MAX_ROWS = 5
    answer = upload(api, b"x\n" + b"1\n" * 6)
    assert answer.status_code == 413
    assert answer.json() == {
        "detail": "The file has more than 5 data rows "
        "(MODELWATCH_REFERENCE_MAX_ROWS); send a sample of at most 5."
    }
    assert not Reference.objects.exists()


def test_a_csv_with_exactly_the_row_limit_is_accepted(api, model, settings):
    settings.MODELWATCH_REFERENCE_MAX_ROWS = 5
    answer = upload(api, b"x\n\n" + b"1\n2\n\n3\n4\n5\n")  # blank lines are no rows
    assert answer.status_code == 201, answer.json()
    assert answer.json()["n_rows"] == 5 == Reference.objects.get().n_rows


def test_a_csv_with_more_columns_than_the_limit_is_refused_naming_the_file(api, model):
    header = ",".join(f"f{i}" for i in range(20000)).encode()
    started = time.perf_counter()
    answer = upload(api, header + b"\n" + b",".join([b"1"] * 20000) + b"\n")
    assert time.perf_counter() - started < 5  # was 20-31 s (a quadratic duplicate check)
    assert answer.status_code == 400
    assert answer.json() == {
        "file": [
            "The header has 20000 columns; at most 1000 are "
            "allowed (MODELWATCH_REFERENCE_MAX_COLUMNS)."
        ]
    }
    assert not Reference.objects.exists()


def test_the_column_limit_is_a_setting(api, model, settings):
    settings.MODELWATCH_REFERENCE_MAX_COLUMNS = 2
    assert upload(api, b"a,b\n1,2\n").status_code == 201
    assert upload(api, b"a,b,c\n1,2,3\n").json() == {
        "file": [
            "The header has 3 columns; at most 2 are allowed (MODELWATCH_REFERENCE_MAX_COLUMNS)."
        ]
    }


@pytest.mark.parametrize("delimiter", [";", "\t", "|", ","])
def test_the_delimiter_is_detected_from_the_header_line(api, model, delimiter):
    text = delimiter.join(["x", "y", "prediction"]) + "\n"
    text += "".join(
        delimiter.join([str(i), "fr" if i % 2 else "de", "1"]) + "\n" for i in range(20)
    )
    answer = upload(api, text.encode())
    assert answer.status_code == 201, answer.json()
    features = answer.json()["summary"]["features"]
    assert set(features) == {"x", "y"}
    assert features["x"]["type"] == "numeric" and features["x"]["max"] == 19.0
    assert features["y"]["categories"] == {"de": 10, "fr": 10}


def test_a_semicolon_inside_quotes_does_not_split_a_comma_separated_file(api, model):
    answer = upload(api, b'"a;b",c\n1,2\n3,4\n')
    assert answer.status_code == 201, answer.json()
    assert set(answer.json()["summary"]["features"]) == {"a;b", "c"}


def test_a_single_column_file_is_one_feature(api, model):
    answer = upload(api, b"amount\n1\n2\n3\n")
    assert set(answer.json()["summary"]["features"]) == {"amount"}


def test_a_csv_column_name_over_200_characters_is_refused_naming_it(api, model):
    long = "n" * 201
    answer = upload(api, f"amount,{long}\n1,2\n".encode())
    assert answer.status_code == 400
    assert answer.json() == {
        "file": [f'Column 2 ("{"n" * 40}…") has a name of 201 characters; at most 200 are allowed.']
    }
    assert not Reference.objects.exists()
    assert upload(api, f"amount,{'n' * 200}\n1,2\n".encode()).status_code == 201


def test_a_json_record_key_over_200_characters_is_refused_naming_it(api, model):
    records = [{"amount": 1.0, "k" * 300: 2.0}]
    answer = api.post(URL, {"records": records}, format="json")
    assert answer.status_code == 400
    assert answer.json() == {
        "records": [
            f'Column 2 ("{"k" * 40}…") has a name of 300 characters; at most 200 are allowed.'
        ]
    }
    assert not Reference.objects.exists()
