"""Metric checks: one aggregate vs a threshold, and a window vs the window before it."""

import numpy as np

from alerts_app.checks.base import Outcome, breaks, insufficient, verdict
from alerts_app.checks.calibration import Calibration, calibrate

PERCENTILES = {"p50": 50.0, "p95": 95.0, "p99": 99.0}


def aggregate(values: np.ndarray, how: str) -> float:
    """One number from a window's points (ordered by time): avg, min, max, last, sum, count,
    p50, p95, p99 (linear interpolation, as `numpy.percentile` and SQL percentile_cont)."""
    values = np.asarray(values, dtype=float)
    if how == "count":
        return float(len(values))
    if how in PERCENTILES:
        return float(np.percentile(values, PERCENTILES[how]))
    reducers = {
        "avg": np.mean,
        "min": np.min,
        "max": np.max,
        "sum": np.sum,
        "last": lambda v: v[-1],
    }
    return float(reducers[how](values))


def direction_of(operator: str) -> str:
    """Which side of a calibrated band breaks the rule: above it for > and >=."""
    return "upper" if operator in (">", ">=") else "lower"


def calibrate_aggregate(
    reference: np.ndarray, how: str, chunk_size: int, k: float, operator: str
) -> Calibration | None:
    """The calibrated threshold of `how` over consecutive chunks of `chunk_size` of the
    reference window's points (in time order)."""
    reference = np.asarray(reference, dtype=float)
    return calibrate(
        len(reference),
        lambda indices: aggregate(reference[indices], how),
        chunk_size,
        k,
        method=how,
        direction=direction_of(operator),
        ordered=True,
    )


def metric_threshold(data, config: dict) -> Outcome:
    """`aggregation(values) <operator> threshold` breaks the rule; no points: insufficient.

    `data`: the window's points, or with `"threshold": "auto"` {"values", "reference"
    (the points of reference_window, oldest first)}: the threshold is then calibrated
    on chunks of the reference of as many points as the window holds (or chunk_size).
    """
    values, reference = (
        (data["values"], data["reference"]) if isinstance(data, dict) else (data, None)
    )
    how, threshold = config["aggregation"], config["threshold"]
    shown = None if threshold == "auto" else threshold
    if len(values) == 0 and how != "count":
        return insufficient(f'No points of "{config["metric"]}" in the window.', shown, points=0)
    extra = {}
    if threshold == "auto":
        size = config.get("chunk_size") or len(values)
        found = calibrate_aggregate(reference, how, size, config["k"], config["operator"])
        if found is None:
            return insufficient(
                f"Too few points in the reference window ({len(reference)}) to calibrate "
                "a threshold (threshold auto).",
                None,
                points=len(values),
                reference_points=len(reference),
            )
        threshold, extra = found.threshold, {"calibration": found.as_dict()}
    value = aggregate(values, how)
    return verdict(
        breaks(value, config["operator"], threshold),
        value,
        threshold,
        aggregation=how,
        operator=config["operator"],
        points=len(values),
        **extra,
    )


def change_pct(current: float, baseline: float) -> float:
    """Signed change of `current` from `baseline`, in percent of |baseline|."""
    return (current - baseline) / abs(baseline) * 100.0


def metric_change(data: dict, config: dict) -> Outcome:
    """The window's aggregate vs the preceding baseline window's, in percent.

    `value` is the change in the watched direction (a drop of 30 % is 30 for
    direction=drop, -30 for rise), so the rule breaks when value > max_change_pct.
    """
    current, baseline = data["current"], data["baseline"]
    limit, how = config["max_change_pct"], config["aggregation"]
    if len(current) == 0 or len(baseline) == 0:
        return insufficient(
            "No points in the window or in the baseline window.",
            limit,
            points=len(current),
            baseline_points=len(baseline),
        )
    now, before = aggregate(current, how), aggregate(baseline, how)
    if before == 0:
        return insufficient(
            "The baseline aggregate is 0: a percent change is undefined.",
            limit,
            current=now,
            baseline=before,
        )
    signed = change_pct(now, before)
    value = {"drop": -signed, "rise": signed, "any": abs(signed)}[config["direction"]]
    return verdict(
        value > limit,
        value,
        limit,
        current=now,
        baseline=before,
        change_pct=signed,
        direction=config["direction"],
        points=len(current),
        baseline_points=len(baseline),
    )
