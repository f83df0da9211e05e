"""Signed webhooks: X-ModelWatch-Signature is HMAC-SHA256 over timestamp + "." + body, and
the verification snippet of docs/alerting.md accepts a real delivery (and nothing else)."""

import re
from pathlib import Path

import pytest

from alerts_app.transports import Notification, WebhookTransport, signature, signed_headers
from tests.alerts_app.receiver import Receiver

DOC = Path(__file__).resolve().parents[2] / "docs" / "alerting.md"
SECRET = "whsec-0123456789abcdef"


def doc_snippet() -> dict:
    """The `verify` function of docs/alerting.md, run as written."""
    text = DOC.read_text()
    code = re.search(r"<!-- signature-snippet -->\n```python\n(.*?)```", text, re.S).group(1)
    namespace: dict = {}
    exec(compile(code, str(DOC), "exec"), namespace)  # noqa: S102 - our own documentation
    return namespace


def notification() -> Notification:
    return Notification(
        event="firing",
        alert_id=1,
        rule="High loss",
        model="fraud",
        severity="critical",
        state="firing",
        message="Grüße: non-ASCII survives signing",
    )


def test_the_signature_is_hmac_sha256_over_timestamp_dot_body():
    # echo -n '1700000000.{"a":1}' | openssl dgst -sha256 -hmac key
    assert signature("key", "1700000000", b'{"a":1}') == (
        "sha256=a438e398bfafc57e4396bb7fc2304422f0f768e965d073ca313cb52e22e6ad03"
    )
    headers = signed_headers("key", b'{"a":1}', now=1700000000.7)
    assert headers["X-ModelWatch-Timestamp"] == "1700000000"
    assert headers["X-ModelWatch-Signature"] == signature("key", "1700000000", b'{"a":1}')


def test_the_documented_snippet_verifies_a_real_delivery(settings):
    settings.MODELWATCH_ALLOW_PRIVATE_WEBHOOKS = True
    verify = doc_snippet()["verify"]
    with Receiver() as receiver:
        WebhookTransport({"url": receiver.url, "secret": SECRET}).notify(notification())
    (request,) = receiver.requests
    headers, raw = request["headers"], request["raw"]
    assert headers["X-ModelWatch-Signature"].startswith("sha256=")
    assert verify(SECRET, headers, raw)
    assert not verify("another-secret-0123456789", headers, raw)
    assert not verify(SECRET, headers, raw.replace(b"fraud", b"frauD"))
    stale = headers | {"X-ModelWatch-Timestamp": str(int(headers["X-ModelWatch-Timestamp"]) - 3600)}
    assert not verify(SECRET, stale, raw)  # an old capture replayed
    assert request["body"]["alert"]["message"] == "Grüße: non-ASCII survives signing"


def test_a_webhook_without_a_secret_is_not_signed(settings):
    settings.MODELWATCH_ALLOW_PRIVATE_WEBHOOKS = True
    with Receiver() as receiver:
        WebhookTransport({"url": receiver.url}).notify(notification())
    assert "X-ModelWatch-Signature" not in receiver.requests[0]["headers"]


@pytest.mark.parametrize("secret", ["short", 12345678901234567])
def test_a_weak_or_odd_secret_is_refused(secret):
    from django.core.exceptions import ValidationError

    from alerts_app.transports import validate_channel_config

    with pytest.raises(ValidationError) as caught:
        validate_channel_config("webhook", {"url": "https://hooks.example.com/x", "secret": secret})
    assert caught.value.message_dict == {"secret": ["Use a string of 16 to 500 characters."]}
