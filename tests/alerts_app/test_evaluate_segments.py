"""Segments of the performance kinds through the real loaders: the categorical inputs of
the window's stored predictions say where the metric dropped."""

from datetime import timedelta

import numpy as np
import pytest

from alerts_app.evaluate import evaluate_rule
from alerts_app.loaders.predictions import categorical_features
from tests.alerts_app.test_evaluate_profiles import NOW, post, rule

rng = np.random.default_rng(3)
COUNTRIES = ("DE", "FR", "IT", "ES")


def at(i: int) -> str:
    return (NOW - timedelta(seconds=1 + i)).isoformat()


def labelled_rows(n_per_country: int = 50) -> list[dict]:
    """Right 96 % of the time everywhere but France (30 %)."""
    records = []
    for country in COUNTRIES:
        right = 0.3 if country == "FR" else 0.96
        for i in range(n_per_country):
            label = int(rng.integers(0, 2))
            prediction = label if i < right * n_per_country else 1 - label
            records.append(
                {
                    "timestamp": at(len(records)),
                    "prediction": prediction,
                    "label": label,
                    "features": {"country": country, "amount": float(i)},
                }
            )
    return records


@pytest.mark.django_db
def test_a_performance_drop_in_one_country_is_its_first_cause(api, model):
    post(api, "predictions", {"records": labelled_rows()})
    result = evaluate_rule(
        rule(model, "performance", metric="accuracy", threshold=0.9, window="1h"), NOW
    )
    found = result.details["causes"]
    assert result.status == "breached"
    assert (found[0]["kind"], found[0]["feature"], found[0]["segment"]) == (
        "segment",
        "country",
        "FR",
    )
    assert all(c["feature"] != "amount" for c in found)  # numbers are not segments


@pytest.mark.django_db
def test_an_estimated_performance_drop_in_one_country_is_its_first_cause(api, model):
    ref_scores = rng.uniform(0, 1, 1000)
    post(
        api,
        "reference",
        {
            "records": [
                {
                    "country": str(rng.choice(COUNTRIES)),
                    "score": float(s),
                    "label": int(rng.random() < s),
                }
                for s in ref_scores
            ]
        },
    )
    records = []
    for country in COUNTRIES:
        for _ in range(60):
            score = rng.uniform(0.45, 0.55) if country == "FR" else rng.choice([0.03, 0.97])
            records.append(
                {
                    "timestamp": at(len(records)),
                    "prediction": int(score >= 0.5),
                    "scores": {"0": 1 - score, "1": score},
                    "features": {"country": country},
                }
            )
    post(api, "predictions", {"records": records})
    result = evaluate_rule(
        rule(model, "estimated_performance", metric="accuracy", threshold=0.9, window="1h"), NOW
    )
    assert result.status == "breached", result.details
    assert [(c["feature"], c["segment"]) for c in result.details["causes"]] == [("country", "FR")]


def test_only_short_text_and_boolean_inputs_are_kept_for_segments():
    features = {
        "country": "FR",
        "vip": True,
        "amount": 12.5,
        "n": 3,
        "bio": "x" * 101,
        **{f"z{i:02d}": "v" for i in range(40)},
    }
    kept = categorical_features(features)
    assert "amount" not in kept and "n" not in kept and "bio" not in kept
    assert kept["country"] == "FR" and kept["vip"] is True and len(kept) == 30
