"""ORM -> arrays: the data each rule kind's check needs for its window.

A window is (now - window, now]. Loaders return plain numpy arrays / dicts; the
checks never touch the ORM. `NoData` means the check cannot even start (an unknown
version, a version without a reference); the evaluation answers insufficient_data.
"""

from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

import numpy as np
from django.db import connection
from django.db.models import Aggregate, Count, FloatField, Max, Q

from alerts_app.checks.performance import LabelledWindow
from alerts_app.checks.serving import latency_percentile
from alerts_app.checks.training import Curve
from models_app import profiles, profiling
from models_app.models import MetricPoint, Model, ModelVersion, ParameterStat, Prediction

LOADERS: dict[str, Callable] = {}
RAW_WINDOW_MAX = 3600
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


def reads_rows(config: dict) -> bool:
    """Short windows read the rows (exact); longer ones the hourly profiles."""
    return config["window"] <= RAW_WINDOW_MAX


class PercentileCont(Aggregate):
    """PostgreSQL's percentile_cont: linear interpolation, as numpy.percentile."""

    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression, fraction: float, **extra):
        super().__init__(expression, fraction=repr(float(fraction)), **extra)


def row_latency(rows, percentile: float) -> dict:
    rows = rows.filter(latency_ms__isnull=False)
    if connection.vendor == "postgresql":
        found = rows.aggregate(n=Count("pk"), value=PercentileCont("latency_ms", percentile / 100))
        return {"n": found["n"], "value": found["value"], "source": "rows"}
    values = _values(rows, "latency_ms")
    value = latency_percentile(values, percentile) if len(values) else None
    return {"n": len(values), "value": value, "source": "rows"}


def model_versions(model, version) -> list:
    return [version] if version is not None else list(model.versions.all())


def sketch_latency(model, version, config: dict, now: datetime) -> dict:
    """The percentile from the merged log-bucket sketches (within 1 %)."""
    start, merged = window_start(now, config["window"]), Counter()
    for each in model_versions(model, version):
        found = profiles.window_profiles(each, start, now, [profiles.LATENCY])
        if profiles.LATENCY in found:
            merged.update(found[profiles.LATENCY].sketch)
    n = sum(merged.values())
    value = profiling.sketch_quantile(dict(merged), config["percentile"] / 100) if n else None
    return {"n": n, "value": value, "source": "profiles"}


@loader("latency")
def load_latency(model, version, config: dict, now: datetime) -> dict:
    if reads_rows(config):
        return row_latency(window_predictions(model, version, config, now), config["percentile"])
    return sketch_latency(model, version, config, now)


@loader("error_rate")
def load_error_counts(model, version, config: dict, now: datetime) -> dict:
    if not reads_rows(config):
        start = window_start(now, config["window"])
        figures = profiles.window_serving(version or model, start, now)
        return {"total": figures["predictions"], "errors": figures["errors"]}
    rows = window_predictions(model, version, config, now)
    counts = rows.aggregate(total=Count("pk"), errors=Count("pk", filter=~Q(error="")))
    return {"total": counts["total"], "errors": counts["errors"]}


def last_arrival(queryset, model, version, now: datetime) -> datetime | None:
    return _scoped(queryset, model, version).filter(timestamp__lte=now).aggregate(
        last=Max("timestamp"))["last"]


@loader("no_data")
def load_silence(model, version, config: dict, now: datetime) -> dict:
    """Seconds since the last record from `source` (None: nothing ever arrived)."""
    sources = {"predictions": [Prediction], "metrics": [MetricPoint],
               "any": [Prediction, MetricPoint]}[config["source"]]
    lasts = [t for t in (last_arrival(m.objects.all(), model, version, now) for m in sources)
             if t is not None]
    if not lasts:
        return {"silence": None, "last_seen": None}
    last = max(lasts)
    return {"silence": (now - last).total_seconds(), "last_seen": last.isoformat()}


@loader("performance")
def load_labelled(model, version, config: dict, now: datetime) -> dict:
    """The window's labelled predictions (label, prediction, scores) and its row count."""
    rows = window_predictions(model, version, config, now)
    labelled = list(rows.filter(label__isnull=False).values_list("label", "prediction",
                                                                 "scores"))
    labels, predictions, scores = (list(c) for c in zip(*labelled, strict=True)) \
        if labelled else ([], [], [])
    window = LabelledWindow(labels, predictions, scores, total=rows.count())
    return {"window": window, "task": model.task}


def training_curve(version, stage: str, metric: str) -> Curve:
    points = MetricPoint.objects.filter(version=version, stage=stage, name=metric,
                                        step__isnull=False).order_by("step", "timestamp", "id")
    steps, values = [], []
    for step, value in points.values_list("step", "value"):
        if steps and steps[-1] == step:
            values[-1] = value  # the last value logged at a step wins
        else:
            steps.append(step)
            values.append(value)
    return Curve(np.asarray(steps, dtype=np.int64), np.asarray(values, dtype=float))


@loader("overfitting")
def load_fit_curves(model, version, config: dict, now: datetime) -> dict:
    return {"train": training_curve(version, "train", config["train_metric"]),
            "validation": training_curve(version, "validation", config["validation_metric"])}


@loader("underfitting")
def load_train_curve(model, version, config: dict, now: datetime) -> Curve:
    return training_curve(version, config["stage"], config["metric"])


PARAMETER_FIELDS = ("tensor", "step", "mean", "std", "min", "max", "l2_norm", "nan_count",
                    "inf_count", "grad_norm")


@loader("parameter_health")
def load_parameter_steps(model, version, config: dict, now: datetime) -> dict:
    """Per tensor, its rows at the version's last two logged steps (oldest first)."""
    stats = ParameterStat.objects.filter(version=version, timestamp__lte=now)
    steps = list(stats.exclude(step=None).order_by("-step").values_list("step", flat=True)
                 .distinct()[:2])
    chosen = stats.filter(step__in=steps) if steps else stats.filter(
        timestamp__gte=stats.aggregate(last=Max("timestamp"))["last"] or now)
    tensors: dict[str, list[dict]] = {}
    for row in chosen.order_by("tensor", "step", "timestamp").values(*PARAMETER_FIELDS):
        tensors.setdefault(row["tensor"], []).append(row)
    return tensors
