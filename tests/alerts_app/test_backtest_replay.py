"""The pure half of the backtest (`alerts_app.backtest.replay`) against sequences worked
out by hand from docs/alerting.md's state machine: pending_for, keep_firing_for and
hysteresis (clear_threshold) each change the answer. No database."""

from datetime import UTC, datetime, timedelta

from alerts_app.backtest import (
    TimedOutcome,
    evaluation_times,
    in_words,
    lower_is_worse,
    replay,
)
from alerts_app.rule_config import is_cleared, validate_config
from alerts_app.state import Observation, Policy

T0 = datetime(2026, 3, 1, tzinfo=UTC)
HOUR = 3600


def at(i: int) -> datetime:
    return T0 + timedelta(hours=i)


def metric_outcomes(values, config: dict) -> list[TimedOutcome]:
    """A metric_threshold rule's outcomes at hours 0, 1, ... (None: no point, insufficient)."""
    config = validate_config("metric_threshold", {"metric": "loss", **config})
    outcomes = []
    for i, value in enumerate(values):
        if value is None:
            outcomes.append(TimedOutcome(at(i), "insufficient_data"))
            continue
        status = "breached" if value > config["threshold"] else "ok"
        cleared = is_cleared("metric_threshold", config, value)
        outcomes.append(TimedOutcome(at(i), status, value, config["threshold"], cleared))
    return outcomes


def spans(answer: dict) -> list[tuple]:
    return [(f["started_at"], f["resolved_at"], f["peak"]) for f in answer["firings"]]


BREACH_3H = [0.1, 0.9, 0.8, 0.95, 0.1, 0.1]  # breaks at hours 1, 2, 3


def test_pending_for_delays_the_firing_and_can_swallow_it():
    outcomes = metric_outcomes(BREACH_3H, {"threshold": 0.5})
    assert spans(replay(outcomes, Policy())) == [(at(1), at(4), 0.95)]
    # pending at hour 1; fires when 2 h have passed since (hour 3); peak counts from then
    assert spans(replay(outcomes, Policy(pending_for=2 * HOUR))) == [(at(3), at(4), 0.95)]
    assert spans(replay(outcomes, Policy(pending_for=3 * HOUR))) == []


def test_pending_shows_in_the_series_state():
    outcomes = metric_outcomes(BREACH_3H, {"threshold": 0.5})
    answer = replay(outcomes, Policy(pending_for=2 * HOUR))
    assert [p["state"] for p in answer["series"]] == [
        "ok",
        "pending",
        "pending",
        "firing",
        "ok",
        "ok",
    ]
    assert [p["status"] for p in answer["series"]][:2] == ["ok", "breached"]
    assert [p["value"] for p in answer["series"]] == BREACH_3H
    assert answer["evaluations"] == 6


def test_keep_firing_for_merges_flapping_into_one_firing():
    values = [0.1, 0.9, 0.1, 0.7, 0.1, 0.1, 0.1]  # breaks at hours 1 and 3
    outcomes = metric_outcomes(values, {"threshold": 0.5})
    assert spans(replay(outcomes, Policy())) == [(at(1), at(2), 0.9), (at(3), at(4), 0.7)]
    # clear at hour 2 is 1 h after the last breach (< 2 h): still firing; breach at 3;
    # clear at 4 (1 h), clear at 5 (2 h since hour 3): resolved then
    kept = replay(outcomes, Policy(keep_firing_for=2 * HOUR))
    assert spans(kept) == [(at(1), at(5), 0.9)]


def test_hysteresis_holds_the_alert_until_the_clear_threshold():
    values = [0.1, 0.3, 0.2, 0.22, 0.1, 0.3]
    plain = metric_outcomes(values, {"threshold": 0.25})
    assert spans(replay(plain, Policy())) == [(at(1), at(2), 0.3), (at(5), None, 0.3)]
    held = metric_outcomes(values, {"threshold": 0.25, "clear_threshold": 0.15})
    # 0.2 and 0.22 are no breach but not past 0.15 either: firing until 0.1 at hour 4
    assert spans(replay(held, Policy())) == [(at(1), at(4), 0.3), (at(5), None, 0.3)]


def test_insufficient_data_keeps_the_state_and_an_open_firing_has_no_end():
    values = [0.9, None, None, 0.9]
    answer = replay(metric_outcomes(values, {"threshold": 0.5}), Policy())
    assert spans(answer) == [(at(0), None, 0.9)]
    assert [p["state"] for p in answer["series"]] == ["firing"] * 4
    assert answer["series"][1]["status"] == "insufficient_data"


def test_peak_of_a_score_is_its_lowest_value():
    config = validate_config("performance", {"metric": "accuracy", "threshold": 0.8})
    assert lower_is_worse("performance", config)
    assert not lower_is_worse(
        "performance", validate_config("performance", {"metric": "rmse", "threshold": 2})
    )
    assert not lower_is_worse("data_drift", validate_config("data_drift", {}))
    outcomes = [
        TimedOutcome(at(i), "breached" if v < 0.8 else "ok", v, 0.8, v >= 0.8)
        for i, v in enumerate([0.9, 0.7, 0.6, 0.75, 0.85])
    ]
    answer = replay(outcomes, Policy(), lower_is_worse=True)
    assert spans(answer) == [(at(1), at(4), 0.6)]


def test_per_feature_rules_fire_per_feature():
    def features(**verdicts):
        return {
            name: Observation("breached" if v > 0.1 else "ok", v, 0.1)
            for name, v in verdicts.items()
        }

    outcomes = [
        TimedOutcome(at(0), "ok", 0.0, 0.5, None, features(a=0.05, b=0.05)),
        TimedOutcome(at(1), "breached", 0.5, 0.5, None, features(a=0.3, b=0.05)),
        TimedOutcome(at(2), "breached", 1.0, 0.5, None, features(a=0.4, b=0.2)),
        TimedOutcome(at(3), "insufficient_data"),  # a feature not judged keeps its state
        TimedOutcome(at(4), "breached", 0.5, 0.5, None, features(a=0.05, b=0.3)),
        TimedOutcome(at(5), "ok", 0.0, 0.5, None, features(a=0.05, b=0.05)),
    ]
    answer = replay(outcomes, Policy(), per_feature=True)
    assert answer["firings"] == [
        {"started_at": at(1), "resolved_at": at(4), "peak": 0.4, "feature": "a"},
        {"started_at": at(2), "resolved_at": at(5), "peak": 0.3, "feature": "b"},
    ]


def test_evaluation_times_end_at_the_end_one_interval_apart():
    times = evaluation_times(at(48), HOUR, 2)
    assert len(times) == 48
    assert times[0] == at(1) and times[-1] == at(48)
    assert evaluation_times(at(48), 7 * 3600, 1) == [at(34), at(41), at(48)]


def test_counts_in_words():
    firing = {"resolved_at": at(20), "peak": 1.0}
    answer = {
        "evaluations": 720,
        "firings": [
            firing | {"started_at": at(0)},
            firing | {"started_at": at(5), "resolved_at": at(25)},
            {"started_at": at(99), "resolved_at": None, "peak": 1.0},
        ],
    }
    # 20 h + 20 h + 1 h still open at the end
    assert in_words(answer, 30, at(100)) == "would have fired 3 times in 30 days, 41 h in total"
    one = {"evaluations": 24, "firings": [answer["firings"][2]]}
    assert in_words(one, 1, at(99) + timedelta(minutes=30)) == (
        "would have fired once in 1 day, 30 min in total"
    )
    assert in_words({"evaluations": 720, "firings": []}, 30, at(0)) == (
        "would not have fired in 30 days (720 evaluations)"
    )


def test_a_check_that_raises_is_an_error_point_that_moves_no_alert(monkeypatch):
    from alerts_app import backtest

    def broken(rule, config, now, source=None):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(backtest, "run_check", broken)
    outcome = backtest.evaluate_at(None, {}, at(0), backtest.HistorySource())
    assert (outcome.status, outcome.value) == ("error", None)
    assert outcome.details["error"] == "ZeroDivisionError: division by zero"
    timed = backtest.timed_outcome(at(1), outcome, per_feature=False)
    before = metric_outcomes([0.9], {"threshold": 0.5})
    answer = replay([*before, timed], Policy())
    assert [p["state"] for p in answer["series"]] == ["firing", "firing"]
    assert answer["series"][1]["status"] == "error"
