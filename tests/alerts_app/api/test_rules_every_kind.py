"""Every rule kind over the API: created, evaluated on data sent over the API, a bad
config answered 400 naming the field, and insufficient_data when data is short."""

from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone
from sklearn.metrics import accuracy_score

NOW = timezone.now().replace(microsecond=0)
rng = np.random.default_rng(5)


def at(minutes: float) -> str:
    return (NOW - timedelta(minutes=minutes)).isoformat()


def send(api, path: str, records: list[dict]) -> None:
    response = api.post(f"/api/v1/models/fraud/{path}/", {"records": records}, format="json")
    assert response.status_code in (200, 201), response.json()


def create(api, kind: str, config: dict) -> int:
    response = api.post(
        "/api/v1/rules/",
        {"name": kind, "model": "fraud", "kind": kind, "config": config},
        format="json",
    )
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def evaluate(api, rule_id: int) -> dict:
    response = api.post(
        f"/api/v1/rules/{rule_id}/evaluate/", {"at": NOW.isoformat()}, format="json"
    )
    assert response.status_code == 200, response.json()
    return response.json()


def predictions(n: int, **fields) -> list[dict]:
    return [
        {
            "timestamp": at(1 + 40 * i / n),
            "features": {"x": float(rng.normal()), "c": "a"},
            "prediction": 1,
        }
        | {k: (v[i] if isinstance(v, list) else v) for k, v in fields.items()}
        for i in range(n)
    ]


def metric_points(name: str, values, stage="production", minutes_apart=1.0, steps=False):
    return [
        {
            "name": name,
            "value": float(v),
            "stage": stage,
            "timestamp": at(minutes_apart * (len(values) - i)),
            **({"step": i} if steps else {}),
        }
        for i, v in enumerate(values)
    ]


def setup_metric_threshold(api):
    send(api, "metrics", metric_points("loss", [2.0, 3.0]))
    return {"metric": "loss", "threshold": 1.0, "window": "10m"}, "breached"


def setup_metric_change(api):
    send(
        api,
        "metrics",
        metric_points("acc", [0.9] * 3, minutes_apart=60) + metric_points("acc", [0.5] * 3),
    )
    return {
        "metric": "acc",
        "window": "10m",
        "baseline_window": "1d",
        "max_change_pct": 10,
        "direction": "drop",
    }, "breached"


def setup_metric_anomaly(api):
    send(api, "metrics", metric_points("rps", list(rng.normal(100, 1, 20)) + [150]))
    return {"metric": "rps", "lookback": 20, "method": "zscore"}, "breached"


def setup_data_drift(api):
    send(api, "reference", [{"x": float(v), "c": "a"} for v in rng.normal(0, 1, 300)])
    send(
        api,
        "predictions",
        predictions(300, features=[{"x": float(v), "c": "b"} for v in rng.normal(3, 1, 300)]),
    )
    return {"window": "1h", "min_samples": 50}, "breached"


def setup_prediction_drift(api):
    send(
        api,
        "reference",
        [
            {"x": 0.0, "prediction": int(v > 0.5), "score": float(v)}
            for v in rng.uniform(0, 0.6, 300)
        ],
    )
    scores = [float(v) for v in rng.uniform(0.4, 1, 300)]
    send(api, "predictions", predictions(300, scores=[{"1": s, "0": 1 - s} for s in scores]))
    return {"window": "1h", "min_samples": 50}, "breached"


def setup_data_quality(api):
    send(
        api,
        "predictions",
        predictions(100, features=[{"x": None if i < 30 else 1.0} for i in range(100)]),
    )
    return {"window": "1h", "max_missing_rate": 0.1}, "breached"


def setup_performance(api):
    labels = [int(v) for v in rng.integers(0, 2, 100)]
    guesses = [int(v) for v in rng.integers(0, 2, 100)]
    send(api, "predictions", predictions(100, label=labels, prediction=guesses))
    expected = accuracy_score(labels, guesses)
    return {"metric": "accuracy", "threshold": expected + 0.01, "window": "1h", "min_labels": 50}, (
        "breached",
        expected,
    )


def setup_estimated_performance(api):
    ref = rng.uniform(0, 1, 500)
    send(
        api,
        "reference",
        [{"x": 0.0, "score": float(s), "label": int(rng.uniform() < s)} for s in ref],
    )
    scores = [float(v) for v in rng.uniform(0, 1, 400)]
    send(api, "predictions", predictions(400, scores=[{"1": s, "0": 1 - s} for s in scores]))
    return {"metric": "accuracy", "threshold": 0.95, "window": "1h", "min_samples": 100}, "breached"


def setup_overfitting(api):
    steps = np.arange(30)
    train = 2 * np.exp(-steps / 5) + 0.1
    val = np.where(steps < 15, train + 0.05, train[15] + 0.05 + 0.05 * (steps - 15))
    send(
        api,
        "metrics",
        metric_points("loss", train, "train", steps=True)
        + metric_points("loss", val, "validation", steps=True),
    )
    return {"patience": 5}, "breached"


def setup_underfitting(api):
    send(api, "metrics", metric_points("loss", 1 + np.exp(-np.arange(60) / 5), "train", steps=True))
    return {"threshold": 0.3, "after_steps": 50}, "breached"


def setup_latency(api):
    send(api, "predictions", predictions(50, latency_ms=[float(v) for v in range(50)]))
    return {"threshold_ms": 40, "percentile": 95, "window": "1h"}, (
        "breached",
        float(np.percentile(np.arange(50.0), 95)),
    )


def setup_error_rate(api):
    send(api, "predictions", predictions(50, error=["boom"] * 10 + [""] * 40))
    return {"max_rate": 0.1, "window": "1h"}, ("breached", 0.2)


def setup_no_data(api):
    return {"window": "10m", "source": "any"}, "breached"


def setup_parameter_health(api):
    rows = [
        {
            "tensor": "fc.weight",
            "step": s,
            "mean": 0.0,
            "std": 1.0,
            "min": -1.0,
            "max": 1.0,
            "l2_norm": n,
            "timestamp": at(5 - s),
        }
        for s, n in ((1, 10.0), (2, 40.0))
    ]
    send(api, "parameters", rows)
    return {"max_norm_change_pct": 50}, "breached"


def setup_multivariate_drift(api):
    """x and y swap a +0.9 correlation for -0.9: each marginal stays N(0, 1)."""

    def rows(n, rho):
        return [
            {"x": float(x), "y": float(y), "c": "a"}
            for x, y in rng.multivariate_normal([0, 0], [[1, rho], [rho, 1]], size=n)
        ]

    send(api, "reference", rows(300, 0.9))
    send(api, "predictions", predictions(300, features=rows(300, -0.9)))
    return {"method": "domain_classifier", "window": "1h", "min_samples": 50}, "breached"


KINDS = {
    name[len("setup_") :]: func for name, func in globals().items() if name.startswith("setup_")
}


def test_every_kind_has_a_scenario():
    from alerts_app.models import RuleKind

    assert set(KINDS) == set(RuleKind.values)


@pytest.mark.django_db
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_is_created_and_evaluated(api, model, kind):
    config, expected = KINDS[kind](api)
    result = evaluate(api, create(api, kind, config))
    status, value = expected if isinstance(expected, tuple) else (expected, None)
    assert result["status"] == status, result["details"]
    assert set(result) >= {"status", "value", "threshold", "details"}
    if value is not None:
        assert result["value"] == pytest.approx(value, abs=1e-9)


BAD_CONFIGS = {
    "metric_threshold": ({"metric": "loss", "threshold": "high"}, "threshold"),
    "metric_change": ({"metric": "loss", "max_change_pct": -5}, "max_change_pct"),
    "metric_anomaly": ({"metric": "loss", "method": "prophet"}, "method"),
    "data_drift": ({"drift_share": 1.5}, "drift_share"),
    "prediction_drift": ({"correction": "holm"}, "correction"),
    "data_quality": ({"max_missing_rate": 2}, "max_missing_rate"),
    "performance": ({"metric": "bleu", "threshold": 1}, "metric"),
    "estimated_performance": ({"metric": "roc_auc", "threshold": 1}, "metric"),
    "overfitting": ({"patience": 0}, "patience"),
    "underfitting": ({"after_steps": 10}, "threshold"),
    "latency": ({"threshold_ms": 100, "window": "5 minutes"}, "window"),
    "error_rate": ({"max_rate": 0.1, "clear_threshold": 0.2}, "clear_threshold"),
    "no_data": ({"source": "logs"}, "source"),
    "parameter_health": ({"tensors": "fc.*"}, "tensors"),
    "multivariate_drift": ({"method": "isolation_forest"}, "method"),
}


@pytest.mark.django_db
@pytest.mark.parametrize("kind", sorted(BAD_CONFIGS))
def test_an_invalid_config_of_every_kind_is_answered_400_naming_the_field(api, model, kind):
    config, field = BAD_CONFIGS[kind]
    response = api.post(
        "/api/v1/rules/",
        {"name": "bad", "model": "fraud", "kind": kind, "config": config},
        format="json",
    )
    assert response.status_code == 400
    assert list(response.json()["config"]) == [field]


SHORT = {
    "data_drift": {"window": "1h", "min_samples": 1000},
    "prediction_drift": {"window": "1h", "min_samples": 1000},
    "data_quality": {"window": "1h", "min_samples": 1000},
    "performance": {"metric": "accuracy", "threshold": 0.5, "window": "1h", "min_labels": 1000},
    "estimated_performance": {
        "metric": "f1",
        "threshold": 0.5,
        "window": "1h",
        "min_samples": 1000,
    },
    "latency": {"threshold_ms": 10, "window": "1h", "min_samples": 1000},
    "error_rate": {"max_rate": 0.1, "window": "1h", "min_samples": 1000},
    "multivariate_drift": {"method": "pca_reconstruction", "window": "1h", "min_samples": 1000},
}


@pytest.mark.django_db
@pytest.mark.parametrize("kind", sorted(SHORT))
def test_insufficient_data_when_min_samples_is_not_met(api, model, kind):
    KINDS[kind](api)
    result = evaluate(api, create(api, kind, SHORT[kind]))
    assert result["status"] == "insufficient_data"
    assert result["passed"] is True
