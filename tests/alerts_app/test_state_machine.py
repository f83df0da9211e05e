"""The pure alert state machine: every transition, timing, hysteresis, quiet rules."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from alerts_app.state import (
    AlertSnapshot,
    Observation,
    Policy,
    next_state,
    repeat_due,
    should_notify,
)

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
BAD, GOOD = Observation("breached", 0.3, 0.25), Observation("ok", 0.1, 0.25)
NO_DATA, ERROR = Observation("insufficient_data"), Observation("error")
DEFAULT_POLICY, NEW_ALERT = Policy(), AlertSnapshot()


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def run(observations, policy=DEFAULT_POLICY, alert=NEW_ALERT, step=60):
    """Feed observations one per `step` seconds; return (final alert, list of events)."""
    events = []
    for i, obs in enumerate(observations):
        decision = next_state(alert, obs, policy, at(i * step))
        alert = decision.alert
        events.append(decision.event)
    return alert, events


def test_a_new_alert_stays_ok_and_quiet_while_the_condition_holds():
    alert, events = run([GOOD, GOOD])
    assert alert.state == "ok"
    assert events == [None, None]


def test_it_fires_at_once_when_pending_for_is_zero():
    alert, events = run([BAD])
    assert (alert.state, events) == ("firing", ["firing"])
    assert alert.started_at == T0
    assert alert.last_notified_at == T0


def test_it_goes_pending_first_when_pending_for_is_set():
    alert, events = run([BAD], Policy(pending_for=300))
    assert (alert.state, events) == ("pending", ["pending"])
    assert alert.pending_since == T0


def test_it_fires_after_pending_for_elapses():
    alert, events = run([BAD] * 7, Policy(pending_for=300))
    assert events == ["pending", None, None, None, None, "firing", None]
    assert alert.state == "firing"
    assert alert.started_at == at(300)
    assert alert.pending_since == T0


def test_a_pending_alert_that_clears_goes_back_to_ok_without_firing():
    alert, events = run([BAD, BAD, GOOD], Policy(pending_for=300))
    assert events == ["pending", None, "cleared"]
    assert alert.state == "ok"
    assert alert.pending_since is None


def test_pending_restarts_its_clock_after_clearing():
    _, events = run([BAD, BAD, GOOD, BAD, BAD, BAD], Policy(pending_for=120))
    assert events == ["pending", None, "cleared", "pending", None, "firing"]


def test_a_firing_alert_resolves_when_the_condition_clears():
    alert, events = run([BAD, BAD, GOOD])
    assert events == ["firing", None, "resolved"]
    assert alert.state == "resolved"
    assert alert.resolved_at == at(120)


def test_a_resolved_alert_fires_again_on_a_new_breach():
    alert, events = run([BAD, GOOD, GOOD, BAD])
    assert events == ["firing", "resolved", None, "firing"]
    assert alert.started_at == at(180)
    assert alert.resolved_at is None


def test_a_resolved_alert_goes_pending_again_when_pending_for_is_set():
    _, events = run([BAD, BAD, GOOD, BAD], Policy(pending_for=60))
    assert events == ["pending", "firing", "resolved", "pending"]


def test_keep_firing_for_holds_the_alert_after_the_condition_clears():
    policy = Policy(keep_firing_for=150)
    alert, events = run([BAD, GOOD, GOOD, GOOD], policy)
    assert events == ["firing", None, None, "resolved"]
    assert alert.resolved_at == at(180)


def test_keep_firing_for_absorbs_a_flap():
    _, events = run([BAD, GOOD, BAD, GOOD, GOOD], Policy(keep_firing_for=90))
    assert events == ["firing", None, None, None, "resolved"]


def test_hysteresis_keeps_firing_until_the_value_passes_the_clear_threshold():
    between = Observation("ok", 0.2, 0.25, cleared=False)
    below = Observation("ok", 0.14, 0.25, cleared=True)
    _, events = run([BAD, between, between, below])
    assert events == ["firing", None, None, "resolved"]


def test_hysteresis_does_not_make_a_fresh_alert_fire_below_the_threshold():
    alert, events = run([Observation("ok", 0.2, 0.25, cleared=False)])
    assert (alert.state, events) == ("ok", [None])


def test_hysteresis_applies_while_pending():
    between = Observation("ok", 0.2, 0.25, cleared=False)
    _, events = run([BAD, between, between], Policy(pending_for=120))
    assert events == ["pending", None, "firing"]


def test_a_breached_value_past_the_clear_level_still_counts_as_breaching():
    decision = next_state(
        AlertSnapshot(), Observation("breached", 0.3, 0.25, cleared=True), Policy(), T0
    )
    assert decision.event == "firing"


@pytest.mark.parametrize("obs", [NO_DATA, ERROR], ids=["insufficient_data", "error"])
@pytest.mark.parametrize("state", ["ok", "pending", "firing", "resolved"])
def test_insufficient_data_and_errors_keep_the_state(obs, state):
    alert = AlertSnapshot(state=state, pending_since=T0, started_at=T0, last_notified_at=T0)
    decision = next_state(alert, obs, Policy(repeat_interval=60), at(3600))
    assert decision.alert == alert
    assert decision.event is None


def test_insufficient_data_does_not_advance_pending_to_firing_by_itself():
    _, events = run([BAD, NO_DATA, NO_DATA, NO_DATA], Policy(pending_for=60))
    assert events == ["pending", None, None, None]


def test_a_firing_alert_repeats_every_repeat_interval():
    _, events = run([BAD] * 6, Policy(repeat_interval=120))
    assert events == ["firing", None, "repeat", None, "repeat", None]


def test_repeat_interval_zero_never_repeats():
    _, events = run([BAD] * 5, Policy(repeat_interval=0))
    assert events == ["firing", None, None, None, None]


def test_an_acknowledged_alert_does_not_repeat():
    alert, _ = run([BAD], Policy(repeat_interval=60))
    acked = replace(alert, acknowledged_at=at(10))
    _, events = run([BAD] * 4, Policy(repeat_interval=60), alert=acked)
    assert events == [None, None, None, None]


def test_an_acknowledged_alert_still_resolves():
    alert, _ = run([BAD])
    _, events = run([GOOD], alert=replace(alert, acknowledged_at=at(10)))
    assert events == ["resolved"]


def test_a_new_firing_episode_forgets_the_acknowledgement():
    alert, _ = run([BAD, GOOD])
    alert = replace(alert, acknowledged_at=at(30))
    decision = next_state(alert, BAD, Policy(), at(600))
    assert decision.event == "firing"
    assert decision.alert.acknowledged_at is None


def test_reminders_continue_during_keep_firing_for():
    _, events = run([BAD, GOOD, GOOD, GOOD], Policy(repeat_interval=60, keep_firing_for=600))
    assert events == ["firing", "repeat", "repeat", "repeat"]


def test_repeat_due_counts_from_the_firing_time_when_never_notified():
    alert = AlertSnapshot(state="firing", started_at=T0)
    assert not repeat_due(alert, Policy(repeat_interval=60), at(59))
    assert repeat_due(alert, Policy(repeat_interval=60), at(60))


@pytest.mark.parametrize(
    ("event", "acknowledged", "silenced", "expected"),
    [
        ("firing", False, False, True),
        ("resolved", False, False, True),
        ("repeat", False, False, True),
        ("pending", False, False, False),
        ("cleared", False, False, False),
        (None, False, False, False),
        ("repeat", True, False, False),
        ("resolved", True, False, True),
        ("firing", False, True, False),
        ("resolved", False, True, False),
        ("repeat", False, True, False),
    ],
)
def test_should_notify_decides_when_to_stay_quiet(event, acknowledged, silenced, expected):
    assert should_notify(event, acknowledged=acknowledged, silenced=silenced) is expected


SILENT_BAD = replace(BAD, silenced=True)


def test_firing_under_a_silence_is_remembered_as_muted():
    alert, events = run([SILENT_BAD])
    assert (alert.state, alert.muted, events) == ("firing", True, ["firing"])


def test_a_firing_held_back_by_a_silence_is_made_up_when_it_ends():
    alert, events = run([SILENT_BAD, SILENT_BAD, BAD, BAD], Policy(repeat_interval=0))
    assert events == ["firing", None, "repeat", None]
    assert alert.muted is False


def test_a_reminder_held_back_by_a_silence_is_made_up_when_it_ends():
    _, events = run([BAD, SILENT_BAD, SILENT_BAD, BAD, BAD], Policy(repeat_interval=60))
    assert events == ["firing", "repeat", "repeat", "repeat", "repeat"]


def test_an_acknowledged_muted_alert_is_not_made_up():
    alert, _ = run([SILENT_BAD])
    decision = next_state(replace(alert, acknowledged_at=at(1)), BAD, Policy(), at(60))
    assert decision.event is None


def test_a_resolution_forgets_the_muted_announcement():
    alert, events = run([SILENT_BAD, GOOD])
    assert (events, alert.muted) == (["firing", "resolved"], False)
