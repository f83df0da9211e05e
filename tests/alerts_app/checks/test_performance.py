"""Realised performance equals scikit-learn on the same labelled predictions."""

import numpy as np
import pytest
from sklearn import metrics as skm

from alerts_app.checks.performance import LabelledWindow, canon, compute_metric, performance
from alerts_app.rule_config import validate_config

rng = np.random.default_rng(7)


def binary_window(n=400):
    labels = rng.integers(0, 2, n)
    score = np.clip(labels * 0.3 + rng.uniform(0, 0.7, n), 0, 1)
    predictions = (score >= 0.5).astype(int)
    scores = [{"0": 1 - s, "1": s} for s in score]
    return (
        LabelledWindow(labels.tolist(), predictions.tolist(), scores, total=n),
        labels,
        predictions,
        score,
    )


@pytest.mark.parametrize(
    ("metric", "func"),
    [
        ("accuracy", skm.accuracy_score),
        ("precision", skm.precision_score),
        ("recall", skm.recall_score),
        ("f1", skm.f1_score),
    ],
)
def test_binary_label_metrics_equal_sklearn(metric, func):
    window, labels, predictions, _ = binary_window()
    value, used = compute_metric(metric, window, "binary_classification")
    assert value == pytest.approx(func(labels, predictions), abs=1e-12)
    assert used == len(labels)


def test_binary_roc_auc_and_log_loss_read_the_positive_class_score():
    window, labels, _, score = binary_window()
    auc, _ = compute_metric("roc_auc", window, "binary_classification")
    loss, _ = compute_metric("log_loss", window, "binary_classification")
    assert auc == pytest.approx(skm.roc_auc_score(labels, score), abs=1e-12)
    assert loss == pytest.approx(skm.log_loss(labels, score), abs=1e-12)


def test_booleans_strings_and_numbers_name_the_same_class():
    assert canon(True) == canon(1) == canon(1.0) == canon("1") == canon("true") == "1"
    window = LabelledWindow([True, "0", 1.0, "false"], ["1", 0, True, False], total=4)
    assert compute_metric("accuracy", window, "binary_classification")[0] == 1.0


def test_a_named_positive_class_is_used_for_binary_metrics():
    window = LabelledWindow(["fraud", "ok", "fraud", "ok"], ["fraud", "fraud", "ok", "ok"], total=4)
    value, _ = compute_metric("precision", window, "binary_classification", positive="fraud")
    assert value == 0.5


def test_multiclass_metrics_are_macro_averages_from_sklearn():
    labels = rng.integers(0, 3, 300)
    predictions = np.where(rng.uniform(size=300) < 0.7, labels, rng.integers(0, 3, 300))
    window = LabelledWindow(labels.tolist(), predictions.tolist(), total=300)
    for metric, func in (
        ("precision", skm.precision_score),
        ("recall", skm.recall_score),
        ("f1", skm.f1_score),
    ):
        value, _ = compute_metric(metric, window, "multiclass_classification")
        assert value == pytest.approx(func(labels, predictions, average="macro"), abs=1e-12)


def test_multiclass_roc_auc_and_log_loss_use_every_class_score():
    labels = rng.integers(0, 3, 300)
    raw = rng.dirichlet([1, 1, 1], 300) + np.eye(3)[labels] * 0.5
    proba = raw / raw.sum(axis=1, keepdims=True)
    scores = [{str(k): float(p[k]) for k in range(3)} for p in proba]
    window = LabelledWindow(labels.tolist(), proba.argmax(axis=1).tolist(), scores, total=300)
    auc, _ = compute_metric("roc_auc", window, "multiclass_classification")
    loss, _ = compute_metric("log_loss", window, "multiclass_classification")
    assert auc == pytest.approx(skm.roc_auc_score(labels, proba, multi_class="ovr"), abs=1e-12)
    assert loss == pytest.approx(skm.log_loss(labels, proba), abs=1e-12)


@pytest.mark.parametrize(
    ("metric", "func"),
    [
        ("mae", skm.mean_absolute_error),
        ("rmse", skm.root_mean_squared_error),
        ("mape", skm.mean_absolute_percentage_error),
        ("r2", skm.r2_score),
    ],
)
def test_regression_metrics_equal_sklearn(metric, func):
    y_true = rng.normal(10, 2, 200)
    y_pred = y_true + rng.normal(0, 1, 200)
    window = LabelledWindow(y_true.tolist(), y_pred.tolist(), total=200)
    value, _ = compute_metric(metric, window, "regression")
    assert value == pytest.approx(func(y_true, y_pred), abs=1e-12)


def test_performance_carries_label_coverage_and_breaks_below_the_threshold():
    window, *_ = binary_window(100)
    window.total = 400
    config = validate_config(
        "performance", {"metric": "accuracy", "threshold": 0.99, "min_labels": 50}
    )
    result = performance({"window": window, "task": "binary_classification"}, config)
    assert result.status == "breached"
    assert result.details["label_coverage"] == 0.25


def test_performance_with_too_few_labels_is_insufficient_data():
    window, *_ = binary_window(10)
    config = validate_config("performance", {"metric": "f1", "threshold": 0.5})
    result = performance({"window": window, "task": "binary_classification"}, config)
    assert result.status == "insufficient_data"
    assert result.details["labelled"] == 10


def test_roc_auc_with_one_class_only_is_insufficient_data():
    window = LabelledWindow([1] * 40, [1] * 40, [{"1": 0.9}] * 40, total=40)
    config = validate_config("performance", {"metric": "roc_auc", "threshold": 0.5})
    result = performance({"window": window, "task": "binary_classification"}, config)
    assert result.status == "insufficient_data"
    assert "both classes" in result.details["reason"]
