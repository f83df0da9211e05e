"""/api/v1/channels/: staff only, per-kind config validation, private webhooks refused."""

import pytest
from rest_framework.test import APIClient

from alerts_app.models import Channel
from tests.alerts_app.receiver import Receiver
from tests.factories import make_channel, make_token, make_user

pytestmark = pytest.mark.django_db
URL = "/api/v1/channels/"


@pytest.fixture
def staff() -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {make_token(make_user('root', staff=True))}")
    return client


def test_staff_create_and_list_channels(staff):
    response = staff.post(
        URL,
        {"name": "ops", "kind": "email", "config": {"address": "ops@example.com"}},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["config"] == {"address": "ops@example.com"}
    (listed,) = staff.get(URL).json()["results"]
    assert (listed["name"], listed["kind"], listed["enabled"]) == ("ops", "email", True)


def test_a_non_staff_token_is_refused_even_for_reading(api):
    assert api.get(URL).status_code == 403
    assert api.post(URL, {"name": "x", "kind": "email"}, format="json").status_code == 403


def test_anonymous_requests_are_refused(anon):
    assert anon.get(URL).status_code == 401


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        (
            {"name": "a", "kind": "email", "config": {"address": "nope"}},
            {"config": {"address": ["Enter a valid email address."]}},
        ),
        (
            {"name": "a", "kind": "webhook", "config": {}},
            {"config": {"url": ["This field is required."]}},
        ),
        (
            {"name": "a", "kind": "slack", "config": {"url": "https://h.example.com/x", "x": 1}},
            {"config": {"x": ["Unknown field. Known: ['url']."]}},
        ),
        (
            {"name": "a", "kind": "pager", "config": {}},
            {"kind": ['"pager" is not a valid choice.']},
        ),
    ],
)
def test_a_bad_config_is_answered_400_naming_the_field(staff, body, errors):
    response = staff.post(URL, body, format="json")
    assert response.status_code == 400
    assert response.json() == errors
    assert not Channel.objects.exists()


def test_a_webhook_on_a_private_network_is_refused(staff, settings):
    settings.MODELWATCH_ALLOW_PRIVATE_WEBHOOKS = False
    for url in ("http://127.0.0.1:9000/hook", "http://10.0.0.8/hook", "http://localhost/x"):
        response = staff.post(
            URL, {"name": "h", "kind": "webhook", "config": {"url": url}}, format="json"
        )
        assert response.status_code == 400
        assert response.json()["config"]["url"][0].startswith("Refused:")


def test_a_private_webhook_is_accepted_when_allowed(staff, settings):
    settings.MODELWATCH_ALLOW_PRIVATE_WEBHOOKS = True
    response = staff.post(
        URL,
        {"name": "h", "kind": "webhook", "config": {"url": "http://127.0.0.1:9000/hook"}},
        format="json",
    )
    assert response.status_code == 201


def test_patching_the_config_revalidates_it_against_the_kind(staff):
    channel = make_channel(kind="email")
    response = staff.patch(
        f"{URL}{channel.id}/", {"config": {"url": "https://x.io"}}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "config": {
            "address": ["This field is required."],
            "url": ["Unknown field. Known: ['address']."],
        }
    }


def test_a_channel_can_be_disabled_and_deleted(staff):
    channel = make_channel()
    assert (
        staff.patch(f"{URL}{channel.id}/", {"enabled": False}, format="json").json()["enabled"]
        is False
    )
    assert staff.delete(f"{URL}{channel.id}/").status_code == 204


def test_the_test_action_sends_a_notification(staff, settings):
    settings.MODELWATCH_ALLOW_PRIVATE_WEBHOOKS = True
    with Receiver() as receiver:
        channel = make_channel(config={"url": receiver.url})
        response = staff.post(f"{URL}{channel.id}/test/")
    assert response.json() == {"sent": True, "error": "", "permanent": None}
    assert receiver.events() == ["test"]


def test_the_test_action_reports_a_failure(staff, settings):
    settings.MODELWATCH_ALLOW_PRIVATE_WEBHOOKS = True
    with Receiver(status=404) as receiver:
        channel = make_channel(config={"url": receiver.url})
        body = staff.post(f"{URL}{channel.id}/test/").json()
    assert body["sent"] is False and body["permanent"] is True
    assert body["error"].startswith("HTTP 404")
