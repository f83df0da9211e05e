"""Backtest: a rule replayed over stored history through the real state machine, storing nothing.

`backtest(rule, days, end)` evaluates an (unsaved) rule at its interval over the last
`days` before `end`, each evaluation the one `evaluate.evaluate_rule` would make at that
moment on today's data (`evaluate.run_check` + `add_hysteresis`, the same loader and
check), and plays the outcomes through `state.next_state` with the rule's `pending_for`,
`keep_firing_for` and `clear_threshold` (hysteresis): the firings it answers are the
alerts those evaluations would have opened. Nothing is written: no CheckResult, Alert,
transition or delivery row (silences and inhibition only mute notifications, so they do
not change when an alert fires and are left out).

Two halves:
- `replay(outcomes, policy, ...)` is pure: a list of `TimedOutcome` in time order and the
  rule's timing in, the answer `{"evaluations", "firings", "series"}` out. Per-feature
  rules (`kinds.Kind.per_feature`) get one alert per feature, as `lifecycle.apply_result`
  keeps them; each firing then names its feature.
- `timed_outcomes(rule, times)` reads the history. The kinds that read profiles (drift,
  data quality, CBPE) read them through a `HistorySource`: the period's hour buckets are
  read a day at a time (`models_app.profiles.hourly_profiles`, one read for 24 hours)
  and every evaluation's window is merged in memory from its hours (`profiles.merge_all`, exact and
  associative), instead of one window read per evaluation, and evaluations that see the
  same hours share one check. Other kinds read their window per evaluation, as live.

docs/checks.md ("Backtest") describes the endpoint; docs/alerting.md the admin's Preview.
"""

import math
import traceback
from collections import OrderedDict, defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import numpy as np

from alerts_app.checks import base as checks
from alerts_app.evaluate import add_hysteresis, run_check, takes_source
from alerts_app.kinds import kind_of
from alerts_app.loaders.base import NoData, target_version, window_start
from alerts_app.models import AlertRule
from alerts_app.rule_config import rule_threshold, validate_config
from alerts_app.state import (
    BREACHED,
    FIRING,
    OK,
    PENDING,
    AlertSnapshot,
    Observation,
    Policy,
    next_state,
)
from models_app import profiles

DEFAULT_DAYS = 30
MAX_DAYS = 90  # raw predictions (performance, latency) are kept 90 days by default
MAX_EVALUATIONS = 10000  # 30 days of a rule every 5 minutes (the default interval): 8,640
HOUR = timedelta(hours=1)
READ_HOURS = 24  # hour buckets a history read takes at once (samples come whole)
ERROR = "error"


@dataclass(frozen=True)
class TimedOutcome:
    """One evaluation as the alerts see it: the result's status, value and threshold,
    `cleared` (hysteresis of threshold kinds, else None), and for per-feature rules the
    observation of each feature judged (`lifecycle.feature_observations`)."""

    at: datetime
    status: str
    value: float | None = None
    threshold: float | None = None
    cleared: bool | None = None
    features: dict[str, Observation] = field(default_factory=dict)


@dataclass
class Episode:
    """One firing of one alert, while it is being replayed."""

    feature: str
    started_at: datetime
    peak: float | None = None
    resolved_at: datetime | None = None


def evaluation_count(interval: int, days: int) -> int:
    """How many evaluations `days` of a rule every `interval` seconds make."""
    return max(1, days * 86400 // interval)


def evaluation_times(end: datetime, interval: int, days: int) -> list[datetime]:
    """The moments a rule evaluated every `interval` seconds would have run in the last
    `days` before `end`, oldest first; the last one is `end`."""
    count = evaluation_count(interval, days)
    return [end - timedelta(seconds=interval * k) for k in range(count - 1, -1, -1)]


def worse(a: float | None, b: float | None, lower_is_worse: bool) -> float | None:
    """The value further on the breaking side (None counts as nothing)."""
    if a is None or (isinstance(a, float) and math.isnan(a)):
        return b
    if b is None or (isinstance(b, float) and math.isnan(b)):
        return a
    return min(a, b) if lower_is_worse else max(a, b)


def observations(outcome: TimedOutcome, per_feature: bool) -> dict[str, Observation]:
    """{feature ("" for the rule's own alert): observation} of one evaluation."""
    if per_feature:
        return dict(outcome.features) if outcome.status in (OK, BREACHED) else {}
    return {"": Observation(outcome.status, outcome.value, outcome.threshold, outcome.cleared)}


def replay(
    outcomes: list[TimedOutcome],
    policy: Policy,
    per_feature: bool = False,
    lower_is_worse: bool = False,
) -> dict:
    """The answer of a backtest from its outcomes (time order) and the rule's timing.

    Each fingerprint's alert starts ok and moves by `state.next_state` exactly as
    `lifecycle.apply_result` moves it (features already seen but not judged this time
    observe insufficient_data, which changes nothing). A firing runs from the `firing`
    event to the `resolved` one (None: still firing at the end); its `peak` is the value
    furthest on the breaking side (`lower_is_worse`: a score below its threshold) among
    the evaluations that left it firing. `series` has one point per evaluation: the
    result's time, value, status and threshold, and `state`, the rule's worst alert state
    after it.
    """
    alerts: dict[str, AlertSnapshot] = {}
    open_episodes: dict[str, Episode] = {}
    episodes: list[Episode] = []
    series = []
    for outcome in outcomes:
        observed = observations(outcome, per_feature)
        for feature in sorted(set(alerts) | set(observed)):
            obs = observed.get(feature, Observation("insufficient_data"))
            before = alerts.get(feature, AlertSnapshot())
            decision = next_state(before, obs, policy, outcome.at)
            alerts[feature] = decision.alert
            track(decision.event, decision.state, feature, obs, outcome.at, open_episodes, episodes)
            if decision.state == FIRING:
                episode = open_episodes[feature]
                episode.peak = worse(episode.peak, obs.value, lower_is_worse)
        series.append(
            {
                "t": outcome.at,
                "value": outcome.value,
                "status": outcome.status,
                "threshold": outcome.threshold,
                "state": worst_state(alerts.values()),
            }
        )
    return {
        "evaluations": len(outcomes),
        "firings": [firing(e, per_feature) for e in sorted(episodes, key=episode_order)],
        "series": series,
    }


def track(event, state, feature, obs, at, open_episodes, episodes) -> None:
    """Open an episode on `firing`, close it on `resolved`."""
    if event == "firing":
        episode = Episode(feature, at)
        open_episodes[feature] = episode
        episodes.append(episode)
    elif event == "resolved" and feature in open_episodes:
        open_episodes.pop(feature).resolved_at = at


def episode_order(episode: Episode) -> tuple:
    return episode.started_at, episode.feature


def firing(episode: Episode, per_feature: bool) -> dict:
    answer = {
        "started_at": episode.started_at,
        "resolved_at": episode.resolved_at,
        "peak": episode.peak,
    }
    if per_feature:
        answer["feature"] = episode.feature
    return answer


def worst_state(alerts) -> str:
    states = {alert.state for alert in alerts}
    for state in (FIRING, PENDING):
        if state in states:
            return state
    return OK


def firing_seconds(answer: dict, end: datetime) -> float:
    """How long the alerts of the answer were firing in all (a firing still open counts
    until `end`)."""
    return sum(
        ((f["resolved_at"] or end) - f["started_at"]).total_seconds() for f in answer["firings"]
    )


def in_words(answer: dict, days: int, end: datetime) -> str:
    """ "would have fired 3 times in 30 days, 41 h in total" (the admin's Preview)."""
    count = len(answer["firings"])
    span = f"{days} day{'s' if days != 1 else ''}"
    if count == 0:
        return f"would not have fired in {span} ({answer['evaluations']} evaluations)"
    times = "once" if count == 1 else "twice" if count == 2 else f"{count} times"
    return f"would have fired {times} in {span}, {hours_text(firing_seconds(answer, end))} in total"


def hours_text(seconds: float) -> str:
    if seconds < 3600:
        return f"{round(seconds / 60)} min"
    return f"{round(seconds / 3600)} h"


def lower_is_worse(kind: str, config: dict) -> bool:
    """Whether a lower value is the breaking side: a threshold kind whose operator is `<`
    or `<=` (a score), an underfitting rule in `max` mode; every other kind breaks high."""
    threshold = rule_threshold(kind, config)
    if threshold is not None:
        return threshold[0] in ("<", "<=")
    return kind == "underfitting" and config.get("mode") == "max"


# -- the database half -------------------------------------------------------------------


class HistorySource:
    """The profiles a loader reads (`loaders.profiles`: `window_profiles`,
    `current_summary`), from hour buckets each read once and merged in memory.

    A window `[start, end]` covers the hour buckets from `hour_of(start)` to `hour_of(end)`,
    as `models_app.profiles.window_profiles` rounds it; each bucket is that function's
    answer over the one hour, and the merge of a window's buckets is the window's profile
    (merging is exact and associative; every bucket is conformed to the current reference,
    and the absent-feature `missing` counts add up over the hours). The last merged windows
    are kept, so evaluations closer together than an hour merge once.
    """

    def __init__(self, keep: int = 8):
        self.buckets: dict[tuple, dict[datetime, dict]] = defaultdict(dict)
        self.summaries: dict[int, tuple | None] = {}
        self.merged: OrderedDict = OrderedDict()
        self.keep = keep
        self.reads = 0
        self.version: tuple | None = None

    def version_of(self, model, version_bound: bool, config: dict):
        """`loaders.base.target_version`, resolved once (NoData again on every call)."""
        if self.version is None:
            try:
                self.version = (target_version(model, version_bound, config), None)
            except NoData as exc:
                self.version = (None, exc)
        version, missing = self.version
        if missing is not None:
            raise missing
        return version

    def current_summary(self, version):
        if version.pk not in self.summaries:
            found = profiles.current_summary(version)
            self.summaries[version.pk] = None if found is None else (arrays(found[0]), found[1])
        return self.summaries[version.pk]

    def window_profiles(self, version, start: datetime, end: datetime, features=None) -> dict:
        key = (version.pk, None if features is None else tuple(features))
        first, last = profiles.hour_of(start), profiles.hour_of(end)
        if (key, first, last) not in self.merged:
            hours = self.hours(version, key, first, last)
            self.merged[(key, first, last)] = merge_hours(hours)
            while len(self.merged) > self.keep:
                self.merged.popitem(last=False)
        return dict(self.merged[(key, first, last)])

    def hours(self, version, key: tuple, first: datetime, last: datetime) -> list[dict]:
        """The hour buckets from `first` to `last`; one missing is read with the next
        READ_HOURS - 1 hours (`profiles.hourly_profiles`: one read a day of history
        instead of one an hour; an hour without rows is {}). Hours before `first` are
        dropped: the evaluations go forward in time, and a day of hours at 5,000 sampled
        values a feature weighs up to ~50 MB for 25 features."""
        stored = self.buckets[key]
        for past in [h for h in stored if h < first]:  # evaluations go forward in time
            del stored[past]
        hours, hour = [], first
        while hour <= last:
            if hour not in stored:
                span_end = hour + (READ_HOURS - 1) * HOUR
                found = profiles.hourly_profiles(
                    version, hour, span_end, None if key[1] is None else list(key[1])
                )
                self.reads += 1
                at = hour
                while at <= span_end:
                    stored.setdefault(at, found.get(at, {}))
                    at += HOUR
            hours.append(stored[hour])
            hour += HOUR
        return hours


def arrays(summary: dict) -> dict:
    """The summary with each feature's numeric sample as a float array in its stored
    order (calibration chunks depend on it), converted once for the whole replay instead
    of once per evaluation."""
    features = {}
    for name, part in (summary.get("features") or {}).items():
        sample = part.get("sample") if isinstance(part, dict) else None
        if isinstance(sample, list) and part.get("type") == profiles.NUMERIC:
            try:
                part = part | {"sample": np.asarray(sample, dtype=float)}
            except (TypeError, ValueError):
                pass  # the loader's own conversion deals with it
        features[name] = part
    return summary | {"features": features}


def merge_hours(hours: list[dict]) -> dict:
    """{feature: FeatureProfile} of the union of the hours' rows (each hour conformed to
    the reference already; a feature without one takes the majority kind by rows, as a
    window read does)."""
    by_feature: dict[str, list] = defaultdict(list)
    for hour in hours:
        for name, profile in hour.items():
            by_feature[name].append(profile)
    return {name: merged(parts) for name, parts in sorted(by_feature.items())}


def merged(parts: list):
    if len({p.kind for p in parts}) > 1:
        weight: dict[str, int] = defaultdict(int)
        for p in parts:
            weight[p.kind] += p.count + p.missing + p.type_errors
        kind = max(sorted(weight), key=weight.get)
        edges = next((p.edges for p in parts if p.kind == kind and p.edges), [])
        parts = [profiles.conform(p, kind, edges) for p in parts]
    return profiles.merge_all(parts)


def timed_outcome(at: datetime, outcome: checks.Outcome, per_feature: bool) -> TimedOutcome:
    """A check's outcome as `lifecycle` reads the CheckResult it would be stored as."""
    shown = outcome.as_dict()
    details = shown["details"]
    cleared = details.get("cleared")
    features = {}
    if per_feature:
        features = {
            name: Observation(
                v.get("status", "insufficient_data"), v.get("value"), v.get("threshold")
            )
            for name, v in (details.get("verdicts") or {}).items()
            if isinstance(v, dict)
        }
    return TimedOutcome(
        at,
        shown["status"],
        shown["value"],
        shown["threshold"],
        cleared if isinstance(cleared, bool) else None,
        features,
    )


def evaluate_at(rule: AlertRule, config: dict, at: datetime, source: HistorySource):
    """The outcome `evaluate_rule(rule, at, store=False)` would give (an exception in the
    check is an `error`, as the dispatcher records it)."""
    try:
        outcome, _ = run_check(rule, config, at, source=source)
    except Exception as exc:  # one bad moment must not lose the whole replay
        tail = traceback.format_exception_only(type(exc), exc)[-1].strip()
        return checks.Outcome(ERROR, None, None, {"error": tail[:2000]})
    add_hysteresis(rule.kind, config, outcome)
    return outcome


def timed_outcomes(rule: AlertRule, times: list[datetime]) -> list[TimedOutcome]:
    """The rule's outcome at each of `times`, from the stored history, storing nothing.

    A kind whose loader reads profiles through the source sees, at `t`, exactly the hour
    buckets from `hour_of(t - window)` to `hour_of(t)` (plus the reference and version,
    read once); its check is pure, so evaluations that see the same buckets (a rule every
    5 minutes sees the same ones 12 times an hour) have the same outcome: it is computed
    once and repeated at each of their times.
    """
    config = validate_config(rule.kind, rule.config)
    kind = kind_of(rule.kind)
    per_feature = kind.per_feature(config)
    source = HistorySource()
    reads_hours = takes_source(kind.load) and "window" in config
    outcomes, seen, last = [], None, None
    for t in times:
        span = buckets_seen(t, config["window"]) if reads_hours else None
        if span is None or span != seen:
            last = timed_outcome(t, evaluate_at(rule, config, t, source), per_feature)
            seen = span
        outcomes.append(replace(last, at=t))
    return outcomes


def buckets_seen(at: datetime, window: int) -> tuple[datetime, datetime]:
    """(first, last) hour bucket of the window ending at `at` (`window_profiles` rounds out)."""
    return profiles.hour_of(window_start(at, window)), profiles.hour_of(at)


def backtest(rule: AlertRule, days: int, end: datetime) -> dict:
    """The answer of `POST /api/v1/rules/backtest/` for an unsaved `rule` (its model, kind,
    config, interval and timing set), over the `days` before `end`."""
    config = validate_config(rule.kind, rule.config)
    times = evaluation_times(end, rule.interval, days)
    policy = Policy(rule.pending_for, rule.keep_firing_for, rule.repeat_interval)
    answer = replay(
        timed_outcomes(rule, times),
        policy,
        per_feature=kind_of(rule.kind).per_feature(config),
        lower_is_worse=lower_is_worse(rule.kind, config),
    )
    return answer | {"summary": in_words(answer, days, end)}
