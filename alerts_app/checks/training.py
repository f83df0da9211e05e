"""Training health from metric curves by step: over-fitting and under-fitting.

Curves are oriented so that lower is better (mode "max" negates them).
- Over-fitting: at the last validation step, validation has not improved on its best
  for `patience` validation steps, the mean of its last `patience` values is worse than
  that best by more than both `min_delta` and 4 noise levels (the noise estimated
  robustly from the curve's second differences, so a converged, noisy run does not
  count as rising), and training has kept improving since (the mean of its last
  `patience` values below its value at the best validation step); or the
  validation-minus-train gap is above `max_gap`.
- Under-fitting: past `after_steps` the curve never reached `threshold`; or, earlier,
  a plateau: a Page-Hinkley test on the improvement per step (relative to the first
  value) finds that learning has slowed down, and a line through the last 10 points
  would not reach `threshold` by `after_steps` (a slow but steady run is not flagged).
"""

from dataclasses import dataclass

import numpy as np
from scipy import ndimage, stats

from alerts_app.checks.base import Outcome, insufficient, verdict

PLATEAU_RECENT = 10


@dataclass
class Curve:
    steps: np.ndarray
    values: np.ndarray

    @classmethod
    def of(cls, steps, values) -> "Curve":
        order = np.argsort(np.asarray(steps), kind="stable")
        return cls(np.asarray(steps)[order], np.asarray(values, dtype=float)[order])


def oriented(values: np.ndarray, mode: str) -> np.ndarray:
    return -np.asarray(values, float) if mode == "max" else np.asarray(values, float)


def align(train: Curve, validation: Curve) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(steps, train, validation) at the validation steps that have a train value at or
    before them (the last such train value)."""
    index = np.searchsorted(train.steps, validation.steps, side="right") - 1
    keep = index >= 0
    return validation.steps[keep], train.values[index[keep]], validation.values[keep]


NOISE_Z = 4.0


def noise_level(values: np.ndarray) -> float:
    """Robust noise std of a curve: normal-scaled MAD of its second differences / sqrt(6)
    (second differences cancel a linear trend; white noise of std s gives std s*sqrt(6))."""
    if len(values) < 4:
        return 0.0
    return float(stats.median_abs_deviation(np.diff(values, n=2), scale="normal") / np.sqrt(6))


def overfitting_state(
    train: np.ndarray, val: np.ndarray, patience: int, min_delta: float = 0.0
) -> dict:
    """Streak of the last point: validation steps since its best, while validation rose
    beyond its noise and training improved (0 when not over-fitting)."""
    smooth = ndimage.median_filter(val, size=3, mode="nearest")
    best = int(np.argmin(smooth))
    since = len(val) - 1 - best
    recent = slice(len(val) - min(max(since, 1), patience), None)
    rise, noise = float(np.mean(val[recent]) - smooth[best]), noise_level(val)
    worse = since > 0 and rise > max(min_delta, NOISE_Z * noise)
    improving = np.mean(train[recent]) < train[best] - min_delta
    return {
        "best_index": best,
        "since_best": since,
        "rise": rise,
        "noise": noise,
        "streak": since if (worse and improving) else 0,
    }


def overfitting(data: dict, config: dict) -> Outcome:
    """`data` = {"train": Curve, "validation": Curve} (raw values, by step)."""
    steps, train, val = align(data["train"], data["validation"])
    if len(val) < 2:
        return insufficient(
            "Need train and validation values at two or more steps.",
            config["patience"],
            points=len(val),
        )
    train, val = oriented(train, config["mode"]), oriented(val, config["mode"])
    state = overfitting_state(train, val, config["patience"], config["min_delta"])
    gap = float(val[-1] - train[-1])
    by_streak = state["streak"] >= config["patience"]
    by_gap = config["max_gap"] is not None and gap > config["max_gap"]
    reasons = [r for r, hit in (("patience", by_streak), ("max_gap", by_gap)) if hit]
    return verdict(
        by_streak or by_gap,
        state["streak"],
        config["patience"],
        gap=gap,
        max_gap=config["max_gap"],
        best_step=int(steps[state["best_index"]]),
        step=int(steps[-1]),
        steps_since_best=state["since_best"],
        rise=state["rise"],
        noise=state["noise"],
        breached_by=reasons,
    )


def page_hinkley(x: np.ndarray, delta: float, lam: float) -> int | None:
    """Index of the first alarm of a Page-Hinkley test for a drop in the mean of `x`.

    s_t = sum_{i<=t} (x_i - mean(x_1..x_i) + delta); alarm when max_{i<=t} s_i - s_t > lam.
    """
    x = np.asarray(x, float)
    running_mean = np.cumsum(x) / np.arange(1, len(x) + 1)
    s = np.cumsum(x - running_mean + delta)
    alarms = np.flatnonzero(np.maximum.accumulate(s) - s > lam)
    return int(alarms[0]) if len(alarms) else None


def relative_improvements(values: np.ndarray) -> np.ndarray:
    """Improvement per step (lower is better) relative to the curve's first value."""
    scale = max(abs(values[0]), 1e-12)
    return -np.diff(values) / scale


def steps_to_reach(steps: np.ndarray, values: np.ndarray, goal: float) -> float:
    """Steps until a least-squares line through the last points reaches `goal` (lower is
    better); inf when the curve is not improving."""
    steps, values = steps[-PLATEAU_RECENT:], values[-PLATEAU_RECENT:]
    fit = stats.linregress(steps.astype(float), values)
    if not fit.slope < 0:
        return float("inf")
    level = fit.intercept + fit.slope * steps[-1]
    return max(level - goal, 0.0) / -fit.slope


def plateau_index(
    steps: np.ndarray, values: np.ndarray, goal: float, after_steps: int, delta: float, lam: float
) -> int | None:
    """Index where learning stopped short of `goal`: a Page-Hinkley alarm on the relative
    improvements, confirmed by the recent pace not reaching `goal` by `after_steps`."""
    if len(values) < PLATEAU_RECENT:
        return None
    alarm = page_hinkley(relative_improvements(values), delta, lam)
    if alarm is None or steps[-1] + steps_to_reach(steps, values, goal) <= after_steps:
        return None
    return alarm + 1


def underfitting(curve: Curve, config: dict) -> Outcome:
    """`curve` = the training metric by step."""
    threshold = config["threshold"]
    if len(curve.values) < 2:
        return insufficient(
            "Need the metric at two or more steps.", threshold, points=len(curve.values)
        )
    values = oriented(curve.values, config["mode"])
    goal = -threshold if config["mode"] == "max" else threshold
    best, step = float(values.min()), int(curve.steps[-1])
    reached = best <= goal
    late = not reached and step >= config["after_steps"]
    plateau = None
    if config["plateau"] and not reached:
        plateau = plateau_index(
            curve.steps,
            values,
            goal,
            config["after_steps"],
            config["plateau_delta"],
            config["plateau_lambda"],
        )
    reasons = [r for r, hit in (("after_steps", late), ("plateau", plateau is not None)) if hit]
    shown = -best if config["mode"] == "max" else best
    return verdict(
        bool(reasons),
        shown,
        threshold,
        step=step,
        after_steps=config["after_steps"],
        plateau_step=None if plateau is None else int(curve.steps[plateau]),
        last=float(curve.values[-1]),
        breached_by=reasons,
    )
