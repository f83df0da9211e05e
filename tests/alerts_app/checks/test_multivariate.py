"""Multivariate drift equals scikit-learn on the same rows, catches a change of correlation
no per-feature KS test sees, stays quiet on stable data, and names the features."""

import numpy as np
import pytest
from scipy import stats
from sklearn.decomposition import PCA
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.preprocessing import StandardScaler

from alerts_app.checks import multivariate
from alerts_app.checks.multivariate import MultivariateData
from alerts_app.rule_config import validate_config

NAMES = ["a", "b", "c", "d"]


def correlated(n: int, rho: float, seed: int) -> np.ndarray:
    """Columns a, b (correlation rho) and c, d (correlation 0.5), each N(0, 1)."""
    rng = np.random.default_rng(seed)
    first = rng.multivariate_normal([0, 0], [[1, rho], [rho, 1]], size=n)
    second = rng.multivariate_normal([0, 0], [[1, 0.5], [0.5, 1]], size=n)
    return np.hstack([first, second])


def rows(reference: np.ndarray, current: np.ndarray, names=NAMES, **extra) -> MultivariateData:
    return MultivariateData(
        features=list(names),
        types={name: "numeric" for name in names},
        reference={n: reference[:, i].tolist() for i, n in enumerate(names)},
        current={n: current[:, i].tolist() for i, n in enumerate(names)},
        n_reference=len(reference),
        n_current=len(current),
        **extra,
    )


def config(method: str, **fields) -> dict:
    return validate_config(
        "multivariate_drift", {"method": method, "window": "1h", "min_samples": 100} | fields
    )


REFERENCE = correlated(2000, 0.9, seed=1)
STABLE = correlated(600, 0.9, seed=2)
FLIPPED = correlated(600, -0.9, seed=3)  # a, b: the same N(0, 1) marginals, opposite sign


def test_the_correlation_flip_is_invisible_to_every_per_feature_ks_test():
    for column in range(4):
        assert stats.ks_2samp(REFERENCE[:, column], FLIPPED[:, column]).pvalue > 0.05


@pytest.mark.parametrize("method", multivariate.METHODS)
def test_a_correlation_only_shift_breaks_and_stable_data_does_not(method):
    flipped = multivariate.multivariate_drift(rows(REFERENCE, FLIPPED), config(method))
    stable = multivariate.multivariate_drift(rows(REFERENCE, STABLE), config(method))
    assert flipped.status == "breached", flipped.details
    assert stable.status == "ok", stable.details
    assert stable.details["causes"] == []
    top = [c["feature"] for c in flipped.details["causes"][:2]]
    assert sorted(top) == ["a", "b"]  # the flipped pair, not the stable one
    for entry in flipped.details["causes"]:
        assert entry["kind"] == "feature" and entry["segment"] is None
        assert entry["score"] > 0 and entry["summary"].startswith(entry["feature"] + ": ")
    assert flipped.details["n_reference"] == 2000 and flipped.details["n_current"] == 600


def test_pca_error_and_band_equal_scikit_learn():
    result = multivariate.multivariate_drift(
        rows(REFERENCE, FLIPPED), config("pca_reconstruction", chunk_size=200)
    )
    scaler = StandardScaler().fit(REFERENCE)
    pca = PCA(n_components=0.65, svd_solver="full").fit(scaler.transform(REFERENCE))

    def errors(x):
        z = scaler.transform(x)
        return ((z - pca.inverse_transform(pca.transform(z))) ** 2).sum(axis=1)

    chunks = errors(REFERENCE).reshape(10, 200).mean(axis=1)
    expected = errors(FLIPPED).mean()
    band = result.details["band"]
    assert result.value == pytest.approx(expected, abs=1e-9)
    assert result.details["error"] == pytest.approx(expected, abs=1e-9)
    assert band["mean"] == pytest.approx(chunks.mean(), abs=1e-9)
    assert band["std"] == pytest.approx(chunks.std(ddof=1), abs=1e-9)
    assert band["upper"] == pytest.approx(chunks.mean() + 3 * chunks.std(ddof=1), abs=1e-9)
    assert result.threshold == pytest.approx(band["upper"], abs=1e-9)
    assert result.details["components"] == pca.n_components_ == 2
    assert result.details["n_chunks"] == 10 and result.details["chunk_size"] == 200
    # the per-feature contributions add up to the error, and a and b carry the rise
    parts = result.details["contributions"]
    assert sum(p["current"] for p in parts.values()) == pytest.approx(expected, abs=1e-9)
    rise = {n: p["current"] - p["reference"] for n, p in parts.items()}
    share = rise["a"] / sum(v for v in rise.values() if v > 0)
    top = next(c for c in result.details["causes"] if c["feature"] == "a")
    score = (expected - chunks.mean()) / (3 * chunks.std(ddof=1))
    assert top["score"] == pytest.approx(share * score, rel=1e-9)


def test_the_default_chunk_is_the_window_at_most_a_tenth_of_the_reference():
    small = multivariate.multivariate_drift(
        rows(REFERENCE, STABLE[:150]), config("pca_reconstruction")
    )
    large = multivariate.multivariate_drift(rows(REFERENCE, STABLE), config("pca_reconstruction"))
    assert (small.details["chunk_size"], small.details["n_chunks"]) == (150, 13)
    assert (large.details["chunk_size"], large.details["n_chunks"]) == (200, 10)


def test_domain_classifier_auc_equals_scikit_learn_cross_validation():
    result = multivariate.multivariate_drift(rows(REFERENCE, FLIPPED), config("domain_classifier"))
    x = np.vstack([REFERENCE, FLIPPED])
    y = np.r_[np.zeros(len(REFERENCE)), np.ones(len(FLIPPED))]
    expected = cross_val_score(
        HistGradientBoostingClassifier(max_iter=50, early_stopping=False, random_state=0),
        x,
        y,
        cv=StratifiedKFold(n_splits=5, shuffle=True, random_state=0),
        scoring="roc_auc",
    )
    assert result.value == pytest.approx(expected.mean(), abs=1e-9)
    assert result.details["fold_aucs"] == pytest.approx(list(expected), abs=1e-9)
    assert result.threshold == 0.65 and result.details["auc"] == result.value
    score = (expected.mean() - 0.5) / (0.65 - 0.5)
    assert sum(c["score"] for c in result.details["causes"]) == pytest.approx(score, rel=1e-9)


def test_the_same_rows_give_the_same_result():
    for method in multivariate.METHODS:
        first = multivariate.multivariate_drift(rows(REFERENCE, FLIPPED), config(method))
        again = multivariate.multivariate_drift(rows(REFERENCE, FLIPPED), config(method))
        assert first.as_dict() == again.as_dict()


def test_the_classifier_threshold_decides():
    data = rows(REFERENCE, STABLE)
    auc = multivariate.multivariate_drift(data, config("domain_classifier")).value
    assert 0.4 < auc < 0.6
    lower = multivariate.multivariate_drift(data, config("domain_classifier", threshold=0.5))
    assert lower.status == ("breached" if auc > 0.5 else "ok")


@pytest.mark.parametrize("method", multivariate.METHODS)
def test_too_few_rows_on_either_side_is_insufficient_data(method):
    short_window = multivariate.multivariate_drift(rows(REFERENCE, STABLE[:99]), config(method))
    short_reference = multivariate.multivariate_drift(rows(REFERENCE[:50], STABLE), config(method))
    assert short_window.status == short_reference.status == "insufficient_data"
    assert "window has 99 rows" in short_window.details["reason"]
    assert "joint sample has 50 rows" in short_reference.details["reason"]
    assert short_window.details["causes"] == []
    one_column = multivariate.multivariate_drift(
        rows(REFERENCE[:, :1], STABLE[:, :1], names=["a"]), config(method)
    )
    assert one_column.status == "insufficient_data"


def test_a_chunk_too_large_for_two_chunks_is_insufficient_data():
    result = multivariate.multivariate_drift(
        rows(REFERENCE, STABLE), config("pca_reconstruction", chunk_size=1500)
    )
    assert result.status == "insufficient_data"
    assert "fewer than two chunks of 1500 rows" in result.details["reason"]


def test_categories_are_one_hot_of_the_reference_top_categories():
    data = MultivariateData(
        features=["x", "city"],
        types={"x": "numeric", "city": "categorical"},
        reference={"x": [1.0, None, 3.0, 4.0], "city": ["fr", "de", "fr", None]},
        current={"x": [None, 2.0], "city": ["de", "it"]},
        n_reference=4,
        n_current=2,
    )
    encoding, skipped = multivariate.fit_encoding(data)
    assert encoding.columns == (("x", None), ("city", "fr"), ("city", "de")) and not skipped
    assert encoding.means == {"x": pytest.approx(8 / 3)}
    matrix = multivariate.encode(data.current, encoding, 2)
    assert np.isnan(matrix[0, 0]) and matrix[1, 0] == 2.0
    assert matrix[:, 1:].tolist() == [[0.0, 1.0], [0.0, 0.0]]  # unseen "it": all zeros
    assert multivariate.imputed(matrix, encoding)[0, 0] == pytest.approx(8 / 3)


def test_more_categories_than_the_cap_keep_the_most_frequent_ties_by_name():
    values = [f"v{i:02d}" for i in range(30) for _ in range(1 + i % 3)]
    top = multivariate.top_categories(values)
    assert len(top) == multivariate.MAX_CATEGORIES
    assert top[:3] == ["v02", "v05", "v08"]


def test_a_categorical_shift_of_the_joint_distribution_is_caught_with_missing_values():
    """City and amount swap their relation (each marginal unchanged); some amounts missing."""
    rng = np.random.default_rng(7)

    def sample(n, flip):
        city = rng.choice(["north", "south"], size=n)
        high = (city == "north") != flip
        amount = np.where(high, rng.normal(2, 1, n), rng.normal(-2, 1, n))
        amounts = [None if rng.uniform() < 0.1 else float(v) for v in amount]
        return {"city": city.tolist(), "amount": amounts, "noise": rng.normal(size=n).tolist()}

    reference, current = sample(1500, False), sample(500, True)
    data = MultivariateData(
        features=["amount", "city", "noise"],
        types={"amount": "numeric", "city": "categorical", "noise": "numeric"},
        reference=reference,
        current=current,
        n_reference=1500,
        n_current=500,
    )
    for method in multivariate.METHODS:
        result = multivariate.multivariate_drift(data, config(method))
        assert result.status == "breached", (method, result.details)
        assert {c["feature"] for c in result.details["causes"][:2]} == {"amount", "city"}
        assert result.details["columns"] == 4  # amount, city=north, city=south, noise


def test_features_without_reference_values_are_skipped_and_named():
    data = rows(REFERENCE, STABLE)
    data.features.append("empty")
    data.types["empty"] = "categorical"
    data.reference["empty"] = [None] * len(REFERENCE)
    data.current["empty"] = ["x"] * len(STABLE)
    result = multivariate.multivariate_drift(data, config("pca_reconstruction"))
    assert result.status == "ok"
    assert result.details["skipped"] == {"empty": "No values in the reference sample."}
    assert result.details["compared"] == NAMES


def test_the_pca_band_does_not_fire_on_fifty_stable_windows():
    """The reference's chunks are scored by the PCA fitted on them (in-sample) and the
    window is not: the band must still hold stable windows, even for a small reference."""
    small = correlated(300, 0.9, seed=1000)
    for seed in range(50):
        for reference, n in ((REFERENCE, 600), (small, 100)):
            window = correlated(n, 0.9, seed=2000 + seed)
            result = multivariate.multivariate_drift(
                rows(reference, window), config("pca_reconstruction")
            )
            assert result.status == "ok", (seed, len(reference), result.details["band"])
