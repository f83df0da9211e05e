"""Incidents: the alerts of one group key, notified together through the policy tree.

The outbox protocol, as for a rule's own channels (alerts_app/outbox.py):
1. `record_transition(transition)` runs in the transition's transaction for alerts of
   rules without channels: a `firing` alert joins the open incident of each route's
   group key (opening it, with its first notification due at `group_wait`), a
   `resolved` one leaves; a change to an incident already notified is due at
   `last notification + group_interval`; the last alert leaving resolves it, due now.
   The open incident of a group is unique (a partial unique index), and its row is
   locked while an alert joins or leaves.
2. `flush_incident(id)` (a delayed task per change, and beat as a safety net) locks the
   incident with `SELECT … FOR UPDATE SKIP LOCKED` if its `next_flush_at` has come, and
   in that one transaction decides the event (`incident_event`, pure), stores the
   notification (`IncidentNotification`, unique per incident and sequence) with one
   `IncidentDelivery` per channel, and moves `next_flush_at` on: two workers flushing
   the same incident record one notification.
3. `deliver_incident(id)` claims its delivery `pending -> sending` before any I/O, as
   `outbox.deliver` does, with the same retries, backoff, log and sweeper.

Silenced and inhibited alerts stay members but are left out of the notifications.
"""

import logging
from collections import defaultdict
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from alerts_app import inhibition, outbox, routing
from alerts_app.incident_messages import as_notification, notification_body
from alerts_app.models import (
    Alert,
    AlertState,
    AlertTransition,
    Incident,
    IncidentAlert,
    IncidentDelivery,
    IncidentNotification,
    NotificationPolicy,
)
from alerts_app.transports import TransportError, transport_for
from monitor_site import enqueue

logger = logging.getLogger(__name__)
FLUSH_TASK = "alerts_app.tasks.flush_incident_task"
DELIVER_TASK = "alerts_app.tasks.deliver_incident_task"
MUTE_RECHECK = 60  # seconds between looks at an incident whose policy is muted
Status = IncidentDelivery.Status


def uses_policies(rule) -> bool:
    """A rule with channels of its own notifies them; one without is routed by policy."""
    return not rule.channels.exists()


def policy_tree() -> routing.Node:
    """The routing tree from the database (enabled channels only)."""
    rows = list(
        NotificationPolicy.objects.values(
            "id",
            "parent",
            "name",
            "matchers",
            "group_by",
            "group_wait",
            "group_interval",
            "repeat_interval",
            "continue_matching",
            "mute_timings",
        )
    )
    channels = defaultdict(list)
    through = NotificationPolicy.channels.through.objects.filter(channel__enabled=True)
    for policy_id, channel_id in through.values_list("notificationpolicy_id", "channel_id"):
        channels[policy_id].append(channel_id)
    return routing.build_tree([row | {"channels": sorted(channels[row["id"]])} for row in rows])


def routes_of(alert: Alert, tree: routing.Node | None = None) -> list[routing.Match]:
    return routing.route(inhibition.labels_of(alert), policy_tree() if tree is None else tree)


# 1. Membership (in the transition's transaction) --------------------------------------


def record_transition(transition: AlertTransition, now: datetime) -> None:
    """A firing alert joins its incidents, a resolved one leaves them; others are history."""
    AlertTransition.objects.filter(id=transition.id, processed=None).update(processed=now)
    transition.processed = now
    if transition.event == "firing":
        for match in routes_of(transition.alert):
            join(transition.alert, match, now)
    elif transition.event == "resolved":
        leave(transition.alert, now)


def join(alert: Alert, match: routing.Match, now: datetime) -> Incident:
    incident = open_incident(alert, match, now)
    member, created = IncidentAlert.objects.get_or_create(
        incident=incident, alert=alert, defaults={"joined_at": now}
    )
    if not created and member.resolved_at is not None:
        IncidentAlert.objects.filter(id=member.id).update(resolved_at=None, joined_at=now)
    schedule(incident, change_due(incident, now), now)
    return incident


def open_incident(alert: Alert, match: routing.Match, now: datetime) -> Incident:
    """The open incident of the group, locked; opened when there is none (a concurrent
    opener wins through the unique index, and the next try locks theirs)."""
    for _ in range(2):
        try:
            return locked_or_opened(alert, match, now)
        except IntegrityError:
            continue
    return locked_or_opened(alert, match, now)


def locked_or_opened(alert: Alert, match: routing.Match, now: datetime) -> Incident:
    found = (
        Incident.objects.select_for_update()
        .filter(group_key=match.group_key, state=Incident.State.FIRING)
        .first()
    )
    if found is not None:
        return found
    with transaction.atomic():
        return Incident.objects.create(
            policy_id=match.policy_id,
            model_id=alert.rule.model_id if "model" in match.group_labels else None,
            group_key=match.group_key,
            labels=match.group_labels,
            channels=list(match.channels),
            group_wait=match.group_wait,
            group_interval=match.group_interval,
            repeat_interval=match.repeat_interval,
            mute_timings=list(match.mute_timings),
            started_at=now,
        )  # `join` schedules its first flush


def change_due(incident: Incident, now: datetime) -> datetime:
    """When a change to the incident is announced: its first notification at
    `group_wait`, later ones `group_interval` after the previous notification."""
    if incident.last_notified_at is None:
        return incident.started_at + timedelta(seconds=incident.group_wait)
    return max(now, incident.last_notified_at + timedelta(seconds=incident.group_interval))


def schedule(incident: Incident, due: datetime, now: datetime) -> None:
    """Bring `next_flush_at` forward to `due` and enqueue a flush for then, after commit
    (a flush already enqueued for an earlier time covers a later change)."""
    if incident.next_flush_at is not None and incident.next_flush_at <= due:
        return
    incident.next_flush_at = due
    Incident.objects.filter(id=incident.id).update(next_flush_at=due)
    countdown, incident_id = max((due - now).total_seconds(), 0), incident.id
    transaction.on_commit(lambda: enqueue_flush(incident_id, countdown))


def leave(alert: Alert, now: datetime) -> None:
    """The alert resolved: it leaves its open incidents; the last one out resolves it."""
    open_ids = IncidentAlert.objects.filter(
        alert=alert, resolved_at=None, incident__state=Incident.State.FIRING
    ).values_list("incident_id", flat=True)
    for incident in Incident.objects.select_for_update().filter(id__in=list(open_ids)):
        IncidentAlert.objects.filter(incident=incident, alert=alert).update(resolved_at=now)
        if incident.members.filter(resolved_at=None).exists():
            schedule(incident, change_due(incident, now), now)
            continue
        Incident.objects.filter(id=incident.id).update(
            state=Incident.State.RESOLVED, resolved_at=now, next_flush_at=now
        )
        transaction.on_commit(lambda incident_id=incident.id: enqueue_flush(incident_id))


def enqueue_flush(incident_id: int, countdown: float = 0) -> None:
    enqueue.send(FLUSH_TASK, (incident_id,), countdown=countdown or None)


# 2. Flushing: decide and record one notification ---------------------------------------


def incident_event(
    *,
    resolved: bool,
    notified: dict,
    audible: list,
    last_notified_at: datetime | None,
    acknowledged: bool,
    repeat_interval: int,
    now: datetime,
) -> str | None:
    """What an incident announces now (pure): `firing` (first, once something is
    audible), `update` (the audible firing alerts differ from the last notification's),
    `repeat` (nothing changed for `repeat_interval`, unacknowledged), `resolved` (the
    last alert left and something was announced), or None."""
    if resolved:
        return "resolved" if last_notified_at is not None else None
    if last_notified_at is None:
        return "firing" if audible else None
    if sorted(audible) != sorted(notified.get("firing", [])):
        return "update"
    repeat_due = repeat_interval > 0 and now - last_notified_at >= timedelta(
        seconds=repeat_interval
    )
    return "repeat" if repeat_due and audible and not acknowledged else None


def flush_due_incidents(now: datetime | None = None) -> int:
    """Flush every incident whose notification is due (beat's safety net)."""
    now = now or timezone.now()
    due = Incident.objects.filter(next_flush_at__lte=now).values_list("id", flat=True)[:1000]
    return sum(1 for incident_id in list(due) if flush_incident(incident_id, now) is not None)


def flush_incident(incident_id: int, now: datetime | None = None) -> IncidentNotification | None:
    """Record the incident's due notification, once whatever the number of workers."""
    now = now or timezone.now()
    with transaction.atomic():
        incident = (
            Incident.objects.select_for_update(skip_locked=True)
            .filter(id=incident_id, next_flush_at__lte=now)
            .first()
        )
        if incident is None:
            return None
        return flush_locked(incident, now)


def flush_locked(incident: Incident, now: datetime) -> IncidentNotification | None:
    members = list(
        incident.members.select_related("alert__rule__model", "alert__version").order_by(
            "joined_at", "id"
        )
    )
    firing = [m.alert for m in members if m.resolved_at is None]
    if incident.state == Incident.State.FIRING and not firing:  # its alerts were deleted
        incident.state, incident.resolved_at = Incident.State.RESOLVED, now
    held = held_back(firing, now)
    audible = [a.id for a in firing if a.id not in held]
    event = incident_event(
        resolved=incident.state == Incident.State.RESOLVED,
        notified=incident.notified or {},
        audible=audible,
        last_notified_at=incident.last_notified_at,
        acknowledged=incident.acknowledged_at is not None,
        repeat_interval=incident.repeat_interval,
        now=now,
    )
    if event is not None and routing.is_muted(incident.mute_timings, now):
        incident.next_flush_at = now + timedelta(seconds=MUTE_RECHECK)
        incident.save(update_fields=["state", "resolved_at", "next_flush_at"])
        return None
    notification = None
    if event is not None:
        notification = record_notification(incident, event, members, audible, now)
    incident.next_flush_at = next_flush(incident, bool(held), now)
    incident.save(
        update_fields=[
            "state",
            "resolved_at",
            "next_flush_at",
            "last_notified_at",
            "notified",
            "sequence",
        ]
    )
    return notification


def held_back(alerts: list[Alert], now: datetime) -> dict[int, str]:
    """{alert id: why} for the firing alerts a silence or an inhibiting alert holds back."""
    rules, held = inhibition.inhibitions(), {}
    for alert in alerts:
        silence = outbox.active_silence(alert.rule, now)
        if silence is not None:
            held[alert.id] = f"muted by silence #{silence.id}"
            continue
        inhibitor = inhibition.inhibitor_of(alert, rules)
        if inhibitor is not None:
            held[alert.id] = inhibition.inhibition_text(inhibitor)
    return held


def next_flush(incident: Incident, held: bool, now: datetime) -> datetime | None:
    """The next look: the next repeat; every `group_interval` while an alert is held back
    or nothing was announced yet (a held-back alert is announced once it is free)."""
    if incident.state == Incident.State.RESOLVED:
        return None
    times = []
    if incident.last_notified_at is not None and incident.repeat_interval > 0:
        times.append(incident.last_notified_at + timedelta(seconds=incident.repeat_interval))
    if held or incident.last_notified_at is None:
        times.append(now + timedelta(seconds=max(incident.group_interval, 1)))
    return min(times) if times else None


def record_notification(
    incident: Incident, event: str, members: list, audible: list, now: datetime
) -> IncidentNotification:
    """The notification row, its deliveries (sent after commit) and the incident's memory
    of what it said."""
    announced = set(incident.notified.get("firing", [])) | set(
        incident.notified.get("resolved", [])
    )
    shown = [m for m in members if m.alert_id in audible or m.alert_id in announced]
    incident.sequence += 1
    notification = IncidentNotification.objects.create(
        incident=incident,
        sequence=incident.sequence,
        event=event,
        body=notification_body(incident, event, shown, now),
        created_at=now,
    )
    resolved = [m.alert_id for m in shown if m.resolved_at is not None]
    incident.notified = {"firing": sorted(audible), "resolved": sorted(resolved)}
    incident.last_notified_at = now
    IncidentDelivery.objects.bulk_create(
        [
            IncidentDelivery(
                notification=notification,
                channel_id=channel_id,
                created_at=now,
                next_attempt_at=now,
            )
            for channel_id in incident_channels(incident)
        ],
        ignore_conflicts=True,
    )
    ids = list(notification.deliveries.values_list("id", flat=True))
    transaction.on_commit(lambda: [enqueue_delivery(i) for i in ids])
    return notification


def incident_channels(incident: Incident) -> list[int]:
    from alerts_app.models import Channel

    return list(
        Channel.objects.filter(id__in=incident.channels, enabled=True).values_list("id", flat=True)
    )


# 3. Sending -----------------------------------------------------------------------------


def enqueue_delivery(delivery_id: int, countdown: float = 0) -> None:
    enqueue.send(DELIVER_TASK, (delivery_id,), countdown=countdown or None)


def deliver_incident(delivery_id: int, now: datetime | None = None) -> str | None:
    """Send one incident delivery if it is still ours (as `outbox.deliver`)."""
    now = now or timezone.now()
    if not outbox.claim(delivery_id, now, model=IncidentDelivery):
        return None
    delivery = IncidentDelivery.objects.select_related("channel", "notification").get(
        id=delivery_id
    )
    try:
        transport_for(delivery.channel.kind, delivery.channel.config).notify(
            as_notification(delivery.notification.body)
        )
    except TransportError as exc:
        return outbox.record_failure(delivery, exc.message, exc.permanent, now, enqueue_delivery)
    except Exception as exc:  # a bug in a transport must not leave the row `sending`
        logger.exception("incident delivery %s crashed", delivery_id)
        error = f"{type(exc).__name__}: {exc}"
        return outbox.record_failure(delivery, error, False, now, enqueue_delivery)
    return outbox.record_success(delivery, now)


def sweep(now: datetime | None = None) -> dict:
    """Beat's safety net: lost or stuck incident deliveries, and overdue flushes."""
    now = now or timezone.now()
    swept = outbox.sweep_deliveries(now, model=IncidentDelivery, requeue=enqueue_delivery)
    return swept | {"flushed": flush_due_incidents(now)}


# Acknowledging ---------------------------------------------------------------------------


def acknowledge(incident_id: int, user, now: datetime, note: str = "") -> Incident | None:
    """Acknowledge a firing incident and its firing alerts (no more repeats); None when
    it is resolved. Twice is harmless."""
    Incident.objects.filter(
        id=incident_id, state=Incident.State.FIRING, acknowledged_at=None
    ).update(acknowledged_at=now, acknowledged_by=user, acknowledged_note=note)
    incident = Incident.objects.filter(id=incident_id).first()
    if incident is None or incident.acknowledged_at is None:
        return None
    # As lifecycle.acknowledge, for every firing alert of the incident at once.
    member_ids = incident.members.filter(resolved_at=None).values("alert_id")
    Alert.objects.filter(
        id__in=member_ids,
        state__in=[AlertState.PENDING, AlertState.FIRING],
        acknowledged_at=None,
    ).update(
        acknowledged_at=now,
        acknowledged_by=user,
        acknowledged_note=note,
        revision=F("revision") + 1,
    )
    return incident
