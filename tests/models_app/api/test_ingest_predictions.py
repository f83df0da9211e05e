"""POST /api/v1/models/{name}/predictions/: atomic batches, errors by index and field."""

from datetime import UTC, datetime, timedelta

import pytest
from django.test import override_settings

from models_app import profiles
from models_app.models import ModelVersion, Prediction, Profile
from tests.factories import make_model

URL = "/api/v1/models/fraud/predictions/"
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def record(i: int = 0, **overrides) -> dict:
    return {
        "id": f"p{i}",
        "timestamp": (T0 + timedelta(minutes=i)).isoformat(),
        "features": {"amount": 10.0 + i, "country": "fr"},
        "prediction": 1,
        "scores": {"0": 0.2, "1": 0.8},
        "latency_ms": 12.5,
    } | overrides


def post(api, records, **extra):
    return api.post(URL, {"records": records}, format="json", **extra)


@pytest.fixture
def declared(db):
    return make_model(
        features=[
            {"name": "amount", "type": "numeric", "min": 0, "max": 100},
            {"name": "country", "type": "categorical", "categories": ["fr", "de"]},
        ]
    )


def test_a_batch_is_stored_with_its_fields(api, model):
    answer = post(api, [record(0), record(1, error="timeout", prediction=None)])
    assert answer.status_code == 201, answer.json()
    assert answer.json() == {"accepted": 2}
    stored = Prediction.objects.order_by("client_id")
    assert [p.client_id for p in stored] == ["p0", "p1"]
    first = stored[0]
    assert first.features == {"amount": 10.0, "country": "fr"}
    assert first.prediction == 1 and first.scores == {"0": 0.2, "1": 0.8}
    assert first.latency_ms == 12.5 and first.error == ""
    assert first.timestamp == T0
    assert stored[1].error == "timeout" and stored[1].prediction is None


def test_a_batch_without_version_goes_to_the_latest(api, model):
    ModelVersion.objects.create(model=model, version="2")
    post(api, [record()])
    assert Prediction.objects.get().version.version == "2"


def test_timestamps_default_to_now_and_naive_means_utc(api, model):
    naive = record(0, timestamp="2026-03-01T12:30:00")
    post(api, [naive, {"features": {}, "prediction": 0}])
    stamps = sorted(Prediction.objects.values_list("timestamp", flat=True))
    assert stamps[0] == T0 + timedelta(minutes=30)
    assert datetime.now(UTC) - stamps[1] < timedelta(minutes=1)


def test_timestamps_with_offsets_or_z_name_the_same_instant(api, model):
    stamps = ["2026-03-01T13:00:00+01:00", "2026-03-01T12:00:00Z", "2026-03-01T07:00:00.000-05:00"]
    post(api, [record(i, timestamp=stamp) for i, stamp in enumerate(stamps)])
    assert set(Prediction.objects.values_list("timestamp", flat=True)) == {T0}


def test_feature_problems_are_stored_and_counted_never_rejected(api, declared):
    records = [
        record(0, features={"amount": None, "country": "fr"}),
        record(1, features={"amount": "lots", "country": "de"}),
        record(2, features={"amount": 500, "country": "xx"}),
        record(3, features={"country": ["fr"]}),
    ]
    assert post(api, records).status_code == 201
    assert Prediction.objects.count() == 4
    window = profiles.window_profiles(declared.versions.get(), T0, T0 + timedelta(hours=1))
    amount, country = window["amount"], window["country"]
    assert (amount.count, amount.missing, amount.type_errors, amount.out_of_range) == (1, 2, 1, 1)
    assert (country.count, country.type_errors, country.unseen) == (3, 1, 1)


def test_profiles_are_written_with_the_rows(api, model):
    post(api, [record(i) for i in range(5)])
    window = profiles.window_profiles(model.versions.get(), T0, T0 + timedelta(hours=1))
    assert set(window) == {
        "amount",
        "country",
        "__prediction__",
        "__score__",
        "__latency_ms__",
        "__error__",
    }
    assert window["amount"].count == 5 and window["__score__"].sample == [0.8] * 5
    assert Profile.objects.filter(rolled_up=False).exists()


@pytest.mark.parametrize(
    ("bad", "field", "message"),
    [
        ({"features": [1, 2]}, "features", "Must be an object of feature values."),
        ({"features": None}, "features", "This field is required."),
        ({"scores": {"1": "high"}}, "scores", 'Score of class "1" must be a finite number.'),
        ({"scores": [0.1]}, "scores", "Must be an object mapping each class to a number."),
        (
            {"timestamp": "yesterday"},
            "timestamp",
            "Invalid timestamp: expected ISO-8601 or epoch seconds.",
        ),
        ({"prediction": None}, "prediction", "This field is required (unless `error` is set)."),
        ({"latency_ms": -1}, "latency_ms", "Must be zero or more."),
        ({"id": {"x": 1}}, "id", "Must be a string or an integer."),
        ({"label": [1]}, "label", "Must be a string, a number or a boolean."),
    ],
)
def test_a_malformed_record_gets_400_naming_index_and_field_and_nothing_is_stored(
    api, model, bad, field, message
):
    answer = post(api, [record(0), record(1), record(2, **bad)])
    assert answer.status_code == 400
    assert answer.json() == {"records": {"2": {field: [message]}}}
    assert not Prediction.objects.exists() and not Profile.objects.exists()


def test_a_record_that_is_not_an_object_is_named(api, model):
    answer = post(api, [record(0), 7])
    assert answer.json() == {"records": {"1": {"non_field_errors": ["Expected an object."]}}}


def test_an_id_repeated_in_the_batch_is_refused(api, model):
    answer = post(api, [record(0), record(1), record(0)])
    assert answer.status_code == 400
    assert answer.json() == {"records": {"2": {"id": ["Duplicate id (also at index 0)."]}}}
    assert not Prediction.objects.exists()


def test_an_id_already_stored_is_refused_and_nothing_else_is_stored(api, model):
    post(api, [record(0)])
    answer = post(api, [record(5), record(0)])
    assert answer.status_code == 400
    taken = ["A prediction with this id already exists."]
    assert answer.json() == {"records": {"1": {"id": taken}}}
    assert list(Prediction.objects.values_list("client_id", flat=True)) == ["p0"]


def test_an_unknown_version_is_refused(api, model):
    answer = api.post(URL, {"version": "9", "records": [record()]}, format="json")
    assert answer.status_code == 400
    assert answer.json() == {"version": ['Version "9" does not exist.']}


@override_settings(MODELWATCH_MAX_BATCH=2)
def test_too_many_records_are_refused(api, model):
    answer = post(api, [record(0), record(1), record(2)])
    assert answer.status_code == 400
    assert answer.json() == {"records": ["Ensure this field has no more than 2 elements."]}


@override_settings(MODELWATCH_MAX_BODY_BYTES=200)
def test_a_body_over_the_limit_gets_413(api, model):
    assert post(api, [record(i) for i in range(10)]).status_code == 413


def test_a_replayed_idempotency_key_stores_the_batch_once(api, model):
    first = post(api, [record(0), record(1)], HTTP_IDEMPOTENCY_KEY="batch-1")
    again = post(api, [record(0), record(1)], HTTP_IDEMPOTENCY_KEY="batch-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == {"accepted": 2}
    assert Prediction.objects.count() == 2


def test_an_unknown_model_is_404_and_no_token_is_401(api, anon, model):
    assert (
        api.post(
            "/api/v1/models/nope/predictions/", {"records": [record()]}, format="json"
        ).status_code
        == 404
    )
    assert anon.post(URL, {"records": [record()]}, format="json").status_code == 401


def test_the_model_is_marked_seen(api, model):
    post(api, [record()])
    model.refresh_from_db()
    assert model.last_seen_at is not None
