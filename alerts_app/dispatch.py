"""The dispatcher: claim the rules that are due, once, and have workers evaluate them.

`dispatch_due_rules()` runs every 30 s from beat (any number of dispatchers may run).
Claiming is one transaction: `SELECT ... FOR UPDATE SKIP LOCKED` over the due rules,
then their `next_run_at` moves to the next slot of their cadence. A concurrent
dispatcher skips the locked rows and, once we commit, no longer sees them as due, so
each rule is enqueued exactly once per cycle. The evaluation messages are published
after the commit (`on_commit`) and carry only the rule id.

`evaluate_due_rule(rule_id)` (the worker side) evaluates, stores the CheckResult, moves
the alerts and writes the notification outbox in one transaction: a worker killed
halfway leaves nothing behind, and the redelivered message (`acks_late`) starts over.
A rule whose evaluation raises records an `error` CheckResult and keeps its alert state.
"""

import logging
import math
import traceback
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from alerts_app.evaluate import evaluate_rule
from alerts_app.lifecycle import apply_result
from alerts_app.models import AlertRule, CheckResult

logger = logging.getLogger(__name__)


def next_slot(scheduled: datetime, interval: int, now: datetime) -> datetime:
    """The first `scheduled + k·interval` after `now`: steady cadence, missed runs skipped."""
    step = max(int(interval), 1)
    missed = max(math.floor((now - scheduled).total_seconds() / step), 0)
    return scheduled + timedelta(seconds=step * (missed + 1))


def claim_due_rules(now: datetime, limit: int) -> list[tuple[int, int]]:
    """Lock up to `limit` due rules nobody else holds, reschedule them; (id, interval) each."""
    with transaction.atomic():
        due = list(
            AlertRule.objects.select_for_update(skip_locked=True)
            .filter(enabled=True, next_run_at__lte=now)
            .order_by("next_run_at", "id")
            .only("id", "interval", "next_run_at")[:limit]
        )
        for rule in due:
            rule.next_run_at = next_slot(rule.next_run_at, rule.interval, now)
        AlertRule.objects.bulk_update(due, ["next_run_at"], batch_size=500)
    return [(rule.id, rule.interval) for rule in due]


def dispatch_due_rules(now: datetime | None = None, enqueue=None) -> int:
    """Enqueue an evaluation for every due rule; return how many were enqueued.

    `enqueue(rule_id, interval)` replaces the publishing (tests).
    """
    now = now or timezone.now()
    publish = partial(_enqueue_each, enqueue=enqueue) if enqueue else publish_evaluations
    limit, total = int(settings.MODELWATCH_DISPATCH_BATCH), 0
    while True:
        claimed = claim_due_rules(now, limit)
        transaction.on_commit(partial(publish, claimed))
        total += len(claimed)
        if len(claimed) < limit:
            return total


def _enqueue_each(claimed: list[tuple[int, int]], enqueue) -> None:
    for rule_id, interval in claimed:
        enqueue(rule_id, interval)


def publish_evaluations(claimed: list[tuple[int, int]]) -> None:
    """Publish a batch over one producer (a connection per message costs 2-3x more)."""
    from monitor_site.celery import app

    with app.producer_or_acquire() as producer:
        for rule_id, interval in claimed:
            enqueue_evaluation(rule_id, interval, producer)


def enqueue_evaluation(rule_id: int, interval: int, producer=None) -> None:
    """Publish one evaluation; it expires when the next cycle's would supersede it, so a
    backlog (workers down for a while) does not replay every missed cycle."""
    from alerts_app.tasks import evaluate_rule_task

    evaluate_rule_task.apply_async((rule_id,), expires=max(int(interval), 30),
                                   producer=producer)


def evaluate_due_rule(rule_id: int, now: datetime | None = None) -> CheckResult | None:
    """Evaluate one rule and apply the result to its alerts (None: rule gone or disabled)."""
    now = now or timezone.now()
    rule = AlertRule.objects.select_related("model").filter(id=rule_id, enabled=True).first()
    if rule is None:
        return None
    try:
        with transaction.atomic():
            result = evaluate_rule(rule, now, store=True)
            apply_result(rule, result, now)
            AlertRule.objects.filter(id=rule.id).update(last_run_at=now)
        return result
    except Exception as exc:  # one broken rule must not stop the others
        logger.exception("rule %s failed to evaluate", rule_id)
        return record_error(rule, exc, now)


def record_error(rule: AlertRule, exc: Exception, now: datetime) -> CheckResult:
    """Store an `error` result (alert state is left alone) and mark the run."""
    tail = traceback.format_exception_only(type(exc), exc)[-1].strip()
    result = CheckResult.objects.create(
        rule=rule, evaluated_at=now, status=CheckResult.Status.ERROR, passed=False,
        details={"error": tail[:2000], "type": type(exc).__name__},
    )
    AlertRule.objects.filter(id=rule.id).update(last_run_at=now)
    return result
