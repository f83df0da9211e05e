"""Notification transports: one class per channel kind, which validates its config and sends.

`Transport(channel_config).notify(notification)` sends or raises
`TransportError(msg, permanent=...)`: permanent errors (a 4xx answer, a refused target,
a rejected recipient) are never retried; transient ones (timeouts, 5xx, 429) are.
Payload builders (alerts_app/payloads.py) take a `Notification` (alerts_app/notifications.py,
plain data) and are tested without any I/O.

Kinds: e-mail, webhook (optionally signed with a `secret`), Slack, PagerDuty (Events API
v2), Opsgenie (Alert API) and Microsoft Teams (an Adaptive Card). A transport's
`secret_fields` (webhook `secret`, PagerDuty `routing_key`, Opsgenie `api_key`) are
write-only: `public_config` leaves them out of every answer.
"""

import hashlib
import hmac
import json
import smtplib
import time

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email

from alerts_app import netguard
from alerts_app.notifications import (
    DIGITS,
    EVENT_TITLES,
    TOP_CAUSES,
    Notification,
    cause_headline,
    one_line,
    subject_line,
    summary_line,
    title_line,
    top_causes,
    why_line,
)
from alerts_app.payloads import (
    SEVERITY_EMOJI,
    TEST_DEDUP_KEY,
    email_bodies,
    mrkdwn,
    msteams_payload,
    opsgenie_create_payload,
    opsgenie_request,
    pagerduty_payload,
    slack_causes,
    slack_payload,
    teams_text,
    webhook_payload,
)

# Re-exported: what notifications say and the payloads lived here before their own
# modules, and callers import them from here.
__all__ = [
    "DIGITS",
    "EVENT_TITLES",
    "Notification",
    "SEVERITY_EMOJI",
    "TEST_DEDUP_KEY",
    "TOP_CAUSES",
    "Transport",
    "TransportError",
    "cause_headline",
    "email_bodies",
    "mrkdwn",
    "msteams_payload",
    "one_line",
    "opsgenie_create_payload",
    "opsgenie_request",
    "pagerduty_payload",
    "post_json",
    "slack_causes",
    "slack_payload",
    "subject_line",
    "summary_line",
    "teams_text",
    "title_line",
    "top_causes",
    "transport_for",
    "validate_channel_config",
    "webhook_payload",
    "why_line",
]

# The events every kind is sent; pagers also hear of acknowledgements (docs/alerting.md).
ALERT_EVENTS = frozenset({"firing", "resolved", "repeat", "test"})


class TransportError(Exception):
    def __init__(self, message: str, permanent: bool = False):
        super().__init__(message)
        self.message = message
        self.permanent = permanent


class Transport:
    fields: dict[str, str] = {}  # config field -> help text
    secret_fields: frozenset[str] = frozenset()  # write-only: never shown back
    events: frozenset[str] = ALERT_EVENTS  # the events this kind is sent

    def __init__(self, config: dict):
        self.config = config

    def notify(self, notification: Notification) -> None:
        raise NotImplementedError

    @classmethod
    def validate_config(cls, config) -> dict:
        """The config, cleaned; ValidationError({field: [message]}) naming each bad field."""
        if not isinstance(config, dict):
            raise ValidationError({"config": ["Expected a JSON object."]})
        errors = {
            name: [f"Unknown field. Known: {sorted(cls.fields)}."]
            for name in sorted(set(config) - set(cls.fields))
        }
        clean = {}
        for name in cls.fields:
            try:
                value = cls.clean_field(name, config.get(name))
            except ValidationError as exc:
                errors[name] = exc.messages
                continue
            if value not in (None, ""):
                clean[name] = value
        if errors:
            raise ValidationError(errors)
        return clean

    @classmethod
    def clean_field(cls, name: str, value):
        raise NotImplementedError


def split_addresses(value) -> list[str]:
    return [a.strip() for a in str(value or "").split(",") if a.strip()]


class EmailTransport(Transport):
    """Django's mail backend; `config["address"]` may hold several comma-separated."""

    fields = {"address": "E-mail address(es) to notify, comma-separated."}

    @classmethod
    def clean_field(cls, name: str, value):
        addresses = split_addresses(value)
        if not addresses:
            raise ValidationError("This field is required.")
        for address in addresses:
            validate_email(address)
        return ", ".join(addresses)

    def recipients(self) -> list[str]:
        return split_addresses(self.config.get("address"))

    def notify(self, notification: Notification) -> None:
        subject, plain, html = email_bodies(notification)
        message = EmailMultiAlternatives(
            subject, plain, settings.DEFAULT_FROM_EMAIL, self.recipients()
        )
        message.attach_alternative(html, "text/html")
        try:
            message.send(fail_silently=False)
        except smtplib.SMTPRecipientsRefused as exc:
            raise TransportError(f"recipients refused: {exc}", permanent=True) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise TransportError(f"mail server error: {exc}") from exc


def required_text(value, limit: int = 500) -> str:
    text = str(value or "").strip()
    if not text:
        raise ValidationError("This field is required.")
    if len(text) > limit:
        raise ValidationError(f"Ensure this field has no more than {limit} characters.")
    return text


def clean_url(value, required: bool = True) -> str:
    """A target URL through the private-network guard ("" when optional and empty)."""
    if not value:
        if required:
            raise ValidationError("This field is required.")
        return ""
    error = netguard.webhook_url_error(str(value))
    if error:
        raise ValidationError(error)
    return str(value).strip()


class HttpTransport(Transport):
    """POST JSON to `config["url"]` through the private-network guard, no redirects."""

    fields = {"url": "The http(s) URL that receives a JSON POST per notification."}

    @classmethod
    def clean_field(cls, name: str, value):
        return clean_url(value)

    def payload(self, notification: Notification) -> dict:
        raise NotImplementedError

    def notify(self, notification: Notification) -> None:
        post_json(self.config.get("url", ""), self.payload(notification))


SIGNATURE_HEADER = "X-ModelWatch-Signature"


TIMESTAMP_HEADER = "X-ModelWatch-Timestamp"


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=<hex>`: HMAC-SHA256 with the channel's secret over `timestamp + "." + body`
    (the exact bytes sent), so a captured request cannot be replayed with a new time."""
    signed = timestamp.encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signed_headers(secret: str, body: bytes, now: float | None = None) -> dict[str, str]:
    timestamp = str(int(time.time() if now is None else now))
    return {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: signature(secret, timestamp, body)}


class WebhookTransport(HttpTransport):
    """The generic JSON webhook; with a `secret`, every POST is signed (docs/alerting.md)."""

    fields = {
        "url": HttpTransport.fields["url"],
        "secret": "Optional. Signs each POST: X-ModelWatch-Signature = sha256=HMAC-SHA256"
        '(secret, X-ModelWatch-Timestamp + "." + body). Write-only.',
    }
    secret_fields = frozenset({"secret"})

    @classmethod
    def clean_field(cls, name: str, value):
        if name == "secret":
            if value in (None, ""):
                return ""
            if not isinstance(value, str) or len(value) < 16 or len(value) > 500:
                raise ValidationError("Use a string of 16 to 500 characters.")
            return value
        return super().clean_field(name, value)

    def payload(self, notification: Notification) -> dict:
        return webhook_payload(notification)

    def notify(self, notification: Notification) -> None:
        url, payload = self.config.get("url", ""), self.payload(notification)
        if not (secret := self.config.get("secret")):
            return post_json(url, payload)
        body = encode_json(payload)  # the exact bytes signed are the bytes sent
        return post_json(url, body, signed_headers(secret, body))


class SlackTransport(HttpTransport):
    fields = {"url": "The Slack incoming-webhook URL (https://hooks.slack.com/services/...)."}

    def payload(self, notification: Notification) -> dict:
        return slack_payload(notification)


class MSTeamsTransport(HttpTransport):
    fields = {
        "url": 'The Teams incoming-webhook (or Workflows "post to a channel when a webhook '
        'request is received") URL.'
    }

    def payload(self, notification: Notification) -> dict:
        return msteams_payload(notification)


PAGERDUTY_URL = "https://events.pagerduty.com/v2/enqueue"


class PagerDutyTransport(Transport):
    """PagerDuty Events API v2: one POST per event to the enqueue endpoint (or `url`)."""

    fields = {
        "routing_key": "The integration key of an Events API v2 integration. Write-only.",
        "url": f"Optional: the endpoint (default {PAGERDUTY_URL}); a proxy or a test receiver.",
    }
    secret_fields = frozenset({"routing_key"})
    events = ALERT_EVENTS | {"acknowledged"}

    @classmethod
    def clean_field(cls, name: str, value):
        if name == "routing_key":
            return required_text(value, limit=100)
        return clean_url(value, required=False)

    def notify(self, notification: Notification) -> None:
        payload = pagerduty_payload(notification, self.config.get("routing_key", ""))
        post_json(self.config.get("url") or PAGERDUTY_URL, payload)


OPSGENIE_URL = "https://api.opsgenie.com"


class OpsgenieTransport(Transport):
    """Opsgenie Alert API v2 with an API integration's key (`Authorization: GenieKey …`)."""

    fields = {
        "api_key": "The API key of an Opsgenie API integration. Write-only.",
        "url": f"Optional: the API's base URL (default {OPSGENIE_URL}; "
        "https://api.eu.opsgenie.com for the EU instance).",
    }
    secret_fields = frozenset({"api_key"})
    events = ALERT_EVENTS | {"acknowledged"}

    @classmethod
    def clean_field(cls, name: str, value):
        if name == "api_key":
            return required_text(value, limit=100)
        return clean_url(value, required=False)

    def notify(self, notification: Notification) -> None:
        url, body = opsgenie_request(notification, self.config.get("url") or OPSGENIE_URL)
        headers = {"Authorization": f"GenieKey {self.config.get('api_key', '')}"}
        post_json(url, encode_json(body), headers)


def guarded_session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # an environment proxy would dial on our behalf, unguarded
    session.mount("http://", netguard.GuardedAdapter())
    session.mount("https://", netguard.GuardedAdapter())
    return session


def encode_json(body: dict) -> bytes:
    """The bytes POSTed (and signed): compact UTF-8 JSON."""
    try:
        return json.dumps(body, ensure_ascii=False, allow_nan=False).encode()
    except ValueError as exc:  # NaN or infinity: no retry makes it valid JSON
        raise TransportError(f"Cannot encode the payload as JSON: {exc}", permanent=True) from exc


def post_json(url: str, body: dict | bytes, headers: dict | None = None) -> None:
    """Send once (a dict is encoded with `encode_json`); raise TransportError saying
    whether a retry could help."""
    refusal = netguard.webhook_url_error(url)
    if refusal:
        raise TransportError(refusal, permanent=True)
    data = body if isinstance(body, bytes) else encode_json(body)
    headers = {"Content-Type": "application/json"} | (headers or {})
    timeout = getattr(settings, "MODELWATCH_WEBHOOK_TIMEOUT", 10)
    try:
        with guarded_session() as session:
            response = session.post(
                url, data=data, headers=headers, timeout=timeout, allow_redirects=False
            )
    except requests.RequestException as exc:
        raise TransportError(f"{type(exc).__name__}: {exc}") from exc
    raise_for_status(response)


def raise_for_status(response: requests.Response) -> None:
    code = response.status_code
    if code < 300:
        return
    text = f"HTTP {code}: {response.text[:200]}"
    permanent = 300 <= code < 500 and code not in (408, 425, 429)
    raise TransportError(text, permanent=permanent)


TRANSPORTS: dict[str, type[Transport]] = {
    "email": EmailTransport,
    "webhook": WebhookTransport,
    "slack": SlackTransport,
    "msteams": MSTeamsTransport,
    "pagerduty": PagerDutyTransport,
    "opsgenie": OpsgenieTransport,
}


def transport_for(kind: str, config: dict) -> Transport:
    return TRANSPORTS[kind](config)


def hears(kind: str, event: str) -> bool:
    """Whether a `kind` channel is sent `event` (only pagers hear `acknowledged`)."""
    return kind in TRANSPORTS and event in TRANSPORTS[kind].events


def validate_channel_config(kind: str, config, stored: dict | None = None) -> dict:
    """Shared by the API and the admin: the cleaned config of a `kind` channel.

    `stored` (the channel's config before this change, same kind): a secret field left
    out of `config` keeps its stored value, since it is never shown to be sent back; an
    explicit "" or null removes it.
    """
    if kind not in TRANSPORTS:
        raise ValidationError({"kind": [f"Choose one of {sorted(TRANSPORTS)}."]})
    if isinstance(config, dict) and stored:
        kept = {
            name: stored[name]
            for name in TRANSPORTS[kind].secret_fields
            if name not in config and stored.get(name)
        }
        config = config | kept
    return TRANSPORTS[kind].validate_config(config)


def public_config(kind: str, config: dict) -> dict:
    """The config as it may be shown (API, admin, exports): without its secret fields."""
    hidden = TRANSPORTS[kind].secret_fields if kind in TRANSPORTS else frozenset()
    return {name: value for name, value in (config or {}).items() if name not in hidden}


def secrets_set(kind: str, config: dict) -> list[str]:
    """The names of the secret fields that hold a value (shown instead of the values)."""
    hidden = TRANSPORTS[kind].secret_fields if kind in TRANSPORTS else frozenset()
    return sorted(name for name in hidden if (config or {}).get(name))
