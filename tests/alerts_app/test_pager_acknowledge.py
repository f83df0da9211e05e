"""Acknowledging an alert tells the pagers once, through the outbox: PagerDuty's trigger,
acknowledge (from the alert page) and resolve reach a receiver with one dedup_key."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from alerts_app import lifecycle, outbox
from alerts_app.models import Alert, Delivery
from tests.alerts_app.receiver import Receiver
from tests.alerts_app.results import result
from tests.factories import make_alert_rule, make_channel, make_user

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def sent(monkeypatch, settings):
    """Deliver every enqueued delivery at once, in this process (no worker)."""
    settings.MODELWATCH_ALLOW_PRIVATE_WEBHOOKS = True
    ids = []
    monkeypatch.setattr(outbox, "enqueue_delivery", lambda i, countdown=0: ids.append(i))
    return ids


def deliver_all(ids: list) -> None:
    while ids:
        outbox.deliver(ids.pop(0), now=timezone.now() + timedelta(days=3650))


def test_pagerduty_hears_trigger_acknowledge_and_resolve_with_one_dedup_key(
    model, sent, client, django_capture_on_commit_callbacks
):
    with Receiver(status=202) as receiver:
        pager = make_channel("pager", "pagerduty", config={"routing_key": "k", "url": receiver.url})
        hook = make_channel("hook", "webhook", config={"url": receiver.url})
        rule = make_alert_rule(model, channels=[pager, hook])
        with django_capture_on_commit_callbacks(execute=True):
            lifecycle.apply_result(rule, result(rule), T0)
        deliver_all(sent)
        alert = Alert.objects.get()
        client.force_login(make_user("root", staff=True))
        with django_capture_on_commit_callbacks(execute=True):
            client.post(f"/alerts/{alert.id}/acknowledge/", {"note": "on it"})
            client.post(f"/alerts/{alert.id}/acknowledge/", {"note": "again"})
        deliver_all(sent)
        with django_capture_on_commit_callbacks(execute=True):
            lifecycle.apply_result(rule, result(rule, "ok", 0.1), T0 + timedelta(minutes=5))
        deliver_all(sent)
    pagerduty = [b for b in receiver.bodies if "event_action" in b]
    assert [b["event_action"] for b in pagerduty] == ["trigger", "acknowledge", "resolve"]
    assert {b["dedup_key"] for b in pagerduty} == {alert.fingerprint}
    webhook = [b["event"] for b in receiver.bodies if "event" in b]
    assert webhook == ["firing", "resolved"]  # a plain webhook is not told of the ack
    acked = alert.transitions.get(event="acknowledged")
    assert acked.message == "Acknowledged by root: on it"
    assert list(acked.deliveries.values_list("channel__name", "status")) == [("pager", "sent")]


def test_acknowledging_twice_records_one_acknowledgement(model, sent):
    pager = make_channel("pager", "opsgenie", config={"api_key": "k"})
    rule = make_alert_rule(model, channels=[pager])
    lifecycle.apply_result(rule, result(rule), T0)
    alert = Alert.objects.get()
    user = make_user()
    assert lifecycle.acknowledge(alert.id, user, T0 + timedelta(minutes=1)) is not None
    assert lifecycle.acknowledge(alert.id, user, T0 + timedelta(minutes=2)) is not None
    assert alert.transitions.filter(event="acknowledged").count() == 1
    assert Delivery.objects.filter(transition__event="acknowledged").count() == 1


def test_an_acknowledgement_is_not_held_back_by_a_silence(model, sent):
    from alerts_app.models import Silence

    pager = make_channel("pager", "pagerduty", config={"routing_key": "k"})
    rule = make_alert_rule(model, channels=[pager])
    lifecycle.apply_result(rule, result(rule), T0)
    Silence.objects.create(rule=rule, starts_at=T0, ends_at=T0 + timedelta(hours=1))
    lifecycle.acknowledge(Alert.objects.get().id, make_user(), T0 + timedelta(minutes=1))
    (delivery,) = Delivery.objects.filter(transition__event="acknowledged")
    assert (delivery.status, delivery.error) == ("pending", "")
