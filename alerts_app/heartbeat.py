"""The worker heartbeat: proof that beat schedules and a worker executes."""

import socket

from django.utils import timezone

from alerts_app.models import WorkerHeartbeat


def record_heartbeat(name: str | None = None) -> None:
    WorkerHeartbeat.objects.update_or_create(
        name=(name or socket.gethostname())[:100], defaults={"last_seen": timezone.now()}
    )
