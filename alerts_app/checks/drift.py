"""Drift statistics, the `auto` choice of test, corrections and dataset-level drift.

Definitions (docs/checks.md, "Statistics, defined"), each equal to scipy on the same data:
- numeric bins: the reference deciles `numpy.quantile(ref, [0.1 ... 0.9])` with
  duplicates dropped, outer bins open, a value equal to an edge counted in the bin above
  (`numpy.searchsorted(edges, x, side="right")`); categorical bins: one per reference
  category plus one for everything unseen.
- PSI = sum((c - r) * ln(c / r)) on proportions floored at 1e-4;
  JS = `scipy.spatial.distance.jensenshannon(r, c)` (natural log) on the proportions.
- KS = `scipy.stats.ks_2samp(ref, cur)`; Wasserstein = `wasserstein_distance(ref, cur) /
  std(ref)` (std floored at 0.001, as Evidently does); chi-square =
  `scipy.stats.chi2_contingency` on the 2 x k table of counts over the union of
  categories; Z = pooled two-proportion z-test, p = 2 * norm.sf(|z|).
"""

from dataclasses import dataclass, field

import numpy as np
from scipy import stats
from scipy.spatial import distance

from alerts_app.checks.base import Outcome, feature_verdict, insufficient, verdict
from alerts_app.checks.causes import drift_causes, explained
from models_app.profiles import bin_counts, decile_edges, proportions

PSI_FLOOR = 1e-4
UNSEEN = "__unseen__"
STD_FLOOR = 0.001
SMALL_REFERENCE = 1000
FEW_VALUES = 5
P_VALUE_METHODS = frozenset({"ks", "chi2", "z"})
NUMERIC_ONLY = frozenset({"ks", "wasserstein"})
SAMPLE_METHODS = NUMERIC_ONLY  # computed on the samples (at most SAMPLE_SIZE values a side)
# Fewest values per side a method is judged on with `"threshold": "auto"` (below:
# insufficient_data for that feature, not drift): PSI and JS compare ten decile bins
# (about ten values each), chi-square wants about five per cell, KS, Wasserstein and z
# need a few tens of values before their statistic means anything.
AUTO_MIN_SAMPLES = {"psi": 100, "js": 100, "chi2": 50, "ks": 30, "wasserstein": 30, "z": 30}
DEFAULT_THRESHOLDS = {
    "ks": 0.05,
    "chi2": 0.05,
    "z": 0.05,
    "psi": 0.2,
    "js": 0.1,
    "wasserstein": 0.1,
}


# -- bins and proportions (decile_edges, bin_counts, proportions: models_app.profiles) ------


def category_bins(reference: dict, current: dict) -> tuple[np.ndarray, np.ndarray]:
    """Counts over the reference's categories plus one unseen bin: (reference, current)."""
    keys = [k for k in reference if k != UNSEEN]
    ref = [reference[k] for k in keys] + [reference.get(UNSEEN, 0)]
    unseen = sum(v for k, v in current.items() if k not in reference or k == UNSEEN)
    cur = [current.get(k, 0) for k in keys] + [unseen]
    return np.asarray(ref, dtype=float), np.asarray(cur, dtype=float)


# -- the statistics ------------------------------------------------------------------------


def psi_from_counts(ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    """Population Stability Index of two count vectors over the same bins."""
    r, c = proportions(ref_counts, PSI_FLOOR), proportions(cur_counts, PSI_FLOOR)
    return float(np.sum((c - r) * np.log(c / r)))


def js_from_counts(ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    """Jensen-Shannon distance (natural log) of two count vectors over the same bins."""
    return float(distance.jensenshannon(proportions(ref_counts), proportions(cur_counts)))


def psi(reference: np.ndarray, current: np.ndarray) -> float:
    """PSI of `current` against `reference` over the reference's decile bins."""
    edges = decile_edges(reference)
    return psi_from_counts(bin_counts(reference, edges), bin_counts(current, edges))


def ks_test(reference: np.ndarray, current: np.ndarray) -> tuple[float, float]:
    """(statistic, p-value) of the two-sided two-sample Kolmogorov-Smirnov test."""
    result = stats.ks_2samp(np.asarray(reference, float), np.asarray(current, float))
    return float(result.statistic), float(result.pvalue)


def wasserstein_norm(
    reference: np.ndarray, current: np.ndarray, reference_std: float | None = None
) -> float:
    """Wasserstein distance divided by the reference std (floored at 0.001)."""
    spread = np.std(reference) if reference_std is None else reference_std
    return float(wasserstein_1d(reference, current) / max(spread, STD_FLOOR))


def wasserstein_1d(u: np.ndarray, v: np.ndarray) -> float:
    """The first Wasserstein distance of two samples, as `scipy.stats.wasserstein_distance`
    computes it (the area between their empirical CDFs), from sorted copies instead of
    argsorts: the drift checks of a backtest call it 18,000 times (tests compare it with
    scipy's)."""
    u, v = np.sort(np.asarray(u, dtype=float)), np.sort(np.asarray(v, dtype=float))
    values = np.concatenate([u, v])
    values.sort(kind="mergesort")
    inner = values[:-1]
    u_cdf = np.searchsorted(u, inner, side="right") / u.size
    v_cdf = np.searchsorted(v, inner, side="right") / v.size
    return float(np.sum(np.abs(u_cdf - v_cdf) * np.diff(values)))


def chi2_test(ref_counts: np.ndarray, cur_counts: np.ndarray) -> tuple[float, float]:
    """(statistic, p-value) of chi2_contingency on the 2 x k table (empty columns dropped)."""
    table = np.vstack([ref_counts, cur_counts]).astype(float)
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return 0.0, 1.0
    result = stats.chi2_contingency(table)
    return float(result.statistic), float(result.pvalue)


def z_test(ref_hits: float, ref_n: float, cur_hits: float, cur_n: float) -> tuple[float, float]:
    """(z, two-sided p) of the pooled two-proportion z-test of hits/n in two samples."""
    pooled = (ref_hits + cur_hits) / (ref_n + cur_n)
    spread = np.sqrt(pooled * (1 - pooled) * (1 / ref_n + 1 / cur_n))
    if spread == 0:
        return 0.0, 1.0
    z = (ref_hits / ref_n - cur_hits / cur_n) / spread
    return float(z), float(2 * stats.norm.sf(abs(z)))


# -- one feature, from profiles ------------------------------------------------------------


@dataclass
class FeatureData:
    """What the drift of one feature is computed from (merged profiles and samples).

    Numeric: `ref_bins`/`cur_bins` are counts in the reference's decile bins and the
    samples are reservoir samples. Categorical: `ref_categories`/`cur_categories` are
    counts per category. `ref_n`/`cur_n` count the non-missing values.
    """

    kind: str  # numeric | categorical
    ref_n: int
    cur_n: int
    ref_sample: np.ndarray = field(default_factory=lambda: np.empty(0))
    cur_sample: np.ndarray = field(default_factory=lambda: np.empty(0))
    ref_bins: np.ndarray | None = None
    cur_bins: np.ndarray | None = None
    ref_categories: dict | None = None
    cur_categories: dict | None = None
    ref_std: float | None = None
    # `"threshold": "auto"`: the feature's calibrated threshold (a
    # `checks.calibration.Calibration`, set by the loader; None: none could be derived)
    calibration: object | None = None


@dataclass
class FeatureDrift:
    method: str
    statistic: float
    p_value: float | None
    threshold: float
    drifted: bool = False
    p_value_adjusted: float | None = None
    kind: str = ""
    calibrated: bool = False  # threshold "auto": statistic >= threshold decides
    z: float | None = None  # threshold "auto": the statistic's place in its band, in sd

    def as_dict(self) -> dict:
        shown = {
            "method": self.method,
            "statistic": self.statistic,
            "p_value": self.p_value,
            "p_value_adjusted": self.p_value_adjusted,
            "threshold": self.threshold,
            "drifted": self.drifted,
            "kind": self.kind,
            "calibrated": self.calibrated,
        }
        return shown | ({"z": self.z} if self.calibrated else {})


def distinct_values(data: FeatureData) -> int:
    """Distinct values over reference and current (samples for numeric features)."""
    if data.kind == "categorical":
        keys = set(data.ref_categories or {}) | set(data.cur_categories or {})
        return len(keys - {UNSEEN}) + (UNSEEN in keys)
    return len(np.union1d(data.ref_sample, data.cur_sample))


def effective_kind(data: FeatureData) -> str:
    """A numeric feature with at most 5 distinct values counts as categorical."""
    if data.kind != "numeric" or many_values(data.ref_sample) or many_values(data.cur_sample):
        return data.kind
    return "categorical" if distinct_values(data) <= FEW_VALUES else data.kind


def many_values(sample: np.ndarray) -> bool:
    """Whether the first values of a sample already hold more than FEW_VALUES distinct
    ones (then so does the union: no need to sort it all, as `distinct_values` does)."""
    return len(np.unique(sample[: 8 * FEW_VALUES])) > FEW_VALUES


def auto_method(data: FeatureData) -> str:
    """Evidently's default test for this feature, by type and reference size."""
    kind = effective_kind(data)
    if data.ref_n <= SMALL_REFERENCE:
        if kind == "numeric":
            return "ks"
        return "z" if distinct_values(data) <= 2 else "chi2"
    return "wasserstein" if kind == "numeric" else "js"


def sample_categories(sample: np.ndarray) -> dict:
    values, counts = np.unique(np.asarray(sample), return_counts=True)
    return {v.item(): int(c) for v, c in zip(values, counts, strict=True)}


def category_counts(data: FeatureData) -> tuple[dict, dict]:
    """Category counts of both sides; a numeric feature's come from its samples."""
    if data.kind == "categorical":
        return data.ref_categories or {}, data.cur_categories or {}
    return sample_categories(data.ref_sample), sample_categories(data.cur_sample)


def binned_counts(data: FeatureData) -> tuple[np.ndarray, np.ndarray]:
    """(reference, current) counts over the bins PSI and JS use."""
    if effective_kind(data) == "categorical":
        return category_bins(*category_counts(data))
    if data.ref_bins is not None:
        return np.asarray(data.ref_bins, float), np.asarray(data.cur_bins, float)
    edges = decile_edges(data.ref_sample)
    return bin_counts(data.ref_sample, edges), bin_counts(data.cur_sample, edges)


def union_counts(data: FeatureData) -> tuple[np.ndarray, np.ndarray]:
    ref, cur = category_counts(data)
    keys = list(dict.fromkeys([*ref, *cur]))
    return (
        np.asarray([ref.get(k, 0) for k in keys], float),
        np.asarray([cur.get(k, 0) for k in keys], float),
    )


def z_from_counts(data: FeatureData) -> tuple[float, float]:
    """Z-test on the share of the first reference category (others count as misses)."""
    ref, cur = category_counts(data)
    if not ref:
        return 0.0, 1.0
    key = next(iter(sorted(ref, key=str)))
    ref_n, cur_n = sum(ref.values()), sum(cur.values())
    return z_test(ref[key], ref_n, cur.get(key, 0), cur_n)


def statistic(data: FeatureData, method: str) -> tuple[float, float | None]:
    """(statistic, p-value or None) of `method` on one feature."""
    if method == "ks":
        return ks_test(data.ref_sample, data.cur_sample)
    if method == "wasserstein":
        return wasserstein_norm(data.ref_sample, data.cur_sample, data.ref_std), None
    if method == "chi2":
        return chi2_test(*union_counts(data))
    if method == "z":
        return z_from_counts(data)
    counts = binned_counts(data)
    return (psi_from_counts(*counts) if method == "psi" else js_from_counts(*counts)), None


def chosen_method(data: FeatureData, method: str = "auto") -> str:
    """The test run on one feature: `method`, or the `auto` choice for `auto` and for a
    numeric-only method (ks, wasserstein) asked of a categorical feature."""
    if method == "auto" or (method in NUMERIC_ONLY and effective_kind(data) == "categorical"):
        return auto_method(data)
    return method


def bounded_statistic(data: FeatureData, method: str) -> tuple[float, float | None]:
    """(statistic, p-value) where the statistic is what a calibrated threshold bounds:
    distances as they are, D for KS, χ² for chi-square, |z| for the z-test."""
    value, p_value = statistic(data, method)
    return (abs(value) if method == "z" else value), p_value


def calibrated_drift(data: FeatureData) -> FeatureDrift | str:
    """The drift of one feature against its calibrated threshold (`data.calibration`),
    before any correction across features: drifted when the statistic reaches it. A
    reason (str) when it cannot be judged: no calibration, or fewer values in the window
    than AUTO_MIN_SAMPLES of its method."""
    calibration = data.calibration
    if calibration is None:
        return "The reference holds too few values to calibrate a threshold."
    method, least = calibration.method, AUTO_MIN_SAMPLES.get(calibration.method, 1)
    if data.cur_n < least:
        return f"{data.cur_n} values in the window, fewer than {least} ({method}, threshold auto)."
    value, p_value = bounded_statistic(data, method)
    limit = calibration.threshold
    return FeatureDrift(
        method,
        value,
        p_value,
        limit,
        bool(value >= limit),
        None,
        effective_kind(data),
        True,
        calibration.z_of(value),
    )


def corrected_k(k: float, judged: int, breaking: int, correction: str) -> float:
    """The `k` a calibrated feature's statistic must reach once the rule's correction
    covers its `judged` features: each feature's tail beyond `k` (one-sided, normal on
    the band's scale: α = P(Z ≥ k)) is the level of a test, and the correction is the
    one p-values get. none: k; bonferroni: the tail α / m; fdr (Benjamini-Hochberg):
    α·r / m with r the features it finds drifting (`breaking`, at least 1). With 25
    features and k = 3, bonferroni (and fdr with nothing drifting) asks for 3.87."""
    if correction == "none" or judged <= 1:
        return float(k)
    alpha = stats.norm.sf(k)
    share = max(breaking, 1) if correction == "fdr" else 1
    return float(stats.norm.isf(alpha * share / judged))


def feature_drift(
    data: FeatureData, method: str = "auto", threshold: float | None = None
) -> FeatureDrift:
    """The drift test of one feature; `drifted` before any multiple-testing correction.

    A numeric-only method (ks, wasserstein) asked of a categorical feature falls back
    to the `auto` choice for that feature.
    """
    chosen = chosen_method(data, method)
    limit = DEFAULT_THRESHOLDS[chosen] if threshold is None else threshold
    stat, p_value = statistic(data, chosen)
    drifted = p_value < limit if chosen in P_VALUE_METHODS else stat >= limit
    return FeatureDrift(chosen, stat, p_value, limit, bool(drifted), p_value, effective_kind(data))


# -- corrections and the dataset --------------------------------------------------------


def adjust_p_values(p_values: np.ndarray, correction: str) -> np.ndarray:
    """none, bonferroni (p * m, capped at 1) or fdr (Benjamini-Hochberg, scipy)."""
    p_values = np.asarray(p_values, dtype=float)
    if correction == "none" or len(p_values) == 0:
        return p_values
    if correction == "bonferroni":
        return np.minimum(p_values * len(p_values), 1.0)
    return stats.false_discovery_control(p_values, method="bh")


def apply_correction(results: dict[str, FeatureDrift], correction: str) -> None:
    """Adjust the p-values of the p-value tests across features, and their verdicts."""
    tested = [
        name for name, r in results.items() if r.method in P_VALUE_METHODS and not r.calibrated
    ]
    adjusted = adjust_p_values([results[n].p_value for n in tested], correction)
    for name, p_value in zip(tested, adjusted, strict=True):
        results[name].p_value_adjusted = float(p_value)
        results[name].drifted = bool(p_value < results[name].threshold)


def dataset_drift(
    features: dict[str, FeatureData],
    method: str = "auto",
    threshold: float | str | None = None,
    correction: str = "fdr",
) -> dict[str, FeatureDrift]:
    """Per-feature drift of every feature, corrected across them: the p-values of the
    p-value tests, or with `threshold="auto"` each feature's calibrated threshold
    (`calibrated_results`, where a feature that cannot be judged is left out)."""
    if threshold == "auto":
        return calibrated_results(features, correction)[0]
    results = {name: feature_drift(data, method, threshold) for name, data in features.items()}
    apply_correction(results, correction)
    return results


def calibrated_results(
    features: dict[str, FeatureData], correction: str = "fdr"
) -> tuple[dict[str, FeatureDrift], dict[str, str]]:
    """(judged features, {feature: why it could not be judged}) under threshold auto.

    Each judged feature's threshold is then moved to `corrected_k` of its band, so that
    `k` bounds the rule's false alarms, not each feature's: 25 features each past k = 3
    on 0.13 % of stable windows would alert on about 3 % of them together (measured,
    with the bands' skew: 43 % at 10,000 rows a day before both corrections).
    """
    results, unjudged = {}, {}
    for name, data in features.items():
        found = calibrated_drift(data)
        if isinstance(found, str):
            unjudged[name] = found
        else:
            results[name] = found
    if results:
        k = features[next(iter(results))].calibration.k  # the rule's k, one for all
        p_values = stats.norm.sf([r.z for r in results.values()])
        adjusted = adjust_p_values(p_values, correction)
        breaking = int(np.sum(adjusted <= stats.norm.sf(k)))
        corrected = corrected_k(k, len(results), breaking, correction)
        for name, result in results.items():
            result.threshold = features[name].calibration.value_at(corrected)
            result.drifted = bool(result.z >= corrected)
    return results, unjudged


def drift_share(results: dict[str, FeatureDrift]) -> float:
    """Share of drifted features (0 when there are none)."""
    return sum(r.drifted for r in results.values()) / len(results) if results else 0.0


# -- the rules ---------------------------------------------------------------------------


@dataclass
class DriftData:
    """A window's drift inputs: per feature, and the row counts of both sides."""

    features: dict[str, FeatureData]
    n_reference: int
    n_current: int
    skipped: dict[str, str] = field(default_factory=dict)  # feature -> why it was not tested


def _too_little(data: DriftData, config: dict) -> Outcome | None:
    if data.n_reference == 0 or not data.features:
        return insufficient("No reference to compare with (upload one for this version).")
    if data.n_current < config["min_samples"]:
        return insufficient(
            f"{data.n_current} rows in the window, fewer than min_samples "
            f"({config['min_samples']}).",
            n_current=data.n_current,
            n_reference=data.n_reference,
        )
    return None


def drift_details(
    results: dict[str, FeatureDrift],
    data: DriftData,
    unjudged: dict[str, str] | None = None,
    **extra,
) -> dict:
    features = {name: r.as_dict() for name, r in results.items()}
    verdicts = {
        name: feature_verdict(r.drifted, r.statistic, r.threshold) for name, r in results.items()
    }
    details = {
        "features": features,
        "causes": drift_causes(features),
        "verdicts": verdicts | {name: feature_verdict(None) for name in unjudged or {}},
        "drift_share": drift_share(results),
        "n_reference": data.n_reference,
        "n_current": data.n_current,
        "skipped": data.skipped | (unjudged or {}),
        **extra,
    }
    calibrations = {
        name: f.calibration.as_dict() | corrected(f.calibration, results[name])
        for name, f in data.features.items()
        if f.calibration is not None and name in results
    }
    if calibrations:
        details["calibration"] = calibrations
    return details


def corrected(calibration, result: FeatureDrift) -> dict:
    """How the correction across features moved a calibrated threshold."""
    return {
        "corrected_k": calibration.z_of(result.threshold),
        "corrected_threshold": result.threshold,
    }


def _run(data: DriftData, config: dict) -> tuple[dict[str, FeatureDrift], dict[str, str]]:
    """(results, {feature: why unjudged}) of the rule's features."""
    if config["threshold"] == "auto":
        return calibrated_results(data.features, config["correction"])
    found = dataset_drift(
        data.features, config["method"], config["threshold"], config["correction"]
    )
    return found, {}


def _none_judged(data: DriftData, unjudged: dict[str, str]) -> Outcome:
    return insufficient(
        "No feature could be judged against a calibrated threshold (threshold auto).",
        verdicts={name: feature_verdict(None) for name in unjudged},
        skipped=data.skipped | unjudged,
        n_reference=data.n_reference,
        n_current=data.n_current,
    )


@explained
def data_drift(data: DriftData, config: dict) -> Outcome:
    """Breaks when the share of drifted features reaches drift_share, or when any feature
    the rule lists explicitly drifts; value = the share of drifted features."""
    short = _too_little(data, config)
    if short:
        return short
    results, unjudged = _run(data, config)
    if not results:
        return _none_judged(data, unjudged)
    share, limit = drift_share(results), config["drift_share"]
    listed = bool(config.get("features")) and any(r.drifted for r in results.values())
    breached = share >= limit or listed
    reason = "listed_feature" if listed and share < limit else "drift_share"
    details = drift_details(results, data, unjudged, breached_by=reason)
    return verdict(breached, share, limit, **details)


@explained
def prediction_drift(data: DriftData, config: dict) -> Outcome:
    """Output drift: breaks when any checked output (prediction, score) drifts;
    value = the share of drifted outputs, threshold 0."""
    short = _too_little(data, config)
    if short:
        return short
    results, unjudged = _run(data, config)
    if not results:
        return _none_judged(data, unjudged)
    share = drift_share(results)
    return verdict(share > 0, share, 0.0, **drift_details(results, data, unjudged))
