"""Serving figures from the profiles of the outputs: prediction and error counts, labels
and latency percentiles, read from O(buckets) rows instead of every prediction.

Predictions and errors come from the `__error__` profile (`count` = errors, the other
rows = predictions without error), labels from `__label__`, latency from the merged
`__latency_ms__` log-bucket sketches: within 1% relative error of
`numpy.percentile(x, q, method="lower")`.
"""

from collections import Counter, defaultdict
from datetime import datetime, timedelta

from django.db.models import Q, QuerySet, Sum

from models_app.models import DailyProfile, Model, ModelVersion, Profile
from models_app.profiles.sketch import (
    CATEGORICAL,
    NUMERIC,
    FeatureProfile,
    conform,
    merge_all,
    sketch_quantile,
)
from models_app.profiles.specs import ERROR, LABEL, LATENCY
from models_app.profiles.store import profile_from_row
from models_app.profiles.window import read_window
from models_app.series import floor_time

DAILY_MIN_SPAN = timedelta(days=45)  # serving series go by day beyond this span, by hour below
HOUR_SECONDS, DAY_SECONDS = 3600, 86400


def owned_by(version_or_model: ModelVersion | Model) -> Q:
    if isinstance(version_or_model, Model):
        return Q(version__model=version_or_model)
    return Q(version=version_or_model)


def window_serving(version_or_model: ModelVersion | Model, start: datetime, end: datetime) -> dict:
    """Serving figures over [start, end] (hour buckets), for a version or a whole model.

    `{"predictions", "errors", "error_rate", "labels", "label_coverage", "latency":
    {"count", "mean", "min", "max", "p50", "p95", "p99"}}`.
    """
    grouped = read_window(
        owned_by(version_or_model), start, end, [LATENCY, ERROR, LABEL], samples=False
    )
    error = serving_merge(grouped[ERROR], CATEGORICAL)
    latency = serving_merge(grouped[LATENCY], NUMERIC)
    labels = sum(row["count"] for row in grouped[LABEL])
    return serving_figures(error.rows, error.count, labels, latency)


def serving_merge(rows: list[dict], kind: str) -> FeatureProfile:
    """Merge across versions and references: counts and sketch only (bins dropped)."""
    profiles = [conform(profile_from_row(r), kind, []) for r in rows]
    return merge_all(profiles) if profiles else FeatureProfile("", kind)


def serving_figures(predictions: int, errors: int, labels: int, latency: FeatureProfile) -> dict:
    quantile = sketch_quantile
    return {
        "predictions": predictions,
        "errors": errors,
        "error_rate": errors / predictions if predictions else None,
        "labels": labels,
        "label_coverage": labels / predictions if predictions else None,
        "latency": {
            "count": latency.count,
            "mean": latency.mean,
            "min": latency.min,
            "max": latency.max,
            "p50": quantile(latency.sketch, 0.50),
            "p95": quantile(latency.sketch, 0.95),
            "p99": quantile(latency.sketch, 0.99),
        },
    }


# --- serving series: one figure per hour or per day ---------------------------------------


def bucket_seconds(start: datetime, end: datetime) -> int:
    """The serving series' bucket: a day past DAILY_MIN_SPAN, else an hour."""
    return DAY_SECONDS if end - start > DAILY_MIN_SPAN else HOUR_SECONDS


def serving_tiers(owner: Q, start: datetime, end: datetime, daily: bool) -> list[QuerySet]:
    """The stored rows of the serving outputs, each prediction counted once: hourly rows
    (rolled up and partial), or daily rows plus the partial rows not yet in them."""
    scope = owner & Q(
        feature__in=(LATENCY, ERROR, LABEL), bucket_start__gte=start, bucket_start__lte=end
    )
    hourly = Profile.objects.filter(scope)
    if not daily:
        return [hourly]
    return [DailyProfile.objects.filter(scope), hourly.filter(rolled_up=False)]


def serving_buckets(
    version_or_model: ModelVersion | Model, start: datetime, end: datetime
) -> list[dict]:
    """Serving per hour (per day past DAILY_MIN_SPAN) over [start, end], by bucket start:
    `[{"timestamp", "predictions", "errors", "labels", "sketch"}]` ([] without profiles);
    the merged latency sketch gives percentiles with `sketch_quantile`."""
    step = bucket_seconds(start, end)
    buckets: dict = defaultdict(
        lambda: {"predictions": 0, "errors": 0, "labels": 0, "sketch": Counter()}
    )
    fields = ("bucket_start", "feature", "count", "missing", "type_errors", "sketch")
    for tier in serving_tiers(
        owned_by(version_or_model), floor_time(start, step), end, daily=step == DAY_SECONDS
    ):
        for moment, feature, count, missing, type_errors, sketch in tier.values_list(*fields):
            bucket = buckets[floor_time(moment, step)]
            if feature == ERROR:
                bucket["predictions"] += count + missing + type_errors
                bucket["errors"] += count
            elif feature == LABEL:
                bucket["labels"] += count
            else:
                bucket["sketch"].update({int(k): v for k, v in (sketch or {}).items()})
    return [{"timestamp": moment, **bucket} for moment, bucket in sorted(buckets.items())]


def serving_by_version(model: Model, start: datetime, end: datetime) -> dict[int, dict]:
    """{version id: {"predictions", "errors", "latency" (mean)}} over [start, end], summed
    in SQL over the serving profiles (by hour, or by day past DAILY_MIN_SPAN); versions
    without predictions are left out."""
    step = bucket_seconds(start, end)
    scope = Q(version__model=model) & Q(feature__in=(LATENCY, ERROR))
    sums = {"n": Sum("count"), "other": Sum("missing") + Sum("type_errors"), "total": Sum("sum")}
    stats: dict[int, dict] = defaultdict(
        lambda: {"predictions": 0, "errors": 0, "n": 0, "total": 0.0}
    )
    for tier in serving_tiers(scope, floor_time(start, step), end, daily=step == DAY_SECONDS):
        for row in tier.values("version_id", "feature").annotate(**sums).order_by():
            add_version_sums(stats[row["version_id"]], row)
    return {
        pk: {
            "predictions": s["predictions"],
            "errors": s["errors"],
            "latency": s["total"] / s["n"] if s["n"] else None,
        }
        for pk, s in stats.items()
        if s["predictions"]
    }


def add_version_sums(stat: dict, row: dict) -> None:
    if row["feature"] == ERROR:
        stat["predictions"] += (row["n"] or 0) + (row["other"] or 0)
        stat["errors"] += row["n"] or 0
    else:
        stat["n"] += row["n"] or 0
        stat["total"] += row["total"] or 0.0
