"""Notifications say why: the subject names the top causes, every channel lists them."""

from datetime import timedelta

import numpy as np
import pytest
from django.core import mail

from alerts_app import outbox, schedule, transports
from alerts_app.models import AlertTransition, Delivery
from alerts_app.transports import (
    cause_headline,
    email_bodies,
    slack_payload,
    subject_line,
    webhook_payload,
)
from tests.alerts_app.test_evaluate_profiles import NOW, post
from tests.alerts_app.test_transports import notification
from tests.factories import make_alert_rule, make_channel

CAUSES = (
    {
        "kind": "feature",
        "feature": "mean_concave_points",
        "segment": None,
        "score": 6.6,
        "summary": "mean_concave_points (KS 0.33)",
    },
    {
        "kind": "feature",
        "feature": "channel",
        "segment": None,
        "score": 4.6,
        "summary": "channel (χ² p < 1e-6)",
    },
    {
        "kind": "feature",
        "feature": "age",
        "segment": None,
        "score": 2.0,
        "summary": "age (PSI 0.4)",
    },
    {
        "kind": "feature",
        "feature": "income",
        "segment": None,
        "score": 1.1,
        "summary": "income (PSI 0.22)",
    },
)


def drift(**overrides):
    fields = dict(
        rule="Input drift",
        model="credit-risk",
        kind="data_drift",
        value=4 / 11,
        threshold=0.3,
        causes=CAUSES,
        headline="input drift in 4 of 11 features",
    )
    return notification(**(fields | overrides))


def test_the_subject_names_what_broke_and_the_top_three_causes():
    assert subject_line(drift()) == (
        "[FIRING] Input drift on credit-risk: input drift in 4 of 11 features — "
        "mean_concave_points (KS 0.33), channel (χ² p < 1e-6), age (PSI 0.4), …"
    )


def test_a_subject_without_more_causes_has_no_ellipsis():
    assert subject_line(drift(causes=CAUSES[:1])).endswith("— mean_concave_points (KS 0.33)")


def test_a_notification_without_causes_keeps_its_plain_subject():
    assert subject_line(notification()) == "[FIRING] High loss on fraud"


def test_a_cause_named_with_a_newline_keeps_the_subject_on_one_line():
    evil = ({**CAUSES[0], "summary": "x\nBcc: victim@example.com (KS 0.5)"},)
    subject, _, _ = email_bodies(drift(causes=evil))
    assert "\n" not in subject and "x Bcc: victim@example.com (KS 0.5)" in subject


def test_the_webhook_carries_every_cause_beside_the_alert():
    payload = webhook_payload(drift())
    assert payload["causes"] == list(CAUSES)
    assert payload["alert"]["rule"] == "Input drift"


def test_the_email_lists_the_top_three_causes_in_plain_text_and_html():
    _, plain, html = email_bodies(drift())
    assert (
        "Why: input drift in 4 of 11 features\n  - mean_concave_points (KS 0.33)\n"
        "  - channel (χ² p < 1e-6)\n  - age (PSI 0.4)\n  and 1 more\n"
    ) in plain
    assert "<li>mean_concave_points (KS 0.33)</li><li>channel (χ² p &lt; 1e-6)</li>" in html
    assert "income" not in plain and "income" not in html


def test_the_html_email_escapes_a_cause():
    evil = ({**CAUSES[0], "summary": "<script>alert(1)</script> (KS 0.5)"},)
    _, _, html = email_bodies(drift(causes=evil))
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_slack_lists_the_top_three_causes_escaped():
    payload = slack_payload(drift())
    header, _, why = payload["blocks"][:3]
    assert header["text"]["text"] == "[FIRING] Input drift on credit-risk"
    assert why["text"]["text"] == (
        "*Why:* input drift in 4 of 11 features\n• mean_concave_points (KS 0.33)\n"
        "• channel (χ² p &lt; 1e-6)\n• age (PSI 0.4)"
    )
    assert "mean_concave_points (KS 0.33), channel (χ² p &lt; 1e-6)" in payload["text"]


def test_headlines_say_what_broke_per_kind():
    features = {"a": {"drifted": True}, "b": {"drifted": False}, "c": {"drifted": True}}
    assert cause_headline("data_drift", {"features": features}) == "input drift in 2 of 3 features"
    assert (
        cause_headline("prediction_drift", {"features": {"prediction": {"drifted": True}}})
        == "output drift in 1 of 1 outputs"
    )
    assert (
        cause_headline("data_quality", {"features": features, "failing": ["a"]})
        == "data quality breaks in 1 of 3 features"
    )
    assert (
        cause_headline("estimated_performance", {"metric": "f1"}, 0.61234, 0.7)
        == "estimated f1 0.6123 (threshold 0.7)"
    )
    assert cause_headline("metric_threshold", {}) == ""


# -- through the real evaluation and outbox -----------------------------------------------


def drift_telemetry(api, rng) -> None:
    """A reference, then a window where `income` moved far, `plan` moved and `noise`
    stayed put."""
    n = 1500
    plans = ["basic", "pro", "team"]
    post(
        api,
        "reference",
        {
            "records": [
                {"income": float(x), "noise": float(z), "plan": str(p)}
                for x, z, p in zip(
                    rng.normal(0, 1, n),
                    rng.normal(0, 1, n),
                    rng.choice(plans, n, p=[0.6, 0.3, 0.1]),
                    strict=True,
                )
            ]
        },
    )
    current = zip(
        rng.normal(2.0, 1, n),
        rng.normal(0, 1, n),
        rng.choice(plans, n, p=[0.2, 0.3, 0.5]),
        strict=True,
    )
    records = [
        {
            "timestamp": (NOW - timedelta(seconds=1 + i * 2)).isoformat(),
            "features": {"income": float(x), "noise": float(z), "plan": str(p)},
            "prediction": 1,
        }
        for i, (x, z, p) in enumerate(current)
    ]
    post(api, "predictions", {"records": records})


@pytest.mark.django_db
def test_a_drift_alert_names_its_top_features_in_the_webhook_and_the_email(
    api, model, monkeypatch, settings
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    drift_telemetry(api, np.random.default_rng(5))
    hooks = []
    monkeypatch.setattr(transports, "post_json", lambda url, body: hooks.append(body))
    monkeypatch.setattr(outbox, "enqueue_delivery", lambda *args, **kwargs: None)
    rule = make_alert_rule(
        model,
        kind="data_drift",
        name="Input drift",
        config={"window": "1h", "drift_share": 0.5},
        channels=[make_channel(), make_channel("ops-mail", kind="email")],
    )

    result = schedule.run_rule(rule, NOW, None)
    for delivery in Delivery.objects.order_by("id"):
        assert outbox.deliver(delivery.id, NOW) == "sent"

    assert result.status == "breached"
    assert AlertTransition.objects.get().event == "firing"
    (body,) = hooks
    assert [(c["feature"], c["kind"]) for c in body["causes"]] == [
        ("income", "feature"),
        ("plan", "feature"),
    ]
    assert body["causes"][0]["summary"].startswith("income (Wasserstein 2")
    assert body["causes"][1]["summary"].startswith("plan (JS 0.")
    assert body["causes"] == result.details["causes"]
    (email,) = mail.outbox
    assert email.subject.startswith(
        "[FIRING] Input drift on fraud: input drift in 2 of 3 features — income (Wasserstein 2"
    )
    assert ", plan (JS 0." in email.subject and "noise" not in email.subject
    assert "  - income (Wasserstein 2" in email.body and "  - plan (JS 0." in email.body
    assert "<li>income (Wasserstein 2" in email.alternatives[0][0]


@pytest.mark.django_db
def test_a_resolved_alert_names_no_causes(api, model, monkeypatch):
    drift_telemetry(api, np.random.default_rng(5))
    monkeypatch.setattr(outbox, "enqueue_delivery", lambda *args, **kwargs: None)
    rule = make_alert_rule(
        model, kind="data_drift", config={"window": "1h"}, channels=[make_channel()]
    )
    schedule.run_rule(rule, NOW, None)
    firing = AlertTransition.objects.get()
    resolved = AlertTransition.objects.create(
        alert=firing.alert,
        old="firing",
        new="resolved",
        event="resolved",
        created_at=NOW + timedelta(minutes=5),
    )
    assert outbox.build_notification(firing).causes
    assert outbox.build_notification(resolved).causes == ()
    assert outbox.build_notification(resolved).headline == ""
