"""GET /healthz: database, broker and worker liveness for load balancers and operators."""

from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_GET


def database_status() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    except Exception as exc:  # any driver error means "down" here
        return f"down: {type(exc).__name__}"


def broker_status() -> str:
    from monitor_site.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return "ok"
    except Exception as exc:
        return f"down: {type(exc).__name__}"


def worker_status(database: str) -> dict:
    """When a worker last ran the beat-driven heartbeat; stale after a while."""
    if database != "ok":
        return {"last_seen": None, "status": "unknown"}
    from alerts_app.models import WorkerHeartbeat

    beat = WorkerHeartbeat.objects.order_by("-last_seen").first()
    if beat is None:
        return {"last_seen": None, "status": "never"}
    stale = timezone.now() - beat.last_seen > timedelta(
        seconds=settings.MODELWATCH_HEARTBEAT_STALE_SECONDS
    )
    return {"last_seen": beat.last_seen.isoformat(), "status": "stale" if stale else "ok"}


@require_GET
def healthz(request):
    database, broker = database_status(), broker_status()
    body = {"database": database, "broker": broker, "worker": worker_status(database)}
    healthy = database == "ok" and broker == "ok"
    return JsonResponse(body, status=200 if healthy else 503)
