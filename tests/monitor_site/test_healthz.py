"""/healthz: database, broker and worker liveness; 503 when a dependency is down."""

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts_app.models import WorkerHeartbeat

pytestmark = pytest.mark.django_db


def test_healthz_is_ok_with_database_and_broker_up(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["database"] == "ok" and body["broker"] == "ok"
    assert body["worker"] == {"last_seen": None, "status": "never"}


def test_a_heartbeat_older_than_two_minutes_is_reported_stale(client):
    WorkerHeartbeat.objects.create(name="w1", last_seen=timezone.now() - timedelta(minutes=3))
    assert client.get("/healthz").json()["worker"]["status"] == "stale"
    WorkerHeartbeat.objects.create(name="w2", last_seen=timezone.now())
    assert client.get("/healthz").json()["worker"]["status"] == "ok"


def test_an_unreachable_broker_answers_503(client, settings, monkeypatch):
    from monitor_site.celery import app

    monkeypatch.setattr(app.conf, "broker_write_url", "redis://127.0.0.1:1/0")
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["broker"].startswith("down")
    assert response.json()["database"] == "ok"


def test_an_unreachable_database_answers_503(client, monkeypatch):
    from monitor_site import health

    monkeypatch.setattr(health, "database_status", lambda: "down: OperationalError")
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["worker"]["status"] == "unknown"
