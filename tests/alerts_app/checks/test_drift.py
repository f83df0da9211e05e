"""Drift statistics equal scipy on the same data; `auto` picks Evidently's default tests."""

import numpy as np
import pytest
from scipy import stats
from scipy.spatial import distance

from alerts_app.checks import drift
from alerts_app.checks.drift import FeatureData
from alerts_app.rule_config import validate_config

rng = np.random.default_rng(42)


def numeric(ref, cur, with_bins=True) -> FeatureData:
    edges = drift.decile_edges(ref)
    return FeatureData(
        "numeric",
        len(ref),
        len(cur),
        np.asarray(ref, float),
        np.asarray(cur, float),
        drift.bin_counts(ref, edges) if with_bins else None,
        drift.bin_counts(cur, edges) if with_bins else None,
    )


def categorical(ref: dict, cur: dict) -> FeatureData:
    return FeatureData(
        "categorical", sum(ref.values()), sum(cur.values()), ref_categories=ref, cur_categories=cur
    )


def test_decile_bins_match_numpy_with_open_outer_bins():
    ref = rng.normal(size=1000)
    edges = drift.decile_edges(ref)
    assert np.array_equal(edges, np.unique(np.quantile(ref, np.linspace(0.1, 0.9, 9))))
    counts = drift.bin_counts(np.array([-100.0, edges[0], 100.0]), edges)
    assert counts[0] == 1 and counts[1] == 1 and counts[-1] == 1
    assert drift.bin_counts(ref, edges).sum() == 1000


def test_duplicate_decile_edges_are_dropped():
    ref = np.array([0.0] * 85 + [1.0] * 15)
    assert list(drift.decile_edges(ref)) == [0.0, 1.0]


def test_psi_is_zero_for_identical_samples():
    ref = rng.normal(size=500)
    assert drift.psi(ref, ref) == pytest.approx(0.0, abs=1e-12)


def test_psi_follows_its_definition_with_floored_proportions():
    ref, cur = rng.normal(size=2000), rng.normal(0.5, 1, size=3000)
    edges = np.unique(np.quantile(ref, np.linspace(0.1, 0.9, 9)))
    r = np.maximum(np.histogram(ref, np.r_[-np.inf, edges, np.inf])[0] / 2000, 1e-4)
    c = np.maximum(np.histogram(cur, np.r_[-np.inf, edges, np.inf])[0] / 3000, 1e-4)
    expected = np.sum((c - r) * np.log(c / r))
    assert drift.psi(ref, cur) == pytest.approx(expected, abs=1e-9)


def test_psi_floors_empty_bins_at_1e_4():
    value = drift.psi_from_counts(np.array([50, 50, 0]), np.array([0, 50, 50]))
    r, c = np.array([0.5, 0.5, 1e-4]), np.array([1e-4, 0.5, 0.5])
    assert value == pytest.approx(np.sum((c - r) * np.log(c / r)), abs=1e-12)


def test_js_equals_scipy_jensenshannon_on_the_bins():
    ref, cur = np.array([10, 20, 30, 40]), np.array([40, 30, 20, 10])
    expected = distance.jensenshannon(ref / 100, cur / 100)
    assert drift.js_from_counts(ref, cur) == pytest.approx(expected, abs=1e-12)


def test_ks_equals_scipy_ks_2samp():
    ref, cur = rng.normal(size=700), rng.normal(0.2, 1, size=900)
    result = stats.ks_2samp(ref, cur)
    assert drift.ks_test(ref, cur) == (
        pytest.approx(result.statistic, abs=1e-12),
        pytest.approx(result.pvalue, abs=1e-12),
    )


def test_wasserstein_is_normalised_by_the_reference_std():
    ref, cur = rng.normal(5, 2, size=400), rng.normal(6, 2, size=600)
    expected = stats.wasserstein_distance(ref, cur) / np.std(ref)
    assert drift.wasserstein_norm(ref, cur) == pytest.approx(expected, abs=1e-12)


def test_wasserstein_of_a_constant_reference_uses_the_std_floor():
    value = drift.wasserstein_norm(np.zeros(10), np.ones(10))
    assert value == pytest.approx(1 / 0.001)


def test_chi_square_equals_chi2_contingency_on_the_union_of_categories():
    ref, cur = {"a": 50, "b": 30, "c": 20}, {"a": 30, "b": 30, "d": 40}
    table = np.array([[50, 30, 20, 0], [30, 30, 0, 40]])
    expected = stats.chi2_contingency(table)
    stat, p = drift.statistic(categorical(ref, cur), "chi2")
    assert stat == pytest.approx(expected.statistic, abs=1e-9)
    assert p == pytest.approx(expected.pvalue, abs=1e-12)


def test_two_proportion_z_test_follows_the_pooled_formula():
    z, p = drift.z_test(30, 100, 45, 100)
    pooled = 75 / 200
    expected = (0.30 - 0.45) / np.sqrt(pooled * (1 - pooled) * (1 / 100 + 1 / 100))
    assert z == pytest.approx(expected, abs=1e-12)
    assert p == pytest.approx(2 * stats.norm.sf(abs(expected)), abs=1e-12)


def test_z_test_without_variation_is_not_drift():
    assert drift.z_test(10, 10, 20, 20) == (0.0, 1.0)


def test_category_bins_put_every_unseen_category_in_one_bin():
    ref, cur = drift.category_bins({"a": 5, "b": 5}, {"a": 1, "c": 2, "d": 3})
    assert list(ref) == [5, 5, 0] and list(cur) == [1, 0, 5]


# -- the auto choice (Evidently's defaults) ------------------------------------------------


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda: numeric(rng.normal(size=1000), rng.normal(size=500)), "ks"),
        (lambda: numeric(rng.normal(size=1001), rng.normal(size=500)), "wasserstein"),
        (lambda: numeric(rng.integers(0, 4, 500).astype(float), rng.integers(0, 4, 500)), "chi2"),
        (lambda: numeric(rng.integers(0, 2, 500).astype(float), rng.integers(0, 2, 500)), "z"),
        (lambda: numeric(rng.integers(0, 4, 5000).astype(float), rng.integers(0, 4, 500)), "js"),
        (lambda: categorical({"a": 300, "b": 200, "c": 100}, {"a": 10}), "chi2"),
        (lambda: categorical({"yes": 300, "no": 200}, {"yes": 10, "no": 5}), "z"),
        (lambda: categorical({"a": 3000, "b": 2000}, {"a": 10, "b": 5}), "js"),
    ],
)
def test_auto_picks_the_test_by_type_and_reference_size(make, expected):
    assert drift.auto_method(make()) == expected


def test_auto_thresholds_are_p_005_and_distance_01():
    assert (
        drift.feature_drift(numeric(rng.normal(size=300), rng.normal(size=300))).threshold == 0.05
    )
    big = drift.feature_drift(numeric(rng.normal(size=3000), rng.normal(size=300)))
    assert (big.method, big.threshold) == ("wasserstein", 0.1)


def test_a_shifted_feature_drifts_and_an_identical_one_does_not():
    ref = rng.normal(size=2000)
    assert drift.feature_drift(numeric(ref, rng.normal(0.5, 1, 2000))).drifted
    assert not drift.feature_drift(numeric(ref, ref.copy())).drifted


def test_p_value_methods_drift_below_the_threshold_distances_at_or_above():
    shifted = numeric(rng.normal(size=500), rng.normal(1, 1, 500))
    ks = drift.feature_drift(shifted, "ks")
    assert ks.drifted and ks.p_value < 0.05
    psi = drift.feature_drift(shifted, "psi", threshold=10.0)
    assert psi.p_value is None and not psi.drifted


def test_numeric_only_methods_fall_back_to_auto_for_categorical_features():
    assert (
        drift.feature_drift(categorical({"a": 30, "b": 20, "c": 5}, {"a": 5}), "ks").method
        == "chi2"
    )


def test_psi_on_profile_bins_equals_psi_on_the_raw_values():
    ref, cur = rng.normal(size=1500), rng.normal(0.3, 1.2, size=2500)
    from_bins = drift.feature_drift(numeric(ref, cur), "psi").statistic
    from_samples = drift.feature_drift(numeric(ref, cur, with_bins=False), "psi").statistic
    assert from_bins == pytest.approx(drift.psi(ref, cur), abs=1e-12)
    assert from_samples == pytest.approx(from_bins, abs=1e-12)


# -- corrections and dataset drift ---------------------------------------------------------


def test_bonferroni_multiplies_by_the_number_of_tests_capped_at_one():
    assert list(drift.adjust_p_values([0.01, 0.2, 0.5], "bonferroni")) == pytest.approx(
        [0.03, 0.6, 1.0]
    )


def test_fdr_is_benjamini_hochberg_from_scipy():
    p = np.array([0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205])
    assert np.allclose(
        drift.adjust_p_values(p, "fdr"), stats.false_discovery_control(p, method="bh"), atol=1e-12
    )
    assert np.array_equal(drift.adjust_p_values(p, "none"), p)


def test_corrections_change_verdicts_of_p_value_tests_only():
    results = {
        "a": drift.FeatureDrift("ks", 0.1, 0.03, 0.05, True, 0.03),
        "b": drift.FeatureDrift("ks", 0.1, 0.5, 0.05, False, 0.5),
        "c": drift.FeatureDrift("wasserstein", 0.2, None, 0.1, True),
    }
    drift.apply_correction(results, "bonferroni")
    assert results["a"].p_value_adjusted == pytest.approx(0.06)
    assert not results["a"].drifted and results["a"].p_value == 0.03
    assert results["c"].drifted


def test_drift_share_is_the_share_of_drifted_features():
    results = {
        n: drift.FeatureDrift("js", 0.0, None, 0.1, d)
        for n, d in zip("abcd", [True, False, True, False], strict=True)
    }
    assert drift.drift_share(results) == 0.5
    assert drift.drift_share({}) == 0.0


def dataset(shifted: int, total: int = 4, n: int = 800) -> drift.DriftData:
    features = {}
    for i in range(total):
        ref = rng.normal(size=n)
        cur = rng.normal(2.0 if i < shifted else 0.0, 1, size=n)
        features[f"f{i}"] = numeric(ref, cur)
    return drift.DriftData(features, n, n)


def test_data_drift_breaks_at_the_drift_share():
    config = validate_config("data_drift", {"drift_share": 0.5})
    half = drift.data_drift(dataset(2), config)
    assert half.status == "breached" and half.value == 0.5
    assert drift.data_drift(dataset(1), config).status == "ok"
    details = half.as_dict()["details"]
    assert set(details) >= {"features", "drift_share", "n_reference", "n_current"}
    assert set(details["features"]["f0"]) >= {
        "method",
        "statistic",
        "p_value",
        "threshold",
        "drifted",
    }


def test_data_drift_breaks_when_a_listed_feature_drifts():
    config = validate_config("data_drift", {"features": ["f0", "f1", "f2", "f3"]})
    result = drift.data_drift(dataset(1), config)
    assert result.status == "breached"
    assert result.details["breached_by"] == "listed_feature"


def test_data_drift_gives_each_feature_a_verdict_with_its_statistic_and_threshold():
    config = validate_config("data_drift", {"features": ["f0", "f1"]})
    result = drift.data_drift(dataset(1, total=2), config)
    features, verdicts = result.details["features"], result.details["verdicts"]
    assert verdicts == {
        name: {
            "status": "breached" if f["drifted"] else "ok",
            "value": f["statistic"],
            "threshold": f["threshold"],
        }
        for name, f in features.items()
    }
    assert [v["status"] for v in verdicts.values()] == ["breached", "ok"]


def test_data_drift_below_min_samples_is_insufficient_data():
    config = validate_config("data_drift", {"min_samples": 1000})
    assert drift.data_drift(dataset(4), config).status == "insufficient_data"


def test_prediction_drift_breaks_when_any_output_drifts():
    config = validate_config("prediction_drift", {})
    data = dataset(1, total=2)
    result = drift.prediction_drift(data, config)
    assert (result.status, result.value, result.threshold) == ("breached", 0.5, 0.0)


@pytest.mark.parametrize("shift", [0.0, 0.1, 0.5])
def test_wasserstein_on_5000_value_samples_stays_within_the_documented_bound(shift):
    """Windows above 5,000 rows: the reservoir estimate is within 0.08 of the full-data
    value every time, and within 0.03 on average (docs/checks.md)."""
    errors = []
    for seed in range(30):
        sampler = np.random.default_rng(seed)
        ref, cur = sampler.normal(0, 1, 20_000), sampler.normal(shift, 1, 50_000)
        sampled = drift.wasserstein_norm(
            sampler.choice(ref, 5000, replace=False),
            sampler.choice(cur, 5000, replace=False),
            np.std(ref),
        )
        errors.append(sampled - drift.wasserstein_norm(ref, cur))
    assert np.max(np.abs(errors)) < 0.08
    assert np.mean(np.abs(errors)) < 0.03


@pytest.mark.parametrize("seed", range(5))
def test_the_wasserstein_distance_equals_scipy_with_ties_and_unequal_sizes(seed):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 20, 700).astype(float)  # many ties, and values shared by both
    b = rng.integers(2, 25, 130).astype(float)
    assert drift.wasserstein_1d(a, b) == pytest.approx(stats.wasserstein_distance(a, b), rel=1e-12)
    c, d = rng.normal(size=1), rng.lognormal(0.3, 2, 3000)
    assert drift.wasserstein_1d(c, d) == pytest.approx(stats.wasserstein_distance(c, d), rel=1e-12)
