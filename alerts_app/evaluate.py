"""Evaluate a rule: load its window's data, run its check, store the result.

`evaluate_rule(rule, now)` is what the dispatcher, the admin's "Evaluate now" and
`POST /api/v1/rules/{id}/evaluate/` call. It touches no alert state: the state
machine reads the CheckResult it returns.
"""

from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.utils import timezone

from alerts_app.checks import base as checks
from alerts_app.kinds import kind_of
from alerts_app.loaders.base import NoData, target_version
from alerts_app.models import AlertRule, CheckResult
from alerts_app.rule_config import is_cleared, validate_config

EARLIEST_EVALUATION = datetime(1970, 1, 1, tzinfo=UTC)
EVALUATION_TIME_HELP = (
    "Must be between 1970-01-01 and a day from now (the evaluation's window ends here)."
)


def evaluation_time_allowed(at: datetime) -> bool:
    """Whether a rule may be evaluated as of `at`: 1970 to a day ahead, as telemetry
    timestamps (year 1 or 9999 would push a window or its hourly buckets off the calendar)."""
    return EARLIEST_EVALUATION <= at <= timezone.now() + timedelta(days=1)


def run_check(rule: AlertRule, config: dict, now: datetime) -> tuple[checks.Outcome, object]:
    """(outcome, version) of `rule` at `now`; missing data answers insufficient_data."""
    version, kind = None, kind_of(rule.kind)
    try:
        version = target_version(rule.model, kind.version_bound, config)
        data = kind.load(rule.model, version, config, now)
    except NoData as exc:
        return checks.insufficient(str(exc)), version
    return kind.check(data, config), version


def add_hysteresis(kind: str, config: dict, outcome: checks.Outcome) -> None:
    """Threshold kinds say whether the value is past the clear threshold (state machine)."""
    if kind_of(kind).threshold is not None and outcome.value is not None:
        outcome.details["clear_threshold"] = config.get("clear_threshold")
        outcome.details["cleared"] = is_cleared(kind, config, outcome.value)


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
