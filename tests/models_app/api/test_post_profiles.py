"""POST /api/v1/models/{name}/profiles/: format-1 profiles are validated field by field
(400 naming the field, nothing stored), stored once per Idempotency-Key, and answered
with the specs a client profiles with (GET), also to the model's ingest token."""

from copy import deepcopy
from datetime import UTC, datetime

import pytest
from rest_framework.test import APIClient

from access import tokens
from models_app.models import IdempotencyKey
from models_app.profiles import window_profiles
from tests.factories import make_model, make_token, make_user, partial_features

pytestmark = pytest.mark.django_db
URL = "/api/v1/models/fraud/profiles/"


def record(bucket: str = "2026-03-01T12:00:00Z") -> dict:
    return {
        "format": 1,
        "bucket": bucket,
        "rows": 3,
        "features": {
            "amount": {
                "kind": "numeric",
                "count": 2,
                "missing": 1,
                "min": 10.0,
                "max": 30.0,
                "sum": 40.0,
                "sum_sq": 1000.0,
                "sample": [10.0, 30.0],
            },
            "country": {"kind": "categorical", "count": 3, "categories": {"fr": 2, "de": 1}},
        },
        "outputs": {"prediction": {"kind": "categorical", "count": 3, "categories": {"1": 3}}},
    }


def post(api, records, **extra):
    return api.post(URL, {"records": records}, format="json", **extra)


def broken(path: list, value) -> dict:
    bad = deepcopy(record("2026-03-01T13:00:00Z"))
    target = bad
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return bad


def test_profiles_are_stored_as_partial_rows_and_read_like_rows(api, model):
    response = post(api, [record()])
    assert response.status_code == 201, response.json()
    assert response.json() == {"accepted": 3, "profiles": 6}  # 2 features, 3 outputs + score
    names = set(partial_features())
    assert names == {
        "amount",
        "country",
        "__prediction__",
        "__error__",
        "__latency_ms__",
        "__score__",
    }
    window = window_profiles(
        model.versions.get(),
        datetime(2026, 3, 1, 12, tzinfo=UTC),
        datetime(2026, 3, 1, 12, 30, tzinfo=UTC),
    )
    assert window["amount"].count == 2 and window["amount"].missing == 1
    assert window["amount"].mean == 20.0
    assert window["country"].categories == {"fr": 2, "de": 1}
    assert window["__error__"].missing == 3  # left out: stored as every prediction without error


@pytest.mark.parametrize(
    ("path", "value", "field", "message"),
    [
        (["format"], 2, "format", "Must be 1 (the only profile format this server reads)."),
        (["bucket"], "2026-03-01T13:30:00Z", "bucket", "Must be the start of a UTC hour"),
        (["rows"], 0, "rows", "Must be an integer, 1 or more"),
        (["features", "amount", "kind"], "text", "features.amount.kind", 'Must be "numeric"'),
        (["features", "amount", "count"], -1, "features.amount.count", "zero or more"),
        (["features", "amount", "min"], None, "features.amount.min", "required when `count`"),
        (["features", "amount", "min"], 40.0, "features.amount.min", "Must not exceed `max`"),
        (
            ["features", "amount", "sample"],
            [10.0],
            "features.amount.sample",
            "min(count, 5000) = 2",
        ),
        (
            ["features", "amount", "sample"],
            [10.0, 99.0],
            "features.amount.sample",
            "outside [min, max]",
        ),
        (
            ["features", "amount", "edges"],
            [2.0, 1.0],
            "features.amount.edges",
            "strictly increasing",
        ),
        (["features", "amount", "bin_counts"], [1], "features.amount.bin_counts", "Must be empty"),
        (["features", "amount", "unseen"], 5, "features.amount.unseen", "Must not exceed `count`"),
        (["features", "amount", "color"], 1, "features.amount.color", "Unknown field."),
        (
            ["features", "country", "categories"],
            {"fr": 2},
            "features.country.categories",
            "add up to `count` (3)",
        ),
        (["features", "country", "sample"], [1.0], "features.country.sample", "categorical"),
        (["features", "country", "missing"], 1, "features.country.count", "must equal `rows` (3)"),
        (["outputs"], {}, "outputs.prediction", "This field is required."),
        (["outputs", "latency"], {}, "outputs.latency", "Unknown output"),
        (["features", "__prediction__"], {}, "features.__prediction__", "reserved output name"),
    ],
)
def test_a_bad_profile_is_refused_naming_its_field_and_nothing_is_stored(
    api, model, path, value, field, message
):
    response = post(api, [record(), broken(path, value)])
    assert response.status_code == 400
    errors = response.json()["records"]
    assert list(errors) == ["1"]
    assert list(errors["1"]) == [field]
    assert message in errors["1"][field][0]
    assert partial_features() == []


def test_bins_must_add_up_to_the_count(api, model):
    bad = broken(["features", "amount", "edges"], [15.0])
    bad["features"]["amount"]["bin_counts"] = [2, 1]
    body = post(api, [bad]).json()
    assert body == {
        "records": {"0": {"features.amount.bin_counts": ["Must add up to `count` (2), not 3."]}}
    }


def test_a_reservoir_needs_its_keys(api, model):
    big = record()
    amount = big["features"]["amount"]
    amount.update(count=6000, missing=0, sample=[10.0] * 5000)
    big["rows"] = 6000
    big["features"]["country"].update(count=6000, categories={"fr": 6000})
    big["outputs"]["prediction"].update(count=6000, categories={"1": 6000})
    body = post(api, [big]).json()
    assert body == {
        "records": {"0": {"features.amount.sample_keys": ["Required when `count` > 5000."]}}
    }
    amount["sample_keys"] = list(range(5000))
    assert post(api, [big]).status_code == 201


def test_two_records_of_one_bucket_are_refused(api, model):
    body = post(api, [record(), record()]).json()
    assert body == {
        "records": {"1": {"bucket": ["Same bucket as record 0: send one profile per hour bucket."]}}
    }
    assert partial_features() == []


def test_a_retried_batch_is_stored_once(api, model):
    first = post(api, [record()], HTTP_IDEMPOTENCY_KEY="job-1")
    again = post(api, [record()], HTTP_IDEMPOTENCY_KEY="job-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert len(partial_features()) == 6
    assert IdempotencyKey.objects.filter(endpoint="profiles").count() == 1
    other = post(api, [record("2026-03-01T14:00:00Z")], HTTP_IDEMPOTENCY_KEY="job-1")
    assert other.status_code == 422


def test_the_specs_give_the_reference_bins_and_the_declared_values(api):
    make_model(
        "fraud",
        features=[
            {"name": "amount", "type": "numeric"},
            {"name": "country", "type": "categorical", "categories": ["fr", "de"]},
        ],
    )
    reference = {
        "records": [{"amount": float(v), "country": "fr", "prediction": 1} for v in range(100)]
    }
    assert api.post("/api/v1/models/fraud/reference/", reference, format="json").status_code == 201
    specs = api.get(URL).json()
    assert specs["format"] == 1 and specs["task"] == "binary_classification"
    assert specs["features"]["amount"]["kind"] == "numeric"
    assert specs["features"]["amount"]["edges"] == pytest.approx([9.9 * i for i in range(1, 10)])
    assert specs["features"]["country"] == {
        "kind": "categorical",
        "edges": [],
        "categories": ["de", "fr"],
        "min": None,
        "max": None,
    }
    assert specs["outputs"]["prediction"]["kind"] == "categorical"


def test_an_ingest_token_reads_the_specs_and_posts_profiles_of_its_own_model_only(model):
    make_model("other")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {tokens.create_token(model, 'spark')[1]}")
    assert client.get(URL).status_code == 200
    assert post(client, [record()]).status_code == 201
    assert client.get("/api/v1/models/other/profiles/").status_code == 403
    assert client.get("/api/v1/models/fraud/").status_code == 403


def test_a_user_without_a_role_on_the_model_cannot_post_profiles(model):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {make_token(make_user('mallory'))}")
    assert post(client, [record()]).status_code == 404
    assert partial_features() == []
