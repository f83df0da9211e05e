"""Causes: why a result breaks, as a ranked list a person (and a notification) reads.

Every drift, data-quality, performance and estimated-performance result carries
`details["causes"]`: at most 10 entries, most important first, each
`{"kind": "feature"|"segment", "feature", "segment" (value or None), "score", "summary"}`.
A result that does not break carries an empty list.

Scores are comparable across methods (1 is "exactly at the threshold"):
- distance methods (psi, js, wasserstein), and every method under a calibrated threshold
  (`"threshold": "auto"`: D, χ², |z| or the distance against it): `statistic / threshold`;
- p-value tests (ks, chi2, z): `-log10(p) / -log10(threshold)`, p floored at 1e-300
  (the p-value after the rule's multiple-testing correction, the one the verdict reads);
- data quality: the worst breaking rate of a feature divided by its limit;
- segments (performance): impact = share of the window's rows in the segment × the
  metric's drop in it (how much worse than the whole window).
A limit of 0 (or a p-value threshold of 1) makes any excess infinitely bad: the score is
then `UNBOUNDED`, so that such causes still rank first and stay JSON numbers.

Pure functions: numbers in, lists of dicts out; no ORM, no settings, no clock.
"""

import functools
import math
from collections.abc import Callable, Sequence

import numpy as np

MAX_CAUSES = 10
P_FLOOR = 1e-300
UNBOUNDED = 1e9
MAX_SEGMENT_VALUES = 50
MIN_SEGMENT_ROWS = 5
P_VALUE_METHODS = frozenset({"ks", "chi2", "z"})
METHOD_NAMES = {
    "ks": "KS",
    "chi2": "χ²",
    "z": "z",
    "psi": "PSI",
    "js": "JS",
    "wasserstein": "Wasserstein",
}
RATE_WORDS = {
    "missing_rate": "missing",
    "type_error_rate": "type errors",
    "out_of_range_rate": "out of range",
    "unseen_category_rate": "unseen categories",
}


def _ratio(value: float, limit: float) -> float:
    if limit > 0:
        return min(value / limit, UNBOUNDED)
    return UNBOUNDED if value > 0 else 0.0


def drift_score(
    method: str,
    statistic: float,
    p_value: float | None,
    threshold: float,
    calibrated: bool = False,
) -> float:
    """The comparable score of one feature's drift test (see the module docstring); a
    calibrated threshold (`"threshold": "auto"`) bounds the statistic itself, whatever
    the method: statistic / threshold."""
    if method in P_VALUE_METHODS and not calibrated:
        p = max(float(p_value if p_value is not None else 1.0), P_FLOOR)
        return _ratio(-math.log10(p), -math.log10(threshold) if 0 < threshold else 0.0)
    return _ratio(float(statistic), float(threshold))


def format_p(p: float) -> str:
    """`p < 1e-6` for tiny p-values, else `p = 0.0032` (two significant digits)."""
    return "p < 1e-6" if p < 1e-6 else f"p = {p:.2g}"


def shown_name(name: str) -> str:
    """A feature as people read it: the model outputs `__score__` and `__prediction__`
    as `score` and `prediction`."""
    return name.strip("_") if name.startswith("__") and name.endswith("__") else name


def drift_summary(name: str, method: str, statistic: float, p_value: float | None) -> str:
    """`mean_concave_points (KS 0.33)`, `channel (χ² p < 1e-6)`, `age (PSI 0.41)`."""
    label, name = METHOD_NAMES.get(method, method), shown_name(name)
    if method in ("chi2", "z"):
        return f"{name} ({label} {format_p(p_value if p_value is not None else 1.0)})"
    return f"{name} ({label} {statistic:.2g})"


def cause(kind: str, feature: str, score: float, summary: str, segment=None) -> dict:
    return {
        "kind": kind,
        "feature": feature,
        "segment": segment,
        "score": float(score),
        "summary": summary,
    }


def ranked(causes: list[dict]) -> list[dict]:
    """Most important first (ties by feature name, then segment), at most MAX_CAUSES."""
    order = sorted(causes, key=lambda c: (-c["score"], c["feature"], str(c["segment"])))
    return order[:MAX_CAUSES]


def drift_causes(features: dict[str, dict]) -> list[dict]:
    """Causes of a drift result from its per-feature tests
    (`{name: {"method", "statistic", "p_value", "p_value_adjusted", "threshold",
    "drifted"}}`): the drifted features only, by comparable score."""
    found = []
    for name, test in features.items():
        if not test.get("drifted"):
            continue
        p = test.get("p_value_adjusted", test.get("p_value"))
        score = drift_score(
            test["method"], test["statistic"], p, test["threshold"], bool(test.get("calibrated"))
        )
        found.append(
            cause("feature", name, score, drift_summary(name, test["method"], test["statistic"], p))
        )
    return ranked(found)


def percent(rate: float) -> str:
    return f"{rate * 100:.3g}%"


def quality_causes(features: dict[str, dict], limits: dict[str, float]) -> list[dict]:
    """Causes of a data-quality result: each breaching feature once, by its worst rate
    over its limit. `features` = {name: {rate name: rate, "violations": [rate names]}},
    `limits` = {rate name: limit}."""
    found = []
    for name, quality in features.items():
        broken = [rate for rate in quality.get("violations") or [] if rate in limits]
        if not broken:
            continue
        rate = max(broken, key=lambda r: _ratio(quality[r], limits[r]))
        summary = (
            f"{name}: {percent(quality[rate])} {RATE_WORDS.get(rate, rate)} "
            f"(limit {percent(limits[rate])})"
        )
        found.append(cause("feature", name, _ratio(quality[rate], limits[rate]), summary))
    return ranked(found)


def segment_values(rows: Sequence[dict]) -> dict[str, np.ndarray]:
    """Per categorical feature, its value on every row (None where absent), for features
    with at most MAX_SEGMENT_VALUES distinct values in the window."""
    names = sorted({name for row in rows for name in row})
    columns = {}
    for name in names:
        column = np.array([_category(row.get(name)) for row in rows], dtype=object)
        if len({v for v in column if v is not None}) <= MAX_SEGMENT_VALUES:
            columns[name] = column
    return columns


def _category(value) -> str | None:
    if value is None or isinstance(value, float):
        return None
    return str(value).lower() if isinstance(value, bool) else str(value)


def segment_causes(
    columns: dict[str, np.ndarray],
    metric: Callable[[np.ndarray], float],
    overall: float,
    lower_is_better: bool,
    metric_name: str,
) -> list[dict]:
    """Segments whose metric is worse than the whole window's, ranked by impact.

    `columns` maps each categorical feature to its value per row (None: absent);
    `metric(mask)` computes the metric on the rows of a boolean mask and may raise
    ValueError when it is undefined there (the segment is then skipped). Segments of
    fewer than MIN_SEGMENT_ROWS rows are not judged.
    """
    found = []
    for name, column in columns.items():
        total = len(column)
        values = sorted({v for v in column if v is not None})
        codes = _codes(column, values)
        for code, value in enumerate(values):
            mask = codes == code
            if mask.sum() < MIN_SEGMENT_ROWS:
                continue
            try:
                inside = float(metric(mask))
            except ValueError:
                continue
            drop = inside - overall if lower_is_better else overall - inside
            if not drop > 0:
                continue
            share = float(mask.sum()) / total
            summary = (
                f"{name} = {value}: {metric_name} {inside:.3g} vs {overall:.3g} "
                f"overall ({percent(share)} of rows)"
            )
            found.append(cause("segment", name, share * drop, summary, segment=value))
    return ranked(found)


def _codes(column: np.ndarray, values: list[str]) -> np.ndarray:
    """Each row's index in `values` (-1 where absent), in one pass."""
    index = {v: i for i, v in enumerate(values)}
    return np.array([index.get(v, -1) for v in column])


def explained(check: Callable) -> Callable:
    """Make every result of `check` carry `details["causes"]`: the check's own list when
    it breaks, an empty list otherwise."""

    @functools.wraps(check)
    def run(data, config):
        result = check(data, config)
        if not result.breached or "causes" not in result.details:
            result.details["causes"] = []
        return result

    return run
