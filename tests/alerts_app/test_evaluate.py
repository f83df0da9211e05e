"""evaluate_rule: window data -> check -> stored CheckResult, for metric and serving kinds."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from alerts_app.evaluate import evaluate_rule
from alerts_app.models import AlertRule, CheckResult
from models_app.models import MetricPoint, Prediction

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def make_rule(model, kind, **config) -> AlertRule:
    return AlertRule.objects.create(name=f"{kind} rule", model=model, kind=kind, config=config)


def log_metric(model, name, values, minutes_apart=1, end=NOW, stage="production"):
    version = model.latest_version()
    MetricPoint.objects.bulk_create(
        MetricPoint(
            model=model,
            version=version,
            name=name,
            value=v,
            stage=stage,
            timestamp=end - timedelta(minutes=minutes_apart * (len(values) - 1 - i)),
        )
        for i, v in enumerate(values)
    )


def log_predictions(model, n, end=NOW, latency=None, errors=0, spacing_s=1):
    version = model.latest_version()
    Prediction.objects.bulk_create(
        Prediction(
            model=model,
            version=version,
            features={},
            prediction=1,
            timestamp=end - timedelta(seconds=spacing_s * i),
            latency_ms=None if latency is None else latency[i],
            error="boom" if i < errors else "",
        )
        for i in range(n)
    )


@pytest.mark.django_db
def test_metric_threshold_breaches_on_the_window_average_and_stores_the_result(model):
    log_metric(model, "loss", [1.0, 2.0, 3.0])
    log_metric(model, "loss", [100.0], end=NOW - timedelta(hours=2))
    rule = make_rule(model, "metric_threshold", metric="loss", threshold=1.5, window="10m")
    result = evaluate_rule(rule, NOW)
    assert (result.status, result.value, result.threshold) == ("breached", 2.0, 1.5)
    assert result.passed is False
    assert result.details["points"] == 3
    assert CheckResult.objects.filter(rule=rule).count() == 1


@pytest.mark.django_db
def test_store_false_returns_an_unsaved_result(model):
    log_metric(model, "loss", [1.0])
    rule = make_rule(model, "metric_threshold", metric="loss", threshold=5)
    result = evaluate_rule(rule, NOW, store=False)
    assert result.status == "ok" and result.pk is None
    assert not CheckResult.objects.exists()


@pytest.mark.django_db
def test_metric_threshold_without_points_is_insufficient_data(model):
    rule = make_rule(model, "metric_threshold", metric="loss", threshold=1)
    result = evaluate_rule(rule, NOW)
    assert result.status == "insufficient_data"
    assert result.passed is True
    assert "No points" in result.details["reason"]


@pytest.mark.django_db
def test_threshold_results_say_whether_the_value_is_past_the_clear_threshold(model):
    log_metric(model, "drift", [0.2])
    rule = make_rule(
        model, "metric_threshold", metric="drift", threshold=0.25, clear_threshold=0.15
    )
    details = evaluate_rule(rule, NOW).details
    assert details["clear_threshold"] == 0.15 and details["cleared"] is False


@pytest.mark.django_db
def test_metric_change_compares_with_the_preceding_baseline_window(model):
    log_metric(model, "accuracy", [0.9] * 5, end=NOW - timedelta(hours=2))
    log_metric(model, "accuracy", [0.6] * 5)
    rule = make_rule(
        model,
        "metric_change",
        metric="accuracy",
        window="1h",
        baseline_window="1d",
        max_change_pct=20,
        direction="drop",
    )
    result = evaluate_rule(rule, NOW)
    assert result.status == "breached"
    assert result.value == pytest.approx(100 * 0.3 / 0.9)
    assert result.details["change_pct"] == pytest.approx(-100 * 0.3 / 0.9)


@pytest.mark.django_db
def test_metric_change_ignores_a_change_in_the_other_direction(model):
    log_metric(model, "accuracy", [0.5] * 5, end=NOW - timedelta(hours=2))
    log_metric(model, "accuracy", [0.9] * 5)
    rule = make_rule(
        model, "metric_change", metric="accuracy", window="1h", max_change_pct=20, direction="drop"
    )
    assert evaluate_rule(rule, NOW).status == "ok"


@pytest.mark.django_db
def test_metric_anomaly_flags_a_spike_after_a_steady_series(model):
    rng = np.random.default_rng(0)
    log_metric(model, "rps", list(100 + rng.normal(0, 1, 30)) + [130.0])
    rule = make_rule(model, "metric_anomaly", metric="rps", lookback=30, method="mad")
    result = evaluate_rule(rule, NOW)
    assert result.status == "breached"
    assert result.details["last"] == 130.0
    assert result.details["points"] == 31


@pytest.mark.django_db
def test_latency_reads_the_percentile_of_the_window(model):
    latencies = list(np.arange(1.0, 101.0))
    log_predictions(model, 100, latency=latencies)
    rule = make_rule(model, "latency", percentile=95, threshold_ms=90, window="5m")
    result = evaluate_rule(rule, NOW)
    assert result.value == pytest.approx(np.percentile(latencies, 95))
    assert result.status == "breached"


@pytest.mark.django_db
def test_latency_below_min_samples_is_insufficient_data(model):
    log_predictions(model, 3, latency=[1.0, 2.0, 3.0])
    rule = make_rule(model, "latency", threshold_ms=90, min_samples=10)
    assert evaluate_rule(rule, NOW).status == "insufficient_data"


@pytest.mark.django_db
def test_error_rate_is_the_share_of_predictions_with_an_error(model):
    log_predictions(model, 50, errors=5)
    rule = make_rule(model, "error_rate", max_rate=0.05, window="5m")
    result = evaluate_rule(rule, NOW)
    assert (result.status, result.value) == ("breached", 0.1)
    assert result.details["errors"] == 5 and result.details["n"] == 50


@pytest.mark.django_db
def test_no_data_breaches_on_silence_and_reports_the_last_arrival(model):
    log_predictions(model, 1, end=NOW - timedelta(hours=1))
    rule = make_rule(model, "no_data", window="10m", source="predictions")
    result = evaluate_rule(rule, NOW)
    assert (result.status, result.value, result.threshold) == ("breached", 3600.0, 600.0)
    assert result.details["last_seen"].startswith("2026-03-01T11:00")


@pytest.mark.django_db
def test_no_data_is_ok_when_metrics_arrive_for_source_any(model):
    log_metric(model, "loss", [1.0])
    rule = make_rule(model, "no_data", window="10m", source="any")
    assert evaluate_rule(rule, NOW).status == "ok"


@pytest.mark.django_db
def test_an_unknown_version_answers_insufficient_data(model):
    rule = make_rule(model, "no_data", version="nope")
    result = evaluate_rule(rule, NOW)
    assert result.status == "insufficient_data"
    assert "does not exist" in result.details["reason"]


@pytest.mark.django_db
def test_a_named_version_restricts_the_data(model):
    log_metric(model, "loss", [1.0])
    other = model.versions.create(version="2")
    MetricPoint.objects.create(model=model, version=other, name="loss", value=9.0, timestamp=NOW)
    rule = make_rule(model, "metric_threshold", metric="loss", threshold=5, version="1")
    result = evaluate_rule(rule, NOW)
    assert result.value == 1.0 and result.version.version == "1"
