"""The audit log: who changed which rule, channel, token, role or model, when and how."""

import pytest
from django.core.management import call_command

from access import audit, tokens
from access.models import AuditEntry
from tests.factories import make_alert_rule, make_channel, make_user

pytestmark = pytest.mark.django_db
RULE = {
    "name": "loss watch",
    "model": "fraud",
    "kind": "metric_threshold",
    "config": {
        "metric": "loss",
        "aggregation": "avg",
        "window": "10m",
        "operator": ">",
        "threshold": 0.5,
    },
}


def entries(object_type: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(object_type=object_type).order_by("id"))


def test_a_rule_created_over_the_api_is_logged_with_its_channels_and_author(api, user, model):
    channel = make_channel(shared_with_all_models=True)  # alice is no staff member
    response = api.post("/api/v1/rules/", RULE | {"channels": [channel.pk]}, format="json")
    assert response.status_code == 201
    [entry] = entries("alerts_app.AlertRule")
    assert (entry.action, entry.actor, entry.actor_repr, entry.source) == (
        "create",
        user,
        "alice",
        "api",
    )
    assert entry.changes["name"] == [None, "loss watch"]
    assert entry.changes["model"] == [None, "fraud"]
    assert entry.changes["channels"] == [[], ["ops-hook (webhook)"]]


def test_an_update_records_only_the_fields_that_changed_before_and_after(api, model):
    rule = make_alert_rule(model)
    AuditEntry.objects.all().delete()
    config = rule.config | {"threshold": 0.7}
    assert (
        api.patch(
            f"/api/v1/rules/{rule.pk}/", {"config": config, "name": rule.name}, format="json"
        ).status_code
        == 200
    )
    [entry] = entries("alerts_app.AlertRule")
    assert entry.action == "update"
    assert list(entry.changes) == ["config"]
    assert entry.changes["config"][0]["threshold"] == 0.5
    assert entry.changes["config"][1]["threshold"] == 0.7


def test_deletes_are_logged_with_the_last_values(api, model):
    rule = make_alert_rule(model, name="gone")
    assert api.delete(f"/api/v1/rules/{rule.pk}/").status_code == 204
    entry = entries("alerts_app.AlertRule")[-1]
    assert (entry.action, entry.object_repr, entry.changes["name"]) == (
        "delete",
        "gone [metric_threshold]",
        ["gone", None],
    )


def test_model_changes_are_logged_but_not_bookkeeping(api, model):
    assert (
        api.patch("/api/v1/models/fraud/", {"description": "<b>new</b>"}, format="json").status_code
        == 200
    )
    assert (
        api.post(
            "/api/v1/models/fraud/metrics/", {"records": [{"name": "a", "value": 1}]}, format="json"
        ).status_code
        == 201
    )
    [entry] = [e for e in entries("models_app.Model") if e.action == "update"]
    assert entry.changes == {"description": ["", "<b>new</b>"]}


def test_channel_secrets_are_not_copied_into_the_log(model):
    staff = make_user("root", staff=True)
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(staff)
    url = "https://hooks.slack.com/services/T000/B000/SECRETSECRET"
    created = client.post(
        "/api/v1/channels/",
        {"name": "slack", "kind": "slack", "config": {"url": url}},
        format="json",
    )
    assert created.status_code == 201
    client.patch(
        f"/api/v1/channels/{created.json()['id']}/",
        {"config": {"url": url.replace("SECRETSECRET", "OTHERSECRET")}},
        format="json",
    )
    logged = str([e.changes for e in entries("alerts_app.Channel")])
    assert "SECRET" not in logged
    assert entries("alerts_app.Channel")[-1].changes == {
        "config": ["(hidden)", "(hidden, changed)"]
    }


def test_tokens_and_roles_are_logged_from_commands_and_the_api(api, model):
    call_command("create_ingest_token", "fraud", "--name", "serving", stdout=None)
    token = entries("access.IngestToken")[0]
    assert (token.action, token.source, token.changes["name"]) == (
        "create",
        "command",
        [None, "serving"],
    )
    assert "key_hash" not in token.changes
    make_user("bob")
    api.post("/api/v1/models/fraud/roles/", {"user": "bob", "role": "viewer"}, format="json")
    grant = entries("access.ModelRole")[-1]
    assert (grant.source, grant.actor_repr, grant.changes["role"]) == (
        "api",
        "alice",
        [None, "viewer"],
    )


def test_revoking_a_token_is_logged_and_its_use_is_not(model):
    token, _ = tokens.create_token(model, "x")
    with audit.audit_context("command"):
        tokens.revoke(token)
    tokens.touch(token, token.created_at.replace(year=2030))
    assert [e.changes for e in entries("access.IngestToken")][1:] == [{"revoked": [False, True]}]


def test_changes_outside_any_request_are_logged_as_the_system(model):
    make_alert_rule(model)
    assert entries("alerts_app.AlertRule")[0].actor_repr == "system"


def test_the_admin_logs_its_changes_and_shows_the_log_read_only(client, model):
    staff = make_user("root", staff=True, is_superuser=True)
    client.force_login(staff)
    bob = make_user("bob")
    client.post(
        "/admin/access/modelrole/add/", {"model": model.pk, "user": bob.pk, "role": "editor"}
    )
    grant = entries("access.ModelRole")[-1]
    assert (grant.source, grant.actor, grant.changes["user"]) == ("admin", staff, [None, "bob"])
    assert bob.has_perm("models_app.edit_model", model)
    listing = client.get("/admin/access/auditentry/")
    assert listing.status_code == 200 and b"bob is editor of fraud" in listing.content
    assert client.get("/admin/access/auditentry/add/").status_code == 403
    assert (
        client.post(f"/admin/access/auditentry/{grant.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    detail = client.get(f"/admin/access/auditentry/{grant.pk}/change/")
    assert detail.status_code == 200 and b"<th>role</th>" in detail.content
