"""A rule that needs a reference, on a model without one, is saved but says so: on the
admin form, after saving, and in the API's "warnings"."""

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.html import escape

from alerts_app.evaluate import evaluate_rule
from alerts_app.kinds import KINDS, kind_of
from alerts_app.models import AlertRule
from alerts_app.rule_warnings import rule_warnings
from models_app.models import Reference
from tests.factories import make_alert_rule, make_model

pytestmark = pytest.mark.django_db
LIST = "/admin/alerts_app/alertrule/"
NO_REFERENCE = (
    'No reference: version "1" of model "fraud" has no reference, so this data_drift rule '
    "will answer insufficient_data until one is uploaded. Upload one with POST "
    "/api/v1/models/fraud/reference/ (a CSV file or JSON records), the SDK's "
    "set_reference(df), or from a window of its own predictions "
    '(docs/telemetry.md "Reference data").'
)


@pytest.fixture
def staff(client):
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw-123-xyz")
    client.force_login(admin)
    return client


def add_reference(model) -> None:
    Reference.objects.create(version=model.latest_version(), n_rows=10, summary={"features": {}})


def drift_form(model, **overrides) -> dict:
    data = {
        "name": "input drift",
        "model": model.id,
        "kind": "data_drift",
        "severity": "warning",
        "enabled": "on",
        "interval": "5m",
        "pending_for": "0s",
        "keep_firing_for": "0s",
        "repeat_interval": "4h",
        "cfg_method": "psi",
        "results-TOTAL_FORMS": "0",
        "results-INITIAL_FORMS": "0",
    }
    return data | overrides


def test_the_kinds_that_need_a_reference_are_those_insufficient_without_one(model):
    """The flag says what the loaders do: without a reference these kinds cannot judge."""
    flagged = sorted(kind.name for kind in KINDS if kind.needs_reference)
    assert flagged == [
        "data_drift",
        "estimated_performance",
        "multivariate_drift",
        "prediction_drift",
    ]
    for name in flagged:
        rule = make_alert_rule(model, kind=name, name=name, config=kind_of(name).example)
        result = evaluate_rule(rule, timezone.now(), store=False)
        assert result.status == "insufficient_data"
        assert "has no reference" in result.details["reason"]


def test_the_change_form_warns_until_a_reference_is_uploaded(staff, model):
    rule = make_alert_rule(model, kind="data_drift", config={"method": "psi"})
    page = staff.get(f"{LIST}{rule.id}/change/").content.decode()
    assert f'<li class="warning">{escape(NO_REFERENCE)}</li>' in page
    add_reference(model)
    page = staff.get(f"{LIST}{rule.id}/change/").content.decode()
    assert "No reference:" not in page


def test_the_warning_does_not_block_saving_and_is_repeated_after_it(staff, model):
    response = staff.post(f"{LIST}add/?kind=data_drift", drift_form(model), follow=True)
    assert response.status_code == 200
    assert AlertRule.objects.get().name == "input drift"
    assert f'<li class="warning">{escape(NO_REFERENCE)}</li>' in response.content.decode()


def test_the_add_form_names_the_models_without_a_reference(staff, model):
    make_model("churn")
    add_reference(make_model("spam"))
    page = staff.get(f"{LIST}add/?kind=data_drift").content.decode()
    assert "No reference yet for the latest version of: churn, fraud. A data_drift rule" in page
    assert "spam" not in page.split("No reference yet")[1].split("</li>")[0]
    assert "No reference" not in staff.get(f"{LIST}add/?kind=latency").content.decode()


def test_a_rule_that_needs_no_reference_never_warns(model):
    assert rule_warnings("metric_threshold", model, {"metric": "loss", "threshold": 1}) == []


def test_a_model_without_a_version_is_told_so(db):
    bare = make_model("bare")
    bare.versions.all().delete()
    (warning,) = rule_warnings("prediction_drift", bare, {})
    assert warning.startswith('No reference: model "bare" has no version and no reference yet')


def test_the_api_answers_the_warning_on_create_and_update(api, model):
    body = {"name": "drift", "model": "fraud", "kind": "data_drift", "config": {}}
    created = api.post("/api/v1/rules/", body, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["warnings"] == [NO_REFERENCE]
    url = f"/api/v1/rules/{created.json()['id']}/"
    add_reference(model)
    patched = api.patch(url, {"severity": "critical"}, format="json")
    assert patched.status_code == 200 and patched.json()["warnings"] == []


def test_a_rule_without_a_reference_need_answers_no_warning(api, model):
    body = {
        "name": "loss",
        "model": "fraud",
        "kind": "metric_threshold",
        "config": {"metric": "loss", "threshold": 1},
    }
    assert api.post("/api/v1/rules/", body, format="json").json()["warnings"] == []
