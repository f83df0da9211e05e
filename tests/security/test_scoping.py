"""Lists and pages hold only what the user may view; roles come from grants, groups, owners."""

import pytest
from django.contrib.auth.models import Group

from access import roles
from access.models import ModelRole
from access.scoping import scoped
from alerts_app.models import Alert, AlertRule, Channel
from models_app.models import Model
from tests.factories import grant_all_models, make_token, make_user

pytestmark = pytest.mark.django_db


def names(response, key: str = "name") -> list[str]:
    return sorted(item[key] for item in response.json()["results"])


def test_each_user_lists_only_the_models_they_may_view(cast):
    assert names(cast.api("outsider").get("/api/v1/models/")) == ["other"]
    assert names(cast.api("viewer").get("/api/v1/models/")) == ["fraud"]
    assert names(cast.api("staff").get("/api/v1/models/")) == ["fraud", "other"]


def test_rules_and_alerts_are_scoped_like_their_models(cast):
    assert names(cast.api("outsider").get("/api/v1/rules/")) == []
    assert names(cast.api("viewer").get("/api/v1/rules/")) == ["loss too high"]
    assert names(cast.api("outsider").get("/api/v1/alerts/"), "rule_name") == []
    assert names(cast.api("viewer").get("/api/v1/alerts/"), "rule_name") == ["loss too high"]
    hidden = cast.api("outsider").get("/api/v1/alerts/?model=fraud")
    assert hidden.status_code == 200 and hidden.json()["results"] == []


def test_scoped_keeps_models_rules_and_alerts_of_viewable_models_only(cast):
    """The one scoping rule behind the API's filter backend and the dashboards."""

    def held(queryset, principal):
        return sorted(scoped(queryset, cast.users.get(principal)).values_list("pk", flat=True))

    fraud, other = cast.fraud.pk, cast.other.pk
    assert held(Model.objects.all(), "outsider") == [other]
    assert held(Model.objects.all(), "viewer") == [fraud]
    assert held(Model.objects.all(), "staff") == sorted([fraud, other])
    assert held(AlertRule.objects.all(), "outsider") == []
    assert held(AlertRule.objects.all(), "viewer") == [cast.rule.pk]
    assert held(Alert.objects.all(), "outsider") == []
    assert held(Alert.objects.all(), "viewer") == [cast.alert.pk]
    assert held(Model.objects.all(), "anonymous") == []
    # Channels belong to no model: the queryset passes unchanged (they are staff-only).
    assert held(Channel.objects.all(), "outsider") == [cast.channel.pk]


def test_the_overview_and_alerts_pages_show_only_visible_models(cast):
    outsider, viewer = cast.browser("outsider"), cast.browser("viewer")
    assert b'data-model="fraud"' not in outsider.get("/").content
    assert b'data-model="other"' in outsider.get("/").content
    assert b'data-model="fraud"' in viewer.get("/").content
    assert b"loss too high" not in outsider.get("/alerts/").content
    assert b"loss too high" in viewer.get("/alerts/").content
    assert b'value="fraud"' not in outsider.get("/alerts/").content


def test_a_hidden_model_reads_exactly_like_a_missing_one(cast):
    client = cast.api("outsider")
    hidden, missing = client.get("/api/v1/models/fraud/"), client.get("/api/v1/models/nope/")
    assert (hidden.status_code, hidden.json()) == (missing.status_code, missing.json())


def test_whoever_registers_a_model_becomes_its_admin(cast):
    client = cast.api("outsider")
    assert (
        client.post("/api/v1/models/", {"name": "mine", "task": "other"}, format="json").status_code
        == 201
    )
    grant = ModelRole.objects.get(model__name="mine")
    assert (grant.user.username, grant.role) == ("outsider", "admin")
    assert (
        client.patch("/api/v1/models/mine/", {"description": "x"}, format="json").status_code == 200
    )


def test_a_group_role_applies_to_its_members(cast):
    team = Group.objects.create(name="fraud-team")
    roles.grant(cast.fraud, team, "editor")
    member = make_user("member")
    member.groups.add(team)
    assert roles.role_of(member, cast.fraud) == "editor"
    listed = cast.api("staff").get("/api/v1/models/fraud/roles/").json()
    team_grant = next(g for g in listed if g["group"] == "fraud-team")
    assert (team_grant["user"], team_grant["role"]) == (None, "editor")


def test_the_all_models_group_gives_a_role_on_every_model_present_and_future(cast):
    auditor = grant_all_models(make_user("auditor"), "viewer")
    assert roles.role_of(auditor, cast.fraud) == "viewer"
    later = cast.api("staff").post(
        "/api/v1/models/", {"name": "later", "task": "other"}, format="json"
    )
    assert later.status_code == 201
    client = cast.api("outsider")
    client.credentials(HTTP_AUTHORIZATION=f"Token {make_token(auditor)}")
    assert names(client.get("/api/v1/models/")) == ["fraud", "later", "other"]


def test_changing_or_revoking_a_grant_changes_the_permissions(cast):
    viewer = cast.users["viewer"]
    roles.grant(cast.fraud, viewer, "editor")
    assert roles.role_of(viewer, cast.fraud) == "editor"
    roles.grant(cast.fraud, viewer, "viewer")
    assert roles.role_of(viewer, cast.fraud) == "viewer"
    assert roles.revoke(cast.fraud, viewer)
    assert roles.role_of(viewer, cast.fraud) is None
    assert cast.api("viewer").get("/api/v1/models/fraud/").status_code == 404


def test_a_deleted_model_leaves_no_permission_behind(cast):
    from guardian.models import UserObjectPermission

    pk = cast.fraud.pk
    cast.fraud.delete()
    assert not UserObjectPermission.objects.filter(object_pk=str(pk)).exists()


def test_revoking_a_role_over_the_api(cast):
    client = cast.api("model-admin")
    grant = client.post(
        "/api/v1/models/fraud/roles/", {"user": "outsider", "role": "viewer"}, format="json"
    ).json()
    assert cast.api("outsider").get("/api/v1/models/fraud/").status_code == 200
    assert client.delete(f"/api/v1/models/fraud/roles/{grant['id']}/").status_code == 204
    assert cast.api("outsider").get("/api/v1/models/fraud/").status_code == 404


def test_a_grant_names_a_user_or_a_group_not_both(cast):
    response = cast.api("model-admin").post(
        "/api/v1/models/fraud/roles/", {"role": "viewer"}, format="json"
    )
    assert response.status_code == 400
    assert "user" in response.json()


@pytest.mark.parametrize(
    ("principal", "shown"), [("viewer", False), ("editor", True), ("staff", True)]
)
def test_only_those_who_may_acknowledge_see_the_button(cast, principal, shown):
    client = cast.browser(principal)
    for path in ("/alerts/", "/models/fraud/"):
        assert (b"data-ack=" in client.get(path).content) is shown, path
