"""Drift, quality and CBPE evaluated end to end from stored profiles equal scipy on the
raw data (the windows here fit in the 5,000-value reservoir, so KS and Wasserstein are
exact; PSI and JS use the reference's bins)."""

from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone
from scipy import stats
from scipy.spatial import distance

from alerts_app.checks import drift
from alerts_app.evaluate import evaluate_rule
from alerts_app.models import AlertRule
from models_app.profiles import rollup_profiles

NOW = timezone.now().replace(microsecond=0)
rng = np.random.default_rng(11)
CATEGORIES = ["a", "b", "c", "d"]


def post(api, path: str, body: dict) -> dict:
    response = api.post(f"/api/v1/models/fraud/{path}/", body, format="json")
    assert response.status_code in (200, 201), response.json()
    return response.json()


def reference(api, x, c, scores=None, labels=None) -> None:
    records = [{"x": float(v), "c": k} for v, k in zip(x, c, strict=True)]
    for i, record in enumerate(records):
        if scores is not None:
            record["score"] = float(scores[i])
        if labels is not None:
            record["label"] = int(labels[i])
    post(api, "reference", {"records": records})


def predictions(api, x, c, scores=None, minutes=50) -> None:
    records = [
        {
            "timestamp": (NOW - timedelta(seconds=1 + i * minutes * 60 // len(x))).isoformat(),
            "features": {"x": None if v is None else float(v), "c": k},
            "prediction": 1,
            "scores": None if scores is None else {"0": 1 - scores[i], "1": scores[i]},
        }
        for i, (v, k) in enumerate(zip(x, c, strict=True))
    ]
    for start in range(0, len(records), 5000):
        post(api, "predictions", {"records": records[start : start + 5000]})


def rule(model, kind, **config) -> AlertRule:
    return AlertRule.objects.create(name=kind, model=model, kind=kind, config=config)


@pytest.fixture
def data(api, model):
    ref_x, ref_c = rng.normal(0, 1, 1500), rng.choice(CATEGORIES, 1500, p=[0.4, 0.3, 0.2, 0.1])
    cur_x, cur_c = rng.normal(0.3, 1.2, 2000), rng.choice(CATEGORIES, 2000, p=[0.2, 0.3, 0.3, 0.2])
    reference(api, ref_x, ref_c)
    predictions(api, cur_x, cur_c)
    return ref_x, ref_c, cur_x, cur_c


def features_of(model, method: str, **config) -> dict:
    result = evaluate_rule(
        rule(model, "data_drift", method=method, window="1h", correction="none", **config), NOW
    )
    return result.details["features"]


@pytest.mark.django_db
def test_wasserstein_and_ks_from_profiles_equal_scipy_on_the_raw_values(model, data):
    ref_x, _, cur_x, _ = data
    wasserstein = features_of(model, "wasserstein")["x"]
    expected = stats.wasserstein_distance(ref_x, cur_x) / np.std(ref_x)
    assert wasserstein["statistic"] == pytest.approx(expected, abs=1e-9)
    ks = features_of(model, "ks")["x"]
    result = stats.ks_2samp(ref_x, cur_x)
    assert ks["statistic"] == pytest.approx(result.statistic, abs=1e-9)
    assert ks["p_value"] == pytest.approx(result.pvalue, abs=1e-9)


@pytest.mark.django_db
def test_psi_and_js_from_profile_bins_equal_their_definition(model, data):
    ref_x, ref_c, cur_x, cur_c = data
    found = features_of(model, "psi")
    assert found["x"]["statistic"] == pytest.approx(drift.psi(ref_x, cur_x), abs=1e-9)
    r = np.array([np.sum(ref_c == k) for k in CATEGORIES] + [0]) / 1500
    c = np.array([np.sum(cur_c == k) for k in CATEGORIES] + [0]) / 2000
    js = features_of(model, "js")["c"]["statistic"]
    assert js == pytest.approx(distance.jensenshannon(r, c), abs=1e-9)


@pytest.mark.django_db
def test_chi_square_from_profile_counts_equals_chi2_contingency(model, data):
    _, ref_c, _, cur_c = data
    table = np.array(
        [[np.sum(ref_c == k) for k in CATEGORIES], [np.sum(cur_c == k) for k in CATEGORIES]]
    )
    expected = stats.chi2_contingency(table)
    found = features_of(model, "chi2")["c"]
    assert found["statistic"] == pytest.approx(expected.statistic, abs=1e-9)
    assert found["p_value"] == pytest.approx(expected.pvalue, abs=1e-12)


@pytest.mark.django_db
def test_auto_drift_uses_wasserstein_and_js_above_1000_reference_rows(model, data):
    result = evaluate_rule(rule(model, "data_drift", window="1h"), NOW)
    assert result.status == "breached"
    assert {f["method"] for f in result.details["features"].values()} == {"wasserstein", "js"}
    assert result.details["n_reference"] == 1500 and result.details["n_current"] == 2000
    assert result.value == 1.0


@pytest.mark.django_db
def test_results_are_the_same_after_the_rollup(model, data):
    before = evaluate_rule(rule(model, "data_drift", method="ks", window="1h"), NOW, store=False)
    assert rollup_profiles() > 0
    after = evaluate_rule(rule(model, "data_drift", method="ks", window="1h"), NOW, store=False)
    assert after.details["features"] == before.details["features"]


@pytest.mark.django_db
def test_an_undrifted_window_is_ok(api, model):
    ref_x, ref_c = rng.normal(0, 1, 800), rng.choice(CATEGORIES, 800)
    reference(api, ref_x, ref_c)
    predictions(api, rng.normal(0, 1, 800), rng.choice(CATEGORIES, 800))
    result = evaluate_rule(rule(model, "data_drift", window="1h"), NOW)
    assert result.status == "ok"
    assert {f["method"] for f in result.details["features"].values()} == {"ks", "chi2"}


@pytest.mark.django_db
def test_drift_below_min_samples_is_insufficient_data(model, data):
    result = evaluate_rule(rule(model, "data_drift", window="1h", min_samples=5000), NOW)
    assert result.status == "insufficient_data"
    assert "min_samples" in result.details["reason"]


@pytest.mark.django_db
def test_drift_without_a_reference_is_insufficient_data(api, model):
    predictions(api, rng.normal(0, 1, 50), ["a"] * 50)
    result = evaluate_rule(rule(model, "data_drift", window="1h"), NOW)
    assert result.status == "insufficient_data" and "reference" in result.details["reason"]


@pytest.mark.django_db
def test_a_listed_feature_missing_from_the_reference_is_reported_as_skipped(model, data):
    result = evaluate_rule(rule(model, "data_drift", window="1h", features=["x", "nope"]), NOW)
    assert result.details["skipped"] == {"nope": "Not in the reference."}
    assert set(result.details["features"]) == {"x"}


@pytest.mark.django_db
def test_prediction_drift_compares_the_positive_class_score(api, model):
    ref_scores = rng.beta(2, 5, 600)
    reference(api, rng.normal(0, 1, 600), ["a"] * 600, scores=ref_scores)
    cur_scores = rng.beta(5, 2, 600)
    predictions(api, rng.normal(0, 1, 600), ["a"] * 600, scores=cur_scores)
    result = evaluate_rule(rule(model, "prediction_drift", window="1h", output="score"), NOW)
    assert result.status == "breached"
    score = result.details["features"]["__score__"]
    assert score["method"] == "ks"
    assert score["statistic"] == pytest.approx(
        stats.ks_2samp(ref_scores, cur_scores).statistic, abs=1e-9
    )


@pytest.mark.django_db
def test_data_quality_counts_missing_values_per_feature(api, model):
    reference(api, rng.normal(0, 1, 200), rng.choice(CATEGORIES, 200))
    x = [None if i % 4 == 0 else 0.1 for i in range(200)]
    predictions(api, x, ["zzz" if i % 10 == 0 else "a" for i in range(200)])
    result = evaluate_rule(
        rule(
            model, "data_quality", window="1h", max_missing_rate=0.2, max_unseen_category_rate=0.05
        ),
        NOW,
    )
    assert result.status == "breached"
    assert result.details["failing"] == ["c", "x"]
    assert result.details["features"]["x"]["missing_rate"] == 0.25
    assert result.details["features"]["c"]["unseen_category_rate"] == pytest.approx(0.1)


@pytest.mark.django_db
def test_estimated_performance_calibrates_on_the_reference_pairs(api, model):
    ref_scores = rng.uniform(0, 1, 2000)
    ref_labels = (rng.uniform(size=2000) < ref_scores).astype(int)
    reference(api, rng.normal(0, 1, 2000), ["a"] * 2000, scores=ref_scores, labels=ref_labels)
    cur_scores = rng.uniform(0, 1, 3000)
    predictions(api, rng.normal(0, 1, 3000), ["a"] * 3000, scores=cur_scores)
    result = evaluate_rule(
        rule(model, "estimated_performance", metric="accuracy", threshold=0.9, window="1h"), NOW
    )
    assert result.value == pytest.approx(0.75, abs=0.03)
    assert result.status == "breached" and result.details["n"] == 3000


@pytest.mark.django_db
def test_a_new_reference_is_used_as_soon_as_it_is_uploaded(api, model):
    shifted = rng.normal(3, 1, 500)
    reference(api, rng.normal(0, 1, 500), ["a"] * 500)
    predictions(api, shifted, ["a"] * 500)
    drift_rule = rule(model, "data_drift", window="1h", features=["x"])
    assert evaluate_rule(drift_rule, NOW).status == "breached"
    reference(api, rng.normal(3, 1, 500), ["a"] * 500)
    assert evaluate_rule(drift_rule, NOW).status == "ok"
