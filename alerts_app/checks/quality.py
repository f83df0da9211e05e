"""Data quality: missing, type-error, out-of-range and unseen-category rates per feature.

Counts come from the window's merged profiles (counted at ingestion against the
declared schema, else the reference). Missing and type-error rates are over the rows
of the window; out-of-range and unseen-category rates over the valid values (a value
that is missing is not also out of range).
"""

from dataclasses import dataclass

from alerts_app.checks.base import Outcome, feature_verdict, insufficient, verdict
from alerts_app.checks.causes import explained, quality_causes

LIMITS = {
    "missing_rate": "max_missing_rate",
    "type_error_rate": "max_type_error_rate",
    "out_of_range_rate": "max_out_of_range_rate",
    "unseen_category_rate": "max_unseen_category_rate",
}


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


@dataclass
class QualityCounts:
    """One feature's counts: `valid` values, and `missing`/`type_errors` besides them;
    `out_of_range` and `unseen` are among the valid values."""

    valid: int
    missing: int = 0
    type_errors: int = 0
    out_of_range: int = 0
    unseen: int = 0

    @property
    def rows(self) -> int:
        return self.valid + self.missing + self.type_errors

    def rates(self) -> dict[str, float]:
        return {
            "missing_rate": _share(self.missing, self.rows),
            "type_error_rate": _share(self.type_errors, self.rows),
            "out_of_range_rate": _share(self.out_of_range, self.valid),
            "unseen_category_rate": _share(self.unseen, self.valid),
        }


def severity(rate: float, limit: float) -> float:
    """How far past its limit a rate is (rate / limit; any rate > 0 is infinitely past 0)."""
    if limit > 0:
        return rate / limit
    return float("inf") if rate > 0 else 0.0


def feature_quality(counts: QualityCounts, config: dict) -> dict:
    """{rates..., "violations": [rate names above their limit]} of one feature."""
    rates = counts.rates()
    limits = {name: config[key] for name, key in LIMITS.items() if config[key] is not None}
    broken = [name for name, limit in limits.items() if rates[name] > limit]
    return {**rates, "rows": counts.rows, "violations": broken}


def quality_verdict(quality: dict, config: dict) -> dict:
    """One feature's verdict: breached when a rate is past its limit; value and threshold
    are the rate furthest past (or closest to) its limit, and that limit."""
    limits = {
        rate: config[key]
        for rate, key in LIMITS.items()
        if config[key] is not None and quality.get(rate) is not None
    }
    if not limits:
        return feature_verdict(None)
    rate = max(limits, key=lambda r: quality[r] / limits[r] if limits[r] else float(quality[r] > 0))
    return feature_verdict(bool(quality["violations"]), quality[rate], limits[rate])


def worst(features: dict[str, QualityCounts], config: dict) -> tuple[str, str, float]:
    """(feature, rate name, severity) of the rate furthest past (or closest to) its limit."""
    candidates = [
        (severity(counts.rates()[name], config[key]), feature, name)
        for feature, counts in features.items()
        for name, key in LIMITS.items()
        if config[key] is not None
    ]
    score, feature, name = max(candidates)
    return feature, name, score


@explained
def data_quality(data: dict, config: dict) -> Outcome:
    """Breaks when any rate of any feature is above its limit.

    `data` = {"rows": rows in the window, "features": {name: QualityCounts}};
    value/threshold are the worst rate (relative to its limit) and that limit.
    """
    rows, features = data["rows"], data["features"]
    if rows < config["min_samples"] or not features:
        return insufficient(
            f"{rows} rows in the window, fewer than min_samples ({config['min_samples']}).", n=rows
        )
    per_feature = {name: feature_quality(c, config) for name, c in features.items()}
    feature, name, _ = worst(features, config)
    value, limit = per_feature[feature][name], config[LIMITS[name]]
    broken = sorted(f for f, q in per_feature.items() if q["violations"])
    verdicts = {name: quality_verdict(q, config) for name, q in per_feature.items()}
    limits = {rate: config[key] for rate, key in LIMITS.items() if config[key] is not None}
    return verdict(
        bool(broken),
        value,
        limit,
        features=per_feature,
        verdicts=verdicts,
        causes=quality_causes(per_feature, limits),
        failing=broken,
        worst={"feature": feature, "rate": name},
        n=rows,
    )
