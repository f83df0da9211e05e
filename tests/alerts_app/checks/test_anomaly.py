"""Anomaly scores of the last point equal numpy / pandas / scipy on the baseline."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from alerts_app.checks.anomaly import anomaly_score, metric_anomaly
from alerts_app.rule_config import validate_config

rng = np.random.default_rng(3)
SERIES = np.r_[rng.normal(10, 1, 40), 14.0]


def test_zscore_uses_the_mean_and_sample_std_of_the_points_before():
    score, centre, spread = anomaly_score(SERIES, "zscore")
    base = SERIES[:-1]
    assert score == pytest.approx((14 - base.mean()) / base.std(ddof=1), abs=1e-12)
    assert (centre, spread) == (pytest.approx(base.mean()), pytest.approx(base.std(ddof=1)))


def test_ewma_uses_pandas_exponentially_weighted_mean_and_std():
    score, _, _ = anomaly_score(SERIES, "ewma", alpha=0.2)
    ewm = pd.Series(SERIES[:-1]).ewm(alpha=0.2, adjust=False)
    expected = (14 - ewm.mean().iloc[-1]) / ewm.std().iloc[-1]
    assert score == pytest.approx(expected, abs=1e-12)


def test_mad_uses_the_median_and_normal_scaled_mad():
    score, _, _ = anomaly_score(SERIES, "mad")
    base = SERIES[:-1]
    expected = (14 - np.median(base)) / stats.median_abs_deviation(base, scale="normal")
    assert score == pytest.approx(expected, abs=1e-12)


def test_mad_is_robust_to_an_outlier_in_the_baseline():
    series = np.r_[rng.normal(10, 1, 40), 500.0, rng.normal(10, 1, 5), 14.0]
    assert abs(anomaly_score(series, "mad")[0]) > 3
    assert abs(anomaly_score(series, "zscore")[0]) < 1


def test_a_flat_baseline_scores_zero_for_the_same_value_and_inf_otherwise():
    assert anomaly_score(np.full(10, 5.0), "zscore")[0] == 0.0
    assert anomaly_score(np.r_[np.full(9, 5.0), 6.0], "zscore")[0] == np.inf


@pytest.mark.parametrize(
    ("direction", "status"), [("any", "breached"), ("rise", "breached"), ("drop", "ok")]
)
def test_direction_decides_which_side_is_anomalous(direction, status):
    config = validate_config("metric_anomaly", {"metric": "m", "direction": direction})
    assert metric_anomaly(SERIES, config).status == status


def test_an_anomaly_result_reports_the_band_and_the_last_value():
    config = validate_config("metric_anomaly", {"metric": "m", "z": 3})
    details = metric_anomaly(SERIES, config).details
    assert details["last"] == 14.0
    assert details["upper"] == pytest.approx(details["centre"] + 3 * details["spread"])


def test_too_short_a_series_is_insufficient_data():
    config = validate_config("metric_anomaly", {"metric": "m"})
    assert metric_anomaly(np.array([1.0, 2.0, 3.0]), config).status == "insufficient_data"
