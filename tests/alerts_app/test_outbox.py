"""Deliveries: claimed before sending, at most once, retried with backoff, logged."""

from datetime import UTC, datetime, timedelta

import pytest

from alerts_app import lifecycle, outbox, transports
from alerts_app.models import Alert, Delivery
from alerts_app.transports import TransportError
from tests.alerts_app.receiver import Receiver
from tests.alerts_app.results import result
from tests.factories import make_alert_rule, make_channel

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


class FakeTransport(transports.Transport):
    """Records notifications; raises the errors queued in `FakeTransport.errors` first."""

    sent: list = []
    errors: list = []

    def notify(self, notification):
        if FakeTransport.errors:
            raise FakeTransport.errors.pop(0)
        FakeTransport.sent.append(notification)


@pytest.fixture(autouse=True)
def fake(monkeypatch, settings):
    monkeypatch.setitem(transports.TRANSPORTS, "webhook", FakeTransport)
    monkeypatch.setattr(FakeTransport, "sent", [])
    monkeypatch.setattr(FakeTransport, "errors", [])
    settings.MODELWATCH_NOTIFY_BACKOFF_SECONDS = 10
    settings.MODELWATCH_NOTIFY_MAX_ATTEMPTS = 4
    return FakeTransport


@pytest.fixture
def enqueued(monkeypatch):
    calls = []
    monkeypatch.setattr(
        outbox,
        "enqueue_delivery",
        lambda delivery_id, countdown=0: calls.append((delivery_id, countdown)),
    )
    return calls


@pytest.fixture
def delivery(model, enqueued) -> Delivery:
    rule = make_alert_rule(model, channels=[make_channel()])
    lifecycle.apply_result(rule, result(rule), T0)
    return Delivery.objects.get()


def test_a_delivery_is_sent_once_and_marked_sent(delivery, fake):
    assert outbox.deliver(delivery.id, at(1)) == "sent"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.error) == ("sent", 1, "")
    assert delivery.log == [{"at": at(1).isoformat(), "ok": True}]
    (sent,) = fake.sent
    assert (sent.event, sent.rule, sent.model, sent.value, sent.threshold) == (
        "firing",
        "metric_threshold rule",
        "fraud",
        0.9,
        0.5,
    )
    assert sent.alert_id == Alert.objects.get().id


def test_a_redelivered_task_sends_nothing_again(delivery, fake):
    outbox.deliver(delivery.id, at(1))
    assert outbox.deliver(delivery.id, at(2)) is None
    assert len(fake.sent) == 1


def test_a_send_interrupted_by_a_dead_worker_is_never_repeated(delivery, fake):
    """The worker claimed the row, then died: the redelivered task must not send."""
    assert outbox.claim(delivery.id, at(1))
    assert outbox.deliver(delivery.id, at(2)) is None
    assert fake.sent == []
    assert Delivery.objects.get().status == "sending"


def test_a_transient_error_is_retried_with_exponential_backoff(
    delivery, fake, enqueued, django_capture_on_commit_callbacks
):
    fake.errors[:] = [TransportError("HTTP 503"), TransportError("HTTP 502")]
    enqueued.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert outbox.deliver(delivery.id, at(0)) == "pending"
        assert outbox.deliver(delivery.id, at(5)) is None  # not due yet
        assert outbox.deliver(delivery.id, at(10)) == "pending"
        assert outbox.deliver(delivery.id, at(30)) == "sent"
    delivery.refresh_from_db()
    assert delivery.attempts == 3
    assert [entry["ok"] for entry in delivery.log] == [False, False, True]
    assert [entry.get("retry_in") for entry in delivery.log] == [10.0, 20.0, None]
    assert enqueued == [(delivery.id, 10.0), (delivery.id, 20.0)]


def test_a_permanent_error_is_not_retried(delivery, fake, enqueued):
    enqueued.clear()
    fake.errors[:] = [TransportError("HTTP 404: no such hook", permanent=True)]
    assert outbox.deliver(delivery.id, at(0)) == "failed"
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.error) == (1, "HTTP 404: no such hook")
    assert delivery.log[0]["permanent"] is True
    assert enqueued == []


def test_it_gives_up_after_the_last_allowed_attempt(delivery, fake):
    fake.errors[:] = [TransportError("timeout")] * 10
    statuses = [outbox.deliver(delivery.id, at(1000 * i)) for i in range(5)]
    assert statuses == ["pending", "pending", "pending", "failed", None]
    assert Delivery.objects.get().attempts == 4


def test_a_crashing_transport_is_logged_as_a_transient_failure(delivery, fake):
    fake.errors[:] = [ZeroDivisionError("bug")]
    assert outbox.deliver(delivery.id, at(0)) == "pending"
    assert Delivery.objects.get().error == "ZeroDivisionError: bug"


@pytest.mark.parametrize(("attempts", "delay"), [(1, 10), (2, 20), (3, 40), (9, 2560), (20, 3600)])
def test_backoff_doubles_up_to_a_cap(settings, attempts, delay):
    settings.MODELWATCH_NOTIFY_BACKOFF_MAX = 3600
    assert outbox.backoff_seconds(attempts) == delay


def test_a_muted_delivery_is_never_sent(delivery, fake):
    Delivery.objects.filter(id=delivery.id).update(status="muted")
    assert outbox.deliver(delivery.id, at(1)) is None
    assert fake.sent == []


def test_the_sweeper_requeues_lost_messages_and_closes_dead_sends(delivery, enqueued, settings):
    settings.MODELWATCH_NOTIFY_REQUEUE_AFTER = 60
    settings.MODELWATCH_NOTIFY_STUCK_AFTER = 600
    enqueued.clear()
    assert outbox.sweep_deliveries(at(30)) == {"requeued": 0, "closed": 0}
    assert outbox.sweep_deliveries(at(61)) == {"requeued": 1, "closed": 0}
    assert enqueued == [(delivery.id, 0)]
    outbox.claim(delivery.id, at(100))
    assert outbox.sweep_deliveries(at(650)) == {"requeued": 0, "closed": 0}
    assert outbox.sweep_deliveries(at(701)) == {"requeued": 0, "closed": 1}
    delivery.refresh_from_db()
    assert delivery.status == "failed" and "not sent again" in delivery.error


def test_a_disabled_channel_gets_no_delivery(model, enqueued):
    rule = make_alert_rule(model, channels=[make_channel(enabled=False)])
    lifecycle.apply_result(rule, result(rule), T0)
    assert not Delivery.objects.exists()


def test_a_webhook_that_fails_twice_is_delivered_once_with_attempts_logged(
    model, enqueued, monkeypatch, settings
):
    monkeypatch.setitem(transports.TRANSPORTS, "webhook", transports.WebhookTransport)
    settings.MODELWATCH_ALLOW_PRIVATE_WEBHOOKS = True
    with Receiver(fail_first=2) as receiver:
        rule = make_alert_rule(model, channels=[make_channel(config={"url": receiver.url})])
        lifecycle.apply_result(rule, result(rule), T0)
        delivery_id = Delivery.objects.get().id
        outcomes = [outbox.deliver(delivery_id, at(s)) for s in (0, 10, 30, 100)]
    assert outcomes == ["pending", "pending", "sent", None]
    assert receiver.attempts == 3
    assert receiver.events() == ["firing"]
    delivery = Delivery.objects.get()
    assert delivery.attempts == 3
    assert [e["error"] for e in delivery.log[:2]] == ['HTTP 500: {"error": "nope"}'] * 2


def test_send_test_notification_reaches_the_channel(settings):
    settings.MODELWATCH_ALLOW_PRIVATE_WEBHOOKS = True
    with Receiver() as receiver:
        channel = make_channel(config={"url": receiver.url})
        channel.kind = "slack"
        outbox.send_test_notification(channel)
    (body,) = receiver.bodies
    assert body["blocks"][0]["text"]["text"] == "[TEST] Test notification on example-model"


def test_a_notification_links_to_the_alert_and_the_dashboard(delivery, settings):
    settings.MODELWATCH_BASE_URL = "https://mw.example.com/"
    n = outbox.build_notification(delivery.transition)
    assert n.url == f"https://mw.example.com/alerts/{n.alert_id}/"
    assert n.dashboard_url == "https://mw.example.com/models/fraud/"
