"""The alert page /alerts/{id}/: what, when, why (causes, distributions), history, actions."""

import base64
from datetime import timedelta

import numpy as np
import pytest
from django.test import Client

from access.roles import grant
from alerts_app.models import Alert, AlertRule, AlertTransition, CheckResult, Delivery, Silence
from alerts_app.outbox import alert_links
from frontend import alert_page
from tests.factories import grant_all_models, make_channel, make_model, make_user
from tests.frontend.conftest import NOW

pytestmark = pytest.mark.django_db


def drifted(statistic: float, threshold: float = 0.2, p_value=None, method="psi") -> dict:
    return {
        "method": method,
        "statistic": statistic,
        "p_value": p_value,
        "threshold": threshold,
        "drifted": True,
    }


@pytest.fixture
def drift_alert(watched) -> Alert:
    """A firing data-drift alert of churn: age drifted strongly, city mildly."""
    version = watched.latest_version()
    rule = AlertRule.objects.create(
        name="input drift",
        model=watched,
        kind="data_drift",
        config={"method": "psi", "window": "24h"},
        severity="critical",
        last_run_at=NOW,
    )
    CheckResult.objects.create(
        rule=rule,
        version=version,
        evaluated_at=NOW - timedelta(minutes=5),
        status="breached",
        value=1.0,
        threshold=0.5,
        passed=False,
        details={
            "features": {
                "city": drifted(0.3),
                "age": drifted(0.9),
                "income": {
                    "method": "psi",
                    "statistic": 0.01,
                    "p_value": None,
                    "threshold": 0.2,
                    "drifted": False,
                },
            }
        },
    )
    alert = Alert.objects.create(
        rule=rule,
        version=version,
        fingerprint=f"rule:{rule.pk}|version:{version.pk}",
        state="firing",
        value=1.0,
        threshold=0.5,
        pending_since=NOW - timedelta(hours=2),
        started_at=NOW - timedelta(hours=2),
        last_evaluated=NOW,
    )
    fired = AlertTransition.objects.create(
        alert=alert,
        old="pending",
        new="firing",
        event="firing",
        value=1.0,
        threshold=0.5,
        created_at=NOW - timedelta(hours=2),
    )
    shared = make_channel("team-hook", shared_with_all_models=True)
    hidden = make_channel("secret-pager")
    Delivery.objects.create(transition=fired, channel=shared, status="sent")
    Delivery.objects.create(transition=fired, channel=hidden, status="sent")
    return alert


def values(array) -> list[float]:
    """A figure's array as JSON answers it: a list, or plotly's typed {"dtype", "bdata"}."""
    if isinstance(array, dict):
        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=array["dtype"]).tolist()
    return list(array)


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_page_names_the_causes_most_important_first(browser_client, drift_alert, frozen_now):
    response = browser_client.get(f"/alerts/{drift_alert.pk}/")
    assert response.status_code == 200
    assert [c["feature"] for c in response.context["causes"]] == ["age", "city"]
    assert response.context["causes"][0]["score"] == pytest.approx(4.5)
    html = response.content.decode()
    assert "age (PSI 0.9)" in html  # as the checks word it (alerts_app.checks.causes)
    assert "Value 1 is above the threshold 0.5" in html
    assert [d["feature"] for d in response.context["distributions"]] == ["age", "city"]
    assert f'data-src="/alerts/{drift_alert.pk}/figures/distribution.json?feature=age"' in html


def test_stored_causes_are_shown_as_the_checks_wrote_them(browser_client, drift_alert, frozen_now):
    causes = [
        {
            "kind": "segment",
            "feature": "city",
            "segment": "rome",
            "score": 3.0,
            "summary": "accuracy 0.4 in city = rome (0.9 overall)",
        },
        {
            "kind": "feature",
            "feature": "age",
            "segment": None,
            "score": 2.0,
            "summary": "age drifted",
        },
    ]
    CheckResult.objects.filter(rule=drift_alert.rule).update(details={"causes": causes})
    response = browser_client.get(f"/alerts/{drift_alert.pk}/")
    assert response.context["causes"] == causes
    assert "accuracy 0.4 in city = rome (0.9 overall)" in response.content.decode()
    assert [d["feature"] for d in response.context["distributions"]] == ["city", "age"]


def test_p_value_causes_score_by_log_p_over_log_threshold():
    details = {
        "features": {"a": drifted(0.3, 0.05, p_value=1e-10, method="ks"), "b": drifted(0.9, 0.2)}
    }
    causes = alert_page.causes_of(details)
    assert [c["feature"] for c in causes] == ["a", "b"]
    assert causes[0]["score"] == pytest.approx(10 / 1.3010299956639813)  # -log10(0.05)
    assert causes[0]["summary"] == "a (KS 0.3)"


def test_breaching_verdicts_are_causes_when_no_drift_statistics_exist():
    details = {
        "verdicts": {
            "age": {"status": "breached", "value": 0.3, "threshold": 0.1},
            "city": {"status": "ok", "value": 0.0, "threshold": 0.1},
        }
    }
    assert [c["feature"] for c in alert_page.causes_of(details)] == ["age"]
    assert alert_page.causes_of({"features": {}}) == []


def test_the_distribution_endpoint_returns_the_features_data(
    browser_client, drift_alert, frozen_now
):
    response = browser_client.get(
        f"/alerts/{drift_alert.pk}/figures/distribution.json", {"feature": "city"}
    )
    assert response.status_code == 200
    reference, current = response.json()["data"]
    assert reference["x"] == ["paris", "rome"] and values(reference["y"]) == [0.6, 0.4]
    assert values(current["y"]) == [0.5, 0.5]  # 24 h before the result: as many paris as rome
    assert response.json()["layout"]["title"]["text"].startswith("city: reference vs current")
    history = browser_client.get(f"/alerts/{drift_alert.pk}/figures/history.json").json()
    assert values(history["data"][0]["y"]) == [1.0]


def test_acknowledging_with_a_note_stores_the_note(browser_client, drift_alert, viewer, frozen_now):
    url = f"/alerts/{drift_alert.pk}/"
    response = browser_client.post(
        f"{url}acknowledge/", {"note": " on it: upstream feed ", "next": url}
    )
    assert response.status_code == 302 and response.url == url
    drift_alert.refresh_from_db()
    assert (drift_alert.acknowledged_by, drift_alert.acknowledged_note) == (
        viewer,
        "on it: upstream feed",
    )
    assert drift_alert.acknowledged_at == NOW
    html = browser_client.get(url).content.decode()
    assert 'data-history="ack"' in html and "on it: upstream feed" in html
    assert "data-ack=" not in html  # the form is gone once acknowledged


@pytest.mark.parametrize(
    ("form", "hours"),
    [
        ({"duration": "1h"}, 1),
        ({"duration": "24h"}, 24),
        ({"duration": "custom", "until": "2026-03-05T12:00"}, 72),
    ],
)
def test_silencing_creates_a_silence_with_the_chosen_end(
    browser_client, drift_alert, viewer, frozen_now, form, hours
):
    response = browser_client.post(f"/alerts/{drift_alert.pk}/silence/", form)
    assert response.status_code == 302 and response.url == f"/alerts/{drift_alert.pk}/"
    silence = Silence.objects.get()
    assert (silence.rule, silence.model, silence.created_by) == (drift_alert.rule, None, viewer)
    assert (silence.starts_at, silence.ends_at) == (NOW, NOW + timedelta(hours=hours))
    assert "Silenced" in browser_client.get(f"/alerts/{drift_alert.pk}/").content.decode()


def test_a_silence_ending_in_the_past_is_refused(browser_client, drift_alert, frozen_now):
    response = browser_client.post(
        f"/alerts/{drift_alert.pk}/silence/",
        {"duration": "custom", "until": "2026-03-01T12:00"},
        follow=True,
    )
    assert "must be in the future" in response.content.decode()
    assert not Silence.objects.exists()


def test_a_viewer_sees_the_alert_but_cannot_acknowledge_or_silence(drift_alert, frozen_now):
    client = client_for(grant_all_models(make_user("reader"), "viewer"))
    html = client.get(f"/alerts/{drift_alert.pk}/").content.decode()
    assert "input drift" in html and "data-ack=" not in html and "data-silence" not in html
    assert client.post(f"/alerts/{drift_alert.pk}/acknowledge/", {"note": "x"}).status_code == 403
    assert client.post(f"/alerts/{drift_alert.pk}/silence/", {"duration": "1h"}).status_code == 403
    drift_alert.refresh_from_db()
    assert drift_alert.acknowledged_at is None and not Silence.objects.exists()


def test_an_outsider_gets_a_404_page_and_no_figures(drift_alert, frozen_now):
    outsider = make_user("outsider")
    grant(make_model("other"), outsider, "admin")
    client = client_for(outsider)
    response = client.get(f"/alerts/{drift_alert.pk}/")
    assert response.status_code == 404
    assert "<nav" in response.content.decode() and "input drift" not in response.content.decode()
    assert (
        client.get(
            f"/alerts/{drift_alert.pk}/figures/distribution.json", {"feature": "age"}
        ).status_code
        == 404
    )
    assert client.post(f"/alerts/{drift_alert.pk}/silence/", {"duration": "1h"}).status_code == 404
    assert client.get("/alerts/999999/").status_code == 404


def test_deliveries_to_hidden_channels_are_not_shown(drift_alert, frozen_now):
    client = client_for(grant_all_models(make_user("reader"), "viewer"))
    html = client.get(f"/alerts/{drift_alert.pk}/").content.decode()
    assert 'data-delivery="team-hook"' in html
    assert "secret-pager" not in html
    staff = client_for(make_user("ops", staff=True)).get(f"/alerts/{drift_alert.pk}/")
    assert 'data-delivery="secret-pager"' in staff.content.decode()


def test_notification_links_and_alert_rows_lead_to_the_alert_page(
    browser_client, drift_alert, frozen_now
):
    assert alert_links(drift_alert)[0].endswith(f"/alerts/{drift_alert.pk}/")
    for page in ("/alerts/", "/models/churn/"):
        html = browser_client.get(page).content.decode()
        assert f'href="/alerts/{drift_alert.pk}/" data-alert-link' in html, page


def test_the_rules_page_lists_visible_rules_with_state_last_result_and_sparkline(
    drift_alert, frozen_now, django_assert_max_num_queries
):
    hidden = make_model("other")
    AlertRule.objects.create(name="elsewhere", model=hidden, kind="data_drift")
    client = client_for(grant_all_models(make_user("reader"), "viewer"))
    response = client.get("/rules/")
    assert response.status_code == 200
    rows = {row.rule.name: row for row in response.context["rows"]}
    assert {"accuracy too low", "drift", "input drift", "elsewhere"} <= set(rows)
    accuracy = rows["accuracy too low"]
    assert (accuracy.state, accuracy.last.value, accuracy.last.status) == (
        "firing",
        0.7,
        "breached",
    )
    assert accuracy.spark.count(",") == 24  # 24 hourly results in the last 24 h
    assert (rows["drift"].state, rows["drift"].last.evaluated_at) == ("", NOW - timedelta(hours=1))
    assert 'href="/rules/' in response.content.decode()
    outsider = make_user("outsider")
    grant(hidden, outsider, "viewer")
    names = [row.rule.name for row in client_for(outsider).get("/rules/").context["rows"]]
    assert names == ["elsewhere"]


def test_the_rules_page_reads_a_fixed_number_of_queries(
    browser_client, drift_alert, frozen_now, django_assert_max_num_queries
):
    for i in range(10):
        AlertRule.objects.create(name=f"more {i}", model=drift_alert.rule.model, kind="data_drift")
    with django_assert_max_num_queries(12):
        assert browser_client.get("/rules/").status_code == 200
