"""Metric checks: one aggregate vs a threshold, and a window vs the window before it."""

import numpy as np

from alerts_app.checks.base import Outcome, breaks, insufficient, verdict

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


def metric_threshold(values: np.ndarray, config: dict) -> Outcome:
    """`aggregation(values) <operator> threshold` breaks the rule; no points: insufficient."""
    how, threshold = config["aggregation"], config["threshold"]
    if len(values) == 0 and how != "count":
        return insufficient(
            f'No points of "{config["metric"]}" in the window.', threshold, points=0
        )
    value = aggregate(values, how)
    return verdict(
        breaks(value, config["operator"], threshold),
        value,
        threshold,
        aggregation=how,
        operator=config["operator"],
        points=len(values),
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
