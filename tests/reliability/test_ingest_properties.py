"""Arbitrary JSON through the telemetry endpoints: never a 5xx, and a refused batch
stores nothing (an accepted one stores exactly what it says)."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models_app.models import MetricPoint, ParameterStat, PendingLabel, Prediction, Reference
from tests.reliability.budget import DERANDOMIZE, examples
from tests.reliability.test_validator_properties import WIRE_JSON, records

pytestmark = pytest.mark.django_db
STORED = {
    "metrics": MetricPoint,
    "predictions": Prediction,
    "parameters": ParameterStat,
    "labels": PendingLabel,
    "reference": Reference,
}
KIND = {
    "metrics": "metric",
    "predictions": "prediction",
    "parameters": "parameter",
    "labels": "label",
}


def bodies(endpoint: str):
    batch = (
        records(KIND[endpoint], WIRE_JSON)
        if endpoint in KIND
        else st.dictionaries(st.text(max_size=6), WIRE_JSON, max_size=4)
    )
    envelope = st.fixed_dictionaries(
        {"records": st.lists(batch, max_size=4)},
        optional={"version": st.sampled_from(["1", "2", ""]) | WIRE_JSON},
    )
    return envelope | WIRE_JSON


def counted(endpoint: str, answer: dict) -> int:
    if endpoint == "labels":
        return len(answer["unmatched"])
    return 1 if endpoint == "reference" else answer["accepted"]


@pytest.mark.parametrize("endpoint", sorted(STORED))
@settings(
    max_examples=examples(60),
    deadline=None,
    derandomize=DERANDOMIZE,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_any_json_is_stored_whole_or_refused_with_nothing_stored(api, model, endpoint, data):
    body = data.draw(bodies(endpoint))
    before = STORED[endpoint].objects.count()
    response = api.post(f"/api/v1/models/{model.name}/{endpoint}/", body, format="json")
    assert response.status_code in (200, 201, 400), response.content
    stored = STORED[endpoint].objects.count() - before
    if response.status_code == 400:
        assert stored == 0 and response.json()
    else:
        assert stored == counted(endpoint, response.json())
