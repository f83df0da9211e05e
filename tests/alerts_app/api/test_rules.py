"""The rules API: CRUD with per-field config validation, evaluate now, results history."""

from datetime import UTC, datetime

import pytest

from alerts_app.models import AlertRule, CheckResult
from models_app.models import MetricPoint

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
def test_a_rule_is_created_with_durations_answered_in_seconds(api, model):
    response = api.post(URL, rule_body(interval="1m", pending_for="5m"), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["model"] == "fraud"
    assert (body["interval"], body["pending_for"], body["repeat_interval"]) == (60, 300, 14400)
    assert body["config"]["window"] == 300
    assert body["config"]["aggregation"] == "avg"
    assert AlertRule.objects.get().created_by.username == "alice"


@pytest.mark.django_db
def test_a_bad_config_field_is_answered_400_naming_it(api, model):
    response = api.post(URL, rule_body(config={"metric": "loss"}), format="json")
    assert response.status_code == 400
    assert response.json() == {"config": {"threshold": ["This field is required."]}}
    assert not AlertRule.objects.exists()


@pytest.mark.django_db
def test_a_bad_duration_is_answered_400_naming_the_field(api, model):
    response = api.post(URL, rule_body(interval="often"), format="json")
    assert response.status_code == 400
    assert "duration" in response.json()["interval"][0]


@pytest.mark.django_db
def test_an_unknown_model_or_kind_is_answered_400(api, model):
    assert "model" in api.post(URL, rule_body(model="nope"), format="json").json()
    assert "kind" in api.post(URL, rule_body(kind="magic"), format="json").json()


@pytest.mark.django_db
def test_a_config_version_must_exist(api, model):
    config = {"metric": "loss", "threshold": 1, "version": "9"}
    response = api.post(URL, rule_body(config=config), format="json")
    assert response.status_code == 400
    assert "does not exist" in response.json()["config"]["version"][0]


@pytest.mark.django_db
def test_rules_are_listed_read_patched_and_deleted(api, model):
    rule_id = api.post(URL, rule_body(), format="json").json()["id"]
    listed = api.get(URL, {"model": "fraud"}).json()
    assert [r["id"] for r in listed["results"]] == [rule_id]
    patched = api.patch(
        f"{URL}{rule_id}/", {"config": {"metric": "loss", "threshold": 2}}, format="json"
    )
    assert patched.status_code == 200 and patched.json()["config"]["threshold"] == 2
    assert api.get(f"{URL}{rule_id}/").json()["config"]["window"] == 3600
    assert api.delete(f"{URL}{rule_id}/").status_code == 204
    assert not AlertRule.objects.exists()


@pytest.mark.django_db
def test_patching_the_kind_revalidates_the_existing_config(api, model):
    rule_id = api.post(URL, rule_body(), format="json").json()["id"]
    response = api.patch(f"{URL}{rule_id}/", {"kind": "latency"}, format="json")
    assert response.status_code == 400
    assert "threshold_ms" in response.json()["config"]


@pytest.mark.django_db
def test_evaluate_answers_the_check_result_and_stores_it(api, model):
    MetricPoint.objects.create(
        model=model,
        version=model.latest_version(),
        name="loss",
        value=3.0,
        timestamp=datetime(2026, 3, 1, 11, 58, tzinfo=UTC),
    )
    rule_id = api.post(URL, rule_body(), format="json").json()["id"]
    response = api.post(f"{URL}{rule_id}/evaluate/", {"at": "2026-03-01T12:00:00Z"}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["value"], body["threshold"]) == ("breached", 3.0, 1.0)
    assert body["details"]["points"] == 1
    assert CheckResult.objects.filter(rule_id=rule_id).count() == 1
    history = api.get(f"{URL}{rule_id}/results/").json()
    assert history["results"][0]["status"] == "breached"


@pytest.mark.django_db
def test_evaluate_with_store_false_keeps_no_history(api, model):
    rule_id = api.post(URL, rule_body(), format="json").json()["id"]
    body = api.post(f"{URL}{rule_id}/evaluate/", {"store": False}, format="json").json()
    assert body["status"] == "insufficient_data" and body["id"] is None
    assert not CheckResult.objects.exists()


@pytest.mark.django_db
def test_writes_need_a_token_and_reads_a_user(anon, model):
    assert anon.get(URL).status_code in (401, 403)
    assert anon.post(URL, rule_body(), format="json").status_code in (401, 403)


@pytest.mark.django_db
def test_evaluating_a_rule_whose_stored_config_is_invalid_answers_400(api, model):
    rule = AlertRule.objects.create(name="raw", model=model, kind="latency", config={})
    response = api.post(f"{URL}{rule.pk}/evaluate/", {}, format="json")
    assert response.status_code == 400
    assert "threshold_ms" in response.json()["config"]
