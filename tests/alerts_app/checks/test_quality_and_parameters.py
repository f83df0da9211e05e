"""Data-quality rates per feature, and parameter health per tensor."""

import math

import pytest

from alerts_app.checks.parameters import norm_change_pct, parameter_health
from alerts_app.checks.quality import QualityCounts, data_quality, quality_verdict
from alerts_app.rule_config import validate_config


def quality(features: dict, rows: int = 100, **config):
    return data_quality(
        {"rows": rows, "features": features}, validate_config("data_quality", config)
    )


def test_rates_are_over_rows_or_over_valid_values():
    counts = QualityCounts(valid=80, missing=15, type_errors=5, out_of_range=8, unseen=0)
    rates = counts.rates()
    assert rates["missing_rate"] == 0.15 and rates["type_error_rate"] == 0.05
    assert rates["out_of_range_rate"] == 0.1


def test_a_clean_window_is_ok():
    result = quality({"age": QualityCounts(100), "city": QualityCounts(100)})
    assert result.status == "ok" and result.details["failing"] == []


def test_a_rate_above_its_limit_breaks_and_names_the_feature_and_rate():
    result = quality(
        {"age": QualityCounts(70, missing=30), "city": QualityCounts(100)}, max_missing_rate=0.2
    )
    assert result.status == "breached"
    assert result.details["failing"] == ["age"]
    assert result.details["features"]["age"]["violations"] == ["missing_rate"]
    assert (result.value, result.threshold) == (0.3, 0.2)
    assert result.details["worst"] == {"feature": "age", "rate": "missing_rate"}


def test_each_feature_gets_a_verdict_with_its_worst_rate_and_that_limit():
    features = {
        "age": QualityCounts(70, missing=30),
        "city": QualityCounts(96, type_errors=4),
        "zip": QualityCounts(100),
    }
    result = quality(features, max_missing_rate=0.1, max_type_error_rate=0.01)
    assert result.details["verdicts"] == {
        "age": {"status": "breached", "value": 0.3, "threshold": 0.1},
        "city": {"status": "breached", "value": 0.04, "threshold": 0.01},
        "zip": {"status": "ok", "value": 0.0, "threshold": 0.1},
    }


def test_a_feature_with_every_limit_disabled_cannot_be_judged():
    config = validate_config("data_quality", {"max_missing_rate": 0.1})
    verdict = quality_verdict(
        {"missing_rate": 0.5, "violations": ["missing_rate"]}, config | {"max_missing_rate": None}
    )
    assert verdict == {"status": "insufficient_data", "value": None, "threshold": None}


def test_a_disabled_limit_is_not_checked():
    result = quality({"age": QualityCounts(50, missing=50)}, max_missing_rate=None)
    assert result.status == "ok"


def test_a_zero_limit_breaks_on_any_occurrence():
    result = quality({"city": QualityCounts(100, unseen=1)}, max_unseen_category_rate=0)
    assert result.status == "breached" and result.value == 0.01


def test_too_few_rows_is_insufficient_data():
    assert quality({"age": QualityCounts(5)}, rows=5).status == "insufficient_data"


# -- parameter health ------------------------------------------------------------------


def row(step, norm, grad=1.0, nan=0, inf=0):
    return {
        "step": step,
        "l2_norm": norm,
        "grad_norm": grad,
        "nan_count": nan,
        "inf_count": inf,
        "mean": 0.0,
        "std": 1.0,
        "min": -1.0,
        "max": 1.0,
    }


def health(stats, **config):
    return parameter_health(stats, validate_config("parameter_health", config))


def test_norm_change_is_relative_to_the_previous_norm():
    assert norm_change_pct(10, 13) == pytest.approx(30.0)
    assert norm_change_pct(0, 0) == 0.0 and math.isinf(norm_change_pct(0, 1))


def test_healthy_tensors_are_ok():
    result = health({"fc.weight": [row(1, 10), row(2, 10.5)]})
    assert result.status == "ok" and result.value == pytest.approx(5.0)


def test_a_norm_jump_breaks_the_rule():
    result = health(
        {"fc.weight": [row(1, 10), row(2, 30)], "fc.bias": [row(1, 1), row(2, 1)]},
        max_norm_change_pct=50,
    )
    assert result.status == "breached" and result.details["failing"] == ["fc.weight"]
    assert result.details["tensors"]["fc.weight"]["problems"] == ["norm_change"]


def test_nan_or_inf_breaks_unless_disabled():
    tensors = {"w": [row(1, 1), row(2, 1, nan=3)]}
    assert health(tensors).details["tensors"]["w"]["problems"] == ["nan_or_inf"]
    assert health(tensors, nan_or_inf=False).status == "ok"


def test_vanishing_and_exploding_gradients_break():
    low = health({"w": [row(1, 1), row(2, 1, grad=1e-9)]})
    high = health({"w": [row(1, 1), row(2, 1, grad=1e6)]})
    assert low.details["tensors"]["w"]["problems"] == ["vanishing_gradient"]
    assert high.details["tensors"]["w"]["problems"] == ["exploding_gradient"]


def test_tensor_patterns_select_what_is_watched():
    stats = {"encoder.w": [row(1, 1), row(2, 9)], "decoder.w": [row(1, 1), row(2, 1)]}
    assert health(stats, tensors=["decoder.*"]).status == "ok"
    assert health(stats, tensors=["encoder.*"]).status == "breached"
    assert health(stats, tensors=["nothing"]).status == "insufficient_data"
