"""Notification transports: one class per channel kind, and their pure payload builders.

`Transport(channel_config).notify(notification)` sends or raises
`TransportError(msg, permanent=...)`: permanent errors (a 4xx answer, a refused target,
a rejected recipient) are never retried; transient ones (timeouts, 5xx, 429) are.
Payload builders take a `Notification` (plain data) and are tested without any I/O.
"""

import smtplib
from dataclasses import asdict, dataclass, field
from datetime import datetime

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
    "test": "TEST",
}
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
    the causes of the result that broke (empty when none). An incident's notification
    (alerts_app/incidents.py) carries the incident and every alert with its causes."""
    if n.details.get("incident"):
        return {
            "event": n.event,
            "incident": n.details["incident"],
            "alerts": n.details.get("alerts", []),
            "causes": [dict(c) for c in n.causes],
        }
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
                clean[name] = cls.clean_field(name, config.get(name))
            except ValidationError as exc:
                errors[name] = exc.messages
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


class HttpTransport(Transport):
    """POST JSON to `config["url"]` through the private-network guard, no redirects."""

    fields = {"url": "The http(s) URL that receives a JSON POST per notification."}

    @classmethod
    def clean_field(cls, name: str, value):
        if not value:
            raise ValidationError("This field is required.")
        error = netguard.webhook_url_error(str(value))
        if error:
            raise ValidationError(error)
        return str(value).strip()

    def payload(self, notification: Notification) -> dict:
        raise NotImplementedError

    def notify(self, notification: Notification) -> None:
        post_json(self.config.get("url", ""), self.payload(notification))


class WebhookTransport(HttpTransport):
    def payload(self, notification: Notification) -> dict:
        return webhook_payload(notification)


class SlackTransport(HttpTransport):
    fields = {"url": "The Slack incoming-webhook URL (https://hooks.slack.com/services/...)."}

    def payload(self, notification: Notification) -> dict:
        return slack_payload(notification)


def guarded_session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # an environment proxy would dial on our behalf, unguarded
    session.mount("http://", netguard.GuardedAdapter())
    session.mount("https://", netguard.GuardedAdapter())
    return session


def post_json(url: str, body: dict) -> None:
    """Send once; raise TransportError saying whether a retry could help."""
    refusal = netguard.webhook_url_error(url)
    if refusal:
        raise TransportError(refusal, permanent=True)
    timeout = getattr(settings, "MODELWATCH_WEBHOOK_TIMEOUT", 10)
    try:
        with guarded_session() as session:
            response = session.post(url, json=body, timeout=timeout, allow_redirects=False)
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
}


def transport_for(kind: str, config: dict) -> Transport:
    return TRANSPORTS[kind](config)


def validate_channel_config(kind: str, config) -> dict:
    """Shared by the API and the admin: the cleaned config of a `kind` channel."""
    if kind not in TRANSPORTS:
        raise ValidationError({"kind": [f"Choose one of {sorted(TRANSPORTS)}."]})
    return TRANSPORTS[kind].validate_config(config)
