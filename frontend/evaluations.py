"""CheckResult history -> DataFrames: drift heatmaps, performance estimates, rule history.

A rule evaluated every few minutes stores ~100k results a year, so every read here is
bucketed in SQL with `models_app.series.BucketIndex` and only the chosen rows' JSON
details are loaded.
"""

import pandas as pd
from django.db.models import Avg, Count, F, Max, Min, Q, QuerySet

from alerts_app import kinds
from alerts_app.models import AlertRule, AlertTransition, CheckResult
from frontend.ranges import TimeRange
from models_app.models import Model, ModelVersion
from models_app.series import BucketIndex, bucket_width

HEATMAP_COLUMNS = 120
RESULT_POINTS = 1500
DRIFT_COLUMNS = [
    "timestamp",
    "feature",
    "statistic",
    "threshold",
    "p_value",
    "p_value_adjusted",
    "method",
    "drifted",
    "rule",
]
RESULT_COLUMNS = ["timestamp", "value", "min", "max", "threshold", "count", "breached"]
RESULT_ALIASES = ["first", "avg", "lo", "hi", "limit", "n", "n_breached"]


def model_results(
    model: Model, version: ModelVersion | None, window: TimeRange, kinds: tuple[str, ...]
) -> QuerySet:
    results = CheckResult.objects.filter(
        rule__model=model,
        rule__kind__in=kinds,
        evaluated_at__gte=window.start,
        evaluated_at__lte=window.end,
    )
    return results.filter(version=version) if version is not None else results


def latest_per_bucket(results: QuerySet, window: TimeRange, buckets: int) -> list[tuple]:
    """(bucket start, rule name, details) of the newest result per rule per time bucket."""
    width = bucket_width(window.start, window.end, buckets)
    origin = window.start.timestamp()
    newest = (
        results.annotate(bucket=BucketIndex(F("evaluated_at"), origin, width))
        .values("rule_id", "bucket")
        .annotate(last=Max("id"))
        .values_list("last", "bucket")
    )
    bucket_of = dict(newest)
    rows = CheckResult.objects.filter(id__in=list(bucket_of)).values_list(
        "id", "rule__name", "details"
    )
    start = pd.Timestamp(window.start)
    return [
        (start + pd.Timedelta(seconds=bucket_of[pk] * width), rule, details or {})
        for pk, rule, details in rows
    ]


def drift_frame(
    model: Model,
    version: ModelVersion | None,
    window: TimeRange,
    buckets: int = HEATMAP_COLUMNS,
    rule: AlertRule | None = None,
) -> pd.DataFrame:
    """Long frame of per-feature drift: one row per (time bucket, feature)."""
    results = model_results(model, version, window, kinds.named(figure="drift"))
    if rule is not None:
        results = results.filter(rule=rule)
    rows = [
        feature_row(moment, rule_name, feature, verdict)
        for moment, rule_name, details in latest_per_bucket(results, window, buckets)
        for feature, verdict in (details.get("features") or {}).items()
        if isinstance(verdict, dict)
    ]
    frame = pd.DataFrame(rows, columns=DRIFT_COLUMNS)
    return frame.sort_values(["timestamp", "feature"], ignore_index=True)


def feature_row(moment, rule: str, feature: str, verdict: dict) -> dict:
    return {
        "timestamp": moment,
        "feature": feature,
        "statistic": number(verdict.get("statistic")),
        "threshold": number(verdict.get("threshold")),
        "p_value": number(verdict.get("p_value")),
        "p_value_adjusted": number(verdict.get("p_value_adjusted")),
        "method": str(verdict.get("method") or ""),
        "drifted": bool(verdict.get("drifted")),
        "rule": rule,
    }


def number(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def latest_drift(model: Model, version: ModelVersion | None) -> dict:
    """Per-feature verdicts of the newest data-drift result: {feature: verdict}."""
    results = CheckResult.objects.filter(
        rule__model=model, rule__kind__in=kinds.named(hint="distribution")
    )
    if version is not None:
        results = results.filter(version=version)
    newest = results.order_by("-evaluated_at", "-id").values_list("details", flat=True).first()
    features = (newest or {}).get("features") or {}
    return {name: v for name, v in features.items() if isinstance(v, dict)}


def result_frame(
    results: QuerySet, window: TimeRange, max_points: int = RESULT_POINTS
) -> pd.DataFrame:
    """Check results bucketed: value avg/min/max, threshold, breached (any), count."""
    width = bucket_width(window.start, window.end, max_points)
    rows = (
        results.filter(evaluated_at__gte=window.start, evaluated_at__lte=window.end)
        .annotate(bucket=BucketIndex(F("evaluated_at"), window.start.timestamp(), width))
        .values("bucket")
        .annotate(
            first=Min("evaluated_at"),
            avg=Avg("value"),
            lo=Min("value"),
            hi=Max("value"),
            limit=Avg("threshold"),
            n=Count("pk"),
            n_breached=Count("pk", filter=Q(status="breached")),
        )
        .order_by("bucket")
    )
    frame = pd.DataFrame(list(rows), columns=["bucket", *RESULT_ALIASES]).rename(
        columns=dict(zip(RESULT_ALIASES, RESULT_COLUMNS, strict=True))
    )
    frame["breached"] = frame["breached"].astype(int) > 0
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    return frame[RESULT_COLUMNS]


def estimate_frames(
    model: Model, version: ModelVersion | None, window: TimeRange
) -> dict[str, pd.DataFrame]:
    """Performance as the rules measured it, keyed by a legend label.

    The rules of the kinds plotted on the performance figure (realised, or estimated such
    as CBPE), each bucketed over time.
    """
    frames = {}
    plotted = kinds.named(figure="performance")
    for rule in AlertRule.objects.filter(model=model, kind__in=plotted).order_by("kind", "name"):
        results = rule.results.exclude(value=None)
        if version is not None:
            results = results.filter(version=version)
        frame = result_frame(results, window, max_points=400)
        if not frame.empty:
            estimated = "estimated" in kinds.kind_of(rule.kind).hints
            label = "estimated" if estimated else "realised"
            frames[f"{label} {rule.config.get('metric', '')} ({rule.name})"] = frame
    return frames


def transitions_frame(rule: AlertRule, limit: int = 200) -> pd.DataFrame:
    rows = (
        AlertTransition.objects.filter(alert__rule=rule)
        .select_related("alert")
        .order_by("-created_at", "-id")[:limit]
    )
    return pd.DataFrame(
        [
            {
                "created_at": t.created_at,
                "old": t.old,
                "new": t.new,
                "event": t.event,
                "value": t.value,
                "threshold": t.threshold,
                "feature": t.alert.feature,
                "message": t.message,
            }
            for t in rows
        ],
        columns=["created_at", "old", "new", "event", "value", "threshold", "feature", "message"],
    )
