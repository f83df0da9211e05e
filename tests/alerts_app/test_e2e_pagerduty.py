"""End to end on real workers: PagerDuty's trigger, acknowledge (from the alert page) and
resolve reach a local receiver standing in for the Events API, once each, with one
dedup_key (the alert's fingerprint)."""

import pytest

from alerts_app.models import Alert, Delivery
from tests.alerts_app.conftest import wait_until
from tests.alerts_app.receiver import Receiver
from tests.alerts_app.test_e2e_alerting import CONFIG, send_loss
from tests.factories import make_alert_rule, make_channel, make_user

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]


def actions(receiver) -> list[str]:
    return [body["event_action"] for body in receiver.bodies]


def test_pagerduty_hears_trigger_acknowledge_and_resolve_once_on_one_key(
    alerting, api, model, client
):
    with Receiver(status=202) as receiver:
        pager = make_channel(
            "pager", "pagerduty", config={"routing_key": "R0UTING", "url": receiver.url}
        )
        make_alert_rule(model, channels=[pager], config=CONFIG, interval=1, repeat_interval=0)
        send_loss(api, 0.9)
        assert wait_until(lambda: actions(receiver) == ["trigger"])
        alert = Alert.objects.get()
        client.force_login(make_user("oncall", staff=True))
        page = client.post(f"/alerts/{alert.id}/acknowledge/", {"note": "looking"})
        assert page.status_code == 302
        assert wait_until(lambda: actions(receiver) == ["trigger", "acknowledge"])
        send_loss(api, 0.1)
        assert wait_until(lambda: actions(receiver) == ["trigger", "acknowledge", "resolve"])
    assert {body["dedup_key"] for body in receiver.bodies} == {alert.fingerprint}
    assert receiver.bodies[0]["payload"]["source"] == "fraud"
    assert set(Delivery.objects.values_list("status", flat=True)) == {"sent"}
