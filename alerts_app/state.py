"""The alert state machine: a pure function from (alert, observation, policy, now) to a decision.

States: `ok -> pending -> firing -> resolved` (and `pending -> ok` when the condition clears
before `pending_for` has elapsed). Nothing here touches the database, settings or the clock:
`lifecycle.py` feeds it snapshots and persists the decision with one guarded write.

Edge cases, all decided here:
- `insufficient_data` and `error` observations keep the state and emit nothing.
- `pending_for == 0` fires on the first breach (ok -> firing, no pending step).
- `keep_firing_for` keeps a firing alert firing until the condition has been clear that long
  (measured from the last breach), which damps flapping.
- `clear_threshold` (hysteresis): once pending or firing, the condition only counts as
  cleared when the value is back past the clear level, not merely past the threshold.
  The evaluation says so in `Observation.cleared` (rule_config.is_cleared, one place).
- A `repeat` event goes out every `repeat_interval` while firing and unacknowledged
  (0 disables repeats). A new firing episode forgets the previous acknowledgement.
- A silence mutes notifications, not state. An announcement it held back (the alert
  fired, or reminded, while silenced) is made up by a `repeat` at the first evaluation
  after the silence, even when `repeat_interval` is 0.
"""

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

OK, PENDING, FIRING, RESOLVED = "ok", "pending", "firing", "resolved"
BREACHED, INSUFFICIENT, ERROR = "breached", "insufficient_data", "error"
NOTIFYING_EVENTS = frozenset({"firing", "resolved", "repeat", "acknowledged"})


@dataclass(frozen=True)
class AlertSnapshot:
    """What the state machine needs to know about an alert (a new alert is `AlertSnapshot()`)."""

    state: str = OK
    pending_since: datetime | None = None
    started_at: datetime | None = None
    resolved_at: datetime | None = None
    last_breach_at: datetime | None = None
    last_notified_at: datetime | None = None
    acknowledged_at: datetime | None = None
    muted: bool = False  # the last firing/repeat announcement was held back by a silence


@dataclass(frozen=True)
class Observation:
    """One evaluation as seen by one alert.

    `cleared` (threshold kinds) says whether the value is past the clear threshold;
    None means the kind has no hysteresis and `status` alone decides. `silenced`: a
    silence covers the alert at this evaluation.
    """

    status: str
    value: float | None = None
    threshold: float | None = None
    cleared: bool | None = None
    silenced: bool = False


@dataclass(frozen=True)
class Policy:
    """The rule's timing settings, in seconds."""

    pending_for: int = 0
    keep_firing_for: int = 0
    repeat_interval: int = 0


@dataclass(frozen=True)
class Decision:
    """The alert after this observation and the event to record (None: nothing happened)."""

    alert: AlertSnapshot
    event: str | None = None

    @property
    def state(self) -> str:
        return self.alert.state


def next_state(alert: AlertSnapshot, obs: Observation, policy: Policy, now: datetime) -> Decision:
    """Apply one observation to one alert."""
    if obs.status not in (OK, BREACHED):
        return Decision(alert)
    if is_breaching(alert, obs):
        return _on_breach(alert, policy, now, obs.silenced)
    return _on_clear(alert, policy, now, obs.silenced)


def is_breaching(alert: AlertSnapshot, obs: Observation) -> bool:
    """Whether the condition holds, with hysteresis once the alert is pending or firing."""
    if alert.state in (PENDING, FIRING) and obs.cleared is not None:
        return not obs.cleared
    return obs.status == BREACHED


def _on_breach(alert: AlertSnapshot, policy: Policy, now: datetime, silenced: bool) -> Decision:
    alert = replace(alert, last_breach_at=now)
    if alert.state in (OK, RESOLVED):
        alert = replace(alert, pending_since=now)
        if policy.pending_for > 0:
            return Decision(replace(alert, state=PENDING), "pending")
        return _fire(alert, now, silenced)
    if alert.state == PENDING:
        if now - alert.pending_since >= timedelta(seconds=policy.pending_for):
            return _fire(alert, now, silenced)
        return Decision(alert)
    return _maybe_repeat(alert, policy, now, silenced)


def _on_clear(alert: AlertSnapshot, policy: Policy, now: datetime, silenced: bool) -> Decision:
    if alert.state == PENDING:
        return Decision(replace(alert, state=OK, pending_since=None), "cleared")
    if alert.state != FIRING:
        return Decision(alert)
    held_since = alert.last_breach_at or alert.started_at or now
    if now - held_since < timedelta(seconds=policy.keep_firing_for):
        return _maybe_repeat(alert, policy, now, silenced)
    resolved = replace(alert, state=RESOLVED, resolved_at=now, pending_since=None, muted=False)
    return Decision(resolved, "resolved")


def _fire(alert: AlertSnapshot, now: datetime, silenced: bool) -> Decision:
    fired = replace(
        alert,
        state=FIRING,
        started_at=now,
        resolved_at=None,
        acknowledged_at=None,
        last_notified_at=now,
        muted=silenced,
    )
    return Decision(fired, "firing")


def _maybe_repeat(alert: AlertSnapshot, policy: Policy, now: datetime, silenced: bool) -> Decision:
    held_back = alert.muted and not silenced and not alert.acknowledged_at
    if not (held_back or repeat_due(alert, policy, now)):
        return Decision(alert)
    return Decision(replace(alert, last_notified_at=now, muted=silenced), "repeat")


def repeat_due(alert: AlertSnapshot, policy: Policy, now: datetime) -> bool:
    """A reminder is due: firing, unacknowledged, and `repeat_interval` since the last one."""
    if alert.state != FIRING or alert.acknowledged_at or policy.repeat_interval <= 0:
        return False
    last = alert.last_notified_at or alert.started_at
    return last is None or now - last >= timedelta(seconds=policy.repeat_interval)


def should_notify(event: str | None, *, acknowledged: bool = False, silenced: bool = False) -> bool:
    """Whether an event reaches the channels: the one place that decides when to stay quiet.

    `pending` and `cleared` are history only; a silence mutes everything (state goes on)
    but an acknowledgement, which only quiets the pagers that heard the alert; an
    acknowledged alert gets no reminders but still announces that it resolved.
    """
    if event == "acknowledged":
        return True
    if event not in NOTIFYING_EVENTS or silenced:
        return False
    return not (event == "repeat" and acknowledged)
