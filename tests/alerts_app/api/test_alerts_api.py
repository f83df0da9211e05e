"""/api/v1/alerts/: filters, newest first, acknowledge; /api/v1/models/{name}/health/."""

from datetime import UTC, datetime, timedelta

import pytest

from alerts_app import lifecycle
from alerts_app.models import Alert, AlertRule
from tests.alerts_app.results import result
from tests.factories import make_alert_rule, make_channel, make_model

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def fire(rule, minutes: float = 0, status: str = "breached") -> Alert:
    lifecycle.apply_result(rule, result(rule, status), T0 + timedelta(minutes=minutes))
    return Alert.objects.get(rule=rule)


@pytest.fixture
def alerts(model):
    other = make_model("churn")
    critical = fire(make_alert_rule(model, name="loss", severity="critical"), 0)
    warning = fire(make_alert_rule(model, name="latency", severity="warning"), 1)
    resolved = make_alert_rule(other, name="drift", severity="warning")
    fire(resolved, 2)
    return {"critical": critical, "warning": warning, "resolved": fire(resolved, 3, "ok")}


def names(response) -> list[str]:
    return [a["rule_name"] for a in response.json()["results"]]


def test_alerts_are_listed_newest_first(api, alerts):
    response = api.get("/api/v1/alerts/")
    assert response.status_code == 200
    assert names(response) == ["drift", "latency", "loss"]
    first = response.json()["results"][0]
    assert (first["model"], first["state"], first["severity"], first["kind"]) == (
        "churn",
        "resolved",
        "warning",
        "metric_threshold",
    )
    assert first["url"].endswith(f"/alerts/{first['id']}/")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("state=firing", ["latency", "loss"]),
        ("state=resolved", ["drift"]),
        ("model=churn", ["drift"]),
        ("severity=critical", ["loss"]),
        ("state=firing&severity=warning", ["latency"]),
        ("state=firing&state=resolved&model=fraud", ["latency", "loss"]),
    ],
)
def test_alerts_filter_by_state_model_and_severity(api, alerts, query, expected):
    assert names(api.get(f"/api/v1/alerts/?{query}")) == expected


def test_an_unknown_filter_value_is_a_400_naming_the_parameter(api, alerts):
    response = api.get("/api/v1/alerts/?state=burning")
    assert response.status_code == 400
    assert "state" in response.json()


def test_reading_alerts_needs_authentication(anon):
    assert anon.get("/api/v1/alerts/").status_code == 401


def test_acknowledging_a_firing_alert_records_who_and_when(api, alerts, user):
    alert = alerts["critical"]
    response = api.post(f"/api/v1/alerts/{alert.id}/acknowledge/")
    assert response.status_code == 200
    body = response.json()
    assert body["acknowledged_by"] == user.username and body["acknowledged_at"]
    alert.refresh_from_db()
    assert alert.acknowledged_by == user


def test_acknowledging_with_a_note_stores_it_and_answers_it(api, alerts, user):
    alert = alerts["critical"]
    response = api.post(
        f"/api/v1/alerts/{alert.id}/acknowledge/",
        {"note": "  feed switched to monthly; on it  "},
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert body["acknowledged_note"] == "feed switched to monthly; on it"
    assert body["acknowledged_by"] == user.username
    listed = api.get(f"/api/v1/alerts/{alert.id}/").json()
    assert (listed["acknowledged_note"], listed["acknowledged_at"]) == (
        "feed switched to monthly; on it",
        body["acknowledged_at"],
    )
    alert.refresh_from_db()
    assert alert.acknowledged_note == "feed switched to monthly; on it"


def test_an_unacknowledged_alert_answers_an_empty_note(api, alerts):
    body = api.get(f"/api/v1/alerts/{alerts['warning'].id}/").json()
    assert (body["acknowledged_note"], body["acknowledged_by"], body["acknowledged_at"]) == (
        "",
        None,
        None,
    )


def test_a_note_longer_than_2000_characters_is_refused_by_name(api, alerts):
    alert = alerts["critical"]
    response = api.post(
        f"/api/v1/alerts/{alert.id}/acknowledge/", {"note": "x" * 2001}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()) == ["note"]
    alert.refresh_from_db()
    assert alert.acknowledged_at is None


def test_an_acknowledged_alert_gets_no_reminders(api, model):
    rule = make_alert_rule(model, repeat_interval=60, channels=[make_channel()])
    alert = fire(rule, 0)
    api.post(f"/api/v1/alerts/{alert.id}/acknowledge/")
    for minute in (2, 4, 6):
        fire(rule, minute)
    events = alert.transitions.values_list("event", flat=True)
    assert sorted(events) == ["acknowledged", "firing"]  # no repeat


def test_a_resolved_alert_cannot_be_acknowledged(api, alerts):
    response = api.post(f"/api/v1/alerts/{alerts['resolved'].id}/acknowledge/")
    assert response.status_code == 409
    assert "resolved" in response.json()["detail"]


def test_acknowledging_an_unknown_alert_is_404(api):
    assert api.post("/api/v1/alerts/999999/acknowledge/").status_code == 404


def test_acknowledging_needs_a_token_or_staff(client, alerts, user):
    client.force_login(user)
    response = client.post(f"/api/v1/alerts/{alerts['critical'].id}/acknowledge/")
    assert response.status_code == 403


def test_an_alerts_transitions_show_their_deliveries(api, model):
    # shared with the model: non-staff read only the deliveries to channels shared with it
    rule = make_alert_rule(model, channels=[make_channel(shared_with_all_models=True)])
    alert = fire(rule, 0)
    fire(rule, 1, "ok")
    body = api.get(f"/api/v1/alerts/{alert.id}/transitions/").json()["results"]
    assert [(t["event"], t["old"], t["new"]) for t in body] == [
        ("resolved", "firing", "resolved"),
        ("firing", "ok", "firing"),
    ]
    assert body[0]["deliveries"][0]["channel"] == "ops-hook"
    assert body[0]["deliveries"][0]["status"] == "pending"


def test_health_is_critical_when_a_critical_alert_fires(api, alerts):
    body = api.get("/api/v1/models/fraud/health/").json()
    assert body["status"] == "critical"
    assert sorted(a["rule_name"] for a in body["firing"]) == ["latency", "loss"]


def test_health_is_ok_without_firing_alerts(api, alerts):
    assert api.get("/api/v1/models/churn/health/").json() == {"status": "ok", "firing": []}


def test_health_is_warning_for_warning_alerts_and_ignores_info(api):
    model = make_model("ranker")
    fire(make_alert_rule(model, name="i", severity="info"))
    assert api.get("/api/v1/models/ranker/health/").json()["status"] == "ok"
    fire(make_alert_rule(model, name="w", severity="warning"))
    assert api.get("/api/v1/models/ranker/health/").json()["status"] == "warning"


def test_health_ignores_the_alerts_of_disabled_rules(api, alerts):
    AlertRule.objects.filter(severity="critical").update(enabled=False)
    assert api.get("/api/v1/models/fraud/health/").json()["status"] == "warning"


def test_health_of_an_unknown_model_is_404(api):
    assert api.get("/api/v1/models/nope/health/").status_code == 404
