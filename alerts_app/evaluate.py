"""Evaluate a rule: load its window's data, run its check, store the result; and
"Evaluate now", the one meaning of that button everywhere.

`evaluate_rule(rule, now)` runs the check and stores its CheckResult; it touches no alert
state (the state machine reads the result it returns). The dispatcher's workers call it
inside `schedule.evaluate_due_rule`.

`evaluate_now(rule_id)` is what the admin's "Evaluate now" (button and bulk action),
`POST /api/v1/rules/{id}/evaluate/` and any dashboard button call: the evaluation a
scheduled run would make at this moment, under the same discipline as the worker's
(`schedule.evaluate_due_rule`). In one transaction it locks the rule row, evaluates,
stores the result, applies it to the alerts (`lifecycle.apply_result`: state machine,
guarded writes, notification outbox) and marks every schedule slot up to now as
evaluated. A worker evaluating the same rule at the same moment waits on the lock, then
either skips its slot (already covered) or sees the alerts as this evaluation left them,
so an alert fires, and is notified, once.
"""

import inspect
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache

from django.db import transaction
from django.utils import timezone

from alerts_app import segments
from alerts_app.checks import base as checks
from alerts_app.kinds import kind_of
from alerts_app.lifecycle import apply_result
from alerts_app.loaders.base import NoData, target_version
from alerts_app.models import AlertRule, AlertTransition, CheckResult
from alerts_app.rule_config import is_cleared, validate_config

EARLIEST_EVALUATION = datetime(1970, 1, 1, tzinfo=UTC)
EVALUATION_TIME_HELP = (
    "Must be between 1970-01-01 and a day from now (the evaluation's window ends here)."
)
EVALUATE_NOW_MEANING = (
    "Evaluate now runs the rule as its schedule would at this moment: the result is stored "
    "in the rule's history and applied to its alerts (a breach can fire and notify the "
    "rule's channels, a recovery can resolve), and a scheduled evaluation due by then is "
    "skipped."
)


def evaluation_time_allowed(at: datetime) -> bool:
    """Whether a rule may be evaluated as of `at`: 1970 to a day ahead, as telemetry
    timestamps (year 1 or 9999 would push a window or its hourly buckets off the calendar)."""
    return EARLIEST_EVALUATION <= at <= timezone.now() + timedelta(days=1)


def run_check(
    rule: AlertRule, config: dict, now: datetime, source=None
) -> tuple[checks.Outcome, object]:
    """(outcome, version) of `rule` at `now`; missing data answers insufficient_data.

    `source`: where the loaders that read profiles read them (`loaders.profiles`; None:
    `models_app.profiles` itself) and which version the rule reads (`source.version_of`).
    The backtest passes one that reads the history once (`backtest.HistorySource`).
    """
    version, kind = None, kind_of(rule.kind)
    try:
        if source is None:
            version = target_version(rule.model, kind.version_bound, config)
        else:
            version = source.version_of(rule.model, kind.version_bound, config)
        if segments.segment_by(config):  # one check per segment (alerts_app/segments.py)
            return segments.run_segmented(kind, rule.model, version, config, now), version
        if source is not None and takes_source(kind.load):
            data = kind.load(rule.model, version, config, now, source=source)
        else:
            data = kind.load(rule.model, version, config, now)
    except NoData as exc:
        return checks.insufficient(str(exc)), version
    return kind.check(data, config), version


@cache
def takes_source(load) -> bool:
    """Whether a loader reads its profiles through a `source` it is given."""
    return "source" in inspect.signature(load).parameters


def add_hysteresis(kind: str, config: dict, outcome: checks.Outcome) -> None:
    """Threshold kinds say whether the value is past the clear threshold (state machine)."""
    if kind_of(kind).threshold is not None and outcome.value is not None:
        outcome.details["clear_threshold"] = config.get("clear_threshold")
        outcome.details["cleared"] = is_cleared(kind, config, outcome.value, outcome.threshold)


def evaluate_rule(rule: AlertRule, now: datetime, store: bool = True) -> CheckResult:
    """The CheckResult of `rule` at `now` (saved when `store`); status ok, breached or
    insufficient_data, details per kind as docs/checks.md describes.

    AlertRule.DoesNotExist when `store` and the rule was deleted during the evaluation:
    nothing is stored for it.
    """
    config = validate_config(rule.kind, rule.config)
    outcome, version = run_check(rule, config, now)
    add_hysteresis(rule.kind, config, outcome)
    shown = outcome.as_dict()
    result = CheckResult(
        rule=rule,
        version=version,
        evaluated_at=now,
        status=shown["status"],
        value=shown["value"],
        threshold=shown["threshold"],
        passed=not outcome.breached,
        details=shown["details"],
    )
    if store and not store_result(result):
        raise AlertRule.DoesNotExist(f"Rule {rule.pk} was deleted while it was evaluated.")
    return result


def store_result(result: CheckResult) -> bool:
    """Save `result` unless its rule is gone (False). The rule row stays locked until the
    save commits, so a delete that started meanwhile waits, then cascades to the new row,
    instead of failing on a foreign key it could not see (`lifecycle.delete_rule`)."""
    with transaction.atomic():
        if not list(
            AlertRule.objects.select_for_update()
            .filter(pk=result.rule_id)
            .values_list("pk", flat=True)
        ):
            return False
        result.save()
    return True


def evaluate_rule_by_id(rule_id: int, now: datetime, store: bool = True) -> CheckResult:
    rule = AlertRule.objects.select_related("model").get(pk=rule_id)
    return evaluate_rule(rule, now, store=store)


class RuleDisabled(Exception):
    """Evaluate now refuses a disabled rule: its alerts are paused and its schedule stopped."""

    def __init__(self, rule: AlertRule):
        super().__init__(
            f'Rule "{rule.name}" is disabled: enable it to evaluate it now '
            "(its alerts are paused while it is disabled)."
        )


class EvaluationTooEarly(Exception):
    """An evaluation applied to alerts may not go back before the rule's newest result:
    the alerts would move back in time (pending since, started at)."""

    def __init__(self, newest: datetime):
        super().__init__(
            f"Must not be before the rule's newest result ({newest.isoformat()}) when the "
            "result is stored and applied to the alerts."
        )


@dataclass
class Evaluation:
    """What "Evaluate now" did: the stored result and the alert transitions it recorded
    (each one with its deliveries in the outbox)."""

    result: CheckResult
    transitions: list[AlertTransition] = field(default_factory=list)


def evaluate_now(rule_id: int, at: datetime | None = None) -> Evaluation:
    """Evaluate the rule as of `at` (default now), store the result and apply it to the
    alerts, in one transaction under the rule's row lock (see the module docstring).

    AlertRule.DoesNotExist: the rule is gone; RuleDisabled; EvaluationTooEarly: `at` is
    before the rule's newest result; ValidationError: its stored config is invalid.
    Nothing is stored when any of these is raised, or when the check raises.
    """
    now = at or timezone.now()
    with transaction.atomic():
        rule = lock_enabled_rule(rule_id)
        if at is not None:
            check_not_before_history(rule, at)
        result = evaluate_rule(rule, now, store=True)
        transitions = apply_result(rule, result, now)
        mark_evaluated(rule, now)
    return Evaluation(result, transitions)


def lock_enabled_rule(rule_id: int) -> AlertRule:
    """The rule, locked until commit, as `schedule.lock_rule` locks it for a worker."""
    rule = (
        AlertRule.objects.select_for_update(of=("self",))
        .select_related("model")
        .filter(id=rule_id)
        .first()
    )
    if rule is None:
        raise AlertRule.DoesNotExist(f"Rule {rule_id} does not exist.")
    if not rule.enabled:
        raise RuleDisabled(rule)
    return rule


def check_not_before_history(rule: AlertRule, at: datetime) -> None:
    newest = rule.results.order_by("-evaluated_at").values_list("evaluated_at", flat=True).first()
    if newest is not None and at < newest:
        raise EvaluationTooEarly(newest)


def mark_evaluated(rule: AlertRule, now: datetime) -> None:
    """Record the run, and count every schedule slot up to `now` as evaluated: a worker
    given such a slot (claimed before or after this) skips it, as it skips a redelivered
    message (`schedule.lock_rule` compares its slot with `last_slot`)."""
    AlertRule.objects.filter(id=rule.id).update(
        last_run_at=max(rule.last_run_at or now, now),
        last_slot=max(rule.last_slot or now, now),
    )
