"""CBPE: estimated accuracy and F1 within 0.02 of the realised values once labels arrive."""

import numpy as np
import pytest
from sklearn import metrics as skm

from alerts_app.checks import estimated
from alerts_app.rule_config import validate_config


def calibrated_classifier(n: int, shift: float, seed: int):
    """Scores whose calibrated probability is known; labels drawn from it."""
    rng = np.random.default_rng(seed)
    x = rng.normal(shift, 1.0, n)
    probability = 1 / (1 + np.exp(-2.0 * x))
    labels = (rng.uniform(size=n) < probability).astype(int)
    scores = np.clip(probability**1.3, 0, 1)  # monotone but not itself calibrated
    return scores, labels


@pytest.mark.parametrize("shift", [0.0, 0.8, -0.8])
def test_cbpe_estimates_accuracy_and_f1_within_002_of_the_realised_values(shift):
    ref_scores, ref_labels = calibrated_classifier(5000, 0.0, seed=1)
    scores, labels = calibrated_classifier(5000, shift, seed=2)
    predicted = scores >= 0.5
    for metric, func in (("accuracy", skm.accuracy_score), ("f1", skm.f1_score)):
        value, _ = estimated.estimate(metric, ref_scores, ref_labels, scores)
        assert abs(value - func(labels, predicted)) < 0.02, metric


def test_the_expected_confusion_matrix_sums_to_the_window_size():
    matrix = estimated.expected_confusion(np.array([0.9, 0.2, 0.6]), np.array([1, 0, 0]))
    assert matrix == pytest.approx({"tp": 0.9, "fp": 0.1, "fn": 0.8, "tn": 1.2})
    assert sum(matrix.values()) == pytest.approx(3)


def test_isotonic_calibration_is_monotone_and_clipped_to_0_1():
    model = estimated.fit_calibrator([0.1, 0.4, 0.6, 0.9], [0, 0, 1, 1])
    out = model.predict(np.array([-1.0, 0.1, 0.5, 2.0]))
    assert list(out) == sorted(out) and out.min() >= 0 and out.max() <= 1


def test_estimated_performance_breaks_below_the_threshold():
    ref_scores, ref_labels = calibrated_classifier(2000, 0.0, seed=3)
    scores, _ = calibrated_classifier(1000, 0.0, seed=4)
    config = validate_config("estimated_performance", {"metric": "accuracy", "threshold": 0.95})
    result = estimated.estimated_performance(
        {"ref_scores": ref_scores, "ref_labels": ref_labels, "scores": scores}, config
    )
    assert result.status == "breached" and 0.6 < result.value < 0.95
    assert set(result.details["expected_confusion"]) == {"tp", "fp", "fn", "tn"}


def test_a_reference_without_both_classes_is_insufficient_data():
    config = validate_config("estimated_performance", {"metric": "f1", "threshold": 0.5})
    data = {
        "ref_scores": np.linspace(0, 1, 50),
        "ref_labels": np.ones(50),
        "scores": np.linspace(0, 1, 500),
    }
    assert estimated.estimated_performance(data, config).status == "insufficient_data"
