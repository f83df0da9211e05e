"""Transports: pure payloads, e-mail bodies, HTTP outcomes, and the private-network guard."""

import smtplib
from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives

from alerts_app import netguard
from alerts_app.transports import (
    EmailTransport,
    Notification,
    SlackTransport,
    TransportError,
    WebhookTransport,
    email_bodies,
    slack_payload,
    transport_for,
    validate_channel_config,
    webhook_payload,
)
from tests.alerts_app.receiver import Receiver

STARTED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def notification(**overrides) -> Notification:
    fields = dict(
        event="firing",
        alert_id=7,
        rule="High loss",
        model="fraud",
        severity="critical",
        state="firing",
        version="3",
        kind="metric_threshold",
        value=0.31234,
        threshold=0.25,
        message="High loss on fraud: value 0.3123 vs threshold 0.25.",
        started_at=STARTED,
        url="http://mw.example/alerts/?alert=7",
        dashboard_url="http://mw.example/models/fraud/",
    )
    return Notification(**(fields | overrides))


def test_the_webhook_payload_is_the_design_contract():
    assert webhook_payload(notification()) == {
        "event": "firing",
        "alert": {
            "id": 7,
            "rule": "High loss",
            "model": "fraud",
            "version": "3",
            "feature": None,
            "severity": "critical",
            "state": "firing",
            "value": 0.31234,
            "threshold": 0.25,
            "message": "High loss on fraud: value 0.3123 vs threshold 0.25.",
            "started_at": "2026-03-01T12:00:00+00:00",
            "url": "http://mw.example/alerts/?alert=7",
        },
        "causes": [],
    }


def test_the_webhook_payload_names_the_feature_of_a_per_feature_alert():
    assert webhook_payload(notification(feature="age"))["alert"]["feature"] == "age"


def test_slack_blocks_show_model_severity_value_threshold_and_a_dashboard_link():
    payload = slack_payload(notification())
    header, facts, message, actions = payload["blocks"]
    assert header["text"]["text"] == "[FIRING] High loss on fraud"
    texts = [field["text"] for field in facts["fields"]]
    assert texts == [
        "*Model*\nfraud @ 3",
        "*Severity*\n:red_circle: critical",
        "*Value*\n0.3123",
        "*Threshold*\n0.25",
    ]
    assert message["text"]["text"].startswith("High loss on fraud")
    assert actions["elements"][0]["url"] == "http://mw.example/models/fraud/"
    assert payload["text"].startswith("[FIRING] High loss on fraud: critical alert on fraud")


def test_slack_says_resolved_and_tolerates_missing_numbers():
    payload = slack_payload(
        notification(event="resolved", value=None, message="", dashboard_url="")
    )
    assert payload["blocks"][0]["text"]["text"].startswith("[RESOLVED]")
    assert "*Value*\nn/a" in [f["text"] for f in payload["blocks"][1]["fields"]]
    assert len(payload["blocks"]) == 2


def test_the_email_has_a_subject_a_plain_body_and_an_html_body():
    subject, plain, html = email_bodies(notification(feature="age"))
    assert subject == "[FIRING] High loss [age] on fraud"
    assert "Value:     0.3123" in plain and "Threshold: 0.25" in plain
    assert "Dashboard: http://mw.example/models/fraud/" in plain
    assert '<a href="http://mw.example/models/fraud/">' in html
    assert "<td>fraud @ 3</td>" in html


def test_the_html_body_escapes_what_users_typed():
    _, _, html = email_bodies(notification(rule="<script>x</script>"))
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_the_email_transport_sends_plain_and_html_to_every_address(mailoutbox, settings):
    settings.DEFAULT_FROM_EMAIL = "mw@example.com"
    EmailTransport({"address": "a@example.com, b@example.com"}).notify(notification())
    (mail,) = mailoutbox
    assert mail.to == ["a@example.com", "b@example.com"]
    assert mail.subject == "[FIRING] High loss on fraud"
    assert mail.alternatives[0].mimetype == "text/html"


def raiser(exc):
    def fail(*args, **kwargs):
        raise exc

    return fail


def test_a_refused_recipient_is_a_permanent_error(monkeypatch):
    refused = smtplib.SMTPRecipientsRefused({"a@x": (550, b"no")})
    monkeypatch.setattr(EmailMultiAlternatives, "send", raiser(refused))
    with pytest.raises(TransportError) as caught:
        EmailTransport({"address": "a@x"}).notify(notification())
    assert caught.value.permanent


def test_a_mail_server_outage_is_transient(monkeypatch):
    monkeypatch.setattr(EmailMultiAlternatives, "send", raiser(ConnectionRefusedError("down")))
    with pytest.raises(TransportError) as caught:
        EmailTransport({"address": "a@x"}).notify(notification())
    assert not caught.value.permanent


def test_the_webhook_transport_posts_the_payload(settings):
    settings.MODELWATCH_ALLOW_PRIVATE_WEBHOOKS = True
    with Receiver() as receiver:
        WebhookTransport({"url": receiver.url}).notify(notification())
    assert receiver.bodies == [webhook_payload(notification())]
    assert receiver.requests[0]["headers"]["Content-Type"] == "application/json"


def test_the_slack_transport_posts_blocks(settings):
    settings.MODELWATCH_ALLOW_PRIVATE_WEBHOOKS = True
    with Receiver() as receiver:
        transport_for("slack", {"url": receiver.url}).notify(notification())
    assert receiver.bodies == [slack_payload(notification())]


@pytest.mark.parametrize(
    ("status", "permanent"),
    [
        (400, True),
        (404, True),
        (410, True),
        (429, False),
        (408, False),
        (500, False),
        (503, False),
        (301, True),
    ],
)
def test_http_answers_are_classified_as_permanent_or_transient(settings, status, permanent):
    settings.MODELWATCH_ALLOW_PRIVATE_WEBHOOKS = True
    with Receiver(status=status) as receiver, pytest.raises(TransportError) as caught:
        SlackTransport({"url": receiver.url}).notify(notification())
    assert caught.value.permanent is permanent
    assert f"HTTP {status}" in caught.value.message


def test_a_connection_failure_is_transient(settings):
    settings.MODELWATCH_ALLOW_PRIVATE_WEBHOOKS = True
    with Receiver() as receiver:
        url = receiver.url
    with pytest.raises(TransportError) as caught:
        WebhookTransport({"url": url}).notify(notification())
    assert not caught.value.permanent


def test_a_loopback_target_is_refused_at_send_time_when_private_targets_are_off(settings):
    settings.MODELWATCH_ALLOW_PRIVATE_WEBHOOKS = False
    with Receiver() as receiver, pytest.raises(TransportError) as caught:
        WebhookTransport({"url": receiver.url}).notify(notification())
    assert caught.value.permanent
    assert "non-public" in caught.value.message
    assert receiver.attempts == 0


def test_the_connection_guard_refuses_a_name_that_turned_private_after_the_check(
    settings, monkeypatch
):
    """DNS rebinding: the pre-check saw a public address, the dial resolves to 127.0.0.1."""
    settings.MODELWATCH_ALLOW_PRIVATE_WEBHOOKS = False
    monkeypatch.setattr(netguard, "webhook_url_error", lambda url: None)
    with Receiver() as receiver, pytest.raises(TransportError):
        WebhookTransport({"url": receiver.url.replace("127.0.0.1", "localhost")}).notify(
            notification()
        )
    assert receiver.attempts == 0


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.9",
        "192.168.1.1",
        "169.254.169.254",
        "0.0.0.0",
        "::1",
        "fc00::1",
        "::ffff:127.0.0.1",
        "100.64.0.1",
        "224.0.0.1",
    ],
)
def test_non_public_addresses_are_recognised(address):
    assert netguard.is_private_address(address)


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700::1111"])
def test_public_addresses_pass(address):
    assert not netguard.is_private_address(address)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9000/x",
        "http://localhost/x",
        "https://10.0.0.5/hook",
        "http://[::1]/x",
        "http://2130706433/",
        "http://127.1/",
    ],
)
def test_webhook_urls_on_private_networks_are_refused_when_not_allowed(url):
    error = netguard.webhook_url_error(url, allow_private=False)
    assert error and error.startswith("Refused")


def test_webhook_urls_on_private_networks_are_accepted_when_allowed():
    assert netguard.webhook_url_error("http://127.0.0.1:9000/x", allow_private=True) is None


@pytest.mark.parametrize("url", ["ftp://example.com/x", "not a url", "", "http:///nohost"])
def test_a_webhook_url_needs_http_and_a_host(url):
    assert netguard.webhook_url_error(url, allow_private=True) == (
        "Enter an http:// or https:// URL with a host."
    )


def test_a_name_that_does_not_resolve_here_is_accepted_at_validation(monkeypatch):
    monkeypatch.setattr(netguard, "resolve", raiser(OSError("no DNS")))
    assert netguard.webhook_url_error("https://hooks.slack.com/x", allow_private=False) is None


@pytest.mark.parametrize(
    ("kind", "config", "errors"),
    [
        ("email", {}, {"address": ["This field is required."]}),
        (
            "email",
            {"address": "ops@example.com, nope"},
            {"address": ["Enter a valid email address."]},
        ),
        ("webhook", {"url": "ftp://x"}, {"url": ["Enter an http:// or https:// URL with a host."]}),
        (
            "slack",
            {"url": "https://hooks.example.com/x", "channel": "#a"},
            {"channel": ["Unknown field. Known: ['url']."]},
        ),
        (
            "sms",
            {},
            {
                "kind": [
                    "Choose one of ['email', 'msteams', 'opsgenie', 'pagerduty', 'slack', "
                    "'webhook']."
                ]
            },
        ),
        ("webhook", [], {"config": ["Expected a JSON object."]}),
    ],
)
def test_channel_configs_are_validated_per_field(kind, config, errors):
    with pytest.raises(ValidationError) as caught:
        validate_channel_config(kind, config)
    assert caught.value.message_dict == errors


def test_a_private_webhook_is_refused_at_validation_unless_allowed(settings):
    settings.MODELWATCH_ALLOW_PRIVATE_WEBHOOKS = False
    with pytest.raises(ValidationError) as caught:
        validate_channel_config("webhook", {"url": "http://127.0.0.1:8080/hook"})
    assert caught.value.message_dict["url"][0].startswith("Refused: 127.0.0.1 resolves to")
    settings.MODELWATCH_ALLOW_PRIVATE_WEBHOOKS = True
    assert validate_channel_config("webhook", {"url": "http://127.0.0.1:8080/hook"}) == {
        "url": "http://127.0.0.1:8080/hook"
    }


def test_email_addresses_are_normalised():
    assert validate_channel_config("email", {"address": " a@x.io ,b@y.io"}) == {
        "address": "a@x.io, b@y.io"
    }
