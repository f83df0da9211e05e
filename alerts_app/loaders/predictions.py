"""Predictions of a window: latency, error counts and labelled rows.

Short windows read the prediction rows (exact); longer ones the hourly serving profiles.
"""

from collections import Counter
from datetime import datetime

from django.db import connection
from django.db.models import Count, Q

from alerts_app.checks.performance import LabelledWindow
from alerts_app.checks.serving import latency_percentile
from alerts_app.loaders.base import values_of, window_start
from models_app import profiles
from models_app.models import Prediction
from models_app.series import Percentile, scoped

RAW_WINDOW_MAX = 3600


def window_predictions(model, version, config: dict, now: datetime):
    start = window_start(now, config["window"])
    rows = Prediction.objects.filter(timestamp__gt=start, timestamp__lte=now)
    return scoped(rows, model, version)


def reads_rows(config: dict) -> bool:
    """Short windows read the rows (exact); longer ones the hourly profiles."""
    return config["window"] <= RAW_WINDOW_MAX


def row_latency(rows, percentile: float) -> dict:
    rows = rows.filter(latency_ms__isnull=False)
    if connection.vendor == "postgresql":
        found = rows.aggregate(n=Count("pk"), value=Percentile("latency_ms", percentile / 100))
        return {"n": found["n"], "value": found["value"], "source": "rows"}
    values = values_of(rows, "latency_ms")
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
    value = profiles.sketch_quantile(dict(merged), config["percentile"] / 100) if n else None
    return {"n": n, "value": value, "source": "profiles"}


def load_latency(model, version, config: dict, now: datetime) -> dict:
    if reads_rows(config):
        return row_latency(window_predictions(model, version, config, now), config["percentile"])
    return sketch_latency(model, version, config, now)


def load_error_counts(model, version, config: dict, now: datetime) -> dict:
    if not reads_rows(config):
        start = window_start(now, config["window"])
        figures = profiles.window_serving(version or model, start, now)
        return {"total": figures["predictions"], "errors": figures["errors"]}
    rows = window_predictions(model, version, config, now)
    counts = rows.aggregate(total=Count("pk"), errors=Count("pk", filter=~Q(error="")))
    return {"total": counts["total"], "errors": counts["errors"]}


MAX_SEGMENT_FEATURES = 30
MAX_CATEGORY_LENGTH = 100


def categorical_features(features) -> dict:
    """The categorical inputs of one row, bounded: text and boolean values of at most
    100 characters, at most 30 of them (the first by name); numbers are not segments."""
    if not isinstance(features, dict):
        return {}
    kept = {
        name: value
        for name, value in features.items()
        if isinstance(value, bool) or (isinstance(value, str) and len(value) <= MAX_CATEGORY_LENGTH)
    }
    return {name: kept[name] for name in sorted(kept)[:MAX_SEGMENT_FEATURES]}


MAX_REFERENCE_ROWS = 50_000


def reference_labelled(model, version, config: dict, now: datetime) -> LabelledWindow:
    """The labelled predictions of the reference_window just before the rule's window,
    oldest first (its newest MAX_REFERENCE_ROWS): what `"threshold": "auto"` is
    calibrated on."""
    end = window_start(now, config["window"])
    start = window_start(end, config["reference_window"])
    rows = scoped(
        Prediction.objects.filter(timestamp__gt=start, timestamp__lte=end, label__isnull=False),
        model,
        version,
    )
    newest = list(
        rows.order_by("-timestamp", "-id").values_list("label", "prediction", "scores")[
            :MAX_REFERENCE_ROWS
        ]
    )[::-1]
    labels, predictions, scores = (
        (list(c) for c in zip(*newest, strict=True)) if newest else ([], [], [])
    )
    return LabelledWindow(labels, predictions, scores, total=len(newest))


def load_labelled(model, version, config: dict, now: datetime) -> dict:
    """The window's labelled predictions (label, prediction, scores, categorical
    features for the segments of the causes) and its row count; with `"threshold":
    "auto"`, also those of the reference window (`reference_labelled`)."""
    rows = window_predictions(model, version, config, now)
    labelled = list(
        rows.filter(label__isnull=False).values_list("label", "prediction", "scores", "features")
    )
    labels, predictions, scores, features = (
        (list(c) for c in zip(*labelled, strict=True)) if labelled else ([], [], [], [])
    )
    window = LabelledWindow(
        labels,
        predictions,
        scores,
        total=rows.count(),
        features=[categorical_features(f) for f in features],
    )
    found = {"window": window, "task": model.task}
    if config["threshold"] == "auto":
        found["reference"] = reference_labelled(model, version, config, now)
    return found
