"""Rows for the overview and alerts pages: models with their health, alerts with filters."""

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.db.models import QuerySet

from alerts_app import lifecycle
from alerts_app.health import health_status
from alerts_app.models import Alert, AlertState, Severity
from frontend import charts_alerts, queries
from models_app.models import MetricPoint, Model
from models_app.series import downsample

SPARK_DAYS = 7
SPARK_POINTS = 48
RECENT_DAYS = 7


def health(severities: list[str]) -> str:
    """ok / warning / critical from the severities of a model's firing alerts (info alerts
    do not degrade health), exactly as `GET /api/v1/models/{name}/health/` answers."""
    return health_status(severities)


@dataclass
class ModelRow:
    model: Model
    health: str
    firing: int
    predictions_24h: int
    metric: str
    metric_last: float | None
    spark: str


def firing_by_model() -> dict[int, list[str]]:
    rows = Alert.objects.filter(state=AlertState.FIRING).values_list(
        "rule__model_id", "rule__severity"
    )
    grouped: dict[int, list[str]] = defaultdict(list)
    for model_id, severity in rows:
        grouped[model_id].append(severity)
    return grouped


def filter_models(models: list[Model], search: str, tag: str) -> list[Model]:
    """Case-insensitive search in name and description; exact tag (portable, in Python)."""
    needle = search.strip().lower()
    if needle:
        models = [
            m for m in models if needle in m.name.lower() or needle in (m.description or "").lower()
        ]
    if tag:
        models = [m for m in models if tag in (m.tags or [])]
    return models


def all_tags(models: list[Model]) -> list[str]:
    return sorted({str(t) for m in models for t in (m.tags or []) if isinstance(t, str)})


def model_rows(models: list[Model], now: datetime) -> list[ModelRow]:
    firing = firing_by_model()
    return [model_row(m, firing.get(m.pk, []), now) for m in models]


def model_row(model: Model, severities: list[str], now: datetime) -> ModelRow:
    key = queries.key_metric(queries.metric_names(model))
    values: list[float] = []
    if key:
        end = model.last_seen_at if model.last_seen_at and model.last_seen_at < now else now
        points = MetricPoint.objects.filter(model=model, name=key[0], stage=key[1])
        buckets = downsample(points, end - timedelta(days=SPARK_DAYS), end, SPARK_POINTS)
        values = [b["value"] for b in buckets]
    return ModelRow(
        model=model,
        health=health(severities),
        firing=len(severities),
        predictions_24h=queries.prediction_count(model, now - timedelta(hours=24)),
        metric=f"{key[0]} ({key[1]})" if key else "",
        metric_last=values[-1] if values else None,
        spark=charts_alerts.sparkline_points(values),
    )


def health_counts(rows: list[ModelRow]) -> dict[str, int]:
    counts = Counter(row.health for row in rows)
    return {state: counts.get(state, 0) for state in ("ok", "warning", "critical")}


ALERT_STATES = ("firing", "pending", "resolved", "ok")


def alert_queryset() -> QuerySet:
    return Alert.objects.select_related("rule", "rule__model", "version", "acknowledged_by")


def filtered_alerts(state: str, severity: str, model: str) -> QuerySet:
    alerts = alert_queryset()
    if state in ALERT_STATES:
        alerts = alerts.filter(state=state)
    if severity in Severity.values:
        alerts = alerts.filter(rule__severity=severity)
    if model:
        alerts = alerts.filter(rule__model__name=model)
    return alerts


def alert_sections(alerts: QuerySet, state: str, now: datetime) -> list[tuple[str, list]]:
    """(title, alerts) sections: the chosen state, else firing, pending and recent."""
    if state in ALERT_STATES:
        return [(state.capitalize(), list(alerts.order_by("-last_evaluated", "-id")[:200]))]
    recent = alerts.filter(
        state=AlertState.RESOLVED, resolved_at__gte=now - timedelta(days=RECENT_DAYS)
    )
    return [
        ("Firing", list(alerts.filter(state=AlertState.FIRING).order_by("-started_at", "-id"))),
        ("Pending", list(alerts.filter(state=AlertState.PENDING).order_by("-pending_since"))),
        (
            f"Resolved in the last {RECENT_DAYS} days",
            list(recent.order_by("-resolved_at", "-id")[:100]),
        ),
    ]


def alert_link(alert: Alert, now: datetime | None = None) -> str:
    """The model page framed on the alert's onset (`?alert=`: see frontend.views.alert_window
    and docs/dashboards.md), on the alert's version."""
    query = urlencode(
        {"alert": alert.pk, **({"version": alert.version.version} if alert.version else {})}
    )
    return f"/models/{alert.rule.model.name}/?{query}"


def acknowledge(alert_id: int, user, now: datetime, note: str = "") -> bool:
    """Acknowledge an active alert through the alert lifecycle (the same guarded write as
    `POST /api/v1/alerts/{id}/acknowledge/`); False when it was not pending or firing or
    was already acknowledged."""
    already = Alert.objects.filter(pk=alert_id).exclude(acknowledged_at=None).exists()
    return not already and lifecycle.acknowledge(alert_id, user, now, note) is not None
