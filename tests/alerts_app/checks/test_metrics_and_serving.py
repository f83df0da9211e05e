"""Metric aggregates, percent change, latency, error rate and silence."""

import numpy as np
import pytest

from alerts_app.checks import metrics, serving
from alerts_app.rule_config import validate_config

VALUES = np.array([3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0])


@pytest.mark.parametrize(
    ("how", "expected"),
    [
        ("avg", VALUES.mean()),
        ("min", 1.0),
        ("max", 9.0),
        ("last", 6.0),
        ("sum", 31.0),
        ("count", 8.0),
        ("p50", np.percentile(VALUES, 50)),
        ("p95", np.percentile(VALUES, 95)),
        ("p99", np.percentile(VALUES, 99)),
    ],
)
def test_aggregations_equal_numpy(how, expected):
    assert metrics.aggregate(VALUES, how) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(
    ("operator", "status"), [(">", "ok"), (">=", "breached"), ("<", "ok"), ("==", "breached")]
)
def test_the_operator_says_which_side_breaks(operator, status):
    config = validate_config(
        "metric_threshold",
        {"metric": "m", "aggregation": "max", "threshold": 9, "operator": operator},
    )
    assert metrics.metric_threshold(VALUES, config).status == status


def test_count_of_an_empty_window_is_zero_not_insufficient():
    config = validate_config(
        "metric_threshold", {"metric": "m", "aggregation": "count", "operator": "<", "threshold": 1}
    )
    result = metrics.metric_threshold(np.array([]), config)
    assert (result.status, result.value) == ("breached", 0.0)


def test_change_pct_is_relative_to_the_absolute_baseline():
    assert metrics.change_pct(80, 100) == -20.0
    assert metrics.change_pct(-80, -100) == 20.0


def test_metric_change_with_a_zero_baseline_is_insufficient_data():
    config = validate_config("metric_change", {"metric": "m", "max_change_pct": 10})
    data = {"current": np.array([1.0]), "baseline": np.array([0.0])}
    assert metrics.metric_change(data, config).status == "insufficient_data"


def test_metric_change_any_direction_uses_the_absolute_change():
    config = validate_config("metric_change", {"metric": "m", "max_change_pct": 10})
    result = metrics.metric_change(
        {"current": np.array([130.0]), "baseline": np.array([100.0])}, config
    )
    assert (result.status, result.value) == ("breached", pytest.approx(30.0))


def test_latency_percentile_is_numpy_linear_interpolation():
    latencies = np.arange(1, 201, dtype=float)
    assert serving.latency_percentile(latencies, 95) == np.percentile(latencies, 95)


def test_latency_breaks_above_threshold_ms():
    config = validate_config("latency", {"threshold_ms": 100})
    assert serving.latency({"n": 50, "value": 120.0}, config).status == "breached"
    assert serving.latency({"n": 50, "value": 80.0}, config).status == "ok"
    assert serving.latency({"n": 5, "value": 500.0}, config).status == "insufficient_data"


def test_error_rate_is_errors_over_predictions():
    config = validate_config("error_rate", {"max_rate": 0.1})
    result = serving.error_rate({"total": 40, "errors": 6}, config)
    assert (result.status, result.value) == ("breached", 0.15)


def test_no_data_breaks_once_the_silence_reaches_the_window():
    config = validate_config("no_data", {"window": "10m"})
    assert serving.no_data({"silence": 599.0}, config).status == "ok"
    assert serving.no_data({"silence": 600.0}, config).status == "breached"
    never = serving.no_data({"silence": None}, config)
    assert never.status == "breached" and never.details["never"] is True
