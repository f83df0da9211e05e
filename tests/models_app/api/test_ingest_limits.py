"""The work one prediction batch may cause is bounded, and what it writes follows what
it holds: limits on features, hour buckets x features and string sizes (docs/telemetry.md,
"Limits"), each answered 400 naming the field, with nothing stored."""

from datetime import UTC, datetime, timedelta

import pytest
from django.test import override_settings

from models_app import profiles
from models_app.models import Model, Prediction
from tests.factories import make_model, partial_features

URL = "/api/v1/models/fraud/predictions/"
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
OUTPUTS = {"__prediction__", "__score__", "__latency_ms__", "__error__"}


def record(i: int = 0, features: dict | None = None, hour: int = 0) -> dict:
    stamp = T0 + timedelta(hours=hour, minutes=i % 60)
    return {
        "id": f"p{i}",
        "timestamp": stamp.isoformat(),
        "prediction": 1,
        "features": {"amount": 10.0 + i} if features is None else features,
    }


def post(api, records):
    return api.post(URL, {"records": records}, format="json")


def nothing_stored() -> bool:
    return not Prediction.objects.exists() and partial_features() == []


@pytest.fixture
def recent_hours():
    """Hours counted back from now: a batch spread over many of them is still valid."""
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    return lambda i: (now - timedelta(hours=i)).isoformat()


# --- features per record, per batch, per model -------------------------------------------


def test_a_record_with_more_features_than_the_limit_is_refused_at_its_index(api, model):
    wide = {f"f{j}": 1.0 for j in range(1001)}
    answer = post(api, [record(0), record(1, features=wide)])
    assert answer.status_code == 400
    assert answer.json() == {
        "records": {"1": {"features": ["Too many features: 1001; at most 1000 per record."]}}
    }
    assert nothing_stored()


def test_a_batch_with_more_distinct_feature_keys_than_the_limit_is_refused_whole(api, model):
    batch = [record(i, features={f"r{i}_f{j}": 1.0 for j in range(1000)}) for i in range(10)]
    answer = post(api, batch)
    assert answer.status_code == 400
    assert answer.json() == {
        "records": ["Too many distinct feature keys: 10000; at most 1000 per batch."]
    }
    assert nothing_stored()


@override_settings(MODELWATCH_MAX_FEATURES=3)
def test_the_feature_limits_follow_the_setting(api, model):
    assert post(api, [record(0, features={"a": 1, "b": 2, "c": 3})]).status_code == 201
    answer = post(api, [record(1, features={"a": 1, "b": 2}), record(2, features={"c": 1, "d": 1})])
    assert answer.json() == {"records": ["Too many distinct feature keys: 4; at most 3 per batch."]}


@override_settings(MODELWATCH_MAX_FEATURE_VALUES=25)
def test_a_batch_with_more_feature_values_than_the_limit_is_refused_whole(api, model):
    five = {f"f{j}": 1.0 for j in range(5)}
    assert post(api, [record(i, features=five) for i in range(5)]).status_code == 201
    answer = post(api, [record(10 + i, features=five) for i in range(6)])
    assert answer.status_code == 400
    assert answer.json() == {
        "records": ["Too many feature values: 30 (records x their features); at most 25 per batch."]
    }
    assert Prediction.objects.count() == 5


def test_a_model_cannot_declare_more_features_than_the_limit(api):
    features = [{"name": f"f{j}", "type": "numeric"} for j in range(1001)]
    answer = api.post(
        "/api/v1/models/", {"name": "wide", "task": "other", "features": features}, format="json"
    )
    assert answer.status_code == 400
    assert answer.json() == {"features": ["Too many features: 1001; at most 1000 per model."]}
    assert not Model.objects.filter(name="wide").exists()


def test_a_model_cannot_be_patched_past_the_feature_limit(api, model):
    features = [{"name": f"f{j}", "type": "numeric"} for j in range(1001)]
    answer = api.patch("/api/v1/models/fraud/", {"features": features}, format="json")
    assert answer.status_code == 400 and "at most 1000 per model" in answer.json()["features"][0]
    model.refresh_from_db()
    assert model.features in (None, [])


def test_a_model_may_declare_as_many_features_as_the_limit(api):
    features = [{"name": f"f{j}", "type": "numeric"} for j in range(1000)]
    answer = api.post(
        "/api/v1/models/", {"name": "wide", "task": "other", "features": features}, format="json"
    )
    assert answer.status_code == 201 and len(Model.objects.get(name="wide").features) == 1000


# --- hour buckets x features -------------------------------------------------------------


def test_a_batch_over_the_profile_row_limit_is_refused_before_anything_is_written(
    api, model, recent_hours
):
    # 3,000 records, each in its own hour, 20 features: 3,000 x (20 + 5) = 75,000 rows.
    batch = [
        record(i, features={f"f{j}": float(j) for j in range(20)}) | {"timestamp": recent_hours(i)}
        for i in range(3000)
    ]
    answer = post(api, batch)
    assert answer.status_code == 400
    assert answer.json() == {
        "records": [
            "The batch would write 75000 profile rows (3000 hour buckets, each with its feature "
            "keys and 5 outputs); at most 10000: send fewer hours or features per batch."
        ]
    }
    assert nothing_stored()


@override_settings(MODELWATCH_MAX_PROFILE_ROWS=70)
def test_a_batch_at_the_profile_row_limit_is_accepted(api, model, recent_hours):
    # 10 hours x (2 features + 5 outputs) = 70 rows: at the limit.
    batch = [
        record(i, features={"a": 1.0, "b": 2.0}) | {"timestamp": recent_hours(i % 10)}
        for i in range(100)
    ]
    assert post(api, batch).status_code == 201
    assert len(partial_features()) <= 70
    answer = post(
        api,
        [
            record(1000 + i, features={"a": 1.0, "b": 2.0, "c": 3.0})
            | {"timestamp": recent_hours(i)}
            for i in range(10)
        ],
    )
    assert (
        answer.status_code == 400 and "would write 80 profile rows" in answer.json()["records"][0]
    )


# --- what a batch writes follows what it holds -------------------------------------------


def test_a_one_record_batch_writes_rows_only_for_the_features_it_holds(api):
    declared = [{"name": f"d{j}", "type": "numeric"} for j in range(500)]
    model = make_model(features=declared)
    assert post(api, [record(0, features={"d1": 1.0, "d2": 2.0})]).status_code == 201
    written = set(partial_features())
    assert written == {"d1", "d2"} | OUTPUTS
    window = profiles.window_profiles(
        model.versions.get(), T0, T0 + timedelta(hours=1), ["d1", "d3"]
    )
    assert set(window) == {"d1", "d3"}
    assert (window["d1"].count, window["d1"].missing) == (1, 0)
    assert (window["d3"].count, window["d3"].missing, window["d3"].kind) == (0, 1, "numeric")


def test_a_declared_feature_absent_from_a_batch_still_counts_as_missing(api):
    model = make_model(
        features=[
            {"name": "amount", "type": "numeric"},
            {"name": "country", "type": "categorical", "categories": ["fr", "de"]},
            {"name": "photo", "type": "image"},
        ]
    )
    post(api, [record(i, features={"amount": 1.0, "country": "fr"}) for i in range(3)])
    post(api, [record(10 + i, features={"amount": 2.0}) for i in range(4)])
    post(api, [record(20, features={"other": "x"})])
    window = profiles.window_profiles(model.versions.get(), T0, T0 + timedelta(hours=1))
    assert set(window) == {"amount", "country", "other"} | OUTPUTS
    assert (window["amount"].count, window["amount"].missing) == (7, 1)
    assert (window["country"].count, window["country"].missing) == (3, 5)
    assert window["country"].categories == {"fr": 3}
    assert (window["other"].count, window["other"].missing) == (1, 0)  # not declared


# --- keys and string values --------------------------------------------------------------


def test_a_feature_key_over_200_characters_is_refused_naming_record_and_key(api, model):
    key = "k" * 201
    answer = post(api, [record(0), record(1, features={"amount": 1.0, key: 1.0})])
    assert answer.status_code == 400
    assert answer.json() == {
        "records": {
            "1": {"features": [f'Feature key "{"k" * 60}…" has 201 characters; at most 200.']}
        }
    }
    assert nothing_stored()


def test_a_feature_key_of_200_characters_is_stored_and_profiled(api, model):
    key = "k" * 200
    assert post(api, [record(0, features={key: 1.5})]).status_code == 201
    assert Prediction.objects.get().features == {key: 1.5}
    assert partial_features().count(key) == 1


def test_a_string_value_over_the_limit_is_refused_naming_the_feature(api, model):
    answer = post(api, [record(0, features={"city": "x" * 10_001})])
    assert answer.status_code == 400
    assert answer.json() == {
        "records": {
            "0": {"features": ['Feature "city" has a value of 10001 characters; at most 10000.']}
        }
    }
    assert nothing_stored()


def test_a_long_string_value_is_stored_whole_and_profiled_under_its_first_200_characters(
    api, model
):
    long_value = "ab" * 5000
    assert (
        post(
            api,
            [
                record(0, features={"city": long_value}),
                record(1, features={"city": long_value[:200] + "zz"}),
            ],
        ).status_code
        == 201
    )
    assert Prediction.objects.get(client_id="p0").features["city"] == long_value
    window = profiles.window_profiles(model.versions.get(), T0, T0 + timedelta(hours=1))
    assert window["city"].categories == {long_value[:200]: 2}
