"""/api/v1/policies/, /api/v1/inhibit-rules/, /api/v1/incidents/: bodies, errors, who may."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from access.models import ModelRole
from alerts_app.models import Alert, Incident, IncidentAlert, NotificationPolicy
from tests.factories import make_alert_rule, make_channel, make_model, make_token, make_user

pytestmark = pytest.mark.django_db
URL = "/api/v1/policies/"


def client_of(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {make_token(user)}")
    return client


@pytest.fixture
def staff() -> APIClient:
    return client_of(make_user("root", staff=True))


@pytest.fixture
def hook(db):
    return make_channel("hook")


def test_staff_create_read_patch_and_delete_a_policy(staff, hook, model):
    body = {
        "name": "fraud critical",
        "matchers": {"model": ["fraud"], "severity": ["critical"]},
        "channels": [hook.id],
        "group_by": ["model", "severity"],
        "group_wait": "10s",
        "group_interval": "2m",
        "repeat_interval": "1h",
        "continue": True,
        "mute_timings": [{"weekdays": ["sat", "sun"]}],
    }
    response = staff.post(URL, body, format="json")
    assert response.status_code == 201, response.json()
    created = response.json()
    assert {k: created[k] for k in body} == body | {
        "group_wait": 10,
        "group_interval": 120,
        "repeat_interval": 3600,
    }
    assert created["parent"] is None
    child = staff.post(URL, {"name": "child", "parent": created["id"]}, format="json").json()
    assert (child["group_wait"], child["channels"], child["continue"]) == (None, [], False)
    url = f"{URL}{created['id']}/"
    patched = staff.patch(url, {"group_wait": 60, "continue": False}, format="json").json()
    assert (patched["group_wait"], patched["continue"], patched["name"]) == (
        60,
        False,
        "fraud critical",
    )
    assert [p["name"] for p in staff.get(URL).json()["results"]] == ["fraud critical", "child"]
    assert staff.delete(url).status_code == 204
    assert not NotificationPolicy.objects.exists()  # the child goes with its parent


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        (
            {"matchers": {"team": ["a"]}},
            {"matchers": ['Unknown matcher "team". Known: model, tags, severity, kind.']},
        ),
        ({"matchers": {"model": "fraud"}}, {"matchers": ['"model" must be a list of names.']}),
        (
            {"group_by": ["colour"]},
            {
                "group_by": [
                    'Unknown label "colour". Known: model, rule, severity, kind, version, feature.'
                ]
            },
        ),
        (
            {"mute_timings": [{"start": "25:00"}]},
            {"mute_timings": ['0: start: "25:00" is not a time of day (HH:MM, 00:00-24:00).']},
        ),
        ({"group_wait": "soon"}, "group_wait"),
        ({"channels": [999]}, {"channels": ['Invalid pk "999" - object does not exist.']}),
        ({"parent": 999}, "parent"),
    ],
)
def test_a_bad_policy_is_answered_400_naming_the_field(staff, body, errors):
    response = staff.post(URL, {"name": "p"} | body, format="json")
    assert response.status_code == 400
    if isinstance(errors, str):
        assert list(response.json()) == [errors]
    else:
        assert response.json() == errors
    assert not NotificationPolicy.objects.exists()


def test_a_policy_cannot_become_its_own_ancestor(staff):
    parent = NotificationPolicy.objects.create(name="a")
    child = NotificationPolicy.objects.create(name="b", parent=parent)
    response = staff.patch(f"{URL}{parent.id}/", {"parent": child.id}, format="json")
    assert response.json() == {"parent": ["A policy cannot be its own ancestor."]}


def test_an_editor_routes_only_models_it_edits_to_channels_shared_with_them(db):
    fraud, other = make_model("fraud"), make_model("other")
    editor = make_user("ed")
    ModelRole.objects.create(model=fraud, user=editor, role="editor")
    ModelRole.objects.create(model=other, user=editor, role="viewer")
    shared, private = make_channel("shared"), make_channel("private")
    shared.shared_models.set([fraud])
    api = client_of(editor)
    ok = api.post(
        URL,
        {"name": "mine", "matchers": {"model": ["fraud"]}, "channels": [shared.id]},
        format="json",
    )
    assert ok.status_code == 201, ok.json()
    refused = api.post(
        URL,
        {"name": "x", "matchers": {"model": ["fraud"]}, "channels": [private.id]},
        format="json",
    )
    assert refused.json() == {"channels": [f'Invalid pk "{private.id}" - object does not exist.']}
    everything = api.post(URL, {"name": "all", "matchers": {}}, format="json")
    assert list(everything.json()) == ["matchers"]
    viewer_only = api.post(URL, {"name": "o", "matchers": {"model": ["other"]}}, format="json")
    assert viewer_only.json() == {
        "matchers": ['You need the editor role on model "other" to route it.']
    }
    staffs = NotificationPolicy.objects.create(name="staff's", matchers={})
    assert [p["name"] for p in api.get(URL).json()["results"]] == ["mine"]
    assert api.get(f"{URL}{staffs.id}/").status_code == 404
    assert api.delete(f"{URL}{staffs.id}/").status_code == 404


def test_inhibit_rules_are_staff_only_and_validated(staff, api):
    url = "/api/v1/inhibit-rules/"
    body = {
        "name": "critical over warning",
        "source_matchers": {"severity": ["critical"]},
        "target_matchers": {"severity": ["warning"]},
        "equal": ["model"],
    }
    assert staff.post(url, body, format="json").status_code == 201
    bad = staff.post(url, body | {"name": "b", "equal": ["nope"]}, format="json")
    assert list(bad.json()) == ["equal"]
    assert api.get(url).status_code == 403


def firing_incident(model, state="firing") -> Incident:
    now = timezone.now()
    rule = make_alert_rule(model, name="High loss")
    alert = Alert.objects.create(
        rule=rule, fingerprint=f"rule:{rule.id}|version:-", state="firing", started_at=now
    )
    incident = Incident.objects.create(
        model=model,
        group_key="policy:1|model=fraud",
        labels={"model": "fraud"},
        state=state,
        started_at=now - timedelta(minutes=1),
    )
    IncidentAlert.objects.create(incident=incident, alert=alert, joined_at=now)
    return incident


def test_incidents_are_listed_by_state_with_their_alerts(api, model):
    incident = firing_incident(model)
    (listed,) = api.get("/api/v1/incidents/?state=firing").json()["results"]
    assert (listed["id"], listed["state"], listed["model"]) == (incident.id, "firing", "fraud")
    assert [m["alert"]["rule_name"] for m in listed["members"]] == ["High loss"]
    assert listed["url"].endswith(f"/incidents/{incident.id}/")
    assert api.get("/api/v1/incidents/?state=resolved").json()["results"] == []
    assert api.get("/api/v1/incidents/?state=bogus").status_code == 400


def test_acknowledging_an_incident_acknowledges_its_alerts(api, model):
    incident = firing_incident(model)
    response = api.post(
        f"/api/v1/incidents/{incident.id}/acknowledge/", {"note": "on it"}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["acknowledged_note"] == "on it"
    alert = Alert.objects.get()
    assert (alert.acknowledged_by.username, alert.acknowledged_note) == ("alice", "on it")
    Incident.objects.filter(id=incident.id).update(state="resolved")
    incident.refresh_from_db()
    resolved = firing_incident(model, state="resolved")
    conflict = api.post(f"/api/v1/incidents/{resolved.id}/acknowledge/")
    assert conflict.status_code == 409


def test_incidents_of_models_one_may_not_view_are_hidden(model):
    incident = firing_incident(model)
    stranger = client_of(make_user("stranger"))
    assert stranger.get("/api/v1/incidents/").json()["results"] == []
    assert stranger.get(f"/api/v1/incidents/{incident.id}/").status_code == 404


def test_the_alert_body_says_when_it_is_inhibited(api, model):
    no_data = make_alert_rule(model, kind="no_data", name="Silent", config={})
    drift = make_alert_rule(model, kind="data_drift", name="Drift", config={})
    source = Alert.objects.create(rule=no_data, fingerprint="a", state="firing")
    target = Alert.objects.create(rule=drift, fingerprint="b", state="firing")
    assert api.get(f"/api/v1/alerts/{target.id}/").json()["inhibited_by"] == {
        "id": source.id,
        "rule": "Silent",
        "model": "fraud",
        "text": f"inhibited by alert #{source.id} (Silent on fraud)",
    }
    assert api.get(f"/api/v1/alerts/{source.id}/").json()["inhibited_by"] is None
