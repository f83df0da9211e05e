"""GET /api/v1/config/ and POST /api/v1/config/apply/: the twins of export_config and
apply_config; who may read what, staff-only apply, dry run, errors by path."""

import io
from io import StringIO

import pytest
import yaml
from django.core.management import call_command
from rest_framework.test import APIClient

from access.roles import grant
from alerts_app.models import AlertRule, Channel
from alerts_app.rule_config import validate_config
from models_app.models import Model
from tests.factories import make_alert_rule, make_channel, make_model, make_token, make_user

pytestmark = pytest.mark.django_db
URL, APPLY = "/api/v1/config/", "/api/v1/config/apply/"
SLACK_URL = "https://hooks.slack.com/services/T000/B000/not-a-real-secret"


def client_of(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {make_token(user)}")
    return client


@pytest.fixture
def staff() -> APIClient:
    return client_of(make_user("root", staff=True))


@pytest.fixture
def server(db):
    """Two models, a rule each (one to a webhook, one to a Slack channel)."""
    hook = make_channel("ops-hook")
    slack = make_channel("team slack", kind="slack", config={"url": SLACK_URL})
    fraud, churn = make_model("fraud"), make_model("churn", task="regression")
    rules = [
        make_alert_rule(fraud, name="Loss", channels=[hook]),
        make_alert_rule(churn, name="Loss", channels=[slack], severity="critical"),
    ]
    for rule in rules:  # stored as the API stores it: normalised, defaults filled in
        AlertRule.objects.filter(pk=rule.pk).update(config=validate_config(rule.kind, rule.config))
    return {"fraud": fraud, "churn": churn}


def exported(*args) -> str:
    out = io.StringIO()
    call_command("export_config", *args, stdout=out)
    return out.getvalue()


def test_staff_read_the_whole_configuration_as_json_or_yaml(staff, server):
    as_json = staff.get(URL)
    assert as_json["Content-Type"] == "application/json"
    assert as_json.json() == yaml.safe_load(exported())
    as_yaml = staff.get(URL, HTTP_ACCEPT="application/yaml")
    assert as_yaml["Content-Type"] == "application/yaml; charset=utf-8"
    assert (
        as_yaml.content.decode() == exported() == staff.get(f"{URL}?format=yaml").content.decode()
    )
    assert SLACK_URL not in as_yaml.content.decode()


def test_staff_may_narrow_it_to_some_models(staff, server):
    document = staff.get(f"{URL}?model=churn").json()
    assert document == yaml.safe_load(exported("--model", "churn"))
    assert [c["name"] for c in document["channels"]] == ["team slack"]
    assert staff.get(f"{URL}?model=nope").json() == {"model": ["No such model: nope."]}


def test_a_user_reads_only_the_models_they_may_view_and_no_channels(server):
    viewer = make_user("bob")
    grant(server["churn"], viewer, "viewer")
    document = client_of(viewer).get(URL).json()
    assert [m["name"] for m in document["models"]] == ["churn"]
    assert [(r["model"], r["channels"]) for r in document["rules"]] == [("churn", ["team slack"])]
    assert list(document) == ["version", "models", "rules"]
    answer = client_of(viewer).get(f"{URL}?model=fraud")
    assert answer.status_code == 400 and answer.json() == {"model": ["No such model: fraud."]}


def test_only_staff_may_apply(api, anon, server):
    assert api.post(APPLY, {"models": []}, format="json").status_code == 403
    assert anon.get(URL).status_code == 401
    assert anon.post(APPLY, {"models": []}, format="json").status_code == 401
    assert Model.objects.count() == 2


def test_an_ingest_token_reads_no_configuration(server):
    out = StringIO()
    call_command("create_ingest_token", "fraud", stdout=out, stderr=StringIO())
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {out.getvalue().strip()}")
    assert client.get(URL).status_code == 403
    assert client.post(APPLY, {}, format="json").status_code == 403


def test_a_dry_run_answers_the_diff_and_changes_nothing(staff, server):
    document = staff.get(URL).json()
    document["rules"][0]["severity"] = "info"
    document["rules"] = document["rules"][:1]
    before = sorted(AlertRule.objects.values_list("id", "severity", "updated_at"))
    answer = staff.post(f"{APPLY}?dry_run=1&prune=true", document, format="json")
    assert answer.status_code == 200, answer.json()
    body = answer.json()
    assert sorted(AlertRule.objects.values_list("id", "severity", "updated_at")) == before
    assert (body["applied"], body["prune"]) == (False, True)
    assert body["summary"] == {"create": 0, "update": 1, "delete": 1}
    assert body["changes"] == [
        {
            "action": "update",
            "section": "rules",
            "key": "churn/Loss",
            "fields": {"severity": {"old": "critical", "new": "info"}},
        },
        {"action": "delete", "section": "rules", "key": "fraud/Loss", "fields": {}},
    ]
    assert body["diff"].startswith("~ update rules churn/Loss\n    severity: 'critical' -> 'info'")
    applied = staff.post(f"{APPLY}?prune=1", document, format="json").json()
    assert applied["applied"] is True and applied["summary"] == body["summary"]
    assert list(AlertRule.objects.values_list("severity", flat=True)) == ["info"]


def test_a_yaml_body_is_applied_and_a_second_apply_is_a_no_op(staff, server):
    text = exported().replace("task: regression", "task: other")
    first = staff.post(APPLY, text, content_type="application/yaml").json()
    assert first["changes"] == [
        {
            "action": "update",
            "section": "models",
            "key": "churn",
            "fields": {"task": {"old": "regression", "new": "other"}},
        }
    ]
    again = staff.post(APPLY, text, content_type="application/yaml").json()
    assert again["changes"] == [] and again["diff"] == "No changes."


def test_errors_are_answered_by_path_with_the_api_messages(staff, server):
    document = staff.get(URL).json()
    del document["rules"][1]["config"]["threshold"]
    document["channels"][0]["config"] = {"url": "http://127.0.0.1/hook"}
    document["models"].append({"name": "new", "task": "other"})
    answer = staff.post(APPLY, document, format="json")
    assert answer.status_code == 400
    errors = answer.json()
    assert errors["rules[1].config.threshold"] == ["This field is required."]
    assert list(errors) == ["channels[0].config.url", "rules[1].config.threshold"]
    assert not Model.objects.filter(name="new").exists()
    refused = staff.post(
        "/api/v1/channels/",
        {"name": "x", "kind": "webhook", "config": document["channels"][0]["config"]},
        format="json",
    ).json()
    assert errors["channels[0].config.url"] == refused["config"]["url"]


def test_bad_flags_and_bad_yaml_are_refused(staff, server):
    assert staff.post(f"{APPLY}?dry_run=maybe", {}, format="json").json() == {
        "dry_run": ["Expected 1/true/yes or 0/false/no."]
    }
    answer = staff.post(APPLY, "models: [", content_type="application/yaml")
    assert answer.status_code == 400 and "Not valid YAML" in answer.json()["detail"]
    assert staff.post(APPLY, [], format="json").json() == {
        "(file)": ["Expected a mapping of sections, e.g. {models: [...]}."]
    }
    assert Channel.objects.count() == 2
