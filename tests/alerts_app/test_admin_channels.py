"""The admin for channels (test notification), silences, and read-only alert history."""

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from alerts_app import lifecycle
from alerts_app.models import Alert, Channel, Silence
from tests.alerts_app.receiver import Receiver
from tests.alerts_app.results import result
from tests.factories import make_alert_rule, make_channel

pytestmark = pytest.mark.django_db
CHANNELS = "/admin/alerts_app/channel/"


@pytest.fixture
def staff(client):
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw-123-xyz")
    client.force_login(admin)
    client.user = admin
    return client


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_an_email_channel_is_created_with_its_address(staff):
    response = staff.post(
        CHANNELS + "add/",
        {"name": "ops", "kind": "email", "target": "a@example.com,b@example.com", "enabled": "on"},
    )
    assert response.status_code == 302
    assert Channel.objects.get().config == {"address": "a@example.com, b@example.com"}


def test_a_bad_address_is_shown_on_the_field(staff):
    response = staff.post(CHANNELS + "add/", {"name": "ops", "kind": "email", "target": "nope"})
    assert response.context["adminform"].form.errors["target"] == ["Enter a valid email address."]
    assert not Channel.objects.exists()


def test_a_private_webhook_is_refused_in_the_form(staff, settings):
    settings.MODELWATCH_ALLOW_PRIVATE_WEBHOOKS = False
    response = staff.post(
        CHANNELS + "add/", {"name": "h", "kind": "webhook", "target": "http://192.168.1.10/hook"}
    )
    (error,) = response.context["adminform"].form.errors["target"]
    assert error.startswith("Refused: 192.168.1.10 resolves to 192.168.1.10")


def test_send_test_notification_reports_success_and_failure(staff, settings):
    settings.MODELWATCH_ALLOW_PRIVATE_WEBHOOKS = True
    with Receiver() as good, Receiver(status=500) as bad:
        ok = make_channel("good", config={"url": good.url})
        ko = make_channel("bad", kind="slack", config={"url": bad.url})
        response = staff.post(
            CHANNELS, {"action": "send_test", "_selected_action": [ok.id, ko.id]}, follow=True
        )
    assert sorted(messages_of(response)) == [
        'bad: failed (transient): HTTP 500: {"error": "nope"}',
        "good: test notification sent.",
    ]
    assert good.events() == ["test"]


def test_the_channel_list_shows_the_target(staff):
    make_channel("ops", kind="email")
    assert "ops@example.com" in staff.get(CHANNELS).content.decode()


def test_a_silence_records_who_created_it(staff, model):
    now = timezone.now()
    response = staff.post(
        "/admin/alerts_app/silence/add/",
        {
            "model": model.id,
            "starts_at_0": now.strftime("%Y-%m-%d"),
            "starts_at_1": now.strftime("%H:%M:%S"),
            "ends_at_0": "2099-01-01",
            "ends_at_1": "00:00:00",
            "comment": "retraining",
        },
    )
    assert response.status_code == 302
    silence = Silence.objects.get()
    assert silence.created_by == staff.user and silence.comment == "retraining"


def test_a_silence_needs_a_rule_or_a_model(staff):
    response = staff.post(
        "/admin/alerts_app/silence/add/",
        {
            "starts_at_0": "2026-01-01",
            "starts_at_1": "00:00:00",
            "ends_at_0": "2099-01-01",
            "ends_at_1": "00:00:00",
        },
    )
    assert "Choose a rule, a model or both." in response.content.decode()


@pytest.fixture
def firing(model):
    rule = make_alert_rule(model, channels=[make_channel()])
    lifecycle.apply_result(rule, result(rule), timezone.now())
    return Alert.objects.get()


@pytest.mark.parametrize("page", ["alert", "alerttransition", "delivery", "checkresult"])
def test_alert_history_is_read_only(staff, firing, page):
    listing = staff.get(f"/admin/alerts_app/{page}/")
    assert listing.status_code == 200
    assert f"/admin/alerts_app/{page}/add/" not in listing.content.decode()
    assert staff.get(f"/admin/alerts_app/{page}/add/").status_code == 403


def test_an_alert_page_shows_its_transitions(staff, firing):
    page = staff.get(f"/admin/alerts_app/alert/{firing.id}/change/").content.decode()
    assert "firing" in page and firing.fingerprint in page
    assert staff.post(f"/admin/alerts_app/alert/{firing.id}/change/", {}).status_code == 403


def test_alerts_can_be_acknowledged_from_the_list(staff, firing):
    response = staff.post(
        "/admin/alerts_app/alert/",
        {"action": "acknowledge", "_selected_action": [firing.id]},
        follow=True,
    )
    assert messages_of(response)[0].startswith("Acknowledged 1 alert(s)")
    firing.refresh_from_db()
    assert firing.acknowledged_by == staff.user
