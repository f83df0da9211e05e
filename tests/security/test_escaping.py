"""User-controlled text (rule names, descriptions, tags, messages) is escaped everywhere."""

import pytest
from django.test import Client

from access.models import AuditEntry
from alerts_app.models import Alert, AlertState
from alerts_app.transports import Notification, email_bodies, slack_payload
from tests.factories import make_alert_rule, make_model, make_user

EVIL = '<script>alert("x")</script>'
ESCAPED = b"&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"


def notification(**overrides) -> Notification:
    fields = {
        "event": "firing",
        "alert_id": 1,
        "rule": EVIL,
        "model": "fraud",
        "severity": "critical",
        "state": "firing",
        "feature": "<b>f</b> & co",
        "message": "value <@U123> > 3 & <https://evil.example|click>",
        "value": 1.0,
        "threshold": 0.5,
    }
    return Notification(**(fields | overrides))


@pytest.fixture
def evil(db):
    model = make_model("fraud", description=EVIL, tags=[EVIL])
    rule = make_alert_rule(model, name=EVIL)
    Alert.objects.create(
        rule=rule,
        fingerprint="evil",
        state=AlertState.FIRING,
        message=EVIL,
        version=model.latest_version(),
    )
    client = Client()
    client.force_login(make_user("root", staff=True, is_superuser=True))
    return client, rule


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/models/fraud/",
        "/alerts/",
        "/rules/{rule}/",
        "/admin/alerts_app/alertrule/",
        "/admin/access/auditentry/",
    ],
)
def test_pages_escape_user_text(evil, path):
    client, rule = evil
    page = client.get(path.format(rule=rule.pk))
    assert page.status_code == 200
    assert EVIL.encode() not in page.content
    assert ESCAPED in page.content or b"&lt;script&gt;" in page.content


def test_the_audit_detail_escapes_logged_values(evil):
    client, _ = evil
    entry = AuditEntry.objects.filter(object_type="models_app.Model").first()
    page = client.get(f"/admin/access/auditentry/{entry.pk}/change/")
    assert page.status_code == 200 and EVIL.encode() not in page.content


def test_the_html_email_escapes_and_the_plain_one_does_not_mangle():
    subject, plain, html = email_bodies(notification())
    assert EVIL not in html and "&lt;script&gt;" in html
    assert EVIL in plain and EVIL in subject


def test_an_email_subject_stays_on_one_line():
    subject, _, _ = email_bodies(notification(rule="loss\nBcc: victim@example.com"))
    assert "\n" not in subject and "loss Bcc:" in subject


def test_slack_mrkdwn_escapes_ampersands_and_angle_brackets():
    payload = slack_payload(notification())
    texts = [
        payload["text"],
        *(f["text"] for f in payload["blocks"][1]["fields"]),
        payload["blocks"][2]["text"]["text"],
    ]
    joined = "\n".join(texts)
    assert "<" not in joined and ">" not in joined
    assert "&lt;@U123&gt; &gt; 3 &amp; &lt;https://evil.example|click&gt;" in texts[-1]
    assert "&lt;b&gt;f&lt;/b&gt; &amp; co" in joined
    assert "&lt;script&gt;" in payload["text"]
    assert payload["blocks"][0]["text"]["type"] == "plain_text"  # shown as typed by Slack
