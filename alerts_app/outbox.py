"""The delivery outbox: each alert transition reaches each channel of its rule at most once.

The outbox protocol:
1. `record_deliveries(transition)` runs in the same transaction as the transition and
   writes one Delivery per enabled channel (`muted` under a silence or an acknowledgement),
   then enqueues the sends with `transaction.on_commit`: nothing is sent for a transition
   that rolled back.
2. `deliver(delivery_id)` claims the row with one guarded UPDATE (`pending -> sending`,
   committed before any I/O). A redelivered task (the worker died and `acks_late` put the
   message back) finds the row no longer `pending` and sends nothing: at most once.
3. A transient error puts the row back to `pending` with `next_attempt_at` pushed by
   exponential backoff and schedules the retry; a permanent one (4xx, refused target)
   or the last allowed attempt marks it `failed`. Every attempt is appended to `log`.
4. `sweep_deliveries()` (beat) re-enqueues `pending` rows whose message was lost and
   closes rows left `sending` by a dead worker as `failed` (outcome unknown: never resent).
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from alerts_app import inhibition, silences
from alerts_app.models import AlertTransition, Channel, CheckResult, Delivery, Silence
from alerts_app.state import should_notify
from alerts_app.transports import (
    Notification,
    TransportError,
    cause_headline,
    hears,
    transport_for,
)
from monitor_site import enqueue

logger = logging.getLogger(__name__)
Status = Delivery.Status
DELIVER_TASK = "alerts_app.tasks.deliver_task"


def setting(name: str, default):
    return getattr(settings, name, default)


def backoff_seconds(attempts: int) -> float:
    """Delay before attempt `attempts + 1`: base, 2×base, 4×base, … capped."""
    base = float(setting("MODELWATCH_NOTIFY_BACKOFF_SECONDS", 30))
    cap = float(setting("MODELWATCH_NOTIFY_BACKOFF_MAX", 3600))
    return min(base * 2 ** max(attempts - 1, 0), cap)


def active_silence(alert, now: datetime) -> Silence | None:
    """The silence whose matchers cover this alert at `now`, if any (alerts_app/silences.py)."""
    return silences.silence_for(silences.alert_labels(alert), now)


def record_deliveries(transition: AlertTransition, now: datetime) -> list[Delivery]:
    """Write this transition's deliveries (outbox rows) and send them after commit."""
    alert = transition.alert
    acknowledged = alert.is_acknowledged
    AlertTransition.objects.filter(id=transition.id, processed=None).update(processed=now)
    transition.processed = now
    if not should_notify(transition.event, acknowledged=acknowledged):
        return []
    silence = active_silence(alert, now)
    inhibitor = None if silence else inhibition.inhibitor_of(alert)
    held = silence is not None or inhibitor is not None
    audible = should_notify(transition.event, acknowledged=acknowledged, silenced=held)
    status = Status.PENDING if audible else Status.MUTED
    error = f"muted by silence #{silence.id}" if silence and not audible else ""
    if inhibitor is not None and not audible:
        error = inhibition.inhibition_text(inhibitor)
    deliveries = [
        Delivery(
            transition=transition,
            channel=channel,
            status=status,
            error=error,
            created_at=now,
            next_attempt_at=now,
        )
        for channel in alert.rule.channels.filter(enabled=True)
        if hears(channel.kind, transition.event)
    ]
    Delivery.objects.bulk_create(deliveries, ignore_conflicts=True)
    ids = list(
        Delivery.objects.filter(transition=transition, status=Status.PENDING).values_list(
            "id", flat=True
        )
    )
    transaction.on_commit(lambda: [enqueue_delivery(i) for i in ids])
    return deliveries


def enqueue_delivery(delivery_id: int, countdown: float = 0) -> None:
    enqueue.send(DELIVER_TASK, (delivery_id,), countdown=countdown or None)


def claim(delivery_id: int, now: datetime, model=Delivery) -> bool:
    """pending -> sending, once: the guard that makes a send at most once (`model`: Delivery
    or IncidentDelivery, which share the protocol)."""
    return (
        model.objects.filter(
            id=delivery_id, status=Status.PENDING, next_attempt_at__lte=now
        ).update(status=Status.SENDING, attempts=F("attempts") + 1, last_attempt_at=now)
        == 1
    )


def deliver(delivery_id: int, now: datetime | None = None) -> str | None:
    """Send one delivery if it is still ours to send; return its new status (None: not ours)."""
    now = now or timezone.now()
    if not claim(delivery_id, now):
        return None
    delivery = Delivery.objects.select_related(
        "channel",
        "transition__alert__rule__model",
        "transition__alert__version",
    ).get(id=delivery_id)
    try:
        transport_for(delivery.channel.kind, delivery.channel.config).notify(
            build_notification(delivery.transition)
        )
    except TransportError as exc:
        return record_failure(delivery, exc.message, exc.permanent, now)
    except Exception as exc:  # a bug in a transport must not leave the row `sending`
        logger.exception("delivery %s crashed", delivery_id)
        return record_failure(delivery, f"{type(exc).__name__}: {exc}", False, now)
    return record_success(delivery, now)


def record_success(delivery: Delivery, now: datetime) -> str:
    delivery.status, delivery.sent_at, delivery.error = Status.SENT, timezone.now(), ""
    delivery.log = [*delivery.log, {"at": now.isoformat(), "ok": True}]
    delivery.save(update_fields=["status", "sent_at", "error", "log"])
    return delivery.status


def record_failure(delivery, error: str, permanent: bool, now: datetime, requeue=None) -> str:
    """Log the attempt; schedule a retry unless it is permanent or attempts are used up.
    `requeue(id, countdown=…)` enqueues the retry (default: `enqueue_delivery`)."""
    requeue = requeue or enqueue_delivery
    max_attempts = int(setting("MODELWATCH_NOTIFY_MAX_ATTEMPTS", 8))
    retry = not permanent and delivery.attempts < max_attempts
    delay = backoff_seconds(delivery.attempts) if retry else 0
    delivery.status = Status.PENDING if retry else Status.FAILED
    delivery.error, delivery.next_attempt_at = error[:2000], now + timedelta(seconds=delay)
    delivery.log = [
        *delivery.log,
        {
            "at": now.isoformat(),
            "ok": False,
            "error": error[:500],
            "permanent": permanent,
            "retry_in": delay if retry else None,
        },
    ]
    delivery.save(update_fields=["status", "error", "next_attempt_at", "log"])
    if retry:
        transaction.on_commit(lambda: requeue(delivery.id, countdown=delay))
    logger.warning(
        "delivery %s attempt %s failed (%s): %s",
        delivery.id,
        delivery.attempts,
        "retrying" if retry else "giving up",
        error,
    )
    return delivery.status


def sweep_deliveries(now: datetime | None = None, model=Delivery, requeue=None) -> dict:
    """Re-enqueue pending deliveries whose message was lost; close ones a dead worker left
    (`model`/`requeue`: the incident deliveries use the same sweep)."""
    now, requeue = now or timezone.now(), requeue or enqueue_delivery
    lost_after = timedelta(seconds=int(setting("MODELWATCH_NOTIFY_REQUEUE_AFTER", 60)))
    stuck_after = timedelta(seconds=int(setting("MODELWATCH_NOTIFY_STUCK_AFTER", 600)))
    due = list(
        model.objects.filter(
            status=Status.PENDING, next_attempt_at__lte=now - lost_after
        ).values_list("id", flat=True)[:1000]
    )
    for delivery_id in due:
        requeue(delivery_id)
    stuck = model.objects.filter(status=Status.SENDING, last_attempt_at__lte=now - stuck_after)
    closed = stuck.update(
        status=Status.FAILED,
        error=(
            "The worker stopped during the send: the outcome is unknown and, to stay at most "
            "once, it is not sent again."
        ),
    )
    return {"requeued": len(due), "closed": closed}


def alert_links(alert) -> tuple[str, str]:
    """(alert URL, dashboard URL) on the public base URL: the alert's own page (what, why,
    history; acknowledge and silence there) and the model's dashboard."""
    base, name = str(setting("MODELWATCH_BASE_URL", "")).rstrip("/"), alert.rule.model.name
    return f"{base}/alerts/{alert.id}/", f"{base}/models/{name}/"


def breaking_result(transition: AlertTransition) -> CheckResult | None:
    """The stored result this transition came from (the rule's newest for the alert's
    version at the transition's time), if it broke the rule; None otherwise."""
    alert = transition.alert
    found = (
        CheckResult.objects.filter(
            rule_id=alert.rule_id,
            version_id=alert.version_id,
            evaluated_at__lte=transition.created_at,
        )
        .order_by("-evaluated_at", "-id")
        .only("status", "value", "threshold", "details")
        .first()
    )
    return found if found is not None and found.status == "breached" else None


def explanation(transition: AlertTransition) -> dict:
    """{"causes", "headline"} of a firing or repeat transition, from its result; a
    per-feature alert keeps the causes about its own feature."""
    result = breaking_result(transition) if transition.event != "resolved" else None
    if result is None:
        return {}
    alert, details = transition.alert, result.details or {}
    causes = [c for c in details.get("causes") or [] if isinstance(c, dict)]
    if alert.segment:  # a segment's alert: that segment's cause (alerts_app/segments.py)
        causes = [
            c
            for c in causes
            if c.get("kind") == "segment"
            and f"{c.get('feature')}={c.get('segment')}" == alert.segment
        ]
    elif alert.feature:
        causes = [c for c in causes if c.get("feature") == alert.feature]
    return {
        "causes": tuple(causes),
        "headline": cause_headline(alert.rule.kind, details, result.value, result.threshold),
    }


def build_notification(transition: AlertTransition) -> Notification:
    alert = transition.alert
    rule = alert.rule
    url, dashboard = alert_links(alert)
    return Notification(
        **explanation(transition),
        event=transition.event,
        alert_id=alert.id,
        rule=rule.name,
        kind=rule.kind,
        model=rule.model.name,
        version=alert.version.version if alert.version else None,
        feature=alert.feature,
        severity=rule.severity,
        state=transition.new,
        value=transition.value,
        threshold=transition.threshold,
        message=transition.message,
        started_at=alert.started_at,
        url=url,
        dashboard_url=dashboard,
        fingerprint=alert.fingerprint,
    )


def test_notification(channel: Channel) -> Notification:
    base = str(setting("MODELWATCH_BASE_URL", "")).rstrip("/")
    return Notification(
        event="test",
        alert_id=None,
        rule="Test notification",
        model="example-model",
        severity="info",
        state="firing",
        version="1",
        value=0.42,
        threshold=0.25,
        message=f"A test from ModelWatch to the channel '{channel.name}'. It works.",
        started_at=timezone.now(),
        url=f"{base}/alerts/",
        dashboard_url=f"{base}/",
    )


def send_test_notification(channel: Channel) -> None:
    """Send a test message now (raises TransportError); nothing is stored."""
    transport_for(channel.kind, channel.config).notify(test_notification(channel))
