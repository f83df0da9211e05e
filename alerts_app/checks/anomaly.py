"""Anomaly of the last point of a series against a rolling baseline of the points before.

Scores (all "how many spreads away from the centre"):
- zscore: (x - mean) / std, sample std (ddof=1) of the baseline;
- ewma: (x - m) / s, m and s the exponentially weighted mean and std of the baseline
  (pandas `ewm(alpha, adjust=False)`), so recent points weigh more;
- mad: (x - median) / MAD, MAD = `scipy.stats.median_abs_deviation(scale="normal")`
  (consistent with the std for normal data, robust to outliers in the baseline).
A baseline without spread scores 0 for an equal point and ±inf otherwise.
"""

import numpy as np
import pandas as pd
from scipy import stats

from alerts_app.checks.base import Outcome, insufficient, verdict

MIN_BASELINE = 3


def _ratio(deviation: float, spread: float) -> float:
    if spread > 0 and np.isfinite(spread):
        return deviation / spread
    return 0.0 if deviation == 0 else float(np.copysign(np.inf, deviation))


def zscore_score(baseline: np.ndarray, x: float) -> tuple[float, float, float]:
    """(score, centre, spread) of `x` against the mean and sample std of `baseline`."""
    centre, spread = float(np.mean(baseline)), float(np.std(baseline, ddof=1))
    return _ratio(x - centre, spread), centre, spread


def ewma_score(baseline: np.ndarray, x: float, alpha: float) -> tuple[float, float, float]:
    """(score, centre, spread) against the EWMA mean and EW std of `baseline`."""
    ewm = pd.Series(baseline, dtype=float).ewm(alpha=alpha, adjust=False)
    centre, spread = float(ewm.mean().iloc[-1]), float(ewm.std().iloc[-1])
    return _ratio(x - centre, spread), centre, spread


def mad_score(baseline: np.ndarray, x: float) -> tuple[float, float, float]:
    """(score, centre, spread) against the median and normal-scaled MAD of `baseline`."""
    centre = float(np.median(baseline))
    spread = float(stats.median_abs_deviation(baseline, scale="normal"))
    return _ratio(x - centre, spread), centre, spread


def anomaly_score(series: np.ndarray, method: str, alpha: float = 0.3):
    """Score of the last point of `series` against all the points before it."""
    series = np.asarray(series, dtype=float)
    baseline, x = series[:-1], float(series[-1])
    if method == "ewma":
        return ewma_score(baseline, x, alpha)
    return zscore_score(baseline, x) if method == "zscore" else mad_score(baseline, x)


def metric_anomaly(series: np.ndarray, config: dict) -> Outcome:
    """The last point is anomalous when its score (in the watched direction) exceeds z."""
    z = config["z"]
    if len(series) < MIN_BASELINE + 1:
        return insufficient(
            f"Need at least {MIN_BASELINE + 1} points, got {len(series)}.", z, points=len(series)
        )
    score, centre, spread = anomaly_score(series, config["method"], config["alpha"])
    value = {"any": abs(score), "rise": score, "drop": -score}[config["direction"]]
    return verdict(
        value > z,
        value,
        z,
        method=config["method"],
        last=float(series[-1]),
        score=score,
        centre=centre,
        spread=spread,
        points=len(series),
        lower=centre - z * spread,
        upper=centre + z * spread,
    )
