"""seed_demo tells its three stories: after it, the checks fire the story's alerts (in
process, and through a real Celery worker), the quiet rules stay quiet, and a second run
adds only what time added."""

import time
from datetime import datetime, timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from alerts_app.models import Alert, AlertRule, CheckResult, Delivery, RuleKind
from alerts_app.schedule import dispatch_due_rules, evaluate_due_rule
from demo import camera
from demo.load import seed
from demo.timeline import CHANGE_DAY, DAYS, hours
from models_app.models import MetricPoint, ParameterStat, Prediction, Reference
from models_app.series import floor_time

STORY = {
    ("credit-risk", "Input drift"),
    ("credit-risk", "Score drift"),
    ("credit-risk", "Input quality"),
    ("credit-risk", "F1 from late labels"),
    ("credit-risk", "Estimated F1 (CBPE, no labels yet)"),
    ("digits-camera", "Image drift"),
    ("digits-camera", "Image quality"),
    ("digits-camera", "Undecodable frames"),
    ("digits-camera", "Accuracy on reviewed frames"),
    ("digits-cnn-training", "Over-fitting"),
    ("digits-cnn-training", "Exploding or NaN weights"),
}
QUIET = {
    ("credit-risk", "p95 latency"),
    ("credit-risk", "Error rate"),
    ("credit-risk", "Traffic stopped"),
    ("digits-cnn-training", "Training stalls"),
}


def firing() -> set[tuple[str, str]]:
    return set(Alert.objects.filter(state="firing").values_list("rule__model__name", "rule__name"))


def counts() -> dict[str, int]:
    return {
        "predictions": Prediction.objects.count(),
        "labelled": Prediction.objects.filter(label__isnull=False).count(),
        "metrics": MetricPoint.objects.count(),
        "parameters": ParameterStat.objects.count(),
        "references": Reference.objects.count(),
        "rules": AlertRule.objects.count(),
    }


def first_breach(rule_name: str) -> datetime | None:
    results = CheckResult.objects.filter(rule__name=rule_name, status="breached")
    return results.order_by("evaluated_at").values_list("evaluated_at", flat=True).first()


@pytest.mark.django_db
def test_seed_demo_tells_the_stories_and_a_rerun_adds_only_what_time_added():
    now = timezone.now()
    seed(now)
    change = now - timedelta(days=DAYS - CHANGE_DAY)
    # the history: no drift before the change; CBPE warns days before the late labels do
    assert change <= first_breach("Input drift") <= change + timedelta(days=1)
    assert first_breach("Estimated F1 (CBPE, no labels yet)") < first_breach(
        "F1 from late labels"
    ) - timedelta(days=2)
    assert {rule.kind for rule in AlertRule.objects.all()} == set(RuleKind.values)
    for rule in AlertRule.objects.all():
        result = evaluate_due_rule(rule.id, now)
        assert result.status != "error", (rule.name, result.details)
    assert firing() >= STORY
    assert not firing() & QUIET
    drifted = Alert.objects.filter(rule__name="Image drift", state="firing")
    assert {"brightness", "blur"} <= set(drifted.values_list("feature", flat=True))

    before = counts()
    assert set(seed(now).values()) == {0}
    assert counts() == before
    later = now + timedelta(hours=2)
    expected = generated_between(now, later)
    assert seed(later)["digits-camera"] == len(expected) > 0
    stored = Prediction.objects.filter(model__name=camera.NAME, timestamp__gt=now)
    assert sorted(stored.values_list("client_id", flat=True)) == sorted(expected)


def generated_between(first, last) -> list[str]:
    """Ids of the camera frames the story generates in (first, last]."""
    start = floor_time(
        Prediction.objects.filter(model__name=camera.NAME).earliest("timestamp").timestamp, 3600
    )
    frames = (
        r for hour in hours(start, floor_time(first, 3600), last) for r in camera.hour_records(hour)
    )
    return [r["id"] for r in frames if first < datetime.fromisoformat(r["timestamp"]) <= last]


@pytest.mark.celery
def test_a_real_worker_fires_the_story_alerts_and_sends_the_emails(celery_live):
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert dispatch_due_rules() == AlertRule.objects.count()
    deadline = time.monotonic() + 120
    while not firing() >= STORY and time.monotonic() < deadline:
        time.sleep(0.5)
    assert firing() >= STORY
    emails = Delivery.objects.filter(channel__kind="email", transition__event="firing")
    while emails.filter(status="sent").count() < len(STORY) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert emails.filter(status="sent").count() >= len(STORY)
