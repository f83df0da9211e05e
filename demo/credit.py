"""Credit-risk story: a logistic regression on scikit-learn's breast-cancer data (the
bundled stand-in for a credit table), served 20 times an hour for 30 days.

From day 20 an upstream change squeezes the inputs toward their means and blurs them
(every feature drifts; the scores lose confidence; realised F1 falls from ~0.95 to
~0.8) and the `channel` mix moves to phone. From day 25 `mean_texture` is missing for
a fifth of the requests. Labels arrive five days late.
"""

from dataclasses import dataclass
from datetime import timedelta
from functools import cache

import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from demo.timeline import CHANGE_DAY, Hour

NAME = "credit-risk"
STORY = 101
PER_HOUR = 20
MISSING_DAY = 25
LABEL_DELAY = timedelta(days=5)
SQUEEZE = 0.3
CHANNELS = ["web", "branch", "phone"]
CHANNEL_MIX = {False: [0.6, 0.3, 0.1], True: [0.3, 0.2, 0.5]}


@dataclass(frozen=True)
class CreditWorld:
    features: list[str]
    classifier: Pipeline
    x_train: np.ndarray
    y_train: np.ndarray
    x_pool: np.ndarray  # held-out rows that production traffic is drawn from
    y_pool: np.ndarray


@cache
def world() -> CreditWorld:
    data = load_breast_cancer()
    names = [name.replace(" ", "_") for name in data.feature_names[:10]]
    x_train, x_pool, y_train, y_pool = train_test_split(
        data.data[:, :10], data.target, test_size=0.45, random_state=7, stratify=data.target
    )
    classifier = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    classifier.fit(x_train, y_train)
    return CreditWorld(names, classifier, x_train, y_train, x_pool, y_pool)


def model_fields() -> dict:
    features = [{"name": n, "type": "numeric", "min": 0} for n in world().features]
    return {
        "task": "binary_classification",
        "framework": "scikit-learn",
        "tags": ["demo", "tabular"],
        "description": "Demo: default-risk classifier (scikit-learn's breast-cancer data as "
        "the stand-in table). Inputs drift from day 20; labels arrive 5 days late.",
        "features": features + [{"name": "channel", "type": "categorical", "categories": CHANNELS}],
    }


def probabilities(x: np.ndarray) -> np.ndarray:
    """predict_proba(x)[:, 1] of the fitted pipeline, in plain numpy (sklearn's per-call
    input checks cost more than the arithmetic at 20 rows)."""
    scaler, logistic = world().classifier[0], world().classifier[-1]
    logits = ((x - scaler.mean_) / scaler.scale_) @ logistic.coef_[0] + logistic.intercept_[0]
    return 1 / (1 + np.exp(-logits))


def outputs(positive: np.ndarray) -> tuple[list[int], list[dict]]:
    predictions = [int(p >= 0.5) for p in positive]
    scores = [{"0": round(1 - float(p), 6), "1": round(float(p), 6)} for p in positive]
    return predictions, scores


def reference_records() -> list[dict]:
    """The held-out rows (which production traffic is drawn from) with the model's outputs
    and the true labels: the validation sample, not the training data, so that CBPE is
    calibrated on scores the model did not learn from."""
    w, rng = world(), np.random.default_rng(STORY)
    predictions, scores = outputs(probabilities(w.x_pool))
    channels = rng.choice(CHANNELS, size=len(w.x_pool), p=CHANNEL_MIX[False])
    return [
        dict(zip(w.features, row.tolist(), strict=True))
        | {"channel": str(channel), "prediction": prediction, "scores": score, "label": int(y)}
        for row, channel, prediction, score, y in zip(
            w.x_pool, channels, predictions, scores, w.y_pool, strict=True
        )
    ]


def production_inputs(hour: Hour, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """This hour's feature rows and their true labels."""
    w = world()
    rows = rng.integers(0, len(w.x_pool), PER_HOUR)
    x = w.x_pool[rows] * (1 + rng.normal(0, 0.02, (PER_HOUR, x_width())))
    noise = rng.normal(0, 0.6, x.shape)
    if hour.after(CHANGE_DAY):
        mean, std = w.x_train.mean(axis=0), w.x_train.std(axis=0)
        x = mean + SQUEEZE * (x - mean) + noise * std * (1 - SQUEEZE)
    return x, w.y_pool[rows]


def x_width() -> int:
    return len(world().features)


def hour_records(hour: Hour) -> tuple[list[dict], dict[str, int]]:
    """(prediction records, labels by id) of one hour of traffic."""
    w, rng = world(), hour.rng(STORY)
    x, truth = production_inputs(hour, rng)
    missing = rng.random(PER_HOUR) < (0.2 if hour.after(MISSING_DAY) else 0.0)
    seen = x.copy()
    seen[missing, 1] = w.x_train[:, 1].mean()  # the service imputes the missing texture
    predictions, scores = outputs(probabilities(seen))
    channels = rng.choice(CHANNELS, size=PER_HOUR, p=CHANNEL_MIX[hour.after(CHANGE_DAY)])
    failed = rng.random(PER_HOUR) < 0.004
    latency = rng.lognormal(np.log(38), 0.35, PER_HOUR)
    records, labels = [], {}
    for i, moment in enumerate(hour.moments(rng, PER_HOUR)):
        features = dict(zip(w.features, x[i].round(5).tolist(), strict=True))
        features |= {"channel": str(channels[i])} | ({"mean_texture": None} if missing[i] else {})
        record = {
            "id": f"cr-{hour.index}-{i}",
            "timestamp": moment.isoformat(),
            "features": features,
            "latency_ms": round(float(latency[i]), 2),
        }
        if failed[i]:
            record["error"] = "TimeoutError: the feature store did not answer"
        else:
            record |= {"prediction": predictions[i], "scores": scores[i]}
            labels[record["id"]] = int(truth[i])
        records.append(record)
    return records, labels


def hour_metrics(hour: Hour, records: list[dict]) -> list[dict]:
    """The service's own hourly gauge: the share of applications approved."""
    served = [r["prediction"] for r in records if "prediction" in r]
    moment = (hour.start + timedelta(minutes=59)).isoformat()
    return [{"name": "approval_rate", "value": float(np.mean(served)), "timestamp": moment}]
