"""Segmented rules (`segment_by`) end to end: ingestion writes segment profiles, the check
runs per segment, and each segment has its own alert (alerts_app/segments.py)."""

import re
from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone
from sklearn.metrics import accuracy_score

from alerts_app.checks import causes
from alerts_app.evaluate import evaluate_now, evaluate_rule
from alerts_app.models import Alert, AlertRule
from alerts_app.segments import combine
from models_app.models import Model, SegmentFeature
from tests.factories import make_model

NOW = timezone.now().replace(microsecond=0)
SCHEMA = [
    {"name": "country", "type": "categorical"},
    {"name": "channel", "type": "categorical"},
    {"name": "x", "type": "numeric"},
]
COUNTRIES = ("DE", "FR", "IT", "ES")
INPUTS = {"features": ["channel", "x"]}


def declare(model: Model) -> Model:
    model.features = SCHEMA
    model.save()
    return model


def post(api, name: str, path: str, body: dict) -> None:
    response = api.post(f"/api/v1/models/{name}/{path}/", body, format="json")
    assert response.status_code in (200, 201), response.json()


def send(api, name: str, records: list[dict]) -> None:
    for start in range(0, len(records), 5000):
        post(api, name, "predictions", {"records": records[start : start + 5000]})


def rows_of(rng, sizes: dict[str, int], shifted: str = "", minutes: int = 50) -> list[dict]:
    """Predictions over the last `minutes`: x ~ N(0, 1) in every country but `shifted`
    (N(3, 1)); a few missing x; channel a/b."""
    records = []
    for country, n in sizes.items():
        for _ in range(n):
            x = rng.normal(3 if country == shifted else 0, 1)
            records.append(
                {
                    "features": {
                        "country": country,
                        "channel": str(rng.choice(["a", "b"])),
                        "x": None if rng.random() < 0.05 else float(x),
                    },
                    "prediction": int(x > 0),
                    "scores": {"0": 0.4, "1": 0.6},
                }
            )
    order = rng.permutation(len(records))
    records = [records[i] for i in order]
    for i, record in enumerate(records):
        record["timestamp"] = (
            NOW - timedelta(seconds=1 + i * minutes * 60 // len(records))
        ).isoformat()
    return records


def reference(api, name: str, rng) -> None:
    records = [
        {
            "country": str(rng.choice(COUNTRIES)),
            "channel": str(rng.choice(["a", "b"])),
            "x": float(v),
            "prediction": int(v > 0),
        }
        for v in rng.normal(0, 1, 1000)
    ]
    post(api, name, "reference", {"records": records})


def segmented(model, kind="data_drift", **config) -> AlertRule:
    return AlertRule.objects.create(
        name=f"{kind} by country",
        model=model,
        kind=kind,
        config={"segment_by": "country", **config},
    )


@pytest.fixture
def shop(api, model):
    """Model `fraud`, declared, with a reference and a drift confined to France."""
    rng = np.random.default_rng(5)
    declare(model)
    reference(api, "fraud", rng)
    return model, rng


@pytest.mark.django_db
def test_a_drift_confined_to_one_segment_fires_that_segments_alert_only(api, shop):
    model, rng = shop
    rule = segmented(model, method="ks", correction="none", window="1h")
    send(api, "fraud", rows_of(rng, {"DE": 300, "FR": 200, "IT": 150, "ES": 100}, shifted="FR"))

    evaluation = evaluate_now(rule.id, NOW)

    details = evaluation.result.details
    assert evaluation.result.status == "breached"
    assert [(s["segment"], s["rows"], s["status"]) for s in details["segments"]] == [
        ("DE", 300, "ok"),
        ("FR", 200, "breached"),
        ("IT", 150, "ok"),
        ("ES", 100, "ok"),
    ]
    assert details["segment"] == "FR"
    assert [(c["kind"], c["feature"], c["segment"]) for c in details["causes"]] == [
        ("segment", "country", "FR")
    ]
    assert details["causes"][0]["summary"].startswith("country = FR: x (KS")
    alert = Alert.objects.get()  # the other segments never broke: no alert row for them
    version = model.latest_version()
    assert (alert.segment, alert.state) == ("country=FR", "firing")
    assert alert.fingerprint == f"rule:{rule.id}|version:{version.id}|segment:country=FR"
    assert "in segment country=FR breaks the rule" in alert.message
    listed = api.get("/api/v1/alerts/").json()
    listed = listed["results"] if isinstance(listed, dict) else listed
    assert [(a["segment"], a["fingerprint"]) for a in listed] == [("country=FR", alert.fingerprint)]


@pytest.mark.django_db
def test_per_feature_segmented_rules_get_one_alert_per_feature_and_segment(api, shop):
    model, rng = shop
    rule = segmented(model, method="ks", correction="none", window="1h", features=["x"])
    send(api, "fraud", rows_of(rng, {"DE": 300, "FR": 200}, shifted="FR"))

    evaluate_now(rule.id, NOW)

    alert = Alert.objects.get()
    assert (alert.feature, alert.segment) == ("x", "country=FR")
    assert alert.fingerprint.endswith("|feature:x|segment:country=FR")


@pytest.mark.django_db
def test_a_segments_values_equal_the_unsegmented_check_on_its_rows_alone(api, shop):
    """The same French rows sent to a second model: its unsegmented drift and quality
    results equal the French segment's, value for value and count for count."""
    model, rng = shop
    segmented(model)  # from now on, ingestion profiles the segments of country
    records = rows_of(rng, {"DE": 300, "FR": 200, "IT": 150}, shifted="FR")
    send(api, "fraud", records)
    declare(make_model("solo"))
    reference(api, "solo", np.random.default_rng(5))  # the same reference rows
    send(api, "solo", [r for r in records if r["features"]["country"] == "FR"])

    for kind, config in (
        # features listed: within a segment its own feature is not drift-checked
        ("data_drift", {"method": "ks", "correction": "none", "window": "1h", **INPUTS}),
        ("data_drift", {"method": "psi", "window": "1h", **INPUTS}),
        ("data_quality", {"window": "1h", "max_missing_rate": 0.01}),
        ("prediction_drift", {"window": "1h"}),
    ):
        by_country = evaluate_rule(segmented(model, kind, **config), NOW, store=False)
        alone = evaluate_rule(
            AlertRule(model=Model.objects.get(name="solo"), kind=kind, config=config, name="x"),
            NOW,
            store=False,
        )
        france = next(s for s in by_country.details["segments"] if s["segment"] == "FR")
        assert france["rows"] == 200
        assert (france["status"], france["value"], france["threshold"]) == (
            alone.status,
            alone.value,
            alone.threshold,
        )
        assert france["details"]["features"] == alone.details["features"], kind
    quality = evaluate_rule(
        segmented(model, "data_quality", window="1h"), NOW, store=False
    ).details["segments"]
    fr_x = next(s for s in quality if s["segment"] == "FR")["details"]["features"]["x"]
    missing = sum(
        1 for r in records if r["features"]["country"] == "FR" and r["features"]["x"] is None
    )
    assert fr_x["missing_rate"] == pytest.approx(missing / 200)


@pytest.mark.django_db
def test_values_beyond_max_segments_are_gathered_in_other(api, shop):
    model, rng = shop
    rule = segmented(model, method="ks", window="1h", max_segments=2)
    send(api, "fraud", rows_of(rng, {"DE": 300, "FR": 200, "IT": 150, "ES": 100}))

    result = evaluate_rule(rule, NOW, store=False)

    assert [(s["segment"], s["rows"]) for s in result.details["segments"]] == [
        ("DE", 300),
        ("FR", 200),
        ("__other__", 250),
    ]


@pytest.mark.django_db
def test_performance_per_segment_equals_scikit_learn_on_the_segments_rows(api, model):
    declare(model)
    rng = np.random.default_rng(8)
    records, truth = [], {}
    for country, right in (("DE", 0.95), ("FR", 0.4), ("IT", 0.9)):
        for _ in range(80):
            label = int(rng.integers(0, 2))
            prediction = label if rng.random() < right else 1 - label
            truth.setdefault(country, ([], []))
            truth[country][0].append(label)
            truth[country][1].append(prediction)
            records.append(
                {
                    "timestamp": (NOW - timedelta(seconds=1 + len(records))).isoformat(),
                    "features": {"country": country},
                    "prediction": prediction,
                    "label": label,
                }
            )
    records.append(  # a row without the feature belongs to __other__
        {"timestamp": (NOW - timedelta(seconds=999)).isoformat(), "features": {}, "prediction": 1}
    )
    send(api, "fraud", records)
    rule = segmented(model, "performance", metric="accuracy", threshold=0.8, window="1h")

    evaluation = evaluate_now(rule.id, NOW)

    segments = {s["segment"]: s for s in evaluation.result.details["segments"]}
    assert set(segments) == {"DE", "FR", "IT", "__other__"}
    for country, (labels, predictions) in truth.items():
        assert segments[country]["rows"] == 80
        assert segments[country]["value"] == pytest.approx(accuracy_score(labels, predictions))
    assert segments["__other__"]["rows"] == 1
    assert segments["__other__"]["status"] == "insufficient_data"
    firing = Alert.objects.filter(state="firing").values_list("segment", flat=True)
    assert list(firing) == ["country=FR"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "segment_by, kind, why",
    [
        ("nope", "data_drift", "is not a declared feature"),
        ("x", "data_drift", "is a numeric feature"),
        ("country", "latency", "unknown"),
    ],
)
def test_segment_by_must_be_a_declared_categorical_feature(api, model, segment_by, kind, why):
    declare(model)
    config = {"segment_by": segment_by} | ({"threshold_ms": 100} if kind == "latency" else {})
    response = api.post(
        "/api/v1/rules/",
        {"name": "r", "model": "fraud", "kind": kind, "config": config},
        format="json",
    )
    assert response.status_code == 400
    errors = response.json()["config"]
    assert list(errors) == ["segment_by"]
    if why != "unknown":
        assert why in errors["segment_by"][0]
    assert not AlertRule.objects.exists()


@pytest.mark.django_db
def test_segmented_features_follow_the_enabled_rules(api, model):
    declare(model)
    response = api.post(
        "/api/v1/rules/",
        {"name": "r", "model": "fraud", "kind": "data_drift", "config": {"segment_by": "country"}},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert list(SegmentFeature.objects.values_list("feature", flat=True)) == ["country"]
    rule = AlertRule.objects.get()
    rule.enabled = False
    rule.save()
    assert not SegmentFeature.objects.exists()
    AlertRule.objects.filter(pk=rule.pk).update(enabled=True)  # a bulk action: no signal
    assert not SegmentFeature.objects.exists()
    evaluate_rule(AlertRule.objects.get(), NOW, store=False)  # its first evaluation lists it
    assert list(SegmentFeature.objects.values_list("feature", flat=True)) == ["country"]
    AlertRule.objects.get().delete()
    assert not SegmentFeature.objects.exists()


def test_combine_breaks_on_any_segment_and_names_the_first_breaking_one():
    verdicts = [
        {"segment": "DE", "rows": 9, "status": "ok", "value": 0.1, "threshold": 0.5, "details": {}},
        {
            "segment": "FR",
            "rows": 5,
            "status": "breached",
            "value": 0.9,
            "threshold": 0.5,
            "details": {"causes": [causes.cause("feature", "x", 3.0, "x (PSI 0.6)")]},
        },
        {
            "segment": "__other__",
            "rows": 1,
            "status": "insufficient_data",
            "value": None,
            "threshold": None,
            "details": {"reason": "too few"},
        },
    ]
    outcome = combine("country", verdicts)
    assert (outcome.status, outcome.value, outcome.details["segment"]) == ("breached", 0.9, "FR")
    assert outcome.details["causes"] == [
        causes.cause("segment", "country", 3.0, "country = FR: x (PSI 0.6)", segment="FR")
    ]
    calm = combine("country", [verdicts[0], verdicts[2]])
    assert (calm.status, calm.value, calm.details["causes"]) == ("ok", 0.1, [])
    blind = combine("country", [verdicts[2]])
    assert (blind.status, blind.details["causes"]) == ("insufficient_data", [])
    assert "too few" in blind.details["reason"]


@pytest.mark.django_db
def test_the_model_page_shows_each_segment_and_the_alert_page_names_it(api, shop, user):
    from django.test import Client

    model, rng = shop
    rule = segmented(model, method="ks", correction="none", window="1h", max_segments=2)
    send(api, "fraud", rows_of(rng, {"DE": 300, "FR": 200, "IT": 150, "ES": 100}, shifted="FR"))
    evaluate_now(rule.id, NOW)
    alert = Alert.objects.get()
    client = Client()
    client.force_login(user)

    page = client.get("/models/fraud/").content.decode()

    section = page[page.index('data-region="segments"') :]
    section = section[: section.index("</section>")]
    cells = re.findall(
        r'<tr data-segment="([^"]+)">\s*<td>country = <strong>[^<]+</strong></td>\s*'
        r"<td>(\d+)</td>\s*<td>([^<]+)</td>\s*<td>([^<]+)</td>\s*"
        r'<td><span class="badge [a-z]+">([a-z_]+)</span>',
        section,
    )
    segments = {s["segment"]: s for s in evaluate_rule(rule, NOW, store=False).details["segments"]}
    assert [c[0] for c in cells] == ["DE", "FR", "__other__"]
    for name, rows, value, _, status in cells:
        assert int(rows) == segments[name]["rows"]
        assert float(value) == pytest.approx(segments[name]["value"], abs=1e-4)
        assert status == segments[name]["status"]
    assert [c[4] for c in cells] == ["ok", "breached", "ok"]
    assert f'href="/alerts/{alert.id}/"' in section
    alert_page = client.get(f"/alerts/{alert.id}/").content.decode()
    assert 'segment <strong data-segment="country=FR">country=FR</strong>' in alert_page


@pytest.mark.django_db
def test_estimated_performance_per_segment_equals_cbpe_on_the_segments_scores(api, model):
    """French scores hover around 0.5 (an uncertain model), the others are confident: the
    French segment's CBPE estimate is the one a model fed only the French rows gets."""
    rng = np.random.default_rng(9)
    declare(model)
    declare(make_model("solo"))
    scores = rng.uniform(0, 1, 1000)
    ref = [
        {
            "country": str(rng.choice(COUNTRIES)),
            "x": 0.0,
            "score": float(s),
            "label": int(rng.random() < s),
        }
        for s in scores
    ]
    for name in ("fraud", "solo"):
        post(api, name, "reference", {"records": ref})
    config = {"metric": "f1", "threshold": 0.8, "window": "1h"}
    rule = segmented(model, "estimated_performance", **config)
    records = []
    for country in ("DE", "FR", "IT"):
        for _ in range(120):
            score = rng.uniform(0.45, 0.55) if country == "FR" else float(rng.choice([0.03, 0.97]))
            records.append(
                {
                    "timestamp": (NOW - timedelta(seconds=1 + len(records) * 5)).isoformat(),
                    "features": {"country": country, "x": 0.0},
                    "prediction": int(score >= 0.5),
                    "scores": {"0": 1 - score, "1": score},
                }
            )
    send(api, "fraud", records)
    send(api, "solo", [r for r in records if r["features"]["country"] == "FR"])

    result = evaluate_now(rule.id, NOW).result
    alone = evaluate_rule(
        AlertRule(model=Model.objects.get(name="solo"), kind=rule.kind, config=config, name="x"),
        NOW,
        store=False,
    )

    segments = {s["segment"]: s for s in result.details["segments"]}
    assert (segments["FR"]["status"], alone.status) == ("breached", "breached")
    assert segments["FR"]["value"] == pytest.approx(alone.value, rel=1e-9)
    assert segments["FR"]["rows"] == 120
    assert {s: v["status"] for s, v in segments.items()} == {
        "DE": "ok",
        "FR": "breached",
        "IT": "ok",
    }
    assert list(Alert.objects.values_list("segment", flat=True)) == ["country=FR"]


@pytest.mark.django_db
def test_a_segments_notification_names_its_segment_and_its_cause_only(api, shop):
    from alerts_app.outbox import build_notification

    model, rng = shop
    rule = segmented(model, method="ks", correction="none", window="1h")
    send(api, "fraud", rows_of(rng, {"DE": 300, "FR": 200, "IT": 200}, shifted="FR"))

    (transition,) = evaluate_now(rule.id, NOW).transitions

    notification = build_notification(transition)
    assert "in segment country=FR breaks the rule" in notification.message
    assert [(c["feature"], c["segment"]) for c in notification.causes] == [("country", "FR")]


@pytest.mark.django_db
def test_the_admin_form_refuses_a_numeric_segment_by_and_stores_nothing(client, model):
    from django.contrib.auth import get_user_model

    from tests.alerts_app.test_admin_rules import ADD, errors_of, form_data

    declare(model)
    client.force_login(get_user_model().objects.create_superuser("root", "r@example.com", "pw"))
    data = form_data(model, "data_quality", cfg_segment_by="x")
    response = client.post(ADD + "?kind=data_quality", data)
    assert response.status_code == 200
    assert "is a numeric feature" in errors_of(response)["cfg_segment_by"][0]
    assert not AlertRule.objects.exists()
    response = client.post(ADD + "?kind=data_quality", data | {"cfg_segment_by": "country"})
    assert response.status_code == 302
    assert AlertRule.objects.get().config["segment_by"] == "country"
    assert list(SegmentFeature.objects.values_list("feature", flat=True)) == ["country"]


def test_every_kind_that_takes_segment_by_has_a_segment_loader():
    from alerts_app.kinds import KINDS as ALL_KINDS
    from alerts_app.segments import KINDS, LOADERS
    from models_app.profiles import MAX_TRACKED

    segmented = [kind.name for kind in ALL_KINDS if "segment_by" in kind.fields]
    assert segmented == list(KINDS) == list(LOADERS)
    assert all(
        kind.fields["max_segments"].max == MAX_TRACKED for kind in ALL_KINDS if kind.name in KINDS
    )
