"""The demo's notification targets: one log line per e-mail, a webhook on its own port."""

import logging

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives

from alerts_app.models import Channel
from demo.rules import WEBHOOK, ensure_channels


def test_the_default_mail_backend_logs_one_info_line_per_message(settings, caplog, capsys):
    settings.EMAIL_BACKEND = "monitor_site.mail.LogEmailBackend"
    message = EmailMultiAlternatives(
        "[FIRING] Input drift on credit-risk",
        "body " * 200,
        "modelwatch@localhost",
        ["a@example.com", "b@example.com"],
    )
    message.attach_alternative("<p>" + "html " * 200 + "</p>", "text/html")
    with caplog.at_level(logging.DEBUG):
        assert mail.get_connection().send_messages([message, message]) == 2
    records = [(r.name, r.levelname, r.getMessage()) for r in caplog.records]
    line = (
        "e-mail to a@example.com, b@example.com: [FIRING] Input drift on credit-risk "
        "(not sent: EMAIL_BACKEND logs only)"
    )
    assert records == [("modelwatch.mail", "INFO", line)] * 2
    assert capsys.readouterr() == ("", "")  # nothing printed for the worker to log at WARNING


@pytest.mark.django_db
def test_the_demo_webhook_follows_the_receiver_port(monkeypatch):
    monkeypatch.delenv("MODELWATCH_DEMO_WEBHOOK_URL", raising=False)
    monkeypatch.setenv("MODELWATCH_DEMO_WEBHOOK_PORT", "9311")
    ensure_channels()
    assert Channel.objects.get(name=WEBHOOK).config == {"url": "http://127.0.0.1:9311/modelwatch"}
    monkeypatch.setenv("MODELWATCH_DEMO_WEBHOOK_PORT", "9312")
    ensure_channels()
    assert Channel.objects.get(name=WEBHOOK).config == {"url": "http://127.0.0.1:9312/modelwatch"}


@pytest.mark.django_db
def test_a_demo_webhook_pointed_elsewhere_in_the_admin_is_kept(monkeypatch):
    monkeypatch.setenv("MODELWATCH_DEMO_WEBHOOK_PORT", "9311")
    ensure_channels()
    Channel.objects.filter(name=WEBHOOK).update(config={"url": "https://hooks.example.com/x"})
    ensure_channels()
    assert Channel.objects.get(name=WEBHOOK).config == {"url": "https://hooks.example.com/x"}


def test_the_webhook_receiver_never_reads_port(monkeypatch):
    from examples.webhook_receiver import parse_port

    monkeypatch.setenv("PORT", "8000")
    monkeypatch.delenv("MODELWATCH_DEMO_WEBHOOK_PORT", raising=False)
    assert parse_port([]) == 9009
    monkeypatch.setenv("MODELWATCH_DEMO_WEBHOOK_PORT", "9311")
    assert parse_port([]) == 9311
    assert parse_port(["--port", "9400"]) == 9400
