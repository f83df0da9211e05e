"""multivariate_drift over the API, end to end on the database: a reference uploaded as
rows, predictions sent, the rule evaluated by the evaluate endpoint."""

from datetime import timedelta

import numpy as np
import pytest
from django.test import Client
from django.utils import timezone
from django.utils.html import escape

from alerts_app.loaders import rows as loader
from alerts_app.models import Alert, CheckResult
from alerts_app.notifications import cause_headline
from alerts_app.rule_config import validate_config
from models_app.models import ModelVersion, Prediction

NOW = timezone.now().replace(microsecond=0)


def records(n: int, rho: float, seed: int) -> list[dict]:
    """x, y correlated by rho (each N(0, 1)); a city unrelated to them; some x missing."""
    rng = np.random.default_rng(seed)
    pairs = rng.multivariate_normal([0, 0], [[1, rho], [rho, 1]], size=n)
    cities = rng.choice(["fr", "de", "it"], size=n)
    return [
        {"x": None if i % 20 == 0 else float(x), "y": float(y), "city": str(city)}
        for i, ((x, y), city) in enumerate(zip(pairs, cities, strict=True))
    ]


def send_predictions(api, features: list[dict], minutes_ago: float) -> None:
    """One prediction per feature row, spread over the 30 minutes before `minutes_ago`."""
    rows = [
        {
            "timestamp": (
                NOW - timedelta(minutes=minutes_ago + 30 * i / len(features))
            ).isoformat(),
            "features": f,
            "prediction": 1,
        }
        for i, f in enumerate(features)
    ]
    answer = api.post("/api/v1/models/fraud/predictions/", {"records": rows}, format="json")
    assert answer.status_code == 201, answer.json()


def create(api, config: dict):
    return api.post(
        "/api/v1/rules/",
        {"name": "rows", "model": "fraud", "kind": "multivariate_drift", "config": config},
        format="json",
    )


def evaluate(api, rule_id: int, at) -> dict:
    answer = api.post(
        f"/api/v1/rules/{rule_id}/evaluate/",
        {"at": at.isoformat(), "store": False},
        format="json",
    )
    assert answer.status_code == 200, answer.json()
    return answer.json()


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["pca_reconstruction", "domain_classifier"])
def test_a_correlation_flip_fires_and_the_stable_hour_before_does_not(api, model, method):
    reference = api.post(
        "/api/v1/models/fraud/reference/", {"records": records(1500, 0.9, 1)}, format="json"
    )
    assert reference.status_code == 201, reference.json()
    send_predictions(api, records(400, 0.9, 2), minutes_ago=120)  # stable, 2 h ago
    send_predictions(api, records(400, -0.9, 3), minutes_ago=5)  # flipped, just now
    created = create(api, {"method": method, "window": "1h"})
    assert created.status_code == 201, created.json()
    assert created.json()["config"]["threshold"] == 0.65 and created.json()["config"]["k"] == 3

    flipped = evaluate(api, created.json()["id"], NOW)
    stable = evaluate(api, created.json()["id"], NOW - timedelta(minutes=100))
    assert flipped["status"] == "breached", flipped["details"]
    assert stable["status"] == "ok", stable["details"]
    details = flipped["details"]
    assert details["method"] == method
    assert (details["n_reference"], details["n_current"], details["rows_in_window"]) == (
        1500,
        400,
        400,
    )
    assert details["compared"] == ["city", "x", "y"] and details["columns"] == 5
    assert {c["feature"] for c in details["causes"][:2]} == {"x", "y"}
    assert stable["details"]["causes"] == []
    if method == "pca_reconstruction":
        assert details["error"] == flipped["value"] > details["band"]["upper"]
        assert flipped["threshold"] == details["band"]["upper"]
    else:
        assert flipped["value"] == details["auc"] > 0.65 == flipped["threshold"]
    assert not CheckResult.objects.exists()  # "store": false keeps nothing


@pytest.mark.django_db
def test_a_stored_evaluation_is_a_check_result(api, model):
    api.post("/api/v1/models/fraud/reference/", {"records": records(600, 0.9, 1)}, format="json")
    send_predictions(api, records(200, -0.9, 3), minutes_ago=5)
    rule = create(api, {"method": "domain_classifier", "min_samples": 50}).json()
    answer = api.post(f"/api/v1/rules/{rule['id']}/evaluate/", {}, format="json")
    assert answer.status_code == 200, answer.json()
    stored = CheckResult.objects.get()
    assert stored.status == "breached" and stored.version.version == "1"
    assert stored.details["causes"] and stored.value == answer.json()["value"]


@pytest.mark.django_db
def test_without_a_joint_sample_or_rows_the_answer_is_insufficient_data(api, model):
    rule = create(api, {"method": "pca_reconstruction"}).json()
    assert rule["warnings"]  # no reference yet
    none = evaluate(api, rule["id"], NOW)
    assert none["status"] == "insufficient_data" and "no reference" in none["details"]["reason"]
    api.post("/api/v1/models/fraud/reference/", {"records": records(500, 0.9, 1)}, format="json")
    empty = evaluate(api, rule["id"], NOW)
    assert empty["status"] == "insufficient_data"
    assert empty["details"]["reason"] == "The window has 0 rows; min_samples is 100."
    send_predictions(api, records(200, 0.9, 2), minutes_ago=5)
    t0 = NOW - timedelta(hours=1)
    window = {"start": (t0 - timedelta(hours=1)).isoformat(), "end": NOW.isoformat()}
    built = api.post("/api/v1/models/fraud/reference/", {"profiles": window}, format="json")
    assert built.status_code == 201, built.json()
    profiled = evaluate(api, rule["id"], NOW)
    assert profiled["status"] == "insufficient_data"
    assert "no joint row sample" in profiled["details"]["reason"]


BAD = [
    ({}, "method", "This field is required."),
    ({"method": "isolation_forest"}, "method", None),
    ({"method": "domain_classifier", "threshold": 0.3}, "threshold", None),
    ({"method": "domain_classifier", "threshold": 1.5}, "threshold", None),
    ({"method": "pca_reconstruction", "k": -1}, "k", None),
    ({"method": "pca_reconstruction", "chunk_size": 1}, "chunk_size", None),
    ({"method": "pca_reconstruction", "min_samples": 5}, "min_samples", None),
    ({"method": "pca_reconstruction", "features": "x"}, "features", None),
    ({"method": "pca_reconstruction", "window": "soon"}, "window", None),
    ({"method": "pca_reconstruction", "n_components": 3}, "n_components", None),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("config", "field", "message"), BAD)
def test_a_bad_field_is_answered_400_naming_it_and_nothing_is_stored(
    api, model, config, field, message
):
    answer = create(api, config)
    assert answer.status_code == 400, answer.json()
    assert list(answer.json()["config"]) == [field]
    if message:
        assert answer.json()["config"][field] == [message]
    assert not model.rules.exists()


def test_the_defaults():
    config = validate_config("multivariate_drift", {"method": "pca_reconstruction"})
    assert config == {
        "method": "pca_reconstruction",
        "features": None,
        "threshold": 0.65,
        "k": 3.0,
        "chunk_size": None,
        "window": 3600,
        "min_samples": 100,
        "version": None,
    }


def test_quotas_are_proportional_with_largest_remainders():
    assert loader.quotas([10, 0, 30], 100) == [10, 0, 30]
    assert loader.quotas([10, 0, 30], 20) == [5, 0, 15]
    assert loader.quotas([1, 1, 1], 2) == [1, 1, 0]
    assert sum(loader.quotas([333, 667, 5000, 12], 1000)) == 1000


@pytest.mark.django_db
def test_the_window_sample_is_bounded_and_spread_over_the_window(api, model, monkeypatch):
    """300 rows in the window's first half, 100 in its second: a 100-row sample takes 75
    and 25, the newest of each slice."""
    api.post("/api/v1/models/fraud/reference/", {"records": records(300, 0.9, 1)}, format="json")
    early, late = records(300, 0.9, 2), records(100, 0.9, 3)
    send_predictions(api, early, minutes_ago=30)  # (NOW-60m, NOW-30m]
    send_predictions(api, late, minutes_ago=0)  # (NOW-30m, NOW]
    monkeypatch.setattr(loader, "MAX_ROWS", 100)
    monkeypatch.setattr(loader, "STRATA", 2)
    version = ModelVersion.objects.get()
    config = validate_config("multivariate_drift", {"method": "pca_reconstruction"})
    data = loader.load_joint_rows(model, version, config, NOW + timedelta(seconds=1))
    assert (data.n_current, data.rows_in_window, data.n_reference) == (100, 400, 300)
    taken = set(data.current["y"])
    from_early = sum(1 for f in early if f["y"] in taken)
    from_late = sum(1 for f in late if f["y"] in taken)
    assert (from_early, from_late) == (75, 25)
    newest_early = Prediction.objects.filter(timestamp__lte=NOW - timedelta(minutes=30))
    assert {p.features["y"] for p in newest_early.order_by("-timestamp")[:75]} == {
        f["y"] for f in early if f["y"] in taken
    }


def test_the_notification_headline_says_what_broke():
    classifier = {"method": "domain_classifier"}
    assert cause_headline("multivariate_drift", classifier, 0.81234, 0.65) == (
        "rows told from the reference: AUC 0.8123 (threshold 0.65)"
    )
    pca = {"method": "pca_reconstruction", "band": {"lower": 1.5, "upper": 2.25}}
    assert cause_headline("multivariate_drift", pca, 3.5, 2.25) == (
        "PCA reconstruction error 3.5 outside 1.5 to 2.25"
    )


@pytest.mark.django_db
def test_the_alert_rule_and_model_pages_show_a_multivariate_alert(api, model, user):
    api.post("/api/v1/models/fraud/reference/", {"records": records(600, 0.9, 1)}, format="json")
    send_predictions(api, records(200, -0.9, 3), minutes_ago=5)
    rule = create(api, {"method": "pca_reconstruction", "min_samples": 50}).json()
    answer = api.post(f"/api/v1/rules/{rule['id']}/evaluate/", {}, format="json")
    assert answer.status_code == 200 and answer.json()["status"] == "breached"
    alert = Alert.objects.get()
    assert alert.state == "firing"
    top = answer.json()["details"]["causes"][0]["summary"]
    browser = Client()
    browser.force_login(user)
    page = browser.get(f"/alerts/{alert.id}/")
    assert page.status_code == 200
    assert escape(top) in page.content.decode()
    for path in ("/rules/", f"/rules/{rule['id']}/", "/models/fraud/"):
        assert browser.get(path).status_code == 200, path
    history = browser.get(f"/rules/{rule['id']}/figures/history.json")
    assert history.status_code == 200
    distribution = browser.get(f"/rules/{rule['id']}/figures/distribution.json?feature=x")
    assert distribution.status_code == 200
