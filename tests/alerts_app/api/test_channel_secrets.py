"""Channel secrets (webhook secret, PagerDuty routing key, Opsgenie API key) are write-only
in the API and the admin, kept when left out, and never written to the audit log."""

import json

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from access.models import AuditEntry
from alerts_app.models import Channel
from tests.factories import make_token, make_user

pytestmark = pytest.mark.django_db
URL = "/api/v1/channels/"
ROUTING_KEY = "R0UTING-KEY-0123456789"


@pytest.fixture
def staff() -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {make_token(make_user('root', staff=True))}")
    return client


def create_pager(staff) -> dict:
    body = {"name": "pager", "kind": "pagerduty", "config": {"routing_key": ROUTING_KEY}}
    response = staff.post(URL, body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_a_secret_is_stored_but_never_shown(staff):
    created = create_pager(staff)
    assert created["config"] == {} and created["secrets_set"] == ["routing_key"]
    assert Channel.objects.get().config == {"routing_key": ROUTING_KEY}
    for answer in (staff.get(URL).content, staff.get(f"{URL}{created['id']}/").content):
        assert ROUTING_KEY.encode() not in answer


def test_a_patch_without_the_secret_keeps_it_and_an_empty_one_is_refused(staff):
    created = create_pager(staff)
    url = f"{URL}{created['id']}/"
    response = staff.patch(
        url, {"config": {"url": "https://events.eu.pagerduty.com/v2/enqueue"}}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert Channel.objects.get().config == {
        "routing_key": ROUTING_KEY,
        "url": "https://events.eu.pagerduty.com/v2/enqueue",
    }
    response = staff.patch(url, {"config": {"routing_key": ""}}, format="json")
    assert response.json() == {"config": {"routing_key": ["This field is required."]}}


def test_a_webhook_secret_can_be_set_and_removed(staff):
    body = {
        "name": "signed",
        "kind": "webhook",
        "config": {"url": "https://hooks.example.com/x", "secret": "0123456789abcdef!"},
    }
    created = staff.post(URL, body, format="json").json()
    assert created["config"] == {"url": "https://hooks.example.com/x"}
    url = f"{URL}{created['id']}/"
    staff.patch(
        url, {"config": {"url": "https://hooks.example.com/y", "secret": ""}}, format="json"
    )
    assert Channel.objects.get().config == {"url": "https://hooks.example.com/y"}
    assert staff.get(url).json()["secrets_set"] == []


def test_the_audit_log_hides_the_secret(staff):
    create_pager(staff)
    entry = AuditEntry.objects.get(object_type="alerts_app.Channel")
    assert ROUTING_KEY not in json.dumps(entry.changes)


def test_the_admin_form_keeps_a_stored_key_left_empty(client):
    admin = get_user_model().objects.create_superuser("boss", "b@example.com", "pw-123-xyz")
    client.force_login(admin)
    page = "/admin/alerts_app/channel/add/"
    form = {
        "name": "genie",
        "kind": "opsgenie",
        "target": "",
        "secret": "GENIE-KEY-42",
        "enabled": "on",
    }
    assert client.post(page, form).status_code == 302
    channel = Channel.objects.get()
    assert channel.config == {"api_key": "GENIE-KEY-42"}
    change = f"/admin/alerts_app/channel/{channel.id}/change/"
    assert "GENIE-KEY-42" not in client.get(change).content.decode()
    form |= {"target": "https://api.eu.opsgenie.com", "secret": ""}
    assert client.post(change, form).status_code == 302
    channel.refresh_from_db()
    assert channel.config == {"api_key": "GENIE-KEY-42", "url": "https://api.eu.opsgenie.com"}


def test_the_admin_says_which_field_is_missing(client):
    admin = get_user_model().objects.create_superuser("boss", "b@example.com", "pw-123-xyz")
    client.force_login(admin)
    response = client.post(
        "/admin/alerts_app/channel/add/", {"name": "pd", "kind": "pagerduty", "target": ""}
    )
    assert response.context["adminform"].form.errors["secret"] == ["This field is required."]
