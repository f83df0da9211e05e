"""Metric points of a window: threshold, change and anomaly rules."""

from datetime import datetime

import numpy as np

from alerts_app.loaders.base import values_of, window_start
from models_app.models import MetricPoint
from models_app.series import scoped


def metric_points(model, version, config: dict, start: datetime, end: datetime):
    points = MetricPoint.objects.filter(
        name=config["metric"], stage=config["stage"], timestamp__gt=start, timestamp__lte=end
    )
    return scoped(points, model, version).order_by("timestamp", "id")


def load_metric_window(model, version, config: dict, now: datetime) -> np.ndarray | dict:
    """The window's points; with `"threshold": "auto"` also the points of the
    reference_window just before it, the history the threshold is calibrated on."""
    start = window_start(now, config["window"])
    values = values_of(metric_points(model, version, config, start, now))
    if config["threshold"] != "auto":
        return values
    before = window_start(start, config["reference_window"])
    return {
        "values": values,
        "reference": values_of(metric_points(model, version, config, before, start)),
    }


def load_metric_change(model, version, config: dict, now: datetime) -> dict:
    split = window_start(now, config["window"])
    start = window_start(split, config["baseline_window"])
    return {
        "current": values_of(metric_points(model, version, config, split, now)),
        "baseline": values_of(metric_points(model, version, config, start, split)),
    }


def load_metric_tail(model, version, config: dict, now: datetime) -> np.ndarray:
    """The last `lookback` + 1 points up to `now`, oldest first."""
    points = MetricPoint.objects.filter(
        name=config["metric"], stage=config["stage"], timestamp__lte=now
    )
    tail = scoped(points, model, version).order_by("-timestamp", "-id")[: config["lookback"] + 1]
    return values_of(tail)[::-1].copy()
