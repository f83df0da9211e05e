"""Calibrated thresholds (alerts_app/checks/calibration.py) against direct computation."""

import numpy as np
import pytest
from scipy import stats
from scipy.spatial import distance

from alerts_app.checks import calibration as cal
from alerts_app.checks import drift
from alerts_app.checks.causes import drift_score
from alerts_app.checks.drift import DriftData, FeatureData, data_drift, feature_drift
from alerts_app.rule_config import validate_config


def normal(n, seed=1, loc=0.0, scale=1.0):
    return np.random.default_rng(seed).normal(loc, scale, n)


def band(values):
    values = np.asarray(values, float)
    return values.mean(), values.std(ddof=1)


def log_up(mean, std, k):
    """`k` sd up on the log-normal of this mean and std (the drift bands' scale)."""
    sigma = np.sqrt(np.log1p((std / mean) ** 2))
    return float(np.exp(np.log(mean) - sigma**2 / 2 + k * sigma))


def chunks_by_hand(n, size, seed=0):
    """The chunks as the docstring defines them: a seeded permutation cut in order."""
    order = np.random.default_rng(seed).permutation(n)
    count = min(n // size, cal.MAX_CHUNKS)
    return [order[i * size : (i + 1) * size] for i in range(count)]


def rest(values, idx):
    keep = np.ones(len(values), bool)
    keep[idx] = False
    return values[keep]


def test_ks_threshold_is_k_log_sd_up_the_band_of_scipy_ks_per_chunk_against_the_rest():
    ref = normal(5000)
    found = cal.calibrate_feature(cal.ReferenceFeature.from_values(ref), "ks", 250, k=3.0, seed=7)
    chunks = chunks_by_hand(5000, 250, 7)
    per_chunk = [stats.ks_2samp(rest(ref, idx), ref[idx]).statistic for idx in chunks]
    mean, std = band(per_chunk)
    assert found.chunks == 20 and not found.resampled
    assert found.mean == pytest.approx(mean, abs=1e-12)
    assert found.std == pytest.approx(std, abs=1e-12)
    assert found.threshold == pytest.approx(log_up(mean, std, 3), abs=1e-12)
    assert found.as_dict() == {
        "method": "ks",
        "chunk_size": 250,
        "chunks": 20,
        "mean": found.mean,
        "std": found.std,
        "k": 3.0,
        "threshold": found.threshold,
        "resampled": False,
        "direction": "upper",
        "scale": "log",
    }


def test_psi_js_and_wasserstein_thresholds_match_direct_computation():
    ref = normal(3000, seed=3, loc=5, scale=2)
    reference = cal.ReferenceFeature.from_values(ref)
    chunks = chunks_by_hand(3000, 200, 11)
    edges = np.unique(np.quantile(ref, np.linspace(0.1, 0.9, 9)))

    def shares(values):
        counts = np.bincount(np.searchsorted(edges, values, side="right"), minlength=10)
        return counts / counts.sum()

    def psi(idx):  # the rest's counts in the whole reference's decile bins
        r, c = shares(rest(ref, idx)), shares(ref[idx])
        r, c = np.maximum(r, 1e-4), np.maximum(c, 1e-4)
        return float(np.sum((c - r) * np.log(c / r)))

    expected = {
        "psi": [psi(i) for i in chunks],
        "js": [distance.jensenshannon(shares(rest(ref, i)), shares(ref[i])) for i in chunks],
        "wasserstein": [
            stats.wasserstein_distance(rest(ref, i), ref[i]) / ref.std() for i in chunks
        ],
    }
    for method, values in expected.items():
        found = cal.calibrate_feature(reference, method, 200, k=2.5, seed=11)
        mean, std = band(values)
        assert found.mean == pytest.approx(mean, rel=1e-9), method
        assert found.threshold == pytest.approx(log_up(mean, std, 2.5), rel=1e-9), method


def test_chi2_and_z_thresholds_use_the_test_statistic_not_the_p_value():
    counts = {"a": 600, "b": 300, "c": 100}
    reference = cal.ReferenceFeature.categorical(counts)
    values = reference.values
    assert sorted(values.tolist()) == ["a"] * 600 + ["b"] * 300 + ["c"] * 100
    chunks = chunks_by_hand(1000, 60, 5)

    def table(idx):  # the rest of the reference vs the chunk
        chunk = [values[idx].tolist().count(k) for k in "abc"]
        return np.array([[counts[k] - c for k, c in zip("abc", chunk, strict=True)], chunk])

    chi2 = [stats.chi2_contingency(table(i)).statistic for i in chunks]
    found = cal.calibrate_feature(reference, "chi2", 60, seed=5)
    assert found.mean == pytest.approx(np.mean(chi2), rel=1e-9)
    expected = log_up(np.mean(chi2), np.std(chi2, ddof=1), 3)
    assert found.threshold == pytest.approx(expected, rel=1e-9)

    def z(idx):  # pooled two-proportion z of the first category, "a"
        hits, n = values[idx].tolist().count("a"), len(idx)
        ref_hits, ref_n = 600 - hits, 1000 - n
        pooled = (ref_hits + hits) / (ref_n + n)
        spread = np.sqrt(pooled * (1 - pooled) * (1 / ref_n + 1 / n))
        return abs((ref_hits / ref_n - hits / n) / spread)

    found = cal.calibrate_feature(reference, "z", 60, seed=5)
    assert found.mean == pytest.approx(np.mean([z(i) for i in chunks]), rel=1e-9)


def test_fewer_rows_than_ten_chunks_are_resampled_against_bootstrap_copies_of_the_reference():
    ref = normal(900, seed=2)
    found = cal.calibrate_feature(cal.ReferenceFeature.from_values(ref), "ks", 200, seed=4)
    rng = np.random.default_rng(4)
    draws = [rng.integers(0, 900, size=200) for _ in range(cal.RESAMPLED_CHUNKS)]
    copies = np.random.default_rng([4, 1])  # each chunk against a bootstrap copy of ref
    bins = cal.ReferenceFeature.from_values(ref).bins
    per_chunk = []
    for idx in draws:
        copy = ref[copies.integers(0, 900, 900)]
        copies.multinomial(900, bins / bins.sum())  # the copy's bin counts (PSI, JS)
        per_chunk.append(stats.ks_2samp(copy, ref[idx]).statistic)
    assert found.resampled and found.chunks == cal.RESAMPLED_CHUNKS == 50
    assert found.mean == pytest.approx(np.mean(per_chunk), rel=1e-12)
    # a window larger than the stored sample is still calibrated at its own size
    bigger = cal.calibrate_feature(cal.ReferenceFeature.from_values(ref), "ks", 2000, seed=4)
    assert bigger.resampled and bigger.chunk_size == 2000


def test_disjoint_chunks_partition_a_shuffle_and_ordered_chunks_are_the_newest_stretch():
    chunks, resampled = cal.chunk_indices(1050, 100, seed=3)
    joined = np.concatenate(chunks)
    assert not resampled and len(chunks) == 10 and len(np.unique(joined)) == 1000
    ordered, _ = cal.chunk_indices(1050, 100, ordered=True)
    assert [c.tolist() for c in ordered] == [
        list(range(50 + i * 100, 150 + i * 100)) for i in range(10)
    ]
    many, _ = cal.chunk_indices(100_000, 10)
    assert len(many) == cal.MAX_CHUNKS


def test_too_small_a_reference_gives_no_calibration():
    assert cal.calibrate_feature(cal.ReferenceFeature.from_values(normal(29)), "ks", 10) is None
    assert cal.calibrate_feature(cal.ReferenceFeature.from_values(normal(99)), "psi", 10) is None
    assert cal.calibrate_feature(cal.ReferenceFeature.from_values(normal(100)), "psi", 10)


def test_generic_calibrate_lower_band_and_undefined_chunks():
    values = normal(2000, seed=9, loc=0.8, scale=0.05)

    def mean_unless_tiny(idx):
        if idx[0] % 7 == 0:
            raise ValueError("undefined here")
        return values[idx].mean()

    found = cal.calibrate(
        2000, mean_unless_tiny, 100, 2.0, method="accuracy", direction="lower", ordered=True
    )
    kept = [values[i].mean() for i in (np.arange(100) + 100 * j for j in range(20)) if i[0] % 7]
    assert found.chunks == len(kept) < 20
    assert found.threshold == pytest.approx(np.mean(kept) - 2 * np.std(kept, ddof=1), rel=1e-12)
    assert found.direction == "lower"

    def never(idx):
        raise ValueError("undefined everywhere")

    assert cal.calibrate(2000, never, 100, method="x") is None  # < MIN_STATISTICS chunks


@pytest.mark.parametrize(
    "n,size", [(1, 1), (9, 10), (987, 1000), (1013, 1000), (1150, 1250), (450, 500), (70, 63)]
)
def test_expected_chunk_size_rounds_to_the_r10_series(n, size):
    assert cal.expected_chunk_size(n) == size


def test_from_summary_reads_a_stored_reference_as_from_values():
    ref = normal(4000, seed=12)
    edges = np.unique(np.quantile(ref, np.linspace(0.1, 0.9, 9))).tolist()
    part = {
        "type": "numeric",
        "count": 4000,
        "sample": ref.tolist(),
        "edges": edges,
        "bin_counts": cal.bin_counts(ref, edges).tolist(),
        "std": float(ref.std()),
    }
    a = cal.calibrate_feature(cal.ReferenceFeature.from_summary(part), "psi", 300, seed=1)
    b = cal.calibrate_feature(cal.ReferenceFeature.from_values(ref), "psi", 300, seed=1)
    assert a == b
    categories = {"type": "categorical", "count": 30, "categories": {"x": 20, "y": 10}}
    assert cal.ReferenceFeature.from_summary(categories).categories == {"x": 20, "y": 10}


def test_stable_windows_stay_under_the_threshold_and_a_shift_crosses_it():
    ref = normal(5000, seed=21)
    reference = cal.ReferenceFeature.from_values(ref)
    for method in ("ks", "psi", "wasserstein", "js"):
        limit = cal.calibrate_feature(reference, method, 500, seed=0).threshold
        same = [cal.drift_statistic(reference, normal(500, seed=s), method) for s in range(100)]
        shifted = cal.drift_statistic(reference, normal(500, seed=999, loc=0.5), method)
        # about 3 % of stable windows pass a k = 3 threshold (module docstring)
        assert sum(v >= limit for v in same) <= 8, method
        assert shifted >= limit, method


def test_a_resampled_copy_keeps_the_reference_size_and_shares():
    reference = cal.ReferenceFeature.categorical({"a": 60_000, "b": 40_000})
    copy = reference.resample(np.random.default_rng(0))
    assert sum(copy.categories.values()) == 100_000
    assert copy.categories["a"] == pytest.approx(60_000, abs=4 * np.sqrt(100_000 * 0.24))
    numeric = cal.ReferenceFeature.from_values(normal(1000))
    copy = numeric.resample(np.random.default_rng(0))
    assert len(copy.sample) == 1000 and copy.bins.sum() == 1000 and copy.std == numeric.std
    assert set(copy.sample.tolist()) <= set(numeric.sample.tolist())


def test_a_window_larger_than_the_reference_is_not_flagged_by_its_own_noise():
    """Against the reference itself, resampled chunks would miss its noise: KS with
    1,000 reference values and windows of 2,000 flagged 39 % of stable windows."""
    rng = np.random.default_rng(2)
    flagged = 0
    for trial in range(5):
        ref = rng.normal(size=1000)
        reference = cal.ReferenceFeature.from_values(ref)
        limit = cal.calibrate_feature(reference, "ks", 2000, seed=trial).threshold
        windows = [rng.normal(size=2000) for _ in range(20)]
        flagged += sum(cal.drift_statistic(reference, w, "ks") >= limit for w in windows)
    assert flagged <= 5  # of 100 stable windows


def drift_config(**overrides) -> dict:
    return validate_config("data_drift", {"threshold": "auto", **overrides})


def test_the_drift_check_judges_d_chi2_and_abs_z_against_their_bands():
    ref = normal(800, seed=30)  # <= 1,000 values: auto picks KS
    reference = cal.ReferenceFeature.from_values(ref)
    data = cal.window_data(reference, normal(300, seed=31, loc=0.4))
    data.calibration = cal.calibrate_feature(reference, "ks", 300)
    plan = cal.ReferenceFeature.categorical({"yes": 500, "no": 500})  # 2 values: z
    flat = cal.window_data(plan, ["yes"] * 150 + ["no"] * 150)
    flat.calibration = cal.calibrate_feature(plan, "z", 300)
    features = {"x": data, "plan": flat}
    result = data_drift(DriftData(features, 800, 300), drift_config(correction="none"))
    x, p = result.details["features"]["x"], result.details["features"]["plan"]
    d = stats.ks_2samp(ref, data.cur_sample).statistic
    assert x["statistic"] == pytest.approx(d) and x["threshold"] == data.calibration.threshold
    assert x["drifted"] and x["calibrated"] and x["p_value_adjusted"] is None
    assert x["z"] == pytest.approx(
        (np.log(d) - np.log(log_up(data.calibration.mean, data.calibration.std, 0)))
        / np.sqrt(np.log1p((data.calibration.std / data.calibration.mean) ** 2))
    )
    # the raw KS p-value is kept
    assert x["p_value"] == pytest.approx(feature_drift(data, "ks").p_value)
    assert p["method"] == "z" and p["statistic"] == 0.0 and not p["drifted"]
    assert result.status == "breached"  # 1 of 2 features reaches drift_share 0.5
    assert result.details["causes"][0]["score"] == pytest.approx(d / x["threshold"])
    # corrected across the 2 features (fdr, the default: one drifting, so alpha / 2)
    fdr = data_drift(DriftData(features, 800, 300), drift_config())
    k2 = stats.norm.isf(stats.norm.sf(3) / 2)
    assert fdr.details["features"]["x"]["threshold"] == pytest.approx(data.calibration.value_at(k2))
    assert fdr.details["calibration"]["x"]["corrected_k"] == pytest.approx(k2)
    assert fdr.details["features"]["x"]["drifted"] == (x["z"] >= k2)


def calibrated_window(z: float) -> FeatureData:
    """A feature whose statistic sits `z` log-sd up its band (mean 0.1, std 0.03)."""
    band = cal.Band("wasserstein", 500, 50, 0.1, 0.03, False)
    calibration = cal.drift_calibration(band)
    data = FeatureData("numeric", 5000, 500)
    data.calibration = calibration
    data.statistic_value = calibration.value_at(z)
    return data


@pytest.mark.parametrize(
    "zs, correction, drifted",
    [
        # 25 features, one at 3.5 sd: alone past k = 3, not past bonferroni's 3.87
        ([3.5] + [0.0] * 24, "none", 1),
        ([3.5] + [0.0] * 24, "bonferroni", 0),
        ([3.5] + [0.0] * 24, "fdr", 0),
        ([4.0] + [0.0] * 24, "bonferroni", 1),
        # three features at 3.6: bonferroni keeps asking 3.87 of each, fdr 3.6 (3α/25)
        ([3.6] * 3 + [0.0] * 22, "bonferroni", 0),
        ([3.6] * 3 + [0.0] * 22, "fdr", 3),
    ],
)
def test_calibrated_verdicts_are_corrected_across_features(zs, correction, drifted, monkeypatch):
    features = {f"f{i:02d}": calibrated_window(z) for i, z in enumerate(zs)}
    monkeypatch.setattr(
        drift, "bounded_statistic", lambda data, method: (data.statistic_value, None)
    )
    results, _ = drift.calibrated_results(features, correction)
    assert sum(r.drifted for r in results.values()) == drifted
    alpha, m = stats.norm.sf(3), len(zs)
    level = {"none": alpha, "bonferroni": alpha / m, "fdr": alpha * max(drifted, 1) / m}
    k = stats.norm.isf(level[correction])
    for name, result in results.items():
        assert result.z == pytest.approx(zs[int(name[1:])])
        assert result.threshold == pytest.approx(features[name].calibration.value_at(k))
        assert result.drifted == (result.statistic >= result.threshold)


def test_a_calibrated_cause_scores_statistic_over_threshold_for_a_p_value_method():
    assert drift_score("chi2", 30.0, 1e-6, 10.0, calibrated=True) == 3.0
    assert drift_score("chi2", 30.0, 1e-6, 0.05) == pytest.approx(6 / -np.log10(0.05))


def test_a_feature_without_a_band_or_with_too_few_values_is_not_judged():
    reference = cal.ReferenceFeature.from_values(normal(2000, seed=40))
    small = cal.window_data(reference, normal(29, seed=41, loc=3))
    small.calibration = cal.calibrate_feature(reference, "ks", 29)
    none = cal.window_data(reference, normal(500, seed=42, loc=3))
    result = data_drift(DriftData({"a": small, "b": none}, 2000, 500), drift_config())
    assert result.status == "insufficient_data"
    assert "fewer than 30 (ks" in result.details["skipped"]["a"]
    assert "too few values to calibrate" in result.details["skipped"]["b"]
    assert result.details["verdicts"]["a"]["status"] == "insufficient_data"


@pytest.mark.parametrize("seed", range(5))
def test_the_ks_statistic_equals_scipy_with_ties_and_unequal_sizes(seed):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 20, 700).astype(float)  # many ties
    b = rng.integers(2, 25, 130).astype(float)
    assert cal.ks_statistic(a, b) == pytest.approx(stats.ks_2samp(a, b).statistic, abs=1e-15)
    c, d = rng.normal(size=50), rng.normal(0.3, 2, 3000)
    assert cal.ks_statistic(c, d) == pytest.approx(stats.ks_2samp(c, d).statistic, abs=1e-15)
