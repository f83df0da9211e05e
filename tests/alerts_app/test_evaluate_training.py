"""evaluate_rule for the kinds that read rows and curves: performance, training health,
parameter health, and latency / error rate over long windows (from profiles)."""

from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone
from sklearn.metrics import f1_score

from alerts_app.evaluate import evaluate_rule
from alerts_app.models import AlertRule
from models_app import ingest
from models_app.models import MetricPoint, ParameterStat

NOW = timezone.now().replace(microsecond=0)


def rule(model, kind, **config) -> AlertRule:
    return AlertRule.objects.create(name=kind, model=model, kind=kind, config=config)


def predictions(model, n: int, hours: float = 0.5, **columns) -> None:
    rows = [
        {
            "id": None,
            "timestamp": NOW - timedelta(hours=hours * (i + 1) / n),
            "features": {},
            "prediction": 1,
            "scores": None,
            "label": None,
            "latency_ms": None,
            "error": "",
        }
        | {k: v[i] for k, v in columns.items()}
        for i in range(n)
    ]
    ingest.record_predictions(model.latest_version(), rows)


def curve(model, stage: str, values, name: str = "loss") -> None:
    version = model.latest_version()
    MetricPoint.objects.bulk_create(
        MetricPoint(
            model=model,
            version=version,
            name=name,
            value=float(v),
            step=i,
            stage=stage,
            timestamp=NOW - timedelta(minutes=len(values) - i),
        )
        for i, v in enumerate(values)
    )


@pytest.mark.django_db
def test_performance_uses_the_labelled_rows_and_reports_label_coverage(model):
    rng = np.random.default_rng(1)
    labels, guesses = rng.integers(0, 2, 120), rng.integers(0, 2, 120)
    predictions(
        model,
        200,
        label=[int(v) for v in labels] + [None] * 80,
        prediction=[int(v) for v in guesses] + [1] * 80,
    )
    result = evaluate_rule(rule(model, "performance", metric="f1", threshold=0.9, window="1h"), NOW)
    assert result.value == pytest.approx(f1_score(labels, guesses), abs=1e-12)
    assert result.details["label_coverage"] == pytest.approx(0.6)
    assert result.status == "breached"


@pytest.mark.django_db
def test_overfitting_reads_train_and_validation_curves_by_step(model):
    steps = np.arange(30)
    train = 2 * np.exp(-steps / 6) + 0.1
    val = np.where(steps <= 12, train + 0.05, train[12] + 0.05 + 0.04 * (steps - 12))
    curve(model, "train", train)
    curve(model, "validation", val)
    result = evaluate_rule(rule(model, "overfitting", patience=4), NOW)
    assert result.status == "breached"
    assert result.details["best_step"] == 12 and result.value == 17


@pytest.mark.django_db
def test_the_last_value_logged_at_a_step_wins(model):
    version = model.latest_version()
    for minute, value in ((3, 5.0), (2, 0.1)):
        MetricPoint.objects.create(
            model=model,
            version=version,
            name="loss",
            value=value,
            step=100,
            stage="train",
            timestamp=NOW - timedelta(minutes=minute),
        )
    MetricPoint.objects.create(
        model=model,
        version=version,
        name="loss",
        value=2.0,
        step=1,
        stage="train",
        timestamp=NOW - timedelta(minutes=9),
    )
    result = evaluate_rule(rule(model, "underfitting", threshold=0.5, after_steps=50), NOW)
    assert (result.status, result.value) == ("ok", 0.1)


@pytest.mark.django_db
def test_parameter_health_compares_each_tensor_at_the_last_two_steps(model):
    version = model.latest_version()
    for step, norm in ((1, 100.0), (2, 10.0), (3, 10.5)):
        ParameterStat.objects.create(
            model=model,
            version=version,
            tensor="fc.weight",
            step=step,
            timestamp=NOW - timedelta(minutes=5 - step),
            mean=0,
            std=1,
            min=-1,
            max=1,
            l2_norm=norm,
            grad_norm=0.5,
        )
    result = evaluate_rule(rule(model, "parameter_health"), NOW)
    assert result.status == "ok" and result.value == pytest.approx(5.0)
    assert result.details["tensors"]["fc.weight"]["step"] == 3


@pytest.mark.django_db
def test_latency_over_a_long_window_reads_the_profile_sketch_within_1_percent(model):
    latencies = np.linspace(1, 500, 400).tolist()
    predictions(model, 400, hours=20, latency_ms=latencies)
    result = evaluate_rule(
        rule(model, "latency", threshold_ms=100, percentile=95, window="1d"), NOW
    )
    expected = np.percentile(latencies, 95, method="lower")
    assert result.value == pytest.approx(expected, rel=0.01)
    assert result.details["source"] == "profiles" and result.status == "breached"


@pytest.mark.django_db
def test_error_rate_over_a_long_window_reads_the_profiles(model):
    predictions(model, 100, hours=20, error=["timeout"] * 7 + [""] * 93)
    result = evaluate_rule(rule(model, "error_rate", max_rate=0.05, window="1d"), NOW)
    assert (result.status, result.value) == ("breached", pytest.approx(0.07))
