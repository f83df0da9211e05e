"""The admin of routing: policies and inhibit rules checked as the API checks them;
incidents listed and acknowledged."""

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from alerts_app.models import Alert, Incident, IncidentAlert, InhibitRule, NotificationPolicy
from tests.factories import make_alert_rule, make_channel

pytestmark = pytest.mark.django_db
POLICIES = "/admin/alerts_app/notificationpolicy/"


@pytest.fixture
def staff(client):
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw-123-xyz")
    client.force_login(admin)
    return client


def policy_form(**fields) -> dict:
    return {
        "name": "fraud",
        "matchers": '{"model": ["fraud"]}',
        "group_by": "null",
        "mute_timings": "[]",
        "channels": [make_channel().id],
    } | fields


def test_a_policy_is_created_with_its_channels_and_inherited_timings(staff):
    response = staff.post(POLICIES + "add/", policy_form())
    assert response.status_code == 302, response.context["adminform"].form.errors
    policy = NotificationPolicy.objects.get()
    assert (policy.matchers, policy.group_by, policy.group_wait) == (
        {"model": ["fraud"]},
        None,
        None,
    )
    assert [c.name for c in policy.channels.all()] == ["ops-hook"]


def test_bad_matchers_group_by_and_mute_timings_are_shown_on_their_fields(staff):
    response = staff.post(
        POLICIES + "add/",
        policy_form(
            matchers='{"team": ["a"]}',
            group_by='["colour"]',
            mute_timings='[{"weekdays": ["someday"]}]',
        ),
    )
    errors = response.context["adminform"].form.errors
    assert errors["matchers"] == ['Unknown matcher "team". Known: model, tags, severity, kind.']
    assert errors["group_by"] == [
        'Unknown label "colour". Known: model, rule, severity, kind, version, feature.'
    ]
    assert errors["mute_timings"] == ["0: weekdays: a list of mon, tue, wed, thu, fri, sat, sun."]
    assert not NotificationPolicy.objects.exists()


def test_an_inhibit_rule_is_created_in_the_admin(staff):
    response = staff.post(
        "/admin/alerts_app/inhibitrule/add/",
        {
            "name": "critical over warning",
            "source_matchers": '{"severity": ["critical"]}',
            "target_matchers": '{"severity": ["warning"]}',
            "equal": '["model"]',
            "enabled": "on",
        },
    )
    assert response.status_code == 302
    assert InhibitRule.objects.get().equal == ["model"]


def test_incidents_are_listed_and_acknowledged_with_their_alerts(staff, model):
    rule = make_alert_rule(model)
    alert = Alert.objects.create(rule=rule, fingerprint="f", state="firing")
    incident = Incident.objects.create(model=model, group_key="policy:1|model=fraud")
    IncidentAlert.objects.create(incident=incident, alert=alert, joined_at=timezone.now())
    listing = staff.get("/admin/alerts_app/incident/")
    assert listing.status_code == 200 and "policy:1|model=fraud" in listing.content.decode()
    staff.post(
        "/admin/alerts_app/incident/",
        {"action": "acknowledge", "_selected_action": [incident.id]},
    )
    assert Alert.objects.get().acknowledged_at is not None
    assert staff.get(f"/admin/alerts_app/incident/{incident.id}/change/").status_code == 200
