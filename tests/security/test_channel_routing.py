"""Who may route to which channel, and who reads where notifications went.

Staff's own channel (`cast.channel`, shared with nobody) is out of an editor's reach and
answers exactly as a missing id; a channel shared with "fraud" is theirs to use. Alert
histories show non-staff only the deliveries to channels shared with the model.
"""

import pytest
from django.utils import timezone

from access.channels import routable_channels, visible_channels
from alerts_app.models import AlertRule, AlertTransition, Delivery
from tests.factories import make_channel, make_model
from tests.security.test_role_matrix import RULE

pytestmark = pytest.mark.django_db


@pytest.fixture
def shared(cast):
    channel = make_channel("fraud-team", kind="email", config={"address": "team@example.com"})
    channel.shared_models.add(cast.fraud)
    return channel


def test_an_editor_cannot_attach_a_staff_channel_and_it_reads_as_missing(cast, shared):
    editor = cast.api("editor")
    staff_only = editor.post(
        "/api/v1/rules/", RULE | {"channels": [cast.channel.pk]}, format="json"
    )
    missing = editor.post("/api/v1/rules/", RULE | {"channels": [999999]}, format="json")
    assert staff_only.status_code == missing.status_code == 400
    assert staff_only.json() == {
        "channels": [f'Invalid pk "{cast.channel.pk}" - object does not exist.']
    }
    assert missing.json() == {"channels": ['Invalid pk "999999" - object does not exist.']}
    assert not AlertRule.objects.filter(name=RULE["name"]).exists()


def test_an_editor_cannot_add_a_staff_channel_to_their_rule(cast, shared):
    answer = cast.api("editor").patch(
        f"/api/v1/rules/{cast.rule.pk}/", {"channels": [shared.pk, cast.channel.pk]}, format="json"
    )
    assert answer.status_code == 400
    assert answer.json() == {
        "channels": [f'Invalid pk "{cast.channel.pk}" - object does not exist.']
    }
    assert list(cast.rule.channels.all()) == []


def test_an_editor_routes_to_a_channel_shared_with_the_model(cast, shared):
    answer = cast.api("editor").post(
        "/api/v1/rules/", RULE | {"channels": [shared.pk]}, format="json"
    )
    assert answer.status_code == 201
    assert answer.json()["channels"] == [shared.pk]
    assert list(AlertRule.objects.get(pk=answer.json()["id"]).channels.all()) == [shared]


def test_a_channel_staff_put_on_a_rule_stays_when_its_editor_changes_it(cast, shared):
    cast.rule.channels.set([cast.channel])
    answer = cast.api("editor").patch(
        f"/api/v1/rules/{cast.rule.pk}/",
        {"name": "renamed", "channels": [cast.channel.pk, shared.pk]},
        format="json",
    )
    assert answer.status_code == 200
    assert sorted(answer.json()["channels"]) == sorted([cast.channel.pk, shared.pk])


def test_moving_a_rule_to_another_model_rechecks_its_channels(cast, shared):
    from access import roles

    churn = make_model("churn")
    roles.grant(churn, cast.users["editor"], "editor")
    cast.rule.channels.set([shared])
    answer = cast.api("editor").patch(
        f"/api/v1/rules/{cast.rule.pk}/", {"model": "churn"}, format="json"
    )
    assert answer.status_code == 400
    assert answer.json() == {"channels": [f'Invalid pk "{shared.pk}" - object does not exist.']}
    cast.rule.refresh_from_db()
    assert cast.rule.model == cast.fraud


def test_staff_route_to_any_channel(cast, shared):
    answer = cast.api("staff").post(
        "/api/v1/rules/", RULE | {"channels": [cast.channel.pk]}, format="json"
    )
    assert answer.status_code == 201


def test_the_policy_function_answers_for_rules_and_policies_alike(cast, shared):
    everywhere = make_channel("all-hands", kind="email", shared_with_all_models=True)
    editor, viewer, staff = (cast.users[n] for n in ("editor", "viewer", "staff"))
    assert set(routable_channels(editor, cast.fraud)) == {shared, everywhere}
    assert set(routable_channels(editor)) == {everywhere}
    assert set(routable_channels(editor, cast.fraud, cast.other)) == set()
    assert set(routable_channels(viewer, cast.fraud)) == set()
    assert set(routable_channels(staff, cast.other)) == {cast.channel, shared, everywhere}
    assert set(visible_channels(viewer, cast.fraud)) == {shared, everywhere}
    assert set(visible_channels(cast.users["outsider"], cast.fraud)) == set()


def test_viewers_read_only_deliveries_to_channels_shared_with_the_model(cast, shared):
    transition = AlertTransition.objects.create(
        alert=cast.alert, old="pending", new="firing", event="firing", created_at=timezone.now()
    )
    Delivery.objects.create(
        transition=transition,
        channel=cast.channel,
        status="failed",
        error="ops-secret.example.com refused",
        log=[{"error": "refused"}],
    )
    Delivery.objects.create(transition=transition, channel=shared, status="sent")
    url = f"/api/v1/alerts/{cast.alert.pk}/transitions/"

    def channels_seen(principal: str) -> list[str]:
        answer = cast.api(principal).get(url)
        assert answer.status_code == 200
        return sorted(d["channel"] for d in answer.json()["results"][0]["deliveries"])

    assert channels_seen("viewer") == ["fraud-team"]
    assert channels_seen("editor") == ["fraud-team"]
    assert channels_seen("staff") == ["fraud-team", "ops-hook"]
    assert "ops-secret" not in cast.api("viewer").get(url).content.decode()


def test_the_admin_rule_form_applies_the_same_policy(cast, shared):
    from alerts_app.admin_forms import rule_form_for

    form_class = type(
        "Form", (rule_form_for("metric_threshold"),), {"request_user": cast.users["editor"]}
    )
    data = {
        "name": "r",
        "model": cast.fraud.pk,
        "kind": "metric_threshold",
        "severity": "warning",
        "enabled": "on",
        "channels": [cast.channel.pk],
        "interval": "5m",
        "pending_for": "0s",
        "keep_firing_for": "0s",
        "repeat_interval": "4h",
        "cfg_metric": "loss",
        "cfg_aggregation": "avg",
        "cfg_window": "10m",
        "cfg_operator": ">",
        "cfg_threshold": "0.5",
    }
    form = form_class(data=data)
    assert not form.is_valid()
    assert form.errors["channels"] == [f'Invalid pk "{cast.channel.pk}" - object does not exist.']
    form = form_class(data=data | {"channels": [shared.pk]})
    assert form.is_valid(), form.errors
