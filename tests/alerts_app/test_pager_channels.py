"""PagerDuty, Opsgenie and Microsoft Teams: payloads against the fields each service
documents, and what reaches a local receiver standing in for it.

PagerDuty Events API v2 (developer.pagerduty.com, "Send an Alert Event"): `routing_key`,
`event_action` trigger|acknowledge|resolve, `dedup_key` ≤ 255 characters; a trigger's
`payload` needs `summary` (≤ 1024), `source` and `severity` critical|error|warning|info,
and may carry `timestamp`, `component`, `group`, `class`, `custom_details`; `links`,
`client`, `client_url` sit beside it. Acknowledge and resolve need no payload.
Opsgenie Alert API v2 (docs.opsgenie.com, "Alert API"): POST /v2/alerts with `message`
(≤ 130), `alias` (≤ 512), `description` (≤ 15000), `priority` P1-P5, `details` (a map of
strings), `tags`, `entity`, `source`; close and acknowledge are POST
/v2/alerts/{alias}/close|acknowledge?identifierType=alias; `Authorization: GenieKey …`.
Teams incoming webhook (learn.microsoft.com, "Send Adaptive Cards using an Incoming
Webhook"): `{"type": "message", "attachments": [{"contentType":
"application/vnd.microsoft.card.adaptive", "contentUrl": null, "content": <card>}]}`.
"""

from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError

from alerts_app.transports import (
    PAGERDUTY_URL,
    Notification,
    TransportError,
    msteams_payload,
    opsgenie_create_payload,
    opsgenie_request,
    pagerduty_payload,
    transport_for,
    validate_channel_config,
)
from tests.alerts_app.receiver import Receiver

STARTED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
FINGERPRINT = "rule:4|version:2|feature:age"
CAUSES = (
    {
        "kind": "feature",
        "feature": "age",
        "segment": None,
        "score": 6.6,
        "summary": "age (PSI 0.41)",
    },
    {
        "kind": "feature",
        "feature": "income",
        "segment": None,
        "score": 2.0,
        "summary": "income (KS 0.2)",
    },
)


def notification(**overrides) -> Notification:
    fields = dict(
        event="firing",
        alert_id=7,
        rule="Input drift",
        model="fraud",
        severity="critical",
        state="firing",
        version="2",
        feature="age",
        kind="data_drift",
        value=0.41,
        threshold=0.2,
        message="Input drift on fraud: feature age breaks the rule.",
        started_at=STARTED,
        url="http://mw.example/alerts/7/",
        dashboard_url="http://mw.example/models/fraud/",
        causes=CAUSES,
        headline="input drift in 2 of 11 features",
        fingerprint=FINGERPRINT,
    )
    return Notification(**(fields | overrides))


PD_TRIGGER_KEYS = {
    "routing_key",
    "event_action",
    "dedup_key",
    "payload",
    "client",
    "client_url",
    "links",
}
PD_PAYLOAD_KEYS = {
    "summary",
    "source",
    "severity",
    "timestamp",
    "component",
    "group",
    "class",
    "custom_details",
}


def test_a_pagerduty_trigger_has_the_documented_fields():
    event = pagerduty_payload(notification(), "R0UTINGKEY")
    assert set(event) <= PD_TRIGGER_KEYS and set(event["payload"]) <= PD_PAYLOAD_KEYS
    assert event["routing_key"] == "R0UTINGKEY"
    assert event["event_action"] == "trigger"
    assert event["dedup_key"] == FINGERPRINT
    payload = event["payload"]
    assert payload["summary"] == (
        "[FIRING] Input drift [age] on fraud: input drift in 2 of 11 features — "
        "age (PSI 0.41), income (KS 0.2)"
    )
    assert payload["source"] == "fraud" and payload["severity"] == "critical"
    assert payload["timestamp"] == "2026-03-01T12:00:00+00:00"
    assert payload["component"] == "age" and payload["group"] == "Input drift"
    assert payload["class"] == "data_drift"
    assert payload["custom_details"]["causes"] == list(CAUSES)
    assert event["links"][0] == {
        "href": "http://mw.example/alerts/7/",
        "text": "Alert in ModelWatch",
    }


@pytest.mark.parametrize(
    ("severity", "expected"), [("critical", "critical"), ("warning", "warning"), ("info", "info")]
)
def test_pagerduty_severities_are_among_the_four_it_accepts(severity, expected):
    payload = pagerduty_payload(notification(severity=severity), "k")["payload"]
    assert payload["severity"] == expected
    assert payload["severity"] in {"critical", "error", "warning", "info"}


@pytest.mark.parametrize(
    ("event", "action"), [("resolved", "resolve"), ("acknowledged", "acknowledge")]
)
def test_pagerduty_resolve_and_acknowledge_carry_only_the_key_and_the_dedup_key(event, action):
    assert pagerduty_payload(notification(event=event), "k") == {
        "routing_key": "k",
        "event_action": action,
        "dedup_key": FINGERPRINT,
    }


def test_pagerduty_limits_are_kept_whatever_the_names():
    event = pagerduty_payload(notification(rule="r" * 3000, fingerprint="f" * 400), "k")
    assert len(event["payload"]["summary"]) == 1024 and len(event["dedup_key"]) == 255


def test_an_opsgenie_alert_has_the_documented_fields():
    body = opsgenie_create_payload(notification())
    assert body["message"] == "[FIRING] Input drift [age] on fraud"
    assert body["alias"] == FINGERPRINT
    assert body["priority"] == "P1"
    assert body["source"] == "ModelWatch" and body["entity"] == "fraud"
    assert (
        "Why: input drift in 2 of 11 features — age (PSI 0.41), income (KS 0.2)"
        in (body["description"])
    )
    assert all(isinstance(v, str) for v in body["details"].values())
    assert body["details"]["model"] == "fraud" and body["details"]["feature"] == "age"
    assert body["details"]["value"] == "0.41"


@pytest.mark.parametrize(
    ("severity", "priority"), [("critical", "P1"), ("warning", "P3"), ("info", "P5")]
)
def test_opsgenie_priority_follows_the_severity(severity, priority):
    assert opsgenie_create_payload(notification(severity=severity))["priority"] == priority


def test_the_opsgenie_message_stays_within_130_characters():
    assert len(opsgenie_create_payload(notification(rule="x" * 500))["message"]) == 130


@pytest.mark.parametrize(
    ("event", "action"), [("resolved", "close"), ("acknowledged", "acknowledge")]
)
def test_opsgenie_closes_and_acknowledges_by_alias(event, action):
    url, body = opsgenie_request(notification(event=event), "https://api.opsgenie.com")
    assert url == (
        f"https://api.opsgenie.com/v2/alerts/rule%3A4%7Cversion%3A2%7Cfeature%3Aage/{action}"
        "?identifierType=alias"
    )
    assert body["source"] == "ModelWatch"


def test_a_teams_message_is_one_adaptive_card():
    message = msteams_payload(notification())
    assert message["type"] == "message"
    (attachment,) = message["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert attachment["contentUrl"] is None
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    title, facts, why, text = card["body"]
    assert title["text"] == "\\[FIRING\\] Input drift \\[age\\] on fraud"
    assert {"title": "Model", "value": "fraud @ 2"} in facts["facts"]
    assert "age (PSI 0.41)" in why["text"]
    assert [a["url"] for a in card["actions"]] == [
        "http://mw.example/alerts/7/",
        "http://mw.example/models/fraud/",
    ]
    assert all(a["type"] == "Action.OpenUrl" for a in card["actions"])


def test_teams_text_cannot_inject_a_link():
    card = msteams_payload(notification(rule="[click](https://evil.example)"))
    text = card["attachments"][0]["content"]["body"][0]["text"]
    assert "[click](" not in text and "\\[click\\]" in text


def test_pagerduty_needs_a_routing_key_and_checks_its_url():
    with pytest.raises(ValidationError) as caught:
        validate_channel_config("pagerduty", {"url": "ftp://x"})
    assert caught.value.message_dict == {
        "routing_key": ["This field is required."],
        "url": ["Enter an http:// or https:// URL with a host."],
    }
    assert validate_channel_config("pagerduty", {"routing_key": " k "}) == {"routing_key": "k"}


def test_opsgenie_needs_an_api_key():
    with pytest.raises(ValidationError) as caught:
        validate_channel_config("opsgenie", {})
    assert caught.value.message_dict == {"api_key": ["This field is required."]}


def test_pagerduty_events_reach_the_receiver_with_one_dedup_key(settings):
    settings.MODELWATCH_ALLOW_PRIVATE_WEBHOOKS = True
    with Receiver(status=202) as receiver:
        pager = transport_for("pagerduty", {"routing_key": "k", "url": receiver.url})
        for event in ("firing", "acknowledged", "resolved"):
            pager.notify(notification(event=event))
    assert [b["event_action"] for b in receiver.bodies] == ["trigger", "acknowledge", "resolve"]
    assert {b["dedup_key"] for b in receiver.bodies} == {FINGERPRINT}


def test_pagerduty_defaults_to_the_events_api(monkeypatch):
    sent = []
    monkeypatch.setattr(
        "alerts_app.transports.post_json", lambda url, body, headers=None: sent.append(url)
    )
    transport_for("pagerduty", {"routing_key": "k"}).notify(notification())
    assert sent == [PAGERDUTY_URL] == ["https://events.pagerduty.com/v2/enqueue"]


def test_opsgenie_calls_reach_the_receiver_with_the_genie_key(settings):
    settings.MODELWATCH_ALLOW_PRIVATE_WEBHOOKS = True
    with Receiver(status=202) as receiver:
        base = receiver.url.removesuffix("/hook")
        genie = transport_for("opsgenie", {"api_key": "s3cret", "url": base})
        for event in ("firing", "acknowledged", "resolved"):
            genie.notify(notification(event=event))
    paths = [r["path"] for r in receiver.requests]
    alias = "rule%3A4%7Cversion%3A2%7Cfeature%3Aage"
    assert paths == [
        "/v2/alerts",
        f"/v2/alerts/{alias}/acknowledge?identifierType=alias",
        f"/v2/alerts/{alias}/close?identifierType=alias",
    ]
    assert {r["headers"]["Authorization"] for r in receiver.requests} == {"GenieKey s3cret"}
    assert receiver.bodies[0]["alias"] == FINGERPRINT


def test_pager_targets_go_through_the_private_network_guard(settings):
    settings.MODELWATCH_ALLOW_PRIVATE_WEBHOOKS = False
    with Receiver() as receiver, pytest.raises(TransportError) as caught:
        transport_for("pagerduty", {"routing_key": "k", "url": receiver.url}).notify(notification())
    assert caught.value.permanent and "non-public" in caught.value.message
    assert receiver.attempts == 0


def test_a_pager_answering_429_is_retried_later(settings):
    settings.MODELWATCH_ALLOW_PRIVATE_WEBHOOKS = True
    with Receiver(status=429) as receiver, pytest.raises(TransportError) as caught:
        transport_for("msteams", {"url": receiver.url}).notify(notification())
    assert not caught.value.permanent
