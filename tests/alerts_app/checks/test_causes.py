"""Causes: drifted features, breaching features and worse segments, ranked comparably."""

import math

import numpy as np
import pytest

from alerts_app.checks import causes
from alerts_app.checks.drift import data_drift, feature_drift
from alerts_app.checks.performance import LabelledWindow, performance
from alerts_app.checks.quality import QualityCounts, data_quality
from alerts_app.rule_config import validate_config
from tests.alerts_app.checks.test_drift import categorical, numeric

rng = np.random.default_rng(7)


def drift_data(shifts: dict[str, float], n: int = 800):
    from alerts_app.checks.drift import DriftData

    features = {
        name: numeric(rng.normal(size=n), rng.normal(loc=shift, size=n))
        for name, shift in shifts.items()
    }
    return DriftData(features, n, n)


def twenty_features(strong=(), mild=()) -> dict[str, float]:
    shifts = {f"f{i:02d}": 0.0 for i in range(20)}
    shifts |= {name: shift for name, shift in strong} | {name: shift for name, shift in mild}
    return shifts


def test_two_strongly_and_one_mildly_drifted_of_twenty_features_rank_in_that_order():
    shifts = twenty_features(strong=[("f13", 1.5), ("f04", 1.0)], mild=[("f09", 0.3)])
    config = validate_config("data_drift", {"drift_share": 0.1})
    result = data_drift(drift_data(shifts), config)
    found = result.details["causes"]
    assert result.breached
    assert [c["feature"] for c in found] == ["f13", "f04", "f09"]
    assert all(c["kind"] == "feature" and c["segment"] is None for c in found)
    assert found[0]["score"] > found[1]["score"] > found[2]["score"] > 1
    assert found[0]["summary"].startswith("f13 (KS 0.")


def test_nothing_is_a_cause_when_nothing_drifts():
    result = data_drift(drift_data(twenty_features()), validate_config("data_drift", {}))
    assert result.status == "ok" and result.details["causes"] == []


def test_a_drifted_feature_below_the_drift_share_is_not_a_cause_of_an_ok_result():
    shifts = twenty_features(strong=[("f01", 1.5)])
    result = data_drift(drift_data(shifts), validate_config("data_drift", {}))
    assert result.details["features"]["f01"]["drifted"] and result.status == "ok"
    assert result.details["causes"] == []


def test_the_score_of_a_p_value_test_is_minus_log10_p_over_minus_log10_threshold():
    assert causes.drift_score("ks", 0.33, 1e-8, 0.05) == pytest.approx(8 / -math.log10(0.05))
    assert causes.drift_score("chi2", 110.0, 0.0, 0.01) == pytest.approx(300 / 2)


def test_the_score_of_a_distance_test_is_the_statistic_over_the_threshold():
    assert causes.drift_score("psi", 0.5, None, 0.2) == pytest.approx(2.5)
    assert causes.drift_score("wasserstein", 0.35, None, 0.1) == pytest.approx(3.5)
    assert causes.drift_score("js", 0.05, None, 0.0) == causes.UNBOUNDED


def test_a_drift_cause_scores_the_corrected_p_value_the_verdict_read():
    tested = feature_drift(categorical({"a": 500, "b": 500}, {"a": 100, "b": 900}), "chi2")
    tested.p_value_adjusted = tested.p_value * 3
    tested.drifted = True
    (found,) = causes.drift_causes({"channel": tested.as_dict()})
    p = max(tested.p_value_adjusted, causes.P_FLOOR)
    assert found == {
        "kind": "feature",
        "feature": "channel",
        "segment": None,
        "score": pytest.approx(-math.log10(p) / -math.log10(0.05)),
        "summary": "channel (χ² p < 1e-6)",
    }


def test_summaries_read_as_a_person_would_write_them():
    assert (
        causes.drift_summary("mean_concave_points", "ks", 0.3312, 1e-9)
        == "mean_concave_points (KS 0.33)"
    )
    assert causes.drift_summary("plan", "z", 2.9, 0.0037) == "plan (z p = 0.0037)"
    assert causes.drift_summary("age", "psi", 0.412, None) == "age (PSI 0.41)"
    assert causes.drift_summary("__score__", "ks", 0.36, 1e-12) == "score (KS 0.36)"


def test_at_most_ten_causes_are_kept_most_important_first():
    shifts = {f"f{i:02d}": 0.5 + i / 10 for i in range(14)}
    result = data_drift(drift_data(shifts), validate_config("data_drift", {}))
    found = result.details["causes"]
    assert len(found) == 10 and found[0]["feature"] == "f13"
    assert [c["score"] for c in found] == sorted((c["score"] for c in found), reverse=True)


def test_data_quality_causes_rank_breaching_features_by_rate_over_limit():
    config = validate_config("data_quality", {"max_missing_rate": 0.05})
    counts = {
        "mean_texture": QualityCounts(80, missing=20),
        "area": QualityCounts(92, missing=8),
        "fine": QualityCounts(99, missing=1),
    }
    result = data_quality({"rows": 100, "features": counts}, config)
    assert [(c["feature"], c["score"]) for c in result.details["causes"]] == [
        ("mean_texture", pytest.approx(4.0)),
        ("area", pytest.approx(1.6)),
    ]
    assert result.details["causes"][0]["summary"] == "mean_texture: 20% missing (limit 5%)"


def test_data_quality_within_limits_has_no_causes():
    config = validate_config("data_quality", {"max_missing_rate": 0.05})
    result = data_quality({"rows": 100, "features": {"a": QualityCounts(99, missing=1)}}, config)
    assert result.status == "ok" and result.details["causes"] == []


def country_window(n_per_country: int = 200) -> LabelledWindow:
    """Accuracy 0.95 everywhere but France (0.3); plan is unrelated to the errors."""
    labels, predictions, features = [], [], []
    for country in ("DE", "FR", "IT", "ES"):
        right = 0.3 if country == "FR" else 0.95
        for i in range(n_per_country):
            label = int(rng.integers(0, 2))
            correct = i < right * n_per_country
            labels.append(label)
            predictions.append(label if correct else 1 - label)
            features.append({"country": country, "plan": ("basic", "pro")[i % 2]})
    return LabelledWindow(labels, predictions, total=len(labels), features=features)


def test_an_accuracy_drop_confined_to_one_country_ranks_that_segment_first():
    config = validate_config("performance", {"metric": "accuracy", "threshold": 0.9})
    result = performance({"window": country_window(), "task": "binary_classification"}, config)
    found = result.details["causes"]
    assert result.breached
    assert (found[0]["kind"], found[0]["feature"], found[0]["segment"]) == (
        "segment",
        "country",
        "FR",
    )
    overall = result.value
    assert found[0]["score"] == pytest.approx(0.25 * (overall - 0.3))
    assert found[0]["summary"] == (
        f"country = FR: accuracy 0.3 vs {overall:.3g} overall (25% of rows)"
    )
    assert all(c["segment"] != "DE" for c in found)


def test_a_loss_rule_ranks_the_segment_where_the_error_grows():
    rows = [({"region": "north"}, 10.0, 10.5)] * 50 + [({"region": "south"}, 10.0, 14.0)] * 10
    window = LabelledWindow(
        [r[1] for r in rows], [r[2] for r in rows], total=60, features=[r[0] for r in rows]
    )
    config = validate_config("performance", {"metric": "mae", "threshold": 1.0, "operator": ">"})
    result = performance({"window": window, "task": "regression"}, config)
    assert [(c["feature"], c["segment"]) for c in result.details["causes"]] == [("region", "south")]


def test_a_performance_rule_that_holds_has_no_causes():
    config = validate_config("performance", {"metric": "accuracy", "threshold": 0.1})
    result = performance({"window": country_window(), "task": "binary_classification"}, config)
    assert result.status == "ok" and result.details["causes"] == []


def test_features_with_more_than_fifty_values_are_not_segments():
    rows = [{"user": f"u{i}", "country": ("FR", "DE")[i % 2]} for i in range(120)]
    assert sorted(causes.segment_values(rows)) == ["country"]


def test_insufficient_results_carry_an_empty_list_of_causes():
    config = validate_config("performance", {"metric": "accuracy", "threshold": 0.9})
    result = performance(
        {"window": LabelledWindow([1], [1], total=1), "task": "binary_classification"}, config
    )
    assert result.status == "insufficient_data" and result.details["causes"] == []


def cbpe_data(n_per_country: int = 300) -> dict:
    """Confident scores everywhere but France, where they sit near 0.5 (expected
    accuracy about 0.5 there, 0.95 elsewhere)."""
    ref_scores = rng.uniform(0, 1, 3000)
    rows = []
    for country in ("DE", "FR", "IT", "ES"):
        if country == "FR":
            scores = rng.uniform(0.45, 0.55, n_per_country)
        else:
            scores = rng.choice([0.03, 0.97], n_per_country) + rng.normal(0, 0.01, n_per_country)
        rows += [(float(s), {"country": country}) for s in scores]
    return {
        "ref_scores": ref_scores,
        "ref_labels": (rng.random(3000) < ref_scores) * 1.0,
        "scores": np.array([s for s, _ in rows]),
        "predicted": None,
        "segment_rows": lambda: rows,
    }


def test_an_estimated_accuracy_drop_confined_to_one_country_ranks_that_segment_first():
    from alerts_app.checks.estimated import estimated_performance

    config = validate_config("estimated_performance", {"metric": "accuracy", "threshold": 0.9})
    result = estimated_performance(cbpe_data(), config)
    found = result.details["causes"]
    assert result.breached
    assert [(c["feature"], c["segment"]) for c in found] == [("country", "FR")]
    assert found[0]["summary"].startswith("country = FR: estimated accuracy 0.")


def test_an_estimate_that_holds_reads_no_segment_rows():
    from alerts_app.checks.estimated import estimated_performance

    def unexpected():
        raise AssertionError("segment rows read for a rule that holds")

    data = cbpe_data() | {"segment_rows": unexpected}
    config = validate_config("estimated_performance", {"metric": "accuracy", "threshold": 0.1})
    result = estimated_performance(data, config)
    assert result.status == "ok" and result.details["causes"] == []
