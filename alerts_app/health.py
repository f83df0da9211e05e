"""A model's health from its firing alerts: what the API, the overview and badges show."""

from alerts_app.models import Alert, AlertState

SEVERITY_STATUS = {"critical": "critical", "warning": "warning", "info": "ok"}
STATUS_ORDER = ("ok", "warning", "critical")


def firing_alerts(model):
    """Firing alerts of the model's enabled rules (a disabled rule's alert is paused)."""
    return (
        Alert.objects.filter(rule__model=model, rule__enabled=True, state=AlertState.FIRING)
        .select_related("rule__model", "version", "acknowledged_by")
        .order_by("-changed_at", "-id")
    )


def health_status(severities) -> str:
    """critical if a critical alert fires, warning if a warning one does, else ok.

    `info` alerts are listed but do not degrade health.
    """
    statuses = {SEVERITY_STATUS.get(s, "warning") for s in severities} | {"ok"}
    return max(statuses, key=STATUS_ORDER.index)


def model_health(model) -> tuple[str, list[Alert]]:
    alerts = list(firing_alerts(model))
    return health_status(alert.rule.severity for alert in alerts), alerts
