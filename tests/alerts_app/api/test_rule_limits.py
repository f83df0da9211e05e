"""Limits that keep one tenant from starving the others: rules per model and per user,
and the shortest interval (API and admin alike)."""

import pytest

from alerts_app.models import AlertRule
from tests.alerts_app.test_admin_rules import ADD, form_data
from tests.factories import make_alert_rule, make_model, make_user

URL = "/api/v1/rules/"


def rule_body(**overrides) -> dict:
    body = {
        "name": "loss too high",
        "model": "fraud",
        "kind": "metric_threshold",
        "config": {"metric": "loss", "threshold": 1.0, "window": "5m"},
    }
    return body | overrides


@pytest.mark.django_db
@pytest.mark.parametrize("interval", ["10s", 30, "59s"])
def test_an_interval_under_the_minimum_is_refused_naming_the_field(api, model, interval):
    response = api.post(URL, rule_body(interval=interval), format="json")
    assert response.status_code == 400
    assert response.json() == {"interval": ["Ensure this value is at least 60 seconds."]}
    assert not AlertRule.objects.exists()


@pytest.mark.django_db
def test_the_minimum_interval_is_a_setting(api, model, settings):
    settings.MODELWATCH_RULE_MIN_INTERVAL = 30
    assert api.post(URL, rule_body(interval="30s"), format="json").status_code == 201
    assert api.post(URL, rule_body(interval="20s"), format="json").json() == {
        "interval": ["Ensure this value is at least 30 seconds."]
    }


@pytest.mark.django_db
def test_a_patch_cannot_shorten_the_interval_under_the_minimum(api, model):
    rule = make_alert_rule(model, interval=300)
    response = api.patch(f"{URL}{rule.id}/", {"interval": "10s"}, format="json")
    assert response.json() == {"interval": ["Ensure this value is at least 60 seconds."]}
    rule.refresh_from_db()
    assert rule.interval == 300


@pytest.mark.django_db
def test_a_model_takes_at_most_the_rule_limit(api, model, settings):
    settings.MODELWATCH_MAX_RULES_PER_MODEL = 3
    for _ in range(3):
        assert api.post(URL, rule_body(), format="json").status_code == 201
    response = api.post(URL, rule_body(), format="json")
    assert response.status_code == 400
    assert response.json() == {
        "model": [
            'Model "fraud" already has 3 rules, the most allowed (MODELWATCH_MAX_RULES_PER_MODEL).'
        ]
    }
    assert AlertRule.objects.count() == 3
    other = make_model("churn")
    assert api.post(URL, rule_body(model="churn"), format="json").status_code == 201
    assert other.rules.count() == 1


@pytest.mark.django_db
def test_editing_a_rule_at_the_limit_is_allowed_but_moving_one_there_is_not(api, model, settings):
    settings.MODELWATCH_MAX_RULES_PER_MODEL = 2
    first, _ = make_alert_rule(model), make_alert_rule(model)
    assert api.patch(f"{URL}{first.id}/", {"name": "renamed"}, format="json").status_code == 200
    elsewhere = make_alert_rule(make_model("churn"))
    response = api.patch(f"{URL}{elsewhere.id}/", {"model": "fraud"}, format="json")
    assert response.status_code == 400
    assert "MODELWATCH_MAX_RULES_PER_MODEL" in response.json()["model"][0]
    elsewhere.refresh_from_db()
    assert elsewhere.model.name == "churn"


@pytest.mark.django_db
def test_a_user_takes_at_most_the_per_user_limit(api, user, model, settings):
    settings.MODELWATCH_MAX_RULES_PER_USER = 2
    make_model("churn")
    assert api.post(URL, rule_body(), format="json").status_code == 201
    assert api.post(URL, rule_body(model="churn"), format="json").status_code == 201
    make_alert_rule(model, created_by=make_user("bob"))  # someone else's: not counted
    response = api.post(URL, rule_body(model="churn"), format="json")
    assert response.status_code == 400
    assert response.json() == {
        "non_field_errors": [
            "You already have 2 rules, the most allowed (MODELWATCH_MAX_RULES_PER_USER)."
        ]
    }
    assert AlertRule.objects.filter(created_by=user).count() == 2


@pytest.mark.django_db
def test_the_admin_applies_the_same_per_model_limit(client, model, settings):
    settings.MODELWATCH_MAX_RULES_PER_MODEL = 1
    make_alert_rule(model)
    client.force_login(make_user("root", staff=True, is_superuser=True))
    response = client.post(ADD + "?kind=metric_threshold", form_data(model, "metric_threshold"))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["model"] == [
        'Model "fraud" already has 1 rules, the most allowed (MODELWATCH_MAX_RULES_PER_MODEL).'
    ]
    assert AlertRule.objects.count() == 1
