"""Realistic dashboard data for development, screenshots and browser tests.

`build_demo(now)` fills one binary classifier (scikit-learn's bundled breast-cancer data
as inputs) with 30 days of production telemetry — drift on day 20, a latency incident,
late labels, the accuracy dip that follows — plus a training run that over-fits, weight
statistics with an exploding gradient, a reference, and alert rules with 30 days of
hourly check results. The results are played through the alert engine (`demo.replay`),
so the alerts, their states and transitions are the ones the engine itself records, and
a live evaluation afterwards continues them. Seeded: the same `now` gives the same data.
Telemetry goes through `models_app.ingest`, like the API's.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from django.db import transaction
from sklearn.datasets import load_breast_cancer

from alerts_app.models import AlertRule
from demo.replay import PastCheck, replay
from models_app import ingest, reference, validation
from models_app.models import Model, ModelVersion, Reference

FEATURES = ["mean radius", "mean texture", "mean smoothness", "worst area", "worst concavity"]
FEATURE_NAMES = [f.replace(" ", "_") for f in FEATURES]
DAYS = 30
DRIFT_DAY = 20
INCIDENT_DAY = 12
LABEL_DELAY = timedelta(days=3)
FLEET = ["churn-predictor", "fraud-scoring", "demand-forecast", "image-qc"]


@dataclass
class Demo:
    model: Model
    v1: ModelVersion
    v2: ModelVersion


def hours(now: datetime, days: int) -> list[datetime]:
    start = now.replace(minute=0, second=0, microsecond=0) - timedelta(days=days)
    return [start + timedelta(hours=h) for h in range(days * 24)]


def drift_factor(moment: datetime, now: datetime) -> float:
    """0 before the drift day, then ramps to 1 over two days."""
    days_in = (moment - (now - timedelta(days=DAYS - DRIFT_DAY))).total_seconds() / 86400
    return float(np.clip(days_in / 2, 0, 1))


def make_model(name: str) -> Demo:
    model = Model.objects.create(
        name=name,
        task="binary_classification",
        framework="scikit-learn",
        description="Breast-cancer screening classifier (demo data: scikit-learn's "
        "bundled Wisconsin dataset with drift and a latency incident injected).",
        tags=["demo", "health", "tabular"],
        features=[{"name": n, "type": "numeric"} for n in FEATURE_NAMES]
        + [{"name": "clinic", "type": "categorical", "categories": ["north", "south", "east"]}],
    )
    v1 = ModelVersion.objects.create(model=model, version="1.0")
    v2 = ModelVersion.objects.create(model=model, version="1.1")
    return Demo(model, v1, v2)


def reference_summary(data: np.ndarray, clinics: np.ndarray, labels: np.ndarray) -> dict:
    """The reference as the reference upload builds it (`models_app.reference`)."""
    columns = {name: data[:, i].tolist() for i, name in enumerate(FEATURE_NAMES)}
    columns["clinic"] = clinics.tolist()
    declared = {name: "numeric" for name in FEATURE_NAMES} | {"clinic": "categorical"}
    predictions = [int(v) for v in labels]
    return reference.summarize(
        columns,
        declared,
        {"prediction": (predictions, None), "label": (predictions, None)},
        n_rows=len(labels),
    )


def prediction_records(now: datetime, rng: np.random.Generator) -> list[dict]:
    """API-shaped prediction records, hourly traffic with a daily cycle."""
    data = load_breast_cancer()
    x, y = data.data[:, [list(data.feature_names).index(f) for f in FEATURES]], data.target
    records = []
    for moment in hours(now, DAYS):
        drift = drift_factor(moment, now)
        for _ in range(int(rng.poisson(30 + 12 * np.sin(moment.hour / 24 * 2 * np.pi)))):
            records.append(one_prediction(moment, x, y, drift, now, rng))
    return records


def one_prediction(moment, x, y, drift, now, rng) -> dict:
    i = int(rng.integers(len(y)))
    values = x[i] * (1 + 0.25 * drift * np.array([1, 0.6, 0, 0.4, 0]))
    score = float(np.clip((0.82 - 0.3 * drift) * (1 - y[i]) + rng.normal(0.15, 0.2), 0, 1))
    timestamp = moment + timedelta(seconds=float(rng.uniform(0, 3600)))
    incident = abs((now - timestamp).total_seconds() / 86400 - (DAYS - INCIDENT_DAY)) < 0.4
    erred = rng.random() < (0.12 if incident else 0.004)
    labelled = timestamp < now - LABEL_DELAY and rng.random() < 0.8
    return {
        "timestamp": timestamp.isoformat(),
        "latency_ms": float(rng.lognormal(np.log(38 if not incident else 140), 0.35)),
        "features": {
            **{n: round(float(v), 4) for n, v in zip(FEATURE_NAMES, values, strict=True)},
            "clinic": str(
                rng.choice(
                    ["north", "south", "east", "west"],
                    p=[0.5, 0.3, 0.2 - 0.15 * drift, 0.15 * drift],
                )
            ),
        },
        "prediction": int(score < 0.5),
        "scores": {"0": score, "1": 1 - score},
        "label": int(y[i]) if labelled else None,
        "error": "TimeoutError: upstream" if erred else None,
    }


def store_predictions(demo: Demo, records: list[dict], now: datetime) -> None:
    """Through validation and `ingest.record_predictions` (rows and profiles), per version."""
    switch = now - timedelta(days=10)
    newer = [datetime.fromisoformat(r["timestamp"]) > switch for r in records]
    for version, chosen in (
        (demo.v1, [r for r, new in zip(records, newer, strict=True) if not new]),
        (demo.v2, [r for r, new in zip(records, newer, strict=True) if new]),
    ):
        for start in range(0, len(chosen), 5000):
            rows = validation.validate_records(
                chosen[start : start + 5000], validation.prediction_record, now=now
            )
            ingest.record_predictions(version, rows)


def metric_rows(now: datetime, rng: np.random.Generator) -> list[dict]:
    rows = []
    for moment in hours(now, DAYS):
        drift = drift_factor(moment, now)
        incident = abs((now - moment).total_seconds() / 86400 - (DAYS - INCIDENT_DAY)) < 0.4
        rows.append(
            {
                "name": "accuracy",
                "value": float(0.94 - 0.11 * drift + rng.normal(0, 0.006)),
                "timestamp": moment,
                "step": None,
                "stage": "production",
            }
        )
        latency = (140 if incident else 38) + rng.normal(0, 3)
        rows.append(
            {
                "name": "latency_ms",
                "value": float(latency),
                "timestamp": moment,
                "step": None,
                "stage": "production",
            }
        )
    return rows


def training_rows(now: datetime, rng: np.random.Generator) -> list[dict]:
    """40 epochs: validation loss bottoms out at epoch 12, then rises (over-fitting)."""
    rows, start = [], now - timedelta(days=11)
    for epoch in range(1, 41):
        moment = start + timedelta(minutes=5 * epoch)
        train = 0.9 * np.exp(-epoch / 9) + 0.05 + rng.normal(0, 0.004)
        val = 0.9 * np.exp(-epoch / 9) + 0.12 + 0.004 * max(0, epoch - 12) ** 1.3
        for name, stage, value in (
            ("loss", "train", train),
            ("loss", "validation", val),
            ("accuracy", "train", 1 - train / 2),
            ("accuracy", "validation", 1 - val / 2),
        ):
            rows.append(
                {
                    "name": name,
                    "value": float(value),
                    "timestamp": moment,
                    "step": epoch,
                    "stage": stage,
                }
            )
    return rows


def weight_records(now: datetime, rng: np.random.Generator) -> list[dict]:
    """40 epochs of 4 tensors; dense_2's gradient explodes after epoch 30, NaNs at 40."""
    records, start = [], now - timedelta(days=11)
    tensors = ["dense_1.weight", "dense_1.bias", "dense_2.weight", "output.weight"]
    for epoch in range(1, 41):
        for index, tensor in enumerate(tensors):
            grad = 0.5 * np.exp(-epoch / 15) * (1 + index)
            if tensor == "dense_2.weight" and epoch > 30:
                grad *= 10 ** ((epoch - 30) / 3)
            records.append(
                {
                    "tensor": tensor,
                    "step": epoch,
                    "timestamp": (start + timedelta(minutes=5 * epoch)).isoformat(),
                    "mean": float(rng.normal(0, 0.01)),
                    "std": 0.1,
                    "min": -0.5,
                    "max": 0.5,
                    "l2_norm": float(4 + index + 0.08 * epoch + rng.normal(0, 0.02)),
                    "grad_norm": float(grad),
                    "nan_count": 3 if tensor == "dense_2.weight" and epoch == 40 else 0,
                }
            )
    return records


RULES = [
    (
        "accuracy below 0.88",
        "metric_threshold",
        "critical",
        2 * 3600,
        {
            "metric": "accuracy",
            "stage": "production",
            "aggregation": "avg",
            "window": "1h",
            "operator": "<",
            "threshold": 0.88,
        },
    ),
    (
        "p95 latency over 100 ms",
        "latency",
        "warning",
        3600,
        {"percentile": 95, "threshold_ms": 100, "window": "1h"},
    ),
    ("error rate over 5%", "error_rate", "warning", 0, {"max_rate": 0.05, "window": "1h"}),
    (
        "input drift",
        "data_drift",
        "warning",
        0,
        {"method": "auto", "window": "1d", "drift_share": 0.3, "correction": "fdr"},
    ),
    (
        "estimated F1 (CBPE) below 0.85",
        "estimated_performance",
        "warning",
        0,
        {"metric": "f1", "window": "1d", "operator": "<", "threshold": 0.85},
    ),
    (
        "realised F1 below 0.85",
        "performance",
        "critical",
        0,
        {"metric": "f1", "window": "1d", "operator": "<", "threshold": 0.85, "min_labels": 50},
    ),
]


def hourly_serving(records: list[dict]) -> dict[datetime, tuple[float, float]]:
    """{hour: (latency p95, error rate)} of the generated prediction records."""
    by_hour: dict[datetime, list[dict]] = {}
    for r in records:
        hour = datetime.fromisoformat(r["timestamp"]).replace(minute=0, second=0, microsecond=0)
        by_hour.setdefault(hour, []).append(r)
    return {
        hour: (
            float(np.percentile([r["latency_ms"] for r in rows], 95)),
            sum(bool(r["error"]) for r in rows) / len(rows),
        )
        for hour, rows in by_hour.items()
    }


def drift_details(drift: float, rng: np.random.Generator) -> dict:
    weights = {
        "mean_radius": 1,
        "mean_texture": 0.6,
        "mean_smoothness": 0,
        "worst_area": 0.4,
        "worst_concavity": 0,
        "clinic": 0.5,
    }
    features = {}
    for name, weight in weights.items():
        method = "jensenshannon" if name == "clinic" else "wasserstein"
        statistic = abs(0.02 + 0.3 * weight * drift + rng.normal(0, 0.01))
        features[name] = {
            "method": method,
            "statistic": round(statistic, 4),
            "p_value": None,
            "threshold": 0.1,
            "drifted": statistic >= 0.1,
        }
    share = sum(f["drifted"] for f in features.values()) / len(features)
    return {"features": features, "drift_share": share, "n_reference": 569, "n_current": 720}


def rule_value(
    kind: str, moment: datetime, now: datetime, serving, rng
) -> tuple[float | None, dict]:
    drift = drift_factor(moment, now)
    if kind == "metric_threshold":
        return 0.94 - 0.11 * drift + rng.normal(0, 0.006), {}
    if kind in ("latency", "error_rate"):
        p95, errors = serving.get(moment, (None, None))
        return (p95 if kind == "latency" else errors), {}
    if kind == "data_drift":
        details = drift_details(drift, rng)
        return details["drift_share"], details
    if kind == "estimated_performance":
        return 0.93 - 0.13 * drift + rng.normal(0, 0.005), {}
    if moment > now - LABEL_DELAY:
        return None, {"label_coverage": 0.0}
    return 0.93 - 0.13 * drift + rng.normal(0, 0.01), {"label_coverage": 0.8}


def past_check(rule: AlertRule, moment: datetime, now: datetime, serving, rng) -> PastCheck:
    """What the rule's check would have said at `moment` (the story's value against its
    threshold); the engine turns these into alerts (`demo.replay`)."""
    value, details = rule_value(rule.kind, moment, now, serving, rng)
    limit = threshold_of(rule)
    if value is None:
        return PastCheck(moment, "insufficient_data", None, limit, details)
    below = rule.config.get("operator") == "<"
    if rule.kind == "data_drift":
        broken = value >= limit
    else:
        broken = value < limit if below else value > limit
    return PastCheck(moment, "breached" if broken else "ok", float(value), limit, details)


def threshold_of(rule: AlertRule) -> float:
    config = rule.config
    return float(
        config.get(
            "threshold",
            config.get("threshold_ms", config.get("max_rate", config.get("drift_share", 0))),
        )
    )


def replay_history(rule: AlertRule, now: datetime, serving, rng) -> int:
    """Hourly checks of `rule` over the demo's days, played through the alert engine."""
    return replay(
        rule, [past_check(rule, moment, now, serving, rng) for moment in hours(now, DAYS)]
    )


@transaction.atomic
def build_demo(now: datetime, name: str = "cancer-screening", seed: int = 11) -> Model:
    """Create the screening model with its telemetry, rules, check history and alerts."""
    rng = np.random.default_rng(seed)
    demo = make_model(name)
    data = load_breast_cancer()
    x = data.data[:, [list(data.feature_names).index(f) for f in FEATURES]]
    clinics = rng.choice(["north", "south", "east"], size=len(x), p=[0.5, 0.3, 0.2])
    summary = reference_summary(x, clinics, data.target)
    for version in (demo.v1, demo.v2):
        Reference.objects.create(
            version=version,
            n_rows=len(x),
            summary=summary,
            created_at=now - timedelta(days=DAYS + 1),
        )
    records = prediction_records(now, rng)
    store_predictions(demo, records, now)
    ingest.record_metrics(demo.v1, metric_rows(now, rng))
    ingest.record_metrics(demo.v2, training_rows(now, rng))
    ingest.record_parameters(
        demo.v2,
        validation.validate_records(weight_records(now, rng), validation.parameter_record, now=now),
    )
    serving = hourly_serving(records)
    for rule_name, kind, severity, pending_for, config in RULES:
        rule = AlertRule.objects.create(
            name=rule_name,
            model=demo.model,
            kind=kind,
            severity=severity,
            pending_for=pending_for,
            config=config,
            interval=3600,
            last_run_at=now,
        )
        replay_history(rule, now, serving, rng)
    Model.objects.filter(pk=demo.model.pk).update(last_seen_at=now)
    return demo.model


def build_fleet(now: datetime, count: int = 4, seed: int = 5) -> list[Model]:
    """A few more small models so the overview has rows in every health state."""
    rng = np.random.default_rng(seed)
    models = []
    for index, name in enumerate(FLEET[:count]):
        task = "regression" if name == "demand-forecast" else "binary_classification"
        model = Model.objects.create(
            name=name, task=task, framework="pytorch", tags=["demo", "fleet"], last_seen_at=now
        )
        version = ModelVersion.objects.create(model=model, version="1")
        metric = "rmse" if task == "regression" else "auc"
        ingest.record_metrics(
            version,
            [
                {
                    "name": metric,
                    "value": float(0.8 + 0.05 * np.sin(h / 9 + index) + rng.normal(0, 0.01)),
                    "timestamp": moment,
                    "step": None,
                    "stage": "production",
                }
                for h, moment in enumerate(hours(now, 7))
            ],
        )
        models.append(model)
    return models
