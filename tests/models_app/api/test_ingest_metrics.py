"""POST /api/v1/models/{name}/metrics/: atomic batches, errors by index and field."""

from datetime import UTC, datetime

import pytest

from models_app.models import MetricPoint, ModelVersion

pytestmark = pytest.mark.django_db


def post(api, model, body, **headers):
    return api.post(f"/api/v1/models/{model.name}/metrics/", body, format="json", **headers)


def records(n: int) -> list[dict]:
    return [{"name": "loss", "value": i / 10, "step": i, "stage": "train"} for i in range(n)]


def test_a_batch_is_stored_and_counted(api, model):
    response = post(api, model, {"records": records(3)})
    assert response.status_code == 201
    assert response.json() == {"accepted": 3}
    assert sorted(MetricPoint.objects.values_list("value", flat=True)) == [0.0, 0.1, 0.2]
    model.refresh_from_db()
    assert model.last_seen_at is not None


def test_a_batch_without_a_version_goes_to_the_latest(api, model):
    ModelVersion.objects.create(model=model, version="2")
    post(api, model, {"records": records(1)})
    assert MetricPoint.objects.get().version.version == "2"


def test_a_named_version_receives_the_batch(api, model):
    ModelVersion.objects.create(model=model, version="2")
    post(api, model, {"version": "1", "records": records(1)})
    assert MetricPoint.objects.get().version.version == "1"


def test_timestamps_are_parsed_with_zone_naive_as_utc_and_epochs(api, model):
    post(
        api,
        model,
        {
            "records": [
                {"name": "a", "value": 1, "timestamp": "2026-03-01T12:00:00+02:00"},
                {"name": "b", "value": 1, "timestamp": "2026-03-01T12:00:00"},
                {"name": "c", "value": 1, "timestamp": 1772366400},
            ]
        },
    )
    times = dict(MetricPoint.objects.values_list("name", "timestamp"))
    assert times["a"] == datetime(2026, 3, 1, 10, tzinfo=UTC)
    assert times["b"] == datetime(2026, 3, 1, 12, tzinfo=UTC)
    assert times["c"] == datetime(2026, 3, 1, 12, tzinfo=UTC)


def test_the_default_stage_is_production(api, model):
    post(api, model, {"records": [{"name": "a", "value": 1}]})
    assert MetricPoint.objects.get().stage == "production"


@pytest.mark.parametrize(
    ("record", "field", "message"),
    [
        ({"name": "a", "value": "high"}, "value", "Must be a finite number."),
        ({"name": "a", "value": True}, "value", "Must be a finite number."),
        ({"name": "a"}, "value", "This field is required."),
        ({"value": 1.0}, "name", "This field is required."),
        ({"name": "a" * 201, "value": 1.0}, "name", "no more than 200 characters"),
        ({"name": "a", "value": 1, "stage": "staging"}, "stage", "not a valid choice"),
        ({"name": "a", "value": 1, "step": 1.5}, "step", "Must be an integer."),
        ({"name": "a", "value": 1, "timestamp": "yesterday"}, "timestamp", "Invalid timestamp"),
        (
            {"name": "a", "value": 1, "timestamp": "2999-01-01T00:00:00Z"},
            "timestamp",
            "out of range",
        ),
        (
            {"name": "a", "value": 1, "timestamp": "1900-01-01T00:00:00Z"},
            "timestamp",
            "out of range",
        ),
    ],
)
def test_a_bad_record_is_answered_with_its_index_and_field_and_nothing_is_stored(
    api, model, record, field, message
):
    response = post(api, model, {"records": [*records(2), record]})
    assert response.status_code == 400
    errors = response.json()["records"]
    assert list(errors) == ["2"]
    assert message in errors["2"][field][0]
    assert MetricPoint.objects.count() == 0


def test_a_record_that_is_not_an_object_is_refused(api, model):
    response = post(api, model, {"records": [records(1)[0], 5]})
    assert response.json() == {"records": {"1": {"non_field_errors": ["Expected an object."]}}}
    assert MetricPoint.objects.count() == 0


def test_every_bad_record_of_a_batch_is_named(api, model):
    response = post(
        api, model, {"records": [{"name": "a", "value": "x"}, records(1)[0], {"value": 2}]}
    )
    assert set(response.json()["records"]) == {"0", "2"}


def test_an_unknown_version_is_refused_with_400(api, model):
    response = post(api, model, {"version": "9", "records": records(1)})
    assert response.status_code == 400
    assert response.json() == {"version": ['Version "9" does not exist.']}
    assert MetricPoint.objects.count() == 0


def test_an_unknown_model_answers_404(api, db):
    response = api.post("/api/v1/models/ghost/metrics/", {"records": records(1)}, format="json")
    assert response.status_code == 404


@pytest.mark.parametrize("body", [{}, {"records": []}, {"records": {"a": 1}}, [1, 2]])
def test_a_bad_envelope_is_refused(api, model, body):
    response = post(api, model, body)
    assert response.status_code == 400
    assert MetricPoint.objects.count() == 0


def test_malformed_json_is_refused_with_400(api, model):
    response = api.generic(
        "POST",
        f"/api/v1/models/{model.name}/metrics/",
        '{"records": [',
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "JSON parse error" in response.json()["detail"]


def test_nan_and_infinity_literals_are_refused_with_400(api, model):
    for literal in ("NaN", "Infinity", "-Infinity"):
        body = '{"records": [{"name": "a", "value": LITERAL}]}'.replace("LITERAL", literal)
        response = api.generic(
            "POST", f"/api/v1/models/{model.name}/metrics/", body, content_type="application/json"
        )
        assert response.status_code == 400
    assert MetricPoint.objects.count() == 0


def test_more_records_than_the_batch_limit_are_refused(api, model, settings):
    settings.MODELWATCH_MAX_BATCH = 5
    response = post(api, model, {"records": records(6)})
    assert response.status_code == 400
    assert response.json() == {"records": ["Ensure this field has no more than 5 elements."]}
    assert MetricPoint.objects.count() == 0


def test_a_body_over_the_size_limit_answers_413(api, model, settings):
    settings.MODELWATCH_MAX_BODY_BYTES = 1000
    response = post(api, model, {"records": records(50)})
    assert response.status_code == 413
    assert MetricPoint.objects.count() == 0


def test_a_number_too_large_for_a_double_is_refused(api, model):
    response = api.generic(
        "POST",
        f"/api/v1/models/{model.name}/metrics/",
        '{"records": [{"name": "a", "value": 1e400}]}',
        content_type="application/json",
    )
    assert response.status_code == 400
    assert MetricPoint.objects.count() == 0


def test_a_replayed_idempotency_key_is_stored_once(api, model):
    first = post(api, model, {"records": records(4)}, HTTP_IDEMPOTENCY_KEY="batch-1")
    again = post(api, model, {"records": records(4)}, HTTP_IDEMPOTENCY_KEY="batch-1")
    other = post(api, model, {"records": records(4)}, HTTP_IDEMPOTENCY_KEY="batch-2")
    assert first.status_code == again.status_code == other.status_code == 201
    assert again.json() == {"accepted": 4}
    assert MetricPoint.objects.count() == 8


def test_a_refused_batch_does_not_burn_its_idempotency_key(api, model):
    post(api, model, {"records": [{"name": "a"}]}, HTTP_IDEMPOTENCY_KEY="k")
    response = post(api, model, {"records": records(2)}, HTTP_IDEMPOTENCY_KEY="k")
    assert response.status_code == 201
    assert MetricPoint.objects.count() == 2


def test_anonymous_writes_get_401_and_store_nothing(anon, model):
    response = anon.post(
        f"/api/v1/models/{model.name}/metrics/", {"records": records(1)}, format="json"
    )
    assert response.status_code == 401
    assert MetricPoint.objects.count() == 0
