"""The per-segment breakdown of segmented rules (`segment_by`) for the model page.

Reads each segmented rule's newest stored result (`details["segments"]`, written by
alerts_app/segments.py) and the rule's segment alerts, so the page shows, per segment:
its rows, value, threshold, status and a link to its alert when it has one.
"""

from alerts_app.models import AlertRule, CheckResult
from alerts_app.segments import KINDS, label, segment_by


def segment_breakdown(model) -> list[dict]:
    """[{rule, feature, evaluated_at, status, rows: [{segment, rows, value, threshold,
    status, alert}]}] for the model's segmented rules, by rule name."""
    rules = [
        rule
        for rule in AlertRule.objects.filter(model=model, kind__in=KINDS).order_by("name", "id")
        if segment_by(rule.config)
    ]
    found = []
    for rule in rules:
        result = CheckResult.objects.filter(rule=rule).order_by("-evaluated_at", "-id").first()
        details = (result.details or {}) if result else {}
        feature = details.get("segment_by") or segment_by(rule.config)
        alerts = {
            (alert.segment, alert.feature): alert
            for alert in rule.alerts.exclude(segment="").exclude(state="ok")
        }
        rows = []
        for verdict in details.get("segments") or []:
            if not isinstance(verdict, dict):
                continue
            segment = label(feature, verdict.get("segment"))
            alert = alerts.get((segment, "")) or next(
                (a for (s, _), a in sorted(alerts.items()) if s == segment), None
            )
            rows.append(
                {
                    "segment": verdict.get("segment"),
                    "rows": verdict.get("rows"),
                    "value": verdict.get("value"),
                    "threshold": verdict.get("threshold"),
                    "status": verdict.get("status"),
                    "reason": (verdict.get("details") or {}).get("reason", ""),
                    "alert": alert,
                }
            )
        found.append(
            {
                "rule": rule,
                "feature": feature,
                "evaluated_at": result.evaluated_at if result else None,
                "status": result.status if result else "",
                "rows": rows,
            }
        )
    return found
