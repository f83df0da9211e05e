"""Apply a CheckResult to its rule's alerts: state machine, one guarded write, outbox rows.

Fingerprints (one Alert each): `rule:<id>|version:<id or ->` for most rules, plus
`|feature:<name>` for per-feature rules (the kind's declaration says which:
`kinds.Kind.per_feature`, e.g. data drift with an explicit `features` list, data
quality): one alert per feature, driven by the check's per-feature verdict
`details["verdicts"][name]` (status, value, threshold), so each bad input is fixed and
cleared on its own.
A segmented rule (`segment_by`, alerts_app/segments.py) adds `|segment:<feature>=<value>`:
one alert per segment (per feature and segment for per-feature kinds).
An Alert row is created lazily, on its first breach: a rule that never breaks stores none.

Each write is `UPDATE ... WHERE id = %s AND revision = %s` (healthchecks' pattern): two
writers holding the same snapshot cannot both act, and only the winner records the
AlertTransition and its deliveries, in the same transaction.
"""

import logging
from dataclasses import replace
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import F

from alerts_app import incidents, inhibition, outbox, segments, silences
from alerts_app.kinds import kind_of
from alerts_app.models import Alert, AlertRule, AlertState, AlertTransition, CheckResult
from alerts_app.state import AlertSnapshot, Decision, Observation, Policy, next_state

logger = logging.getLogger(__name__)
SNAPSHOT_FIELDS = (
    "state",
    "pending_since",
    "started_at",
    "resolved_at",
    "last_breach_at",
    "last_notified_at",
    "acknowledged_at",
    "muted",
)
MAX_WRITE_TRIES = 3


def fingerprint(rule_id: int, version_id: int | None, feature: str = "", segment: str = "") -> str:
    key = f"rule:{rule_id}|version:{version_id if version_id is not None else '-'}"
    key = f"{key}|feature:{feature}" if feature else key
    return f"{key}|segment:{segment}" if segment else key


def is_per_feature(rule: AlertRule) -> bool:
    return kind_of(rule.kind).per_feature(rule.config or {})


def feature_observations(rule: AlertRule, result: CheckResult) -> dict[str, Observation]:
    """One observation per feature of a per-feature result (empty when none is judged)."""
    if result.status not in ("ok", "breached"):
        return {}
    verdicts = (result.details or {}).get("verdicts") or {}
    return {
        name: Observation(v.get("status", "insufficient_data"), v.get("value"), v.get("threshold"))
        for name, v in verdicts.items()
        if isinstance(v, dict)
    }


def rule_observation(result: CheckResult) -> Observation:
    cleared = (result.details or {}).get("cleared")
    return Observation(
        result.status,
        result.value,
        result.threshold,
        cleared if isinstance(cleared, bool) else None,
    )


def policy_of(rule: AlertRule) -> Policy:
    return Policy(rule.pending_for, rule.keep_firing_for, rule.repeat_interval)


def apply_result(rule: AlertRule, result: CheckResult, now: datetime) -> list[AlertTransition]:
    """Move every alert of this result's fingerprints; return the transitions recorded."""
    version_id = result.version_id
    if segments.is_segmented(rule):
        items = segments.segment_items(rule, result)
    elif is_per_feature(rule):
        observed = feature_observations(rule, result)
        known = set(
            rule.alerts.filter(version_id=version_id)
            .exclude(feature="")
            .values_list("feature", flat=True)
        )
        items = [
            (f, "", observed.get(f, Observation("insufficient_data")))
            for f in sorted(known | set(observed))
        ]
    else:
        items = [("", "", rule_observation(result))]
    in_force = silences.active_silences(now)
    transitions = []
    with transaction.atomic():
        for feature, segment, obs in items:
            silence = silences.silence_for(silences.labels_of(rule, feature), now, in_force)
            obs = replace(obs, silenced=silence is not None)
            transition = apply_observation(rule, version_id, feature, obs, result, now, segment)
            if transition is not None:
                transitions.append(transition)
    return transitions


def apply_observation(
    rule, version_id, feature, obs, result, now, segment: str = ""
) -> AlertTransition | None:
    """Run the state machine for one fingerprint and persist it with a guarded write."""
    key = fingerprint(rule.id, version_id, feature, segment)
    for _ in range(MAX_WRITE_TRIES):
        alert = Alert.objects.filter(fingerprint=key).first()
        if alert is None:
            if obs.status != "breached":
                return None  # nothing to remember: a fresh alert would stay ok
            alert = create_alert(rule, version_id, feature, key, now, segment)
        alert.rule = rule  # loaded with its model: routing and inhibition read both
        previous = alert.state
        decision = decide(alert, obs, policy_of(rule), now)
        message = message_for(rule, feature, obs, result, segment)
        if guarded_write(alert, decision, obs, message, now):
            return record_transition(alert, previous, decision.event, now)
    logger.warning(
        "alert %s changed under us %d times; skipped this evaluation", key, MAX_WRITE_TRIES
    )
    return None


def decide(alert: Alert, obs: Observation, policy: Policy, now: datetime) -> Decision:
    """The state machine's decision; an announcement an inhibiting alert holds back counts
    as silenced (so the alert remembers it was `muted` and makes it up once free)."""
    decision = next_state(snapshot(alert), obs, policy, now)
    if decision.event in ("firing", "repeat") and not obs.silenced:
        if inhibition.inhibitor_of(alert) is not None:
            decision = next_state(snapshot(alert), replace(obs, silenced=True), policy, now)
    return decision


def create_alert(
    rule: AlertRule, version_id, feature: str, key: str, now: datetime, segment: str = ""
) -> Alert:
    try:
        with transaction.atomic():
            return Alert.objects.create(
                rule=rule,
                version_id=version_id,
                feature=feature,
                segment=segment,
                fingerprint=key,
                created_at=now,
                changed_at=now,
            )
    except IntegrityError:  # created by a concurrent writer: use theirs
        return Alert.objects.get(fingerprint=key)


def snapshot(alert: Alert) -> AlertSnapshot:
    return AlertSnapshot(**{name: getattr(alert, name) for name in SNAPSHOT_FIELDS})


def guarded_write(
    alert: Alert, decision: Decision, obs: Observation, message: str, now: datetime
) -> bool:
    """Persist the decision only if nobody wrote this alert since we read it."""
    fields = {name: getattr(decision.alert, name) for name in SNAPSHOT_FIELDS}
    if decision.alert.acknowledged_at is None:
        fields["acknowledged_by"] = None
    if obs.status in ("ok", "breached"):
        fields |= {"value": obs.value, "threshold": obs.threshold, "message": message}
    if decision.event is not None:
        fields["changed_at"] = now
    updated = Alert.objects.filter(id=alert.id, revision=alert.revision).update(
        **fields, last_evaluated=now, revision=F("revision") + 1
    )
    if updated != 1:
        return False
    for name, value in fields.items():
        setattr(alert, name, value)
    alert.revision, alert.last_evaluated = alert.revision + 1, now
    return True


def record_transition(
    alert: Alert, previous: str, event: str | None, now: datetime
) -> AlertTransition | None:
    """The history row (and notification outbox) for this decision's event, if any."""
    if event is None:
        return None
    transition = AlertTransition.objects.create(
        alert=alert,
        old=previous,
        new=alert.state,
        event=event,
        value=alert.value,
        threshold=alert.threshold,
        message=alert.message,
        created_at=now,
    )
    if incidents.uses_policies(alert.rule):
        incidents.record_transition(transition, now)
    else:
        outbox.record_deliveries(transition, now)
    return transition


def message_for(
    rule: AlertRule, feature: str, obs: Observation, result: CheckResult, segment: str = ""
) -> str:
    what = f"feature {feature}" if feature else rule.kind.replace("_", " ")
    what = f"{what} in segment {segment}" if segment else what
    verdict = "breaks the rule" if obs.status == "breached" else "is within the rule"
    numbers = (
        f": value {_fmt(obs.value)} vs threshold {_fmt(obs.threshold)}"
        if obs.value is not None
        else ""
    )
    return f"{rule.name} on {rule.model.name}: {what} {verdict}{numbers}."


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.4g}"


def acknowledge(alert_id: int, user, now: datetime, note: str = "") -> Alert | None:
    """Stop reminders for a pending or firing alert; None if it is not acknowledgeable.

    The first acknowledgement records an `acknowledged` transition in the same
    transaction, whose deliveries tell the pagers (PagerDuty, Opsgenie) once; acknowledging
    again is harmless (the first user and note are kept, nothing more is sent).
    """
    with transaction.atomic():
        won = Alert.objects.filter(
            id=alert_id,
            state__in=[AlertState.PENDING, AlertState.FIRING],
            acknowledged_at=None,
        ).update(
            acknowledged_at=now,
            acknowledged_by=user,
            acknowledged_note=note,
            revision=F("revision") + 1,
        )
        alert = Alert.objects.select_related("rule__model").filter(id=alert_id).first()
        if won == 1 and alert is not None:
            record_acknowledgement(alert, user, note, now)
    if alert is None or alert.acknowledged_at is None:
        return None
    return alert


def acknowledge_incident(incident_id: int, user, now: datetime, note: str = ""):
    """Acknowledge a firing incident and each of its firing alerts, every alert through
    `acknowledge` (its acknowledged transition tells its pagers once); None when the
    incident is resolved."""
    incident = incidents.acknowledge(incident_id, user, now, note)
    if incident is not None:
        for alert_id in incident.members.filter(resolved_at=None).values_list(
            "alert_id", flat=True
        ):
            acknowledge(alert_id, user, now, note)
    return incident


def record_acknowledgement(alert: Alert, user, note: str, now: datetime) -> AlertTransition:
    who = user.get_username() if getattr(user, "is_authenticated", False) else "someone"
    transition = AlertTransition.objects.create(
        alert=alert,
        old=alert.state,
        new=alert.state,
        event=AlertTransition.Event.ACKNOWLEDGED,
        value=alert.value,
        threshold=alert.threshold,
        message=f"Acknowledged by {who}" + (f": {note}" if note else "."),
        created_at=now,
    )
    outbox.record_deliveries(transition, now)
    return transition


def delete_rule(rule: AlertRule) -> None:
    """Delete `rule` and everything that hangs from it, after any evaluation of it in
    flight: the row lock makes the delete wait for a writer that holds it (the dispatcher,
    `evaluate.store_result`), so the cascade sees the rows that writer added (collecting
    them first, then waiting, ends in a foreign-key error at commit)."""
    with transaction.atomic():
        locked = AlertRule.objects.select_for_update().filter(pk=rule.pk).first()
        if locked is not None:
            locked.delete()
