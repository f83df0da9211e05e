"""The pages say why: the overview's causes in words and key metric, alerts grouped under
their rule (alert list, overview, rule page, alert page), the rule page's Acknowledge and
distributions."""

import re
from datetime import timedelta

import pytest
from django.test import Client

from alerts_app.models import Alert, AlertRule, CheckResult
from models_app import ingest
from models_app.models import Prediction
from tests.factories import grant_all_models, make_model, make_user
from tests.frontend.conftest import NOW
from tests.frontend.test_alert_page import drift_alert, drifted  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


def per_feature_rules(model, rules: int = 5, features: int = 2) -> list[AlertRule]:
    """`rules` drift rules, each with one firing alert per feature (as digits-camera has)."""
    made = []
    for r in range(rules):
        names = [f"f{r}_{i}" for i in range(features)]
        rule = AlertRule.objects.create(
            name=f"rule {r}", model=model, kind="data_drift", config={"per_feature": True}
        )
        CheckResult.objects.create(
            rule=rule,
            evaluated_at=NOW - timedelta(minutes=5),
            status="breached",
            value=1.0,
            threshold=0.5,
            passed=False,
            details={"features": {n: drifted(0.4 + 0.1 * i) for i, n in enumerate(names)}},
        )
        for name in names:
            Alert.objects.create(
                rule=rule,
                feature=name,
                fingerprint=f"rule:{rule.pk}|feature:{name}",
                state="firing",
                value=0.5,
                threshold=0.2,
                started_at=NOW - timedelta(hours=1),
                last_evaluated=NOW,
            )
        made.append(rule)
    return made


@pytest.fixture
def camera(db):
    return make_model("camera", last_seen_at=NOW)


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_overview_names_the_firing_causes_in_words(browser_client, drift_alert, frozen_now):  # noqa: F811
    response = browser_client.get("/")
    row = next(r for r in response.context["rows"] if r.model.name == "churn")
    reasons = {g.rule.name: g.reason for g in row.groups}
    assert reasons == {
        "input drift": "age (PSI 0.9), city (PSI 0.3)",
        "accuracy too low": "value 0.7 vs threshold 0.8",
    }
    assert [g.rule.name for g in row.groups] == ["accuracy too low", "input drift"]  # critical
    assert "input drift : age (PSI 0.9), city (PSI 0.3)" in text(response.content.decode())


def test_the_overview_reads_stored_causes_and_says_how_many_more(
    browser_client,
    drift_alert,  # noqa: F811
    frozen_now,
):
    causes = [
        {"kind": "feature", "feature": f"f{i}", "segment": None, "score": 9 - i, "summary": s}
        for i, s in enumerate(["f0 (KS 0.33)", "f1 (χ² p < 1e-6)", "f2 (KS 0.2)", "f3 (KS 0.1)"])
    ]
    CheckResult.objects.filter(rule=drift_alert.rule).update(details={"causes": causes})
    row = next(r for r in browser_client.get("/").context["rows"] if r.model.name == "churn")
    reason = next(g.reason for g in row.groups if g.rule.name == "input drift")
    assert reason == "f0 (KS 0.33), f1 (χ² p < 1e-6), f2 (KS 0.2) and 1 more"


def test_the_key_metric_is_validation_loss_for_a_run_and_volume_for_predictions_only(
    browser_client, watched, frozen_now
):
    run = make_model("run", last_seen_at=NOW)
    ingest.record_metrics(
        run.latest_version(),
        [
            {"name": name, "value": v, "timestamp": NOW, "step": s, "stage": stage}
            for s in range(1, 6)
            for name, stage, v in (
                ("loss", "train", 1 / s),
                ("loss", "validation", 2 / s),
                ("accuracy", "validation", 0.5),
            )
        ],
    )
    served = make_model("served", last_seen_at=NOW)
    Prediction.objects.bulk_create(
        Prediction(
            model=served, version=served.latest_version(), timestamp=NOW - timedelta(hours=h)
        )
        for h in range(30)
    )
    make_model("silent")
    keys = {r.model.name: r.key for r in browser_client.get("/").context["rows"]}
    assert (keys["run"].label, keys["run"].last) == ("validation loss by step", "0.4")
    assert (keys["served"].label, keys["served"].last) == ("predictions, 7 d", "30")
    assert (keys["churn"].label, keys["churn"].last) == ("accuracy (production), 7 d", "0.7")
    assert keys["silent"] is None
    assert "validation loss by step: 0.4" in browser_client.get("/").content.decode()


def test_the_overview_reads_a_fixed_number_of_queries(
    browser_client, watched, frozen_now, django_assert_max_num_queries
):
    for i in range(8):
        per_feature_rules(make_model(f"m{i}", last_seen_at=NOW), rules=2)
    with django_assert_max_num_queries(14):
        assert browser_client.get("/").status_code == 200


def test_the_alert_list_shows_one_group_per_rule_with_its_features(
    browser_client, camera, frozen_now
):
    rules = per_feature_rules(camera)
    response = browser_client.get("/alerts/", {"model": "camera"})
    (title, groups), *_ = response.context["sections"]
    assert title == "Firing"
    assert len(groups) == 5 and sum(len(g.alerts) for g in groups) == 10
    assert {g.rule.pk: [a.feature for a in g.alerts] for g in groups} == {
        rule.pk: [f"f{r}_0", f"f{r}_1"] for r, rule in enumerate(rules)
    }
    html = response.content.decode()
    assert "Firing (5 rules)" in html
    assert html.count("data-rule-group=") == 5
    for alert in Alert.objects.filter(rule__model=camera):
        assert f'href="/alerts/{alert.pk}/" data-alert-link="{alert.pk}"' in html
    assert html.count("data-ack-rule=") == 5  # one Acknowledge per rule, for both its features


def test_the_overview_groups_the_features_under_their_rule(browser_client, camera, frozen_now):
    per_feature_rules(camera)
    response = browser_client.get("/")
    row = next(r for r in response.context["rows"] if r.model.name == "camera")
    assert (row.firing, len(row.groups)) == (10, 5)
    assert row.groups[0].reason == "f0_1 (PSI 0.5), f0_0 (PSI 0.4)"
    html = response.content.decode()
    assert '10</a><div class="muted small">5 rules</div>' in html
    assert html.count('data-why="') == 3  # the first three rules, then "and 2 more rules"
    assert "and 2 more rules" in html


def test_the_rule_and_alert_pages_list_the_rules_features_together(
    browser_client, camera, frozen_now
):
    rule = per_feature_rules(camera, rules=1, features=3)[0]
    alerts = list(Alert.objects.filter(rule=rule).order_by("feature"))
    rule_html = browser_client.get(f"/rules/{rule.pk}/").content.decode()
    alert_html = browser_client.get(f"/alerts/{alerts[0].pk}/").content.decode()
    for html in (rule_html, alert_html):
        assert html.count('data-rule-group="') == 1
        for alert in alerts:
            assert f'href="/alerts/{alert.pk}/" data-alert-link="{alert.pk}"' in html
    assert "All alerts of “rule 0” (3)" in alert_html


def test_the_rule_page_explains_and_draws_its_drifted_features(
    browser_client,
    drift_alert,  # noqa: F811
    frozen_now,
):
    rule = drift_alert.rule
    response = browser_client.get(f"/rules/{rule.pk}/")
    assert [c["feature"] for c in response.context["causes"]] == ["age", "city"]
    html = response.content.decode()
    assert "age (PSI 0.9)" in html
    src = f"/rules/{rule.pk}/figures/distribution.json?feature="
    assert f'data-src="{src}age"' in html and f'data-src="{src}city"' in html
    figure = browser_client.get(src + "city").json()
    reference, current = figure["data"]
    assert reference["x"] == ["paris", "rome"]
    assert figure["layout"]["title"]["text"].startswith("city: reference vs current")


def test_the_rule_page_acknowledges_every_active_alert_with_a_note(
    browser_client, camera, viewer, frozen_now
):
    rule = per_feature_rules(camera, rules=1, features=3)[0]
    page = f"/rules/{rule.pk}/"
    assert 'data-ack-rule="' in browser_client.get(page).content.decode()
    response = browser_client.post(
        f"{page}acknowledge/", {"note": " camera swapped ", "next": page}
    )
    assert response.status_code == 302 and response.url == page
    acked = Alert.objects.filter(rule=rule).values_list(
        "acknowledged_by", "acknowledged_note", "acknowledged_at"
    )
    assert set(acked) == {(viewer.pk, "camera swapped", NOW)}
    html = browser_client.get(page).content.decode()
    assert 'data-ack-rule="' not in html and "No active alert waits" in html


def test_a_viewer_cannot_acknowledge_a_rule(camera, frozen_now):
    rule = per_feature_rules(camera, rules=1)[0]
    client = Client()
    client.force_login(grant_all_models(make_user("reader"), "viewer"))
    assert 'data-ack-rule="' not in client.get(f"/rules/{rule.pk}/").content.decode()
    assert client.post(f"/rules/{rule.pk}/acknowledge/", {"note": "x"}).status_code == 403
    assert not Alert.objects.exclude(acknowledged_at=None).exists()


def test_the_alert_page_shows_the_newest_50_transitions_and_counts_the_older(
    browser_client,
    drift_alert,  # noqa: F811
    frozen_now,
):
    from alerts_app.models import AlertTransition

    AlertTransition.objects.bulk_create(
        AlertTransition(
            alert=drift_alert, old="firing", new="firing", event="repeat", created_at=NOW
        )
        for _ in range(54)
    )
    html = browser_client.get(f"/alerts/{drift_alert.pk}/").content.decode()
    assert html.count("data-transition=") == 50
    assert "and 5 older transitions" in html
