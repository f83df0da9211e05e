"""Rows for the overview and alerts pages: models with their health, alerts with filters."""

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlencode

import pandas as pd
from django.db.models import Avg, OuterRef, QuerySet, Subquery

from alerts_app import lifecycle
from alerts_app.health import health_status
from alerts_app.models import Alert, AlertRule, AlertState, CheckResult, Severity
from frontend import alert_page, queries
from frontend.charts_alerts import sparkline_points
from models_app.models import MetricPoint, Model

SPARK_DAYS = 7
SPARK_POINTS = 48
RECENT_DAYS = 7
TOP_CAUSES = 3
ALERT_STATES = ("firing", "pending", "resolved", "ok")
ACTIVE = ("firing", "pending")
STATE_RANK = {state: rank for rank, state in enumerate(ALERT_STATES)}
SEVERITY_RANK = {"critical": 0, "warning": 1, "info": 2}
VALIDATION_STAGES = ("validation", "val")
LOSS_NAMES = ("loss", "val_loss")
NAME_STAGE = ["name", "stage"]


def health(severities: list[str]) -> str:
    """ok / warning / critical from the severities of a model's firing alerts (info alerts
    do not degrade health), exactly as `GET /api/v1/models/{name}/health/` answers."""
    return health_status(severities)


@dataclass
class RuleGroup:
    """The alerts of one rule shown together (per-feature alerts of a rule are one group),
    most urgent first, with why the rule breaks in words."""

    rule: AlertRule
    alerts: list[Alert] = field(default_factory=list)
    reason: str = ""
    link: str = ""  # the model page framed on the group's first alert

    @property
    def first(self) -> Alert:
        return self.alerts[0]

    @property
    def state(self) -> str:
        found = {a.state for a in self.alerts}
        return next(s for s in (*ALERT_STATES, *found) if s in found)

    @property
    def per_feature(self) -> bool:
        return any(a.feature for a in self.alerts)

    @property
    def to_acknowledge(self) -> list[Alert]:
        return [a for a in self.alerts if a.state in ACTIVE and a.acknowledged_at is None]


def group_by_rule(alerts) -> list[RuleGroup]:
    """One group per rule, in the order of each rule's first alert; inside a group the
    most urgent state first, then by feature."""
    groups: dict[int, RuleGroup] = {}
    for alert in alerts:
        groups.setdefault(alert.rule_id, RuleGroup(alert.rule)).alerts.append(alert)
    for group in groups.values():
        group.alerts.sort(key=lambda a: (STATE_RANK.get(a.state, 9), a.feature, a.pk))
    return list(groups.values())


@dataclass
class KeyMetric:
    label: str  # what the sparkline shows, e.g. "auc (production), 7 d"
    last: str  # its newest value, formatted
    spark: str


@dataclass
class ModelRow:
    model: Model
    health: str
    firing: int
    predictions_24h: int
    key: KeyMetric | None
    groups: list[RuleGroup]  # the firing alerts, one group per rule, with its reason


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
    """The overview's rows in a fixed number of statements whatever the number of models
    (plus two per model that only has a training run, for its validation curve)."""
    ids = [m.pk for m in models]
    groups = firing_groups(ids)
    counts = queries.prediction_counts(ids, now - timedelta(hours=24))
    keys = key_metrics(models, now)
    return [
        ModelRow(
            model=m,
            health=health([g.rule.severity for g in groups.get(m.pk, []) for _ in g.alerts]),
            firing=sum(len(g.alerts) for g in groups.get(m.pk, [])),
            predictions_24h=counts.get(m.pk, 0),
            key=keys.get(m.pk),
            groups=groups.get(m.pk, []),
        )
        for m in models
    ]


# --- why each model is unwell: its firing alerts' causes, in words -----------------------


def firing_groups(model_ids: list[int]) -> dict[int, list[RuleGroup]]:
    """{model id: its firing alerts grouped by rule, each group with its reason}, worst
    severity first. Two statements: the firing alerts with the id of their rule's newest
    breached result (a correlated subquery on the `(rule, evaluated_at)` index), then
    those results' details."""
    newest = CheckResult.objects.filter(rule_id=OuterRef("rule_id"), status="breached").order_by(
        "-evaluated_at", "-id"
    )
    alerts = list(
        Alert.objects.filter(state=AlertState.FIRING, rule__model_id__in=model_ids)
        .select_related("rule", "version")
        .annotate(result_id=Subquery(newest.values("id")[:1]))
        .order_by("rule__model_id", "rule_id", "feature", "id")
    )
    results = CheckResult.objects.filter(id__in={a.result_id for a in alerts} - {None}).only(
        "id", "details"
    )
    details = {r.pk: r.details for r in results}
    by_model: dict[int, list[RuleGroup]] = defaultdict(list)
    for group in group_by_rule(alerts):
        group.reason = reason(group, details.get(group.first.result_id))
        by_model[group.rule.model_id].append(group)
    for groups in by_model.values():
        groups.sort(key=lambda g: (SEVERITY_RANK.get(g.rule.severity, 9), g.rule.name))
    return by_model


def reason(group: RuleGroup, details: dict | None, limit: int = TOP_CAUSES) -> str:
    """Why the rule breaks in words: its top causes (for per-feature alerts, those of
    the group's features), else the value against the threshold."""
    causes = alert_page.causes_of(details)
    if group.per_feature:
        features = {a.feature for a in group.alerts}
        causes = [c for c in causes if c.get("feature") in features]
    summaries = [str(c.get("summary") or c.get("feature")) for c in causes[:limit]]
    if summaries:
        more = len(causes) - len(summaries)
        return ", ".join(summaries) + (f" and {more} more" if more > 0 else "")
    alert = group.first
    if alert.value is None:
        return alert.message
    return f"value {alert_page.fmt(alert.value)} vs threshold {alert_page.fmt(alert.threshold)}"


# --- the key metric a model is summed up by ----------------------------------------------


def key_metrics(models: list[Model], now: datetime) -> dict[int, KeyMetric]:
    """Per model: its primary production metric over 7 days; for a training run, its
    validation loss (else another validation metric) by step; for a model that only logs
    predictions, its prediction volume over 7 days."""
    series = queries.series_by_model([m.pk for m in models])
    ends = {m.pk: min(m.last_seen_at or now, now) for m in models}
    by_time, by_step = {}, {}
    for model in models:
        how = key_series(series.get(model.pk, []))
        if how is not None:
            (by_step if how[0] == "step" else by_time)[model.pk] = how[1:]
    keys = {}
    span = timedelta(days=SPARK_DAYS)
    for model_id, values in queries.recent_metric_values(by_time, ends, span, SPARK_POINTS).items():
        name, stage = by_time[model_id]
        keys[model_id] = key_from(f"{name} ({stage}), {SPARK_DAYS} d", values)
    for model_id, (name, stage) in by_step.items():
        keys[model_id] = validation_curve(model_id, name, stage)
    quiet = [m.pk for m in models if m.pk not in by_time and m.pk not in by_step]
    for model_id, volume in queries.prediction_volumes(quiet, now, span, SPARK_POINTS).items():
        if sum(volume):
            keys[model_id] = KeyMetric(
                f"predictions, {SPARK_DAYS} d", f"{sum(volume):,}", sparkline_points(volume)
            )
    return keys


def key_series(series: list[tuple[str, str]]) -> tuple[str, str, str] | None:
    """("time" | "step", name, stage): the production series a model is summed up by,
    else its validation loss (a training run), else any series it logs."""
    production = [s for s in series if s[1] == "production"]
    if production:
        return ("time", *queries.key_metric(pd.DataFrame(production, columns=NAME_STAGE)))
    validation = [s for s in series if s[1] in VALIDATION_STAGES]
    if validation:
        order = [*LOSS_NAMES, *queries.KEY_METRICS]
        rank = {name: order.index(name) for name in order}
        return ("step", *min(validation, key=lambda s: (rank.get(s[0], 99), s[0])))
    if series:
        return ("time", *queries.key_metric(pd.DataFrame(series, columns=NAME_STAGE)))
    return None


def key_from(label: str, values: list[float]) -> KeyMetric:
    last = f"{values[-1]:.4g}" if values and values[-1] is not None else "—"
    return KeyMetric(label, last, sparkline_points(values))


def validation_curve(model_id: int, name: str, stage: str) -> KeyMetric:
    points = MetricPoint.objects.filter(model_id=model_id, name=name, stage=stage).exclude(
        step=None
    )
    rows = queries.by_step(points, {"avg": Avg("value")}, SPARK_POINTS)
    label = f"{'validation loss' if name in LOSS_NAMES else f'{name} ({stage})'} by step"
    return key_from(label, [r["avg"] for r in rows])


def health_counts(rows: list[ModelRow]) -> dict[str, int]:
    counts = Counter(row.health for row in rows)
    return {state: counts.get(state, 0) for state in ("ok", "warning", "critical")}


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
    """(title, rule groups) sections: the chosen state, else firing, pending and recent;
    the per-feature alerts of one rule form one group."""
    if state in ALERT_STATES:
        sections = [(state.capitalize(), alerts.order_by("-last_evaluated", "-id")[:200])]
    else:
        recent = alerts.filter(
            state=AlertState.RESOLVED, resolved_at__gte=now - timedelta(days=RECENT_DAYS)
        )
        sections = [
            ("Firing", alerts.filter(state=AlertState.FIRING).order_by("-started_at", "-id")),
            ("Pending", alerts.filter(state=AlertState.PENDING).order_by("-pending_since")),
            (
                f"Resolved in the last {RECENT_DAYS} days",
                recent.order_by("-resolved_at", "-id")[:100],
            ),
        ]
    return [(title, linked_groups(rows, now)) for title, rows in sections]


def linked_groups(alerts, now: datetime) -> list[RuleGroup]:
    groups = group_by_rule(alerts)
    for group in groups:
        group.link = alert_link(group.first, now)
    return groups


def acknowledge_rule(rule: AlertRule, user, now: datetime, note: str = "") -> int:
    """Acknowledge every active, unacknowledged alert of `rule`; answers how many."""
    waiting = Alert.objects.filter(rule=rule, state__in=ACTIVE, acknowledged_at=None).values_list(
        "pk", flat=True
    )
    return sum(lifecycle.acknowledge(pk, user, now, note) is not None for pk in waiting)


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
