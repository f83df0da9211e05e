"""Pure payload builders: a `Notification` in, the body each service documents out.

Webhook (docs/alerting.md), Slack blocks, e-mail bodies, a Teams Adaptive Card, a
PagerDuty Events API v2 event and Opsgenie Alert API calls; tested without any I/O
(tests/alerts_app/test_transports.py, test_pager_channels.py). Sending them is
alerts_app/transports.py's business.
"""

import json
from dataclasses import asdict
from urllib.parse import quote

from django.template.loader import render_to_string

from alerts_app.notifications import (
    DIGITS,
    EVENT_TITLES,
    TOP_CAUSES,
    Notification,
    one_line,
    subject_line,
    summary_line,
    title_line,
    top_causes,
    why_line,
)
from alerts_app.rule_fields import format_number

SEVERITY_EMOJI = {
    "critical": ":red_circle:",
    "warning": ":large_orange_circle:",
    "info": ":large_blue_circle:",
}


def mrkdwn(text: str) -> str:
    """Slack's escaping of user text in mrkdwn: &, < and > (no links or mentions injected)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


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


PAGERDUTY_ACTIONS = {
    "firing": "trigger",
    "repeat": "trigger",
    "update": "trigger",  # an incident's alerts changed: the same dedup_key, re-triggered
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
