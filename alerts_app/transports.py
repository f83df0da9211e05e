"""Notification transports: one class per channel kind, and their pure payload builders.

`Transport(channel_config).notify(notification)` sends or raises
`TransportError(msg, permanent=...)`: permanent errors (a 4xx answer, a refused target,
a rejected recipient) are never retried; transient ones (timeouts, 5xx, 429) are.
Payload builders take a `Notification` (plain data) and are tested without any I/O.

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
from dataclasses import asdict, dataclass, field
from datetime import datetime
from urllib.parse import quote

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email
from django.template.loader import render_to_string

from alerts_app import netguard
from alerts_app.rule_fields import format_number

DIGITS = 4  # significant digits of a value or threshold in a notification
EVENT_TITLES = {
    "firing": "FIRING",
    "resolved": "RESOLVED",
    "repeat": "STILL FIRING",
    "acknowledged": "ACKNOWLEDGED",
    "test": "TEST",
}
# The events every kind is sent; pagers also hear of acknowledgements (docs/alerting.md).
ALERT_EVENTS = frozenset({"firing", "resolved", "repeat", "test"})
SEVERITY_EMOJI = {
    "critical": ":red_circle:",
    "warning": ":large_orange_circle:",
    "info": ":large_blue_circle:",
}


class TransportError(Exception):
    def __init__(self, message: str, permanent: bool = False):
        super().__init__(message)
        self.message = message
        self.permanent = permanent


@dataclass(frozen=True)
class Notification:
    """Everything a message says about one alert event, as plain data."""

    event: str
    alert_id: int | None
    rule: str
    model: str
    severity: str
    state: str
    version: str | None = None
    feature: str = ""
    kind: str = ""
    value: float | None = None
    threshold: float | None = None
    message: str = ""
    started_at: datetime | None = None
    url: str = ""
    dashboard_url: str = ""
    details: dict = field(default_factory=dict)
    # Why it fires: the breaking result's causes (most important first) and what broke
    # in words ("input drift in 4 of 11 features"); empty when it does not break.
    causes: tuple = ()
    headline: str = ""
    # The alert's fingerprint: PagerDuty's dedup_key, Opsgenie's alias ("" for a test).
    fingerprint: str = ""


TOP_CAUSES = 3


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def title_line(n: Notification) -> str:
    """`[FIRING] rule [feature] on model`, on one line."""
    feature = f" [{n.feature}]" if n.feature else ""
    return one_line(
        f"[{EVENT_TITLES.get(n.event, n.event.upper())}] {n.rule}{feature} on {n.model}"
    )


def top_causes(n: Notification) -> list[str]:
    """The summaries of the top 3 causes, each on one line."""
    return [one_line(c.get("summary", "")) for c in n.causes[:TOP_CAUSES] if isinstance(c, dict)]


def why_line(n: Notification) -> str:
    """`input drift in 4 of 11 features — a (KS 0.33), b (χ² p < 1e-6), …`; "" when the
    notification has neither a headline nor causes."""
    named = ", ".join(top_causes(n)) + (", …" if len(n.causes) > TOP_CAUSES else "")
    return one_line(" — ".join(part for part in (n.headline, named) if part))


def subject_line(n: Notification) -> str:
    """One line whatever the rule or a feature is named (a newline in a mail header is
    refused): the title, then what broke and its top causes."""
    why = why_line(n)
    return f"{title_line(n)}: {why}" if why else title_line(n)


def cause_headline(
    kind: str, details: dict, value: float | None = None, threshold: float | None = None
) -> str:
    """What broke, in words, from a breaking result's details ("" for other kinds)."""
    features = details.get("features")
    if kind in ("data_drift", "prediction_drift") and isinstance(features, dict):
        drifted = sum(1 for f in features.values() if isinstance(f, dict) and f.get("drifted"))
        what = "input drift" if kind == "data_drift" else "output drift"
        noun = "features" if kind == "data_drift" else "outputs"
        return f"{what} in {drifted} of {len(features)} {noun}"
    if kind == "data_quality" and isinstance(features, dict):
        return (
            f"data quality breaks in {len(details.get('failing') or [])} of "
            f"{len(features)} features"
        )
    if kind in ("performance", "estimated_performance") and details.get("metric"):
        estimated = "estimated " if kind == "estimated_performance" else ""
        return (
            f"{estimated}{details['metric']} {format_number(value, DIGITS)} "
            f"(threshold {format_number(threshold, DIGITS)})"
        )
    return ""


def mrkdwn(text: str) -> str:
    """Slack's escaping of user text in mrkdwn: &, < and > (no links or mentions injected)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def summary_line(n: Notification) -> str:
    return (
        f"{n.severity} alert on {n.model}"
        f"{' version ' + n.version if n.version else ''}"
        f": value {format_number(n.value, DIGITS)}"
        f" vs threshold {format_number(n.threshold, DIGITS)}"
    )


def webhook_payload(n: Notification) -> dict:
    """The generic webhook body: the alert (plus `feature` for per-feature alerts) and
    the causes of the result that broke (empty when none)."""
    return {
        "event": n.event,
        "alert": {
            "id": n.alert_id,
            "rule": n.rule,
            "model": n.model,
            "version": n.version,
            "feature": n.feature or None,
            "severity": n.severity,
            "state": n.state,
            "value": n.value,
            "threshold": n.threshold,
            "message": n.message,
            "started_at": n.started_at.isoformat() if n.started_at else None,
            "url": n.url,
        },
        "causes": [dict(c) for c in n.causes],
    }


def slack_payload(n: Notification) -> dict:
    """A Slack incoming-webhook message: header, facts, the message and a dashboard link."""
    emoji = SEVERITY_EMOJI.get(n.severity, "")
    facts = [
        ("Model", n.model + (f" @ {n.version}" if n.version else "")),
        ("Severity", f"{emoji} {n.severity}"),
        ("Value", format_number(n.value, DIGITS)),
        ("Threshold", format_number(n.threshold, DIGITS)),
    ]
    if n.feature:
        facts.append(("Feature", n.feature))
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": title_line(n)[:150]}},
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*{label}*\n{mrkdwn(text)}"} for label, text in facts
            ],
        },
    ]
    if why_line(n):
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": slack_causes(n)[:2900]}}
        )
    if n.message:
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn(n.message[:2900])}}
        )
    if n.dashboard_url:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Open dashboard"},
                        "url": n.dashboard_url,
                    }
                ],
            }
        )
    why = f" — {why_line(n)}" if why_line(n) else ""
    return {"text": mrkdwn(f"{title_line(n)}: {summary_line(n)}{why}"), "blocks": blocks}


def slack_causes(n: Notification) -> str:
    """*Why:* the headline, then the top causes as a bulleted list (user text escaped)."""
    lines = [f"*Why:* {mrkdwn(n.headline)}" if n.headline else "*Why:*"]
    return "\n".join(lines + [f"• {mrkdwn(summary)}" for summary in top_causes(n)])


TEAMS_COLORS = {"firing": "attention", "repeat": "attention", "resolved": "good"}


def teams_text(text: str) -> str:
    """User text in an Adaptive Card TextBlock, which reads a Markdown subset: the
    characters that make links and emphasis are backslash-escaped (nothing injected)."""
    for char in "\\[]*_~`":
        text = text.replace(char, "\\" + char)
    return text


def msteams_payload(n: Notification) -> dict:
    """A Teams message with one Adaptive Card (1.4): title, facts, why, the message and
    links to the alert and the dashboard."""
    facts = [
        ("Model", n.model + (f" @ {n.version}" if n.version else "")),
        ("Severity", n.severity),
        ("Value", format_number(n.value, DIGITS)),
        ("Threshold", format_number(n.threshold, DIGITS)),
    ] + ([("Feature", n.feature)] if n.feature else [])
    body = [
        {
            "type": "TextBlock",
            "text": teams_text(title_line(n)),
            "size": "Medium",
            "weight": "Bolder",
            "color": TEAMS_COLORS.get(n.event, "default"),
            "wrap": True,
        },
        {
            "type": "FactSet",
            "facts": [{"title": label, "value": teams_text(value)} for label, value in facts],
        },
    ]
    if n.headline or n.causes:
        why = [f"Why: {n.headline}" if n.headline else "Why:"] + [
            f"• {summary}" for summary in top_causes(n)
        ]
        body.append({"type": "TextBlock", "text": teams_text("\n\n".join(why)), "wrap": True})
    if n.message:
        body.append({"type": "TextBlock", "text": teams_text(n.message[:2000]), "wrap": True})
    actions = [
        {"type": "Action.OpenUrl", "title": title, "url": url}
        for title, url in (("Open alert", n.url), ("Open dashboard", n.dashboard_url))
        if url
    ]
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
        "actions": actions,
    }
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card,
            }
        ],
    }


def email_bodies(n: Notification) -> tuple[str, str, str]:
    """(subject, plain text, HTML) of the e-mail for one notification."""
    context = asdict(n) | {
        "title": EVENT_TITLES.get(n.event, n.event.upper()),
        "subject": subject_line(n),
        "summary": summary_line(n),
        "value_text": format_number(n.value, DIGITS),
        "threshold_text": format_number(n.threshold, DIGITS),
        "top_causes": top_causes(n),
        "more_causes": max(len(n.causes) - TOP_CAUSES, 0),
    }
    plain = render_to_string("alerts_app/email/alert.txt", context)
    html = render_to_string("alerts_app/email/alert.html", context)
    return subject_line(n), plain, html


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
PAGERDUTY_ACTIONS = {
    "firing": "trigger",
    "repeat": "trigger",
    "test": "trigger",
    "resolved": "resolve",
    "acknowledged": "acknowledge",
}
PAGERDUTY_SEVERITY = {"critical": "critical", "warning": "warning", "info": "info"}
TEST_DEDUP_KEY = "modelwatch-test"


def pagerduty_payload(n: Notification, routing_key: str) -> dict:
    """An Events API v2 event: trigger (firing, repeat), acknowledge or resolve, with the
    alert's fingerprint as `dedup_key` so the three land on one PagerDuty alert."""
    event = {
        "routing_key": routing_key,
        "event_action": PAGERDUTY_ACTIONS[n.event],
        "dedup_key": (n.fingerprint or TEST_DEDUP_KEY)[:255],
    }
    if event["event_action"] != "trigger":
        return event  # acknowledge and resolve carry no payload
    links = [{"href": n.url, "text": "Alert in ModelWatch"}] if n.url else []
    if n.dashboard_url:
        links.append({"href": n.dashboard_url, "text": f"{n.model} dashboard"})
    return event | {
        "payload": {
            "summary": subject_line(n)[:1024],
            "source": n.model,
            "severity": PAGERDUTY_SEVERITY.get(n.severity, "warning"),
            "timestamp": n.started_at.isoformat() if n.started_at else None,
            "component": n.feature or (f"version {n.version}" if n.version else None),
            "group": n.rule,
            "class": n.kind or None,
            "custom_details": webhook_payload(n)["alert"] | {"causes": list(n.causes)},
        },
        "client": "ModelWatch",
        "client_url": n.url or None,
        "links": links,
    }


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
OPSGENIE_PRIORITY = {"critical": "P1", "warning": "P3", "info": "P5"}


def opsgenie_create_payload(n: Notification) -> dict:
    """Create an alert (Alert API v2): message ≤ 130 characters, alias = fingerprint,
    priority P1/P3/P5 from the severity, details as a map of strings."""
    why = why_line(n)
    description = "\n".join(
        part for part in (summary_line(n), f"Why: {why}" if why else "", n.message, n.url) if part
    )
    details = {
        "model": n.model,
        "rule": n.rule,
        "version": n.version or "",
        "feature": n.feature,
        "severity": n.severity,
        "value": format_number(n.value, DIGITS),
        "threshold": format_number(n.threshold, DIGITS),
        "url": n.url,
        "causes": json.dumps(list(n.causes)),
    }
    return {
        "message": title_line(n)[:130],
        "alias": (n.fingerprint or TEST_DEDUP_KEY)[:512],
        "description": description[:15000],
        "priority": OPSGENIE_PRIORITY.get(n.severity, "P3"),
        "source": "ModelWatch",
        "entity": n.model[:512],
        "tags": ["modelwatch", n.severity],
        "details": {key: str(value)[:8000] for key, value in details.items() if value},
    }


def opsgenie_request(n: Notification, base_url: str) -> tuple[str, dict]:
    """(URL, body) of the Alert API call for this event: create on firing, repeat and
    test; close or acknowledge by alias on resolved and acknowledged."""
    alerts = base_url.rstrip("/") + "/v2/alerts"
    if n.event in ("resolved", "acknowledged"):
        action = "close" if n.event == "resolved" else "acknowledge"
        alias = quote((n.fingerprint or TEST_DEDUP_KEY)[:512], safe="")
        body = {"source": "ModelWatch", "note": one_line(n.message)[:25000]}
        return f"{alerts}/{alias}/{action}?identifierType=alias", body
    return alerts, opsgenie_create_payload(n)


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
