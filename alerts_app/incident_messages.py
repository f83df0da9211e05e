"""What an incident's notification says: its stored body (JSON, built once so that a
retry sends the same) and the `Notification` every transport sends from it.

Webhooks get the whole body (`incident`, `alerts` with their causes, merged `causes`);
e-mail and Slack a title `Incident #5: 2 of 2 alerts firing`, the top causes and one line
per alert (docs/alerting.md "Incidents").
"""

from datetime import datetime

from django.utils.dateparse import parse_datetime

from alerts_app import outbox
from alerts_app.models import AlertTransition, Incident, IncidentAlert
from alerts_app.transports import Notification

SEVERITY_RANK = {"critical": 0, "warning": 1, "info": 2}


def incident_url(incident_id: int) -> str:
    base = str(outbox.setting("MODELWATCH_BASE_URL", "")).rstrip("/")
    return f"{base}/incidents/{incident_id}/"


def alert_entry(member: IncidentAlert, now: datetime) -> dict:
    """One alert of the notification, with the causes of the result that broke it."""
    alert = member.alert
    state = "firing" if member.resolved_at is None else "resolved"
    explained = {}
    if state == "firing":
        explained = outbox.explanation(AlertTransition(alert=alert, event="firing", created_at=now))
    return {
        "id": alert.id,
        "rule": alert.rule.name,
        "kind": alert.rule.kind,
        "model": alert.rule.model.name,
        "version": alert.version.version if alert.version_id else None,
        "feature": alert.feature or None,
        "severity": alert.rule.severity,
        "state": state,
        "value": alert.value,
        "threshold": alert.threshold,
        "message": alert.message,
        "headline": explained.get("headline", ""),
        "started_at": alert.started_at.isoformat() if alert.started_at else None,
        "resolved_at": member.resolved_at.isoformat() if member.resolved_at else None,
        "url": outbox.alert_links(alert)[0],
        "causes": [dict(c) for c in explained.get("causes", ())],
    }


def notification_body(incident: Incident, event: str, members: list, now: datetime) -> dict:
    """Everything the notification says, as JSON (stored, so a retry sends the same)."""
    alerts = [alert_entry(m, now) for m in members]
    alerts.sort(key=lambda a: (a["state"] != "firing", SEVERITY_RANK.get(a["severity"], 3)))
    return {
        "event": event,
        "incident": {
            "id": incident.id,
            "group_key": incident.group_key,
            "labels": incident.labels,
            "state": incident.state,
            "started_at": incident.started_at.isoformat(),
            "resolved_at": incident.resolved_at.isoformat() if incident.resolved_at else None,
            "url": incident_url(incident.id),
            "policy": incident.policy.name if incident.policy_id else None,
        },
        "alerts": alerts,
    }


def merged_causes(alerts: list[dict]) -> list[dict]:
    """The firing alerts' causes, highest score first, each summary naming its rule."""
    causes = [
        c | {"summary": f"{a['rule']}: {c.get('summary', '')}", "alert": a["id"]}
        for a in alerts
        if a["state"] == "firing"
        for c in a["causes"]
    ]
    return sorted(causes, key=lambda c: -float(c.get("score") or 0))[:10]


def as_notification(body: dict) -> Notification:
    """The stored body as the `Notification` every transport sends (webhooks carry the
    whole body: `incident`, `alerts` with their causes)."""
    incident, alerts = body["incident"], body["alerts"]
    firing = [a for a in alerts if a["state"] == "firing"]
    lead = (firing or alerts or [{}])[0]
    models = sorted({a["model"] for a in alerts})
    title = (
        lead.get("rule", "")
        if len(alerts) == 1
        else f"{len(firing)} of {len(alerts)} alerts firing"
    )
    if body["event"] == "resolved":
        title = lead.get("rule", "") if len(alerts) == 1 else f"{len(alerts)} alerts resolved"
    return Notification(
        event=body["event"],
        alert_id=None,
        rule=f"Incident #{incident['id']}: {title}",
        model=incident["labels"].get("model") or ", ".join(models),
        severity=lead.get("severity", "info"),
        state=incident["state"],
        kind=lead.get("kind", ""),
        message=incident_message(alerts),
        started_at=parse_datetime(incident["started_at"]),
        url=incident["url"],
        dashboard_url=incident["url"],
        details={"incident": incident, "alerts": alerts},
        causes=tuple(merged_causes(alerts)),
        headline=", ".join(a["headline"] or a["rule"] for a in firing[:3]),
    )


def incident_message(alerts: list[dict]) -> str:
    lines = []
    for a in alerts:
        feature = f" [{a['feature']}]" if a["feature"] else ""
        why = f" — {a['headline']}" if a["headline"] else ""
        lines.append(f"{a['state']}: {a['rule']}{feature} on {a['model']}{why} ({a['url']})")
    return "\n".join(lines)
