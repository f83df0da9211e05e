"""Dashboard fixtures: a logged-in browser client and a small model with every kind of data."""

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from alerts_app.models import Alert, AlertRule, AlertTransition, CheckResult
from models_app import ingest
from models_app.models import Model, ModelVersion, ParameterStat, Prediction, Reference
from tests.factories import grant_all_models, make_user

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def viewer(db):
    return grant_all_models(make_user("viewer"), "editor")  # editors may acknowledge


@pytest.fixture
def browser_client(viewer) -> Client:
    client = Client()
    client.force_login(viewer)
    return client


def hours_before(count: int) -> list[datetime]:
    return [NOW - timedelta(hours=count - h) for h in range(count)]


def add_telemetry(version: ModelVersion) -> None:
    """48 hourly accuracy values, 4 predictions an hour (some labelled, one error)."""
    ingest.record_metrics(
        version,
        [
            {
                "name": "accuracy",
                "value": 0.9 - (0.2 if i >= 40 else 0.0),
                "timestamp": t,
                "step": None,
                "stage": "production",
            }
            for i, t in enumerate(hours_before(48))
        ],
    )
    ingest.record_metrics(
        version,
        [
            {
                "name": "loss",
                "value": v,
                "timestamp": NOW - timedelta(days=3, minutes=10 - s),
                "step": s,
                "stage": stage,
            }
            for s in range(1, 11)
            for stage, v in (("train", 1 / s), ("validation", 1 / s + max(0, s - 4) * 0.05))
        ],
    )
    Prediction.objects.bulk_create(
        [
            Prediction(
                model=version.model,
                version=version,
                timestamp=t + timedelta(minutes=m),
                features={"age": 30 + m, "city": "paris" if m % 2 else "rome"},
                prediction=1,
                label=1 if m < 30 else None,
                latency_ms=10.0 + m,
                error="boom" if m == 45 else "",
            )
            for t in hours_before(48)
            for m in (0, 15, 30, 45)
        ]
    )
    ParameterStat.objects.bulk_create(
        [
            ParameterStat(
                model=version.model,
                version=version,
                tensor="fc.weight",
                step=s,
                timestamp=NOW - timedelta(days=3),
                mean=0,
                std=1,
                min=-1,
                max=1,
                l2_norm=5 + s,
                grad_norm=0.1 * s,
            )
            for s in range(1, 11)
        ]
    )
    Reference.objects.create(
        version=version,
        n_rows=100,
        summary={
            "features": {
                "age": {"type": "numeric", "edges": [35.0, 50.0], "bin_counts": [40, 40, 20]},
                "city": {"type": "categorical", "categories": {"paris": 60, "rome": 40}},
            }
        },
    )


def add_alerting(model: Model, version: ModelVersion) -> AlertRule:
    """A threshold rule on accuracy whose alert went pending then firing 8 hours ago."""
    rule = AlertRule.objects.create(
        name="accuracy too low",
        model=model,
        kind="metric_threshold",
        severity="critical",
        config={
            "metric": "accuracy",
            "aggregation": "avg",
            "window": "1h",
            "operator": "<",
            "threshold": 0.8,
        },
        last_run_at=NOW,
    )
    CheckResult.objects.bulk_create(
        [
            CheckResult(
                rule=rule,
                version=version,
                evaluated_at=t,
                status="breached" if i >= 40 else "ok",
                value=0.7 if i >= 40 else 0.9,
                threshold=0.8,
                passed=i < 40,
            )
            for i, t in enumerate(hours_before(48))
        ]
    )
    alert = Alert.objects.create(
        rule=rule,
        version=version,
        fingerprint=f"{rule.pk}:{version.pk}:",
        state="firing",
        value=0.7,
        threshold=0.8,
        pending_since=NOW - timedelta(hours=8),
        started_at=NOW - timedelta(hours=7),
        last_evaluated=NOW,
    )
    AlertTransition.objects.create(
        alert=alert, old="ok", new="pending", event="pending", created_at=NOW - timedelta(hours=8)
    )
    AlertTransition.objects.create(
        alert=alert,
        old="pending",
        new="firing",
        event="firing",
        created_at=NOW - timedelta(hours=7),
    )
    drift = AlertRule.objects.create(
        name="drift", model=model, kind="data_drift", config={"method": "psi"}, last_run_at=NOW
    )
    CheckResult.objects.bulk_create(
        [
            CheckResult(
                rule=drift,
                version=version,
                evaluated_at=t,
                status="ok",
                passed=True,
                value=0.0,
                details={
                    "features": {
                        "age": {
                            "method": "psi",
                            "statistic": 0.05 * (i % 7),
                            "p_value": None,
                            "threshold": 0.2,
                            "drifted": i % 7 > 4,
                        },
                        "city": {
                            "method": "psi",
                            "statistic": 0.01,
                            "p_value": None,
                            "threshold": 0.2,
                            "drifted": False,
                        },
                    }
                },
            )
            for i, t in enumerate(hours_before(24))
        ]
    )
    return rule


@pytest.fixture
def watched(db) -> Model:
    """A model with metrics, predictions, a training run, weights, a reference and alerts."""
    model = Model.objects.create(
        name="churn",
        task="binary_classification",
        tags=["team-a"],
        description="Churn model <script>alert('x')</script>",
        last_seen_at=NOW,
        features=[{"name": "age", "type": "numeric"}, {"name": "city", "type": "categorical"}],
    )
    version = ModelVersion.objects.create(model=model, version="1", created_at=NOW)
    add_telemetry(version)
    add_alerting(model, version)
    Model.objects.filter(pk=model.pk).update(last_seen_at=NOW)
    model.refresh_from_db()
    return model


@pytest.fixture
def frozen_now(monkeypatch):
    """Pin `timezone.now()` for the views so presets end at NOW."""
    from django.utils import timezone

    monkeypatch.setattr(timezone, "now", lambda: NOW)
    return NOW
