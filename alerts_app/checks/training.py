"""Training health from metric curves by step: over-fitting and under-fitting.

Curves are oriented so that lower is better (mode "max" negates them).
- Over-fitting: at the last validation step, validation has not improved on its best
  for `patience` validation steps, is worse than that best by more than `min_delta`,
  and training has kept improving since (by more than `min_delta`); or the
  validation-minus-train gap is above `max_gap`.
- Under-fitting: past `after_steps` the curve never reached `threshold`; or, earlier,
  a Page-Hinkley test on the relative improvement per step finds learning has
  stopped (and the recent improvements are below `plateau_delta`) while the curve is
  still short of `threshold`.
"""

from dataclasses import dataclass

import numpy as np

from alerts_app.checks.base import CheckResult, insufficient, register_check, verdict

PLATEAU_RECENT = 5


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


def overfitting_state(train: np.ndarray, val: np.ndarray, min_delta: float = 0.0) -> dict:
    """Streak of the last point: validation steps since its best while it got worse and
    training improved (0 when not over-fitting)."""
    best = int(np.argmin(val))
    since = len(val) - 1 - best
    worse = val[-1] > val[best] + min_delta
    improving = train[-1] < train[best] - min_delta
    return {"best_index": best, "since_best": since,
            "streak": since if (worse and improving) else 0}


@register_check("overfitting")
def overfitting(data: dict, config: dict) -> CheckResult:
    """`data` = {"train": Curve, "validation": Curve} (raw values, by step)."""
    steps, train, val = align(data["train"], data["validation"])
    if len(val) < 2:
        return insufficient("Need train and validation values at two or more steps.",
                            config["patience"], points=len(val))
    train, val = oriented(train, config["mode"]), oriented(val, config["mode"])
    state = overfitting_state(train, val, config["min_delta"])
    gap = float(val[-1] - train[-1])
    by_streak = state["streak"] >= config["patience"]
    by_gap = config["max_gap"] is not None and gap > config["max_gap"]
    reasons = [r for r, hit in (("patience", by_streak), ("max_gap", by_gap)) if hit]
    return verdict(by_streak or by_gap, state["streak"], config["patience"], gap=gap,
                   max_gap=config["max_gap"], best_step=int(steps[state["best_index"]]),
                   step=int(steps[-1]), steps_since_best=state["since_best"],
                   breached_by=reasons)


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


def plateau_index(values: np.ndarray, delta: float, lam: float) -> int | None:
    """Index of the point where learning stopped, if it has stopped and stays stopped."""
    gains = relative_improvements(values)
    alarm = page_hinkley(gains, delta, lam)
    recent = gains[-PLATEAU_RECENT:]
    if alarm is None or len(recent) < PLATEAU_RECENT or recent.mean() >= delta:
        return None
    return alarm + 1


@register_check("underfitting")
def underfitting(curve: Curve, config: dict) -> CheckResult:
    """`curve` = the training metric by step."""
    threshold = config["threshold"]
    if len(curve.values) < 2:
        return insufficient("Need the metric at two or more steps.", threshold,
                            points=len(curve.values))
    values = oriented(curve.values, config["mode"])
    goal = -threshold if config["mode"] == "max" else threshold
    best, step = float(values.min()), int(curve.steps[-1])
    reached = best <= goal
    late = not reached and step >= config["after_steps"]
    plateau = None
    if config["plateau"] and not reached:
        plateau = plateau_index(values, config["plateau_delta"], config["plateau_lambda"])
    reasons = [r for r, hit in (("after_steps", late), ("plateau", plateau is not None)) if hit]
    shown = -best if config["mode"] == "max" else best
    return verdict(bool(reasons), shown, threshold, step=step, after_steps=config["after_steps"],
                   plateau_step=None if plateau is None else int(curve.steps[plateau]),
                   last=float(curve.values[-1]), breached_by=reasons)
