"""The incident page /incidents/{id}/: its alerts with causes and links, the inhibition
mark, the timeline, acknowledge."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from alerts_app.models import (
    Alert,
    AlertRule,
    CheckResult,
    Incident,
    IncidentAlert,
    IncidentNotification,
    Silence,
)
from tests.factories import grant_all_models, make_model, make_user

pytestmark = pytest.mark.django_db
NOW = timezone.now().replace(microsecond=0)


@pytest.fixture
def incident(db) -> Incident:
    model = make_model("fraud")
    drift = AlertRule.objects.create(name="Input drift", model=model, kind="data_drift")
    silent = AlertRule.objects.create(name="Silent feed", model=model, kind="no_data")
    CheckResult.objects.create(
        rule=drift,
        status="breached",
        passed=False,
        evaluated_at=NOW - timedelta(minutes=1),
        details={
            "causes": [
                {
                    "kind": "feature",
                    "feature": "age",
                    "segment": None,
                    "score": 4.0,
                    "summary": "age (PSI 0.8)",
                }
            ]
        },
    )
    found = Incident.objects.create(
        model=model,
        group_key="policy:1|model=fraud",
        labels={"model": "fraud"},
        started_at=NOW - timedelta(minutes=2),
    )
    for rule in (drift, silent):
        alert = Alert.objects.create(
            rule=rule,
            fingerprint=f"rule:{rule.id}|version:-",
            state="firing",
            started_at=NOW - timedelta(minutes=2),
        )
        IncidentAlert.objects.create(
            incident=found, alert=alert, joined_at=NOW - timedelta(minutes=2)
        )
    IncidentNotification.objects.create(incident=found, sequence=1, event="firing", created_at=NOW)
    return found


def client_for(role: str) -> Client:
    client = Client()
    client.force_login(grant_all_models(make_user(role), role))
    return client


def test_the_page_lists_the_alerts_with_causes_links_and_the_inhibition_mark(incident):
    page = client_for("viewer").get(f"/incidents/{incident.id}/")
    assert page.status_code == 200
    text = page.content.decode()
    drift = Alert.objects.get(rule__name="Input drift")
    silent = Alert.objects.get(rule__name="Silent feed")
    assert f'href="/alerts/{drift.id}/"' in text and f'href="/alerts/{silent.id}/"' in text
    assert "age (PSI 0.8)" in text
    assert f"inhibited by alert #{silent.id} (Silent feed on fraud)" in text
    assert "notified (firing)" in text and "Input drift joined" in text
    assert "data-ack-incident" not in text  # a viewer may not acknowledge


def test_an_editor_acknowledges_the_incident_and_its_alerts(incident):
    client = client_for("editor")
    assert "data-ack-incident" in client.get(f"/incidents/{incident.id}/").content.decode()
    response = client.post(f"/incidents/{incident.id}/acknowledge/", {"note": "on it"})
    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.acknowledged_note == "on it"
    assert set(Alert.objects.values_list("acknowledged_note", flat=True)) == {"on it"}


def test_an_incident_of_a_model_one_may_not_view_is_not_found(incident):
    client = Client()
    client.force_login(make_user("stranger"))
    assert client.get(f"/incidents/{incident.id}/").status_code == 404
    assert client.post(f"/incidents/{incident.id}/acknowledge/").status_code == 404


def test_silencing_an_incident_mutes_its_rules_for_the_chosen_time(incident):
    from alerts_app import silences

    response = client_for("editor").post(f"/incidents/{incident.id}/silence/", {"duration": "1h"})
    assert response.status_code == 302
    silence = Silence.objects.get()
    rules = sorted(AlertRule.objects.values_list("id", flat=True))
    assert silence.matchers == {"rule": rules}
    assert timedelta(minutes=59) < silence.ends_at - silence.starts_at <= timedelta(hours=1)
    drift = Alert.objects.get(rule__name="Input drift")
    assert silences.silence_for(silences.alert_labels(drift), timezone.now()) == silence
    page = client_for("viewer").get(f"/incidents/{incident.id}/").content.decode()
    assert "Silenced until" in page


def test_a_viewer_may_not_silence_an_incident(incident):
    response = client_for("viewer").post(f"/incidents/{incident.id}/silence/", {"duration": "1h"})
    assert response.status_code == 403
    assert not Silence.objects.exists()
