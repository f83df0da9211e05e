"""Incidents: grouping through policies, one notification per change, inhibition."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from alerts_app import incidents, lifecycle
from alerts_app.incident_messages import as_notification
from alerts_app.incidents import flush_incident, incident_event
from alerts_app.models import (
    Alert,
    Delivery,
    Incident,
    IncidentDelivery,
    IncidentNotification,
    InhibitRule,
    NotificationPolicy,
)
from alerts_app.transports import webhook_payload
from tests.alerts_app.results import result
from tests.factories import make_alert_rule, make_channel, make_model, make_user

pytestmark = pytest.mark.django_db
T0 = timezone.now().replace(microsecond=0)


def at(seconds: float):
    return T0 + timedelta(seconds=seconds)


@pytest.fixture
def hook(db):
    return make_channel("hook")


@pytest.fixture
def policy(hook):
    p = NotificationPolicy.objects.create(
        name="fraud team", matchers={"model": ["fraud"]}, group_wait=30, group_interval=300
    )
    p.channels.set([hook])
    return p


def rule(model, name, kind="metric_threshold", **fields):
    return make_alert_rule(model, kind=kind, name=name, repeat_interval=0, **fields)


def breach(r, seconds, status="breached", **details):
    found = result(r, status, 0.9 if status == "breached" else 0.1, **details)
    found.evaluated_at = at(seconds)
    found.save()
    return lifecycle.apply_result(r, found, at(seconds))


def notes(incident) -> list[tuple[str, list]]:
    return [
        (n.event, sorted(a["rule"] + ":" + a["state"] for a in n.body["alerts"]))
        for n in incident.notifications.order_by("sequence")
    ]


def test_incident_event_decides_each_announcement():
    base = {"notified": {}, "acknowledged": False, "repeat_interval": 600, "now": at(1000)}
    assert incident_event(resolved=False, audible=[1], last_notified_at=None, **base) == "firing"
    assert incident_event(resolved=False, audible=[], last_notified_at=None, **base) is None
    assert incident_event(resolved=True, audible=[], last_notified_at=None, **base) is None
    assert incident_event(resolved=True, audible=[], last_notified_at=at(0), **base) == "resolved"
    told = base | {"notified": {"firing": [1, 2]}}
    assert incident_event(resolved=False, audible=[2, 1], last_notified_at=at(900), **told) is None
    assert incident_event(resolved=False, audible=[1, 2, 3], last_notified_at=at(900), **told) == (
        "update"
    )
    assert incident_event(resolved=False, audible=[1], last_notified_at=at(900), **told) == (
        "update"
    )
    assert incident_event(resolved=False, audible=[1, 2], last_notified_at=at(0), **told) == (
        "repeat"
    )
    acked = told | {"acknowledged": True}
    assert incident_event(resolved=False, audible=[1, 2], last_notified_at=at(0), **acked) is None


def test_two_alerts_within_group_wait_make_one_notification_listing_both(model, policy, hook):
    loss, latency = rule(model, "High loss"), rule(model, "Slow")
    breach(loss, 0)
    breach(latency, 10)
    (incident,) = Incident.objects.all()
    assert (incident.group_key, incident.labels) == (
        f"policy:{policy.id}|model=fraud",
        {"model": "fraud"},
    )
    assert incident.next_flush_at == at(30)
    assert flush_incident(incident.id, at(29)) is None  # group_wait not over
    note = flush_incident(incident.id, at(30))
    assert note.event == "firing"
    assert notes(incident) == [("firing", ["High loss:firing", "Slow:firing"])]
    assert list(note.deliveries.values_list("channel__name", "status")) == [("hook", "pending")]
    assert flush_incident(incident.id, at(31)) is None  # nothing changed: nothing sent
    assert not Delivery.objects.exists()  # the rules have no channels of their own


def test_a_third_alert_is_one_update_at_group_interval_and_the_last_resolution_resolves(
    model, policy
):
    rules = [rule(model, name) for name in ("A", "B", "C")]
    breach(rules[0], 0)
    breach(rules[1], 0)
    incident = Incident.objects.get()
    flush_incident(incident.id, at(30))
    breach(rules[2], 60)
    incident.refresh_from_db()
    assert incident.next_flush_at == at(330)  # group_interval after the last notification
    assert flush_incident(incident.id, at(329)) is None
    assert flush_incident(incident.id, at(330)).event == "update"
    for r in rules:
        breach(r, 400, status="ok")
    incident.refresh_from_db()
    assert (incident.state, incident.resolved_at) == ("resolved", at(400))
    assert flush_incident(incident.id, at(400)).event == "resolved"
    assert flush_incident(incident.id, at(401)) is None
    assert [e for e, _ in notes(incident)] == ["firing", "update", "resolved"]
    assert notes(incident)[-1][1] == ["A:resolved", "B:resolved", "C:resolved"]
    # a new breach opens a new incident (the group's open incident is unique)
    breach(rules[0], 500)
    assert Incident.objects.filter(state="firing").count() == 1
    assert Incident.objects.count() == 2


def test_alerts_that_fire_and_resolve_within_group_wait_notify_nobody(model, policy):
    r = rule(model, "Blip")
    breach(r, 0)
    breach(r, 10, status="ok")
    incident = Incident.objects.get()
    assert flush_incident(incident.id, at(10)) is None
    assert not IncidentNotification.objects.exists()


def test_the_notification_carries_each_alert_with_its_causes(model, policy):
    r = rule(model, "Drift")
    causes = [
        {
            "kind": "feature",
            "feature": "age",
            "segment": None,
            "score": 6.6,
            "summary": "age (KS 0.33)",
        }
    ]
    breach(r, 0, causes=causes)
    note = flush_incident(Incident.objects.get().id, at(30))
    body = webhook_payload(as_notification(note.body))
    assert body["event"] == "firing"
    assert body["incident"]["url"].endswith(f"/incidents/{note.incident_id}/")
    (alert,) = body["alerts"]
    assert (alert["rule"], alert["state"], alert["causes"]) == ("Drift", "firing", causes)
    assert alert["url"].endswith(f"/alerts/{Alert.objects.get().id}/")
    assert body["causes"][0]["summary"] == "Drift: age (KS 0.33)"


def test_a_rule_with_channels_of_its_own_does_not_join_incidents(model, policy, hook):
    r = rule(model, "Own")
    r.channels.set([make_channel("own")])
    breach(r, 0)
    assert not Incident.objects.exists()
    assert Delivery.objects.get().channel.name == "own"


def test_group_by_severity_makes_one_incident_per_severity(model, policy):
    policy.group_by = ["model", "severity"]
    policy.save()
    breach(rule(model, "A", severity="critical"), 0)
    breach(rule(model, "B", severity="warning"), 0)
    assert sorted(Incident.objects.values_list("labels__severity", flat=True)) == [
        "critical",
        "warning",
    ]


def test_a_firing_no_data_alert_holds_back_the_drift_alert_of_its_model(model, policy, hook):
    no_data = rule(model, "Silent feed", kind="no_data", config={"window": "10m"})
    drift = rule(model, "Drift", kind="data_drift", config={})
    breach(no_data, 0)
    breach(drift, 5)
    drift_alert = Alert.objects.get(rule=drift)
    assert incidents.inhibition.inhibitor_of(drift_alert).rule == no_data
    note = flush_incident(Incident.objects.get().id, at(30))
    assert [a["rule"] for a in note.body["alerts"]] == ["Silent feed"]
    # with a channel of its own, the drift rule's firing is recorded as muted
    own = rule(model, "Drift 2", kind="data_drift", config={})
    own.channels.set([make_channel("own")])
    breach(own, 40)
    delivery = Delivery.objects.get()
    assert delivery.status == "muted"
    assert delivery.error.startswith(f"inhibited by alert #{Alert.objects.get(rule=no_data).id}")


def test_an_inhibit_rule_with_equal_labels(model, policy):
    InhibitRule.objects.create(
        name="critical holds back warnings",
        source_matchers={"severity": ["critical"]},
        target_matchers={"severity": ["warning"]},
        equal=["model"],
    )
    breach(rule(model, "Down", severity="critical"), 0)
    breach(rule(model, "Slow", severity="warning"), 0)
    note = flush_incident(Incident.objects.get().id, at(30))
    assert [a["rule"] for a in note.body["alerts"]] == ["Down"]


def test_acknowledging_an_incident_acknowledges_its_alerts_and_stops_repeats(model, policy):
    policy.repeat_interval = 60
    policy.save()
    breach(rule(model, "A"), 0)
    incident = Incident.objects.get()
    flush_incident(incident.id, at(30))
    user = make_user("bob")
    assert incidents.acknowledge(incident.id, user, at(40), "on it").acknowledged_by == user
    assert Alert.objects.get().acknowledged_note == "on it"
    assert flush_incident(incident.id, at(200)) is None  # no repeat once acknowledged


def test_an_unacknowledged_incident_repeats(model, policy):
    policy.repeat_interval = 60
    policy.save()
    breach(rule(model, "A"), 0)
    incident = Incident.objects.get()
    flush_incident(incident.id, at(30))
    incident.refresh_from_db()
    assert incident.next_flush_at == at(90)
    assert flush_incident(incident.id, at(90)).event == "repeat"


def test_a_muted_policy_holds_the_notification_until_the_window_ends(model, policy):
    policy.mute_timings = [{"weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}]
    policy.save()
    breach(rule(model, "A"), 0)
    incident = Incident.objects.get()
    assert flush_incident(incident.id, at(30)) is None
    incident.refresh_from_db()
    assert incident.next_flush_at == at(90)
    Incident.objects.filter(id=incident.id).update(mute_timings=[])
    assert flush_incident(incident.id, at(90)).event == "firing"


def test_incident_deliveries_are_sent_once_and_retried_like_deliveries(model, policy, monkeypatch):
    sent = []
    monkeypatch.setattr("alerts_app.transports.post_json", lambda url, body: sent.append(body))
    breach(rule(model, "A"), 0)
    note = flush_incident(Incident.objects.get().id, at(30))
    delivery = note.deliveries.get()
    assert incidents.deliver_incident(delivery.id, at(31)) == "sent"
    assert incidents.deliver_incident(delivery.id, at(32)) is None  # claimed once
    assert [b["event"] for b in sent] == ["firing"]
    assert IncidentDelivery.objects.get().log[0]["ok"] is True


def test_email_and_slack_carry_the_incident_in_one_line_and_list_each_alert(model, policy):
    from alerts_app.transports import email_bodies, slack_payload

    breach(rule(model, "A"), 0)
    breach(rule(model, "B"), 0)
    incident = Incident.objects.get()
    notification = as_notification(flush_incident(incident.id, at(30)).body)
    subject, plain, html = email_bodies(notification)
    assert subject == f"[FIRING] Incident #{incident.id}: 2 of 2 alerts firing on fraud: A, B"
    assert "firing: A on fraud" in plain and "firing: B on fraud" in plain
    assert slack_payload(notification)["blocks"][0]["text"]["text"].startswith(
        f"[FIRING] Incident #{incident.id}"
    )


def test_an_alert_held_back_by_inhibition_is_announced_once_the_inhibitor_resolves(model):
    no_data = rule(model, "Silent feed", kind="no_data", config={"window": "10m"})
    drift = rule(model, "Drift", kind="data_drift", config={})
    drift.channels.set([make_channel("own")])
    breach(no_data, 0)
    breach(drift, 5)
    assert Delivery.objects.get().status == "muted"
    assert Alert.objects.get(rule=drift).muted is True
    breach(no_data, 10, status="ok")
    (transition,) = breach(drift, 20)
    assert transition.event == "repeat"
    assert list(transition.deliveries.values_list("status", flat=True)) == ["pending"]


def in_threads(count: int, work) -> list:
    """Run `work` in `count` threads started together; return the errors."""
    barrier, errors = threading.Barrier(count), []

    def worker(index):
        try:
            barrier.wait()
            work(index)
        except Exception as exc:  # surfaced by the caller
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


@pytest.mark.django_db(transaction=True)
def test_four_workers_flushing_one_incident_record_one_notification(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("needs concurrent transactions (PostgreSQL)")
    monkeypatch.setattr("alerts_app.incidents.enqueue_flush", lambda *a, **k: None)
    monkeypatch.setattr("alerts_app.incidents.enqueue_delivery", lambda *a, **k: None)
    model = make_model()
    policy = NotificationPolicy.objects.create(name="all", group_wait=30)
    policy.channels.set([make_channel()])
    breach(rule(model, "A"), 0)
    incident = Incident.objects.get()
    assert in_threads(4, lambda i: flush_incident(incident.id, at(30))) == []
    assert IncidentNotification.objects.count() == 1
    assert IncidentDelivery.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_alerts_of_one_group_firing_in_four_workers_open_one_incident(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("needs concurrent transactions (PostgreSQL)")
    monkeypatch.setattr("alerts_app.incidents.enqueue_flush", lambda *a, **k: None)
    model = make_model()
    policy = NotificationPolicy.objects.create(name="all", group_wait=30)
    policy.channels.set([make_channel()])
    rules = [rule(model, f"R{i}") for i in range(4)]
    assert in_threads(4, lambda i: breach(rules[i], 0)) == []
    (incident,) = Incident.objects.all()
    assert incident.members.count() == 4
    assert len(flush_incident(incident.id, at(30)).body["alerts"]) == 4
