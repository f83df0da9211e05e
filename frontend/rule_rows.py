"""Rows of the /rules/ page: each rule with its worst alert state, last result, sparkline.

Three queries whatever the number of rules: the alerts' states grouped by rule, the
newest result per rule (a correlated subquery on the `(rule, evaluated_at)` index) and
the recent values of every rule bucketed in SQL.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Avg, F, OuterRef, QuerySet, Subquery

from alerts_app.models import Alert, AlertRule, CheckResult
from frontend.charts_alerts import sparkline_points
from models_app.series import BucketIndex, bucket_width

SPARK_HOURS = 24
SPARK_POINTS = 48
STATE_ORDER = ("firing", "pending", "resolved", "ok")


@dataclass
class RuleRow:
    rule: AlertRule
    state: str  # the worst state of its alerts, "" without any
    alerts: int
    last: CheckResult | None
    spark: str


def worst_states(rule_ids: list[int]) -> dict[int, tuple[str, int]]:
    """{rule id: (worst state, number of active alerts)}."""
    states: dict[int, set[str]] = defaultdict(set)
    active: dict[int, int] = defaultdict(int)
    for rule_id, state in Alert.objects.filter(rule_id__in=rule_ids).values_list(
        "rule_id", "state"
    ):
        states[rule_id].add(state)
        active[rule_id] += state in ("firing", "pending")
    return {
        rule_id: (next(s for s in STATE_ORDER if s in found), active[rule_id])
        for rule_id, found in states.items()
    }


def last_results(rule_ids: list[int]) -> dict[int, CheckResult]:
    newest = CheckResult.objects.filter(rule=OuterRef("pk")).order_by("-evaluated_at", "-id")
    ids = (
        AlertRule.objects.filter(pk__in=rule_ids)
        .annotate(last_id=Subquery(newest.values("id")[:1]))
        .values_list("last_id", flat=True)
    )
    results = CheckResult.objects.filter(id__in=[i for i in ids if i is not None]).defer("details")
    return {result.rule_id: result for result in results}


def recent_values(rule_ids: list[int], now: datetime) -> dict[int, list[float]]:
    """{rule id: bucketed average values over the last SPARK_HOURS}, oldest first."""
    start = now - timedelta(hours=SPARK_HOURS)
    width = bucket_width(start, now, SPARK_POINTS)
    rows = (
        CheckResult.objects.filter(
            rule_id__in=rule_ids, evaluated_at__gte=start, evaluated_at__lte=now
        )
        .exclude(value=None)
        .annotate(bucket=BucketIndex(F("evaluated_at"), start.timestamp(), width))
        .values("rule_id", "bucket")
        .annotate(avg=Avg("value"))
        .order_by("rule_id", "bucket")
    )
    values: dict[int, list[float]] = defaultdict(list)
    for row in rows:
        values[row["rule_id"]].append(row["avg"])
    return values


def rule_rows(rules: QuerySet, now: datetime) -> list[RuleRow]:
    chosen = list(rules.select_related("model").order_by("model__name", "name", "pk"))
    ids = [rule.pk for rule in chosen]
    states, last, values = worst_states(ids), last_results(ids), recent_values(ids, now)
    return [
        RuleRow(
            rule=rule,
            state=states.get(rule.pk, ("", 0))[0],
            alerts=states.get(rule.pk, ("", 0))[1],
            last=last.get(rule.pk),
            spark=sparkline_points(values.get(rule.pk, [])),
        )
        for rule in chosen
    ]
