"""A version's training run: its metric curves by step and its weight statistics."""

from datetime import datetime

import numpy as np
from django.db.models import Max

from alerts_app.checks.training import Curve
from models_app.models import MetricPoint, ParameterStat

PARAMETER_FIELDS = (
    "tensor",
    "step",
    "mean",
    "std",
    "min",
    "max",
    "l2_norm",
    "nan_count",
    "inf_count",
    "grad_norm",
)


def training_curve(version, stage: str, metric: str) -> Curve:
    points = MetricPoint.objects.filter(
        version=version, stage=stage, name=metric, step__isnull=False
    ).order_by("step", "timestamp", "id")
    steps, values = [], []
    for step, value in points.values_list("step", "value"):
        if steps and steps[-1] == step:
            values[-1] = value  # the last value logged at a step wins
        else:
            steps.append(step)
            values.append(value)
    return Curve(np.asarray(steps, dtype=np.int64), np.asarray(values, dtype=float))


def load_fit_curves(model, version, config: dict, now: datetime) -> dict:
    return {
        "train": training_curve(version, "train", config["train_metric"]),
        "validation": training_curve(version, "validation", config["validation_metric"]),
    }


def load_train_curve(model, version, config: dict, now: datetime) -> Curve:
    return training_curve(version, config["stage"], config["metric"])


def load_parameter_steps(model, version, config: dict, now: datetime) -> dict:
    """Per tensor, its rows at the version's last two logged steps (oldest first)."""
    stats = ParameterStat.objects.filter(version=version, timestamp__lte=now)
    steps = list(
        stats.exclude(step=None).order_by("-step").values_list("step", flat=True).distinct()[:2]
    )
    chosen = (
        stats.filter(step__in=steps)
        if steps
        else stats.filter(timestamp__gte=stats.aggregate(last=Max("timestamp"))["last"] or now)
    )
    tensors: dict[str, list[dict]] = {}
    for row in chosen.order_by("tensor", "step", "timestamp").values(*PARAMETER_FIELDS):
        tensors.setdefault(row["tensor"], []).append(row)
    return tensors
