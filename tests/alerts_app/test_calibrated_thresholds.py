""" "threshold": "auto" end to end: drift from stored profiles against a threshold
calibrated on the reference (cached once per reference), metric_threshold and
performance calibrated on their own reference_window, estimated performance on the
reference pairs; the API's 400s."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from scipy import stats

from alerts_app.admin_forms import raw_value
from alerts_app.checks import calibration as cal
from alerts_app.evaluate import evaluate_rule
from alerts_app.kinds import kind_of
from alerts_app.loaders import calibration as cache
from alerts_app.models import AlertRule
from models_app import ingest
from models_app.models import MetricPoint, Reference, ReferenceCalibration

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=3)
CATEGORIES = ["a", "b", "c"]
P = [0.5, 0.3, 0.2]


def post(api, path: str, body: dict) -> None:
    response = api.post(f"/api/v1/models/fraud/{path}/", body, format="json")
    assert response.status_code in (200, 201), response.json()


def upload_reference(api, x, c) -> None:
    records = [{"x": float(v), "c": k} for v, k in zip(x, c, strict=True)]
    post(api, "reference", {"records": records})


def send(api, x, c, end=NOW, scores=None) -> None:
    records = [
        {
            "timestamp": (end - timedelta(seconds=1 + i * 3000 // len(x))).isoformat(),
            "features": {"x": float(v), "c": k},
            "prediction": 1,
            "scores": None if scores is None else {"0": 1 - scores[i], "1": scores[i]},
        }
        for i, (v, k) in enumerate(zip(x, c, strict=True))
    ]
    post(api, "predictions", {"records": records})


def log_threshold(mean: float, std: float, z: float) -> float:
    """`z` standard deviations up on the log-normal with this mean and std, by hand."""
    sigma = np.sqrt(np.log(1 + (std / mean) ** 2))
    return float(np.exp(np.log(mean) - sigma**2 / 2 + z * sigma))


def rule(model, kind, **config) -> AlertRule:
    return AlertRule.objects.create(name=kind, model=model, kind=kind, config=config)


@pytest.fixture
def drift_data(api, model):
    rng = np.random.default_rng(5)
    ref_x, stable_x, shifted_x = (
        rng.normal(0, 1, 5000),
        rng.normal(0, 1, 800),
        rng.normal(0.6, 1, 800),
    )
    upload_reference(api, ref_x, rng.choice(CATEGORIES, 5000, p=P))
    send(api, stable_x, rng.choice(CATEGORIES, 800, p=P))  # stable, at NOW
    send(api, shifted_x, rng.choice(CATEGORIES, 800, p=P), end=LATER)  # x moved
    return ref_x, stable_x, shifted_x


@pytest.mark.django_db
def test_stable_features_stay_ok_and_a_shifted_feature_drifts_against_auto(model, drift_data):
    drift_rule = rule(model, "data_drift", threshold="auto", window="1h", drift_share=0.5)
    stable = evaluate_rule(drift_rule, NOW)
    assert stable.status == "ok", stable.details
    assert {f: t["drifted"] for f, t in stable.details["features"].items()} == {
        "c": False,
        "x": False,
    }
    assert stable.details["causes"] == []
    block = stable.details["calibration"]["x"]
    # auto picks by reference size (5,000 > 1,000 values): Wasserstein, and JS for c
    assert block["method"] == "wasserstein" == stable.details["features"]["x"]["method"]
    assert stable.details["calibration"]["c"]["method"] == "js"
    assert set(block) >= {"method", "chunk_size", "chunks", "mean", "std", "k", "threshold"}
    assert block["chunk_size"] == 800 and block["chunks"] == 50 and block["resampled"]
    assert block["scale"] == "log"
    assert block["threshold"] == pytest.approx(log_threshold(block["mean"], block["std"], 3))
    # two features judged, none drifting: fdr asks each for the tail P(Z >= 3) / 2
    k2 = stats.norm.isf(stats.norm.sf(3) / 2)
    assert block["corrected_k"] == pytest.approx(k2)
    corrected = log_threshold(block["mean"], block["std"], k2)
    assert block["corrected_threshold"] == pytest.approx(corrected)
    assert stable.details["features"]["x"]["threshold"] == block["corrected_threshold"]
    assert stable.details["verdicts"]["x"]["threshold"] == block["corrected_threshold"]

    shifted = evaluate_rule(drift_rule, LATER)
    x = shifted.details["features"]["x"]
    assert x["drifted"] and not shifted.details["features"]["c"]["drifted"]
    assert shifted.status == "breached"  # 1 of 2 features reaches drift_share 0.5
    [cause] = shifted.details["causes"]
    assert cause["feature"] == "x"
    assert cause["score"] == pytest.approx(x["statistic"] / x["threshold"])


@pytest.mark.django_db
def test_the_stored_path_equals_the_pure_function_and_scipy(model, drift_data):
    ref_x, _, shifted_x = drift_data  # every value fits the 5,000-value samples: exact
    result = evaluate_rule(rule(model, "data_drift", threshold="auto", method="ks"), LATER)
    x = result.details["features"]["x"]
    assert x["calibrated"] and x["p_value_adjusted"] is None
    assert x["statistic"] == pytest.approx(stats.ks_2samp(ref_x, shifted_x).statistic, abs=1e-12)
    expected = cal.calibrate_feature(
        cal.ReferenceFeature.from_values(ref_x), "ks", 800, seed=cache.seed_of("x")
    )
    block = result.details["calibration"]["x"]
    assert {k: block[k] for k in expected.as_dict()} == pytest.approx(expected.as_dict())
    corrected = expected.value_at(stats.norm.isf(stats.norm.sf(3) / 2))  # 2 features, fdr
    assert x["statistic"] >= x["threshold"] == pytest.approx(corrected)


@pytest.mark.django_db
def test_the_band_is_computed_once_per_reference_and_key(model, drift_data, monkeypatch, api):
    calls = []
    real = cache.feature_band

    def counted(reference, method, size, seed=0):
        calls.append((method, size))
        return real(reference, method, size, seed)

    monkeypatch.setattr(cache, "feature_band", counted)
    drift_rule = rule(model, "data_drift", threshold="auto", window="1h")
    first = evaluate_rule(drift_rule, NOW)
    assert sorted(calls) == [("js", 800), ("wasserstein", 800)]
    assert ReferenceCalibration.objects.count() == 2
    again = evaluate_rule(drift_rule, NOW)
    assert len(calls) == 2 and ReferenceCalibration.objects.count() == 2
    assert again.details["calibration"] == first.details["calibration"]
    # another k reuses the band: the threshold moves, nothing is recomputed
    wider = evaluate_rule(rule(model, "data_drift", threshold="auto", window="1h", k=5), NOW)
    assert len(calls) == 2
    band = first.details["calibration"]["x"]
    assert wider.details["calibration"]["x"]["threshold"] == pytest.approx(
        log_threshold(band["mean"], band["std"], 5)
    )
    # a new reference is calibrated anew; the old one's bands go with it
    rng = np.random.default_rng(8)
    upload_reference(api, rng.normal(0, 1, 5000), rng.choice(CATEGORIES, 5000, p=P))
    evaluate_rule(drift_rule, NOW)
    assert len(calls) == 4
    Reference.objects.order_by("created_at", "id").first().delete()
    assert ReferenceCalibration.objects.count() == 2


@pytest.mark.django_db
def test_below_a_methods_minimum_a_feature_is_insufficient_data_not_drift(api, model):
    rng = np.random.default_rng(6)
    upload_reference(api, rng.normal(0, 1, 3000), rng.choice(CATEGORIES, 3000, p=P))
    send(api, rng.normal(5, 1, 20), ["a"] * 20)  # far off, but 20 < 30 (ks) and < 50 (chi2)
    result = evaluate_rule(
        rule(model, "data_drift", threshold="auto", method="ks", min_samples=1), NOW
    )
    assert result.status == "insufficient_data"
    assert result.details["verdicts"]["x"] == {
        "status": "insufficient_data",
        "value": None,
        "threshold": None,
    }
    assert "fewer than 30" in result.details["skipped"]["x"]
    assert "fewer than 100 (js" in result.details["skipped"]["c"]


@pytest.mark.django_db
def test_prediction_drift_auto_judges_the_score_against_its_band(api, model):
    rng = np.random.default_rng(7)
    ref_scores = rng.beta(2, 5, 3000)
    records = [{"x": 0.0, "c": "a", "score": float(s)} for s in ref_scores]
    post(api, "reference", {"records": records})
    send(api, np.zeros(600), ["a"] * 600, scores=rng.beta(2, 5, 600))
    send(api, np.zeros(600), ["a"] * 600, end=LATER, scores=rng.beta(3, 4, 600))
    config = {"threshold": "auto", "output": "score", "window": "1h"}
    stable = evaluate_rule(rule(model, "prediction_drift", **config), NOW)
    block = stable.details["calibration"]["__score__"]
    assert block["method"] == "wasserstein" and block["chunk_size"] == 630  # 600 on R10
    assert stable.status == "ok"
    moved = evaluate_rule(rule(model, "prediction_drift", **config), LATER)
    assert moved.status == "breached"
    assert moved.details["verdicts"]["__score__"]["status"] == "breached"


def log_metric(model, values, end, minutes_apart=1) -> None:
    version = model.latest_version()
    MetricPoint.objects.bulk_create(
        MetricPoint(
            model=model,
            version=version,
            name="loss",
            value=float(v),
            stage="production",
            timestamp=end - timedelta(minutes=minutes_apart * (len(values) - 1 - i)),
        )
        for i, v in enumerate(values)
    )


@pytest.mark.django_db
def test_metric_threshold_auto_is_calibrated_on_its_reference_window(model):
    rng = np.random.default_rng(9)
    history = 1.0 + rng.normal(0, 0.05, 23 * 60)  # 23 hours of points before the window
    log_metric(model, history, NOW - timedelta(hours=1, minutes=1))
    log_metric(model, 1.0 + rng.normal(0, 0.05, 60), NOW)
    config = {"metric": "loss", "threshold": "auto", "window": "1h", "reference_window": "1d"}
    result = evaluate_rule(rule(model, "metric_threshold", **config), NOW)
    chunks = [history[i * 60 : (i + 1) * 60].mean() for i in range(23)]
    block = result.details["calibration"]
    assert block["chunk_size"] == 60 and block["chunks"] == 23 and not block["resampled"]
    assert block["mean"] == pytest.approx(np.mean(chunks), rel=1e-9)
    assert block["threshold"] == pytest.approx(np.mean(chunks) + 3 * np.std(chunks, ddof=1))
    assert result.status == "ok" and result.threshold == pytest.approx(block["threshold"])
    assert result.details["cleared"] is True

    log_metric(model, [1.2] * 60, LATER)
    spike = evaluate_rule(rule(model, "metric_threshold", **config), LATER)
    assert spike.status == "breached" and spike.details["cleared"] is False


@pytest.mark.django_db
def test_metric_threshold_auto_without_enough_history_is_insufficient(model):
    log_metric(model, [1.0, 1.1, 0.9], NOW)
    config = {"metric": "loss", "threshold": "auto", "reference_window": "1d"}
    result = evaluate_rule(rule(model, "metric_threshold", **config), NOW)
    assert result.status == "insufficient_data" and "reference window" in result.details["reason"]


def labelled(model, n, accuracy, end, rng) -> None:
    labels = rng.integers(0, 2, n)
    right = rng.uniform(size=n) < accuracy
    guesses = np.where(right, labels, 1 - labels)
    rows = [
        {
            "id": None,
            "timestamp": end - timedelta(seconds=1 + i * 3000 // n),
            "features": {},
            "prediction": int(guesses[i]),
            "scores": None,
            "label": int(labels[i]),
            "latency_ms": None,
            "error": "",
        }
        for i in range(n)
    ]
    ingest.record_predictions(model.latest_version(), rows)


@pytest.mark.django_db
def test_performance_auto_breaks_below_the_band_of_its_reference_window(model):
    rng = np.random.default_rng(10)
    for hour in range(2, 26):
        labelled(model, 100, 0.85, NOW - timedelta(hours=hour), rng)
    labelled(model, 100, 0.85, NOW, rng)
    config = {"metric": "accuracy", "threshold": "auto", "window": "1h", "reference_window": "1d"}
    ok = evaluate_rule(rule(model, "performance", **config), NOW)
    block = ok.details["calibration"]
    assert block["direction"] == "lower" and block["chunk_size"] == 100
    assert block["chunks"] == 23 and block["threshold"] < 0.85 - 0.03
    assert ok.status == "ok", ok.details
    labelled(model, 100, 0.5, LATER, rng)
    later = {**config, "reference_window": "4h"}  # reaches back into the history
    worse = evaluate_rule(rule(model, "performance", **later | {"chunk_size": 50}), LATER)
    assert worse.details["calibration"]["chunk_size"] == 50
    assert worse.status == "breached" and worse.value < worse.threshold


@pytest.mark.django_db
def test_estimated_performance_auto_is_cached_with_the_reference(api, model):
    rng = np.random.default_rng(12)
    ref_scores = rng.uniform(0, 1, 3000)
    ref_labels = (rng.uniform(size=3000) < ref_scores).astype(int)
    records = [
        {"x": 0.0, "c": "a", "score": float(s), "label": int(y)}
        for s, y in zip(ref_scores, ref_labels, strict=True)
    ]
    post(api, "reference", {"records": records})
    send(api, np.zeros(500), ["a"] * 500, scores=rng.uniform(0, 1, 500))
    config = {"metric": "accuracy", "threshold": "auto", "window": "1h"}
    result = evaluate_rule(rule(model, "estimated_performance", **config), NOW)
    block = result.details["calibration"]
    assert block["method"] == "cbpe_accuracy@0.5" and block["direction"] == "lower"
    # 3,000 pairs hold 6 chunks of 500, fewer than MIN_CHUNKS: resampled
    assert block["chunk_size"] == 500 and block["resampled"]
    assert block["chunks"] == cal.RESAMPLED_CHUNKS
    assert result.status == "ok" and result.threshold == pytest.approx(block["threshold"])
    assert ReferenceCalibration.objects.filter(feature="__score__").count() == 1


URL = "/api/v1/rules/"


def create(api, kind, config):
    body = {"name": "r", "model": "fraud", "kind": kind, "config": config}
    return api.post(URL, body, format="json")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "kind,config,field,message",
    [
        ("underfitting", {"threshold": "auto"}, "threshold", '"auto" is not available'),
        ("latency", {"threshold_ms": "auto"}, "threshold_ms", '"auto" is not available'),
        ("metric_change", {"metric": "m", "max_change_pct": "auto"}, "max_change_pct", "auto"),
        ("data_drift", {"threshold": "often"}, "threshold", 'a number or "auto"'),
        ("data_drift", {"threshold": "auto", "k": 0.1}, "k", "greater than or equal to 0.5"),
        ("data_drift", {"threshold": "auto", "k": 11}, "k", "less than or equal to 10"),
        ("data_drift", {"threshold": "auto", "chunk_size": 5}, "chunk_size", "greater than"),
        ("data_drift", {"threshold": "auto", "chunk_size": 1.5}, "chunk_size", "integer"),
        (
            "metric_threshold",
            {"metric": "m", "threshold": "auto", "operator": "=="},
            "threshold",
            "ordering operator",
        ),
        (
            "metric_threshold",
            {"metric": "m", "threshold": "auto", "aggregation": "count"},
            "threshold",
            "count",
        ),
        (
            "performance",
            {"metric": "accuracy", "threshold": "auto", "clear_threshold": 0.9},
            "clear_threshold",
            "numeric threshold",
        ),
        (
            "metric_threshold",
            {"metric": "m", "threshold": "auto", "reference_window": "10s"},
            "reference_window",
            "greater than",
        ),
    ],
)
def test_auto_where_unsupported_or_badly_bounded_is_a_400_naming_the_field(
    api, model, kind, config, field, message
):
    response = create(api, kind, config)
    assert response.status_code == 400, response.json()
    assert list(response.json()["config"]) == [field]
    assert message in response.json()["config"][field][0]
    assert not AlertRule.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "kind,config",
    [
        ("data_drift", {"threshold": "AUTO", "k": 2.5, "chunk_size": 500}),
        ("prediction_drift", {"threshold": "auto"}),
        ("metric_threshold", {"metric": "m", "threshold": "auto", "operator": "<"}),
        ("performance", {"metric": "rmse", "threshold": "auto"}),
        ("estimated_performance", {"metric": "f1", "threshold": "auto"}),
    ],
)
def test_auto_is_accepted_where_supported(api, model, kind, config):
    response = create(api, kind, config)
    assert response.status_code == 201, response.json()
    stored = response.json()["config"]
    assert stored["threshold"] == "auto" and stored["k"] == config.get("k", 3.0)


def test_the_admin_form_reads_a_number_or_auto():
    spec = kind_of("performance").fields["threshold"]
    assert raw_value(spec, "0.8") == 0.8
    assert raw_value(spec, " auto ") == "auto"
    assert raw_value(spec, "") is None


def test_a_sample_method_is_calibrated_at_the_size_of_the_sample_it_reads():
    """KS and Wasserstein read the window's sample (at most SAMPLE_SIZE values), PSI the
    window's counts: a 100,000-row window's KS band is that of 5,000-value chunks."""
    from alerts_app.checks.drift import FeatureData
    from alerts_app.loaders.calibration import band_key

    rng = np.random.default_rng(3)
    window = FeatureData(
        "numeric",
        5000,
        100_000,
        ref_sample=rng.normal(size=5000),
        cur_sample=rng.normal(size=5000),
        ref_bins=np.ones(10),
        cur_bins=np.ones(10),
    )
    config = {"method": "ks", "chunk_size": None}
    assert band_key("x", window, config) == ("x", "ks", 5000)
    assert band_key("x", window, config | {"method": "wasserstein"})[2] == 5000
    assert band_key("x", window, config | {"method": "psi"}) == ("x", "psi", 100_000)
    assert band_key("x", window, config | {"chunk_size": 700}) == ("x", "ks", 700)
