"""Alert spans: when each alert was pending or firing, rebuilt from its transitions.

`spans_from_history` is pure; `alert_spans` loads the rows of one model and a range.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from alerts_app.models import Alert, AlertTransition
from frontend.ranges import TimeRange

ACTIVE = ("pending", "firing")


@dataclass(frozen=True)
class Span:
    alert_id: int
    rule_id: int
    rule: str
    kind: str
    metric: str
    severity: str
    feature: str
    state: str  # pending | firing
    start: datetime
    end: datetime | None  # None while still open

    def overlaps(self, start: datetime, end: datetime) -> bool:
        return self.start <= end and (self.end is None or self.end >= start)


Stretch = tuple[str, datetime, datetime | None]


def spans_from_history(history: list[tuple[datetime, str]]) -> list[Stretch]:
    """[(state, start, end)] from time-ordered (time, new state) changes.

    Each pending or firing stretch lasts until the next change; the last one is open.
    A repeated state (a reminder) continues the stretch it repeats.
    """
    spans: list[Stretch] = []
    current: tuple[str, datetime] | None = None
    for moment, state in history:
        if current and current[0] == state:
            continue
        if current:
            spans.append((current[0], current[1], moment))
        current = (state, moment) if state in ACTIVE else None
    if current:
        spans.append((current[0], current[1], None))
    return spans


def history_of(alert: Alert, transitions: list[tuple[datetime, str]]) -> list[tuple[datetime, str]]:
    """The alert's changes; without stored transitions, those its own fields imply."""
    if transitions:
        return transitions
    implied = [
        (alert.pending_since, "pending"),
        (alert.started_at, "firing"),
        (alert.resolved_at, "resolved"),
    ]
    return sorted((moment, state) for moment, state in implied if moment is not None)


def alert_spans(
    model_id: int, window: TimeRange, version_id: int | None = None, rule_id: int | None = None
) -> list[Span]:
    """Pending and firing spans of the model's alerts that overlap the window."""
    alerts = Alert.objects.filter(rule__model_id=model_id).select_related("rule")
    if version_id is not None:
        alerts = alerts.filter(version_id__in=[version_id, None])
    if rule_id is not None:
        alerts = alerts.filter(rule_id=rule_id)
    alerts = list(alerts)
    changes = transitions_by_alert([a.id for a in alerts], window.end)
    spans = []
    for alert in alerts:
        for state, start, end in spans_from_history(history_of(alert, changes[alert.id])):
            span = make_span(alert, state, start, end)
            if span.overlaps(window.start, window.end):
                spans.append(span)
    return sorted(spans, key=lambda s: s.start)


def transitions_by_alert(alert_ids: list[int], until: datetime) -> dict[int, list]:
    rows = (
        AlertTransition.objects.filter(alert_id__in=alert_ids, created_at__lte=until)
        .order_by("created_at", "id")
        .values_list("alert_id", "created_at", "new")
    )
    grouped: dict[int, list] = defaultdict(list)
    for alert_id, moment, state in rows:
        grouped[alert_id].append((moment, state))
    return grouped


def make_span(alert: Alert, state: str, start: datetime, end: datetime | None) -> Span:
    config = alert.rule.config or {}
    return Span(
        alert_id=alert.id,
        rule_id=alert.rule_id,
        rule=alert.rule.name,
        kind=alert.rule.kind,
        metric=str(config.get("metric") or ""),
        severity=alert.rule.severity,
        feature=alert.feature,
        state=state,
        start=start,
        end=end,
    )


def span_edges(spans: list[Span], window: TimeRange) -> list[tuple[datetime, datetime]]:
    """The spans clipped to the window, touching or overlapping ones merged (a pending
    stretch and the firing one it turned into are one stretch): whose edge points must
    survive downsampling."""
    clipped = sorted(
        (max(s.start, window.start), min(s.end or window.end, window.end)) for s in spans
    )
    merged: list[tuple[datetime, datetime]] = []
    for start, end in clipped:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged
