"""ORM -> arrays: the data each rule kind's check needs for its window.

A window is (now - window, now]. Loaders return plain numpy arrays / dicts; the
checks never touch the ORM. `NoData` means the check cannot even start (an unknown
version, a version without a reference); the evaluation answers insufficient_data.
"""

from collections.abc import Callable
from datetime import datetime, timedelta

import numpy as np
from django.db.models import Count, Max, Q

from models_app.models import MetricPoint, Model, ModelVersion, Prediction

LOADERS: dict[str, Callable] = {}
VERSION_BOUND = frozenset({"data_drift", "prediction_drift", "data_quality",
                           "estimated_performance", "overfitting", "underfitting",
                           "parameter_health"})


class NoData(Exception):
    """The check cannot run: the message says why."""


def loader(*kinds: str) -> Callable:
    def decorate(func: Callable) -> Callable:
        for kind in kinds:
            LOADERS[kind] = func
        return func
    return decorate


def target_version(model: Model, kind: str, config: dict) -> ModelVersion | None:
    """The named version; else the latest for version-bound kinds; else None (all)."""
    name = config.get("version")
    if name:
        found = ModelVersion.objects.filter(model=model, version=name).first()
        if found is None:
            raise NoData(f'Version "{name}" of model "{model.name}" does not exist.')
        return found
    if kind in VERSION_BOUND:
        latest = model.latest_version()
        if latest is None:
            raise NoData(f'Model "{model.name}" has no version.')
        return latest
    return None


def window_start(now: datetime, seconds: int) -> datetime:
    return now - timedelta(seconds=seconds)


def _scoped(queryset, model: Model, version: ModelVersion | None):
    queryset = queryset.filter(model=model)
    return queryset.filter(version=version) if version is not None else queryset


def _values(queryset, field: str = "value") -> np.ndarray:
    return np.fromiter(queryset.values_list(field, flat=True), dtype=float)


def metric_points(model, version, config: dict, start: datetime, end: datetime):
    points = MetricPoint.objects.filter(
        name=config["metric"], stage=config["stage"], timestamp__gt=start, timestamp__lte=end
    )
    return _scoped(points, model, version).order_by("timestamp", "id")


def load(kind: str, model: Model, version: ModelVersion | None, config: dict,
         now: datetime):
    return LOADERS[kind](model, version, config, now)


@loader("metric_threshold")
def load_metric_window(model, version, config: dict, now: datetime) -> np.ndarray:
    start = window_start(now, config["window"])
    return _values(metric_points(model, version, config, start, now))


@loader("metric_change")
def load_metric_change(model, version, config: dict, now: datetime) -> dict:
    split = window_start(now, config["window"])
    start = window_start(split, config["baseline_window"])
    return {"current": _values(metric_points(model, version, config, split, now)),
            "baseline": _values(metric_points(model, version, config, start, split))}


@loader("metric_anomaly")
def load_metric_tail(model, version, config: dict, now: datetime) -> np.ndarray:
    """The last `lookback` + 1 points up to `now`, oldest first."""
    points = MetricPoint.objects.filter(
        name=config["metric"], stage=config["stage"], timestamp__lte=now
    )
    tail = _scoped(points, model, version).order_by("-timestamp", "-id")[: config["lookback"] + 1]
    return _values(tail)[::-1].copy()


def window_predictions(model, version, config: dict, now: datetime):
    start = window_start(now, config["window"])
    rows = Prediction.objects.filter(timestamp__gt=start, timestamp__lte=now)
    return _scoped(rows, model, version)


@loader("latency")
def load_latencies(model, version, config: dict, now: datetime) -> np.ndarray:
    rows = window_predictions(model, version, config, now).filter(latency_ms__isnull=False)
    return _values(rows, "latency_ms")


@loader("error_rate")
def load_error_counts(model, version, config: dict, now: datetime) -> dict:
    rows = window_predictions(model, version, config, now)
    counts = rows.aggregate(total=Count("pk"), errors=Count("pk", filter=~Q(error="")))
    return {"total": counts["total"], "errors": counts["errors"]}


def _arrivals(queryset, model, version, start: datetime, now: datetime) -> tuple[int, datetime]:
    scoped = _scoped(queryset, model, version).filter(timestamp__lte=now)
    count = scoped.filter(timestamp__gt=start).count()
    return count, scoped.aggregate(last=Max("timestamp"))["last"]


@loader("no_data")
def load_arrivals(model, version, config: dict, now: datetime) -> dict:
    """How many records arrived from `source` in the window, and when the last one did."""
    start = window_start(now, config["window"])
    sources = {"predictions": [Prediction.objects], "metrics": [MetricPoint.objects],
               "any": [Prediction.objects, MetricPoint.objects]}[config["source"]]
    seen = [_arrivals(qs.all(), model, version, start, now) for qs in sources]
    lasts = [last for _, last in seen if last is not None]
    return {"count": sum(count for count, _ in seen),
            "last_seen": max(lasts).isoformat() if lasts else None}
