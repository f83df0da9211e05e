"""End to end on real processes: rules without channels -> policy -> incident -> webhook.

Two `celery worker` and two `celery beat` processes (tests/alerts_app/conftest.py); the
policy's group_wait and group_interval are seconds long, so the whole story fits a test.
"""

import time
from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from alerts_app.models import Alert, Incident, NotificationPolicy
from tests.alerts_app.conftest import wait_until
from tests.alerts_app.receiver import Receiver
from tests.factories import make_alert_rule, make_channel, make_model

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]


def threshold_rule(model, name: str, metric: str):
    config = {
        "metric": metric,
        "aggregation": "last",
        "window": "10m",
        "operator": ">",
        "threshold": 0.5,
    }
    return make_alert_rule(model, name=name, config=config, interval=1, repeat_interval=0)


def send(api, model: str, **values) -> None:
    records = [{"name": name, "value": value} for name, value in values.items()]
    response = api.post(f"/api/v1/models/{model}/metrics/", {"records": records}, format="json")
    assert response.status_code == 201, response.content


def route_everything(url: str, **timings) -> NotificationPolicy:
    policy = NotificationPolicy.objects.create(
        name="everything",
        matchers={},
        group_wait=2,
        group_interval=8,
        repeat_interval=0,
        **timings,
    )
    policy.channels.set([make_channel("incident-hook", config={"url": url})])
    return policy


def settle(seconds: float = 3) -> None:
    """Give the workers time to send what they would wrongly send (duplicates)."""
    time.sleep(seconds)


def alert_states(body: dict) -> list[tuple[str, str]]:
    return sorted((a["rule"], a["state"]) for a in body["alerts"])


def test_two_alerts_make_one_notification_one_update_and_one_resolve(alerting, api, model):
    with Receiver() as receiver:
        route_everything(receiver.url)
        rules = [
            threshold_rule(model, n, m)
            for n, m in (("Loss", "loss"), ("Errors", "err"), ("Latency", "lat"))
        ]
        send(api, "fraud", loss=0.9, err=0.9, lat=0.1)
        assert wait_until(lambda: receiver.events() == ["firing"], timeout=60)
        settle()
        assert receiver.events() == ["firing"]
        first = receiver.bodies[0]
        assert alert_states(first) == [("Errors", "firing"), ("Loss", "firing")]
        assert all(a["url"].endswith(f"/alerts/{a['id']}/") for a in first["alerts"])
        incident_id = first["incident"]["id"]

        send(api, "fraud", lat=0.9)
        assert wait_until(lambda: receiver.events() == ["firing", "update"], timeout=60)
        assert alert_states(receiver.bodies[1]) == [
            ("Errors", "firing"),
            ("Latency", "firing"),
            ("Loss", "firing"),
        ]

        # resolved at once: well within group_interval of the update, so one resolve
        send(api, "fraud", loss=0.1, err=0.1, lat=0.1)
        assert wait_until(lambda: len(receiver.events()) == 3, timeout=60)
        settle()
        assert receiver.events() == ["firing", "update", "resolved"]
        last = receiver.bodies[2]
        assert last["incident"]["id"] == incident_id
        assert alert_states(last) == [
            ("Errors", "resolved"),
            ("Latency", "resolved"),
            ("Loss", "resolved"),
        ]
        incident = Incident.objects.get()
        assert (incident.state, incident.sequence) == ("resolved", 3)
        assert sorted(incident.alerts.values_list("rule_id", flat=True)) == sorted(
            r.id for r in rules
        )


def test_a_firing_no_data_alert_leaves_the_drift_alert_of_its_model_unannounced(alerting, api, db):
    make_model("vision")
    rng, now = np.random.default_rng(5), timezone.now()
    reference = [{"x": float(v)} for v in rng.normal(0, 1, 800)]
    response = api.post("/api/v1/models/vision/reference/", {"records": reference}, format="json")
    assert response.status_code in (200, 201), response.content
    current = [  # 10 to 50 minutes old: the drift window holds them, no_data sees silence
        {
            "timestamp": (now - timedelta(minutes=10 + i % 40)).isoformat(),
            "features": {"x": float(v)},
            "prediction": 1,
        }
        for i, v in enumerate(rng.normal(3, 1, 800))
    ]
    response = api.post("/api/v1/models/vision/predictions/", {"records": current}, format="json")
    assert response.status_code == 201, response.content
    with Receiver() as receiver:
        route_everything(receiver.url)
        from models_app.models import Model

        vision = Model.objects.get(name="vision")
        make_alert_rule(
            vision,
            kind="no_data",
            name="Silent feed",
            interval=1,
            config={"window": "5m", "source": "predictions"},
            repeat_interval=0,
        )
        drift = make_alert_rule(
            vision,
            kind="data_drift",
            name="Input drift",
            interval=1,
            config={"window": "1h", "method": "ks"},
            repeat_interval=0,
        )
        assert wait_until(
            lambda: Alert.objects.filter(rule=drift, state="firing").exists(), timeout=60
        )
        assert wait_until(lambda: receiver.events() == ["firing"], timeout=60)
        settle()
        assert [alert_states(b) for b in receiver.bodies] == [[("Silent feed", "firing")]]
        drift_alert = Alert.objects.get(rule=drift)
        body = api.get(f"/api/v1/alerts/{drift_alert.id}/").json()
        assert body["state"] == "firing"
        assert body["inhibited_by"]["rule"] == "Silent feed"
