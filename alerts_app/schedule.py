"""The schedule of rule evaluations: claim the rules that are due, once, and have workers
evaluate them (the dispatcher).

`dispatch_due_rules()` runs every 30 s from beat (any number of dispatchers may run).
Claiming is one transaction: `SELECT ... FOR UPDATE SKIP LOCKED` over the due rules,
then each `next_run_at` moves to the next slot of its cadence. A concurrent dispatcher
skips the locked rows and, once we commit, no longer sees them as due, so each rule is
enqueued exactly once per cycle. After the commit the claims are published in chunks
(`MODELWATCH_DISPATCH_CHUNK` rules per message: a message costs a worker more than a
small rule does), each rule with its slot (the `next_run_at` it was claimed for).

`evaluate_due_rule(rule_id, slot=...)` (the worker side) locks the rule, skips it when
that slot was already evaluated (a redelivered message), then evaluates, stores the
result, moves the alerts and writes the notification outbox in one transaction: a worker
killed halfway leaves nothing behind, and the redelivered message (`acks_late`) starts
over with the rules it had not finished. A rule whose evaluation raises records an
`error` result and keeps its alert state; the next rule of the chunk goes on.
"""

import logging
import math
import traceback
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from functools import partial
from itertools import zip_longest

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, DurationField, ExpressionWrapper, F, Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from alerts_app.evaluate import evaluate_rule
from alerts_app.lifecycle import apply_result
from alerts_app.models import AlertRule, CheckResult
from monitor_site import enqueue
from monitor_site.celery import app
from monitor_site.metrics import RULE_EVALUATION_SECONDS

logger = logging.getLogger(__name__)
Claim = tuple[int, int, datetime]  # (rule id, interval, slot)
EVALUATE_TASK = "alerts_app.tasks.evaluate_rules_task"


def next_slot(scheduled: datetime, interval: int, now: datetime) -> datetime:
    """The first `scheduled + k·interval` after `now`: steady cadence, missed runs skipped."""
    step = max(int(interval), 1)
    missed = max(math.floor((now - scheduled).total_seconds() / step), 0)
    return scheduled + timedelta(seconds=step * (missed + 1))


def claim_due_rules(now: datetime, limit: int, taken: Counter | None = None) -> list[Claim]:
    """Lock up to `limit` due rules nobody else holds and reschedule them, at most
    MODELWATCH_DISPATCH_PER_MODEL per model (counted in `taken` across the calls of one
    cycle); the claims come in `fair_order`."""
    return fair_order(claim_fairly(now, limit, Counter() if taken is None else taken)[0])


def claim_fairly(now: datetime, limit: int, taken: Counter) -> tuple[list[tuple[int, Claim]], int]:
    """([(model id, claim)], rows looked at). A rule over its model's share stays due
    (its `next_run_at` is not moved): it is among the oldest, so first, next cycle."""
    share = max(int(settings.MODELWATCH_DISPATCH_PER_MODEL), 1)
    full = [model_id for model_id, count in taken.items() if count >= share]
    with transaction.atomic():
        due = list(
            AlertRule.objects.select_for_update(skip_locked=True)
            .filter(enabled=True, next_run_at__lte=now)
            .exclude(model_id__in=full)
            .order_by("next_run_at", "id")
            .only("id", "model_id", "interval", "next_run_at")[:limit]
        )
        claimed, claims = [], []
        for rule in due:
            if taken[rule.model_id] >= share:
                continue
            taken[rule.model_id] += 1
            claimed.append(rule)
            claims.append((rule.model_id, (rule.id, rule.interval, rule.next_run_at)))
            rule.next_run_at = next_slot(rule.next_run_at, rule.interval, now)
        AlertRule.objects.bulk_update(claimed, ["next_run_at"], batch_size=500)
    return claims, len(due)


def fair_order(claims: list[tuple[int, Claim]]) -> list[Claim]:
    """Round-robin over the models, in the order of their oldest due rule: every model's
    first rule, then every model's second, … so that the first message of a cycle
    carries one rule of each of the first models, whatever one model has due."""
    queues: dict[int, list[Claim]] = defaultdict(list)
    for model_id, claim in claims:
        queues[model_id].append(claim)
    rounds = zip_longest(*queues.values())
    return [claim for round_ in rounds for claim in round_ if claim is not None]


def in_flight(now: datetime) -> Counter:
    """Rules per model that an earlier cycle claimed and no worker has evaluated yet.

    A claim moves `next_run_at` past the cycle's time to the next slot of the cadence and
    an evaluation sets `last_run_at` to a later time, so a rule evaluated since its last
    claim has `last_run_at >= next_run_at - interval`. Once `next_run_at` has passed, the
    rule is due again and no longer counts (its message has expired by then): a lost
    message delays a model's rules by one interval at most.
    """
    rows = (
        AlertRule.objects.filter(enabled=True, next_run_at__gt=now)
        .filter(Q(last_run_at__isnull=True) | Q(last_run_at__lt=F("next_run_at") - period()))
        .values_list("model_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    return Counter(dict(rows))


def period() -> ExpressionWrapper:
    """A rule's `interval` as a duration in SQL: PostgreSQL multiplies an interval, SQLite
    stores durations as microseconds."""
    if connection.vendor == "postgresql":
        return ExpressionWrapper(F("interval") * timedelta(seconds=1), output_field=DurationField())
    return ExpressionWrapper(F("interval") * 1_000_000, output_field=DurationField())


def dispatch_due_rules(now: datetime | None = None, publish=None) -> int:
    """Enqueue an evaluation for every due rule, but at most MODELWATCH_DISPATCH_PER_MODEL
    rules of a model in flight (enqueued, not yet evaluated); return how many were
    enqueued.

    `publish(claims)` replaces the publishing (tests).
    """
    now = now or timezone.now()
    publish = publish or publish_evaluations
    limit, claims, taken = int(settings.MODELWATCH_DISPATCH_BATCH), [], in_flight(now)
    try:
        while True:  # batches of `limit` rows, each claimed in its own transaction
            claimed, looked_at = claim_fairly(now, limit, taken)
            claims += claimed
            if looked_at < limit:
                return len(claims)
    finally:  # one fair order over the whole cycle; what was claimed is published
        transaction.on_commit(partial(publish, fair_order(claims)))


def chunks(claimed: list[Claim], size: int) -> list[list[Claim]]:
    size = max(int(size), 1)
    return [claimed[start : start + size] for start in range(0, len(claimed), size)]


def publish_evaluations(claimed: list[Claim]) -> None:
    """Publish the claims in chunks, over one producer (a connection per message costs
    2-3x more)."""
    with app.producer_or_acquire() as producer:
        for chunk in chunks(claimed, settings.MODELWATCH_DISPATCH_CHUNK):
            enqueue_evaluations(chunk, producer)


def enqueue_evaluations(chunk: list[Claim], producer=None) -> None:
    """One message for these rules; it expires when the next cycle's would supersede it,
    so a backlog (workers down for a while) does not replay every missed cycle."""
    items = [[rule_id, slot.isoformat()] for rule_id, _, slot in chunk]
    expires = max(min(interval for _, interval, _ in chunk), 30)
    enqueue.send(EVALUATE_TASK, (items,), expires=expires, producer=producer)


def evaluate_rules(items: list) -> list[CheckResult | None]:
    """Evaluate each `[rule_id, slot]` of a message, one transaction each."""
    return [
        evaluate_due_rule(rule_id, slot=parse_datetime(slot) if slot else None)
        for rule_id, slot in items
    ]


def evaluate_due_rule(
    rule_id: int, now: datetime | None = None, slot: datetime | None = None
) -> CheckResult | None:
    """Evaluate one rule and apply the result to its alerts.

    None: the rule is gone or disabled, or `slot` was already evaluated.
    """
    now = now or timezone.now()
    try:
        with transaction.atomic():
            rule = lock_rule(rule_id, slot)
            return run_rule(rule, now, slot) if rule is not None else None
    except Exception as exc:  # one broken rule must not stop the others
        logger.exception("rule %s failed to evaluate", rule_id)
        rule = AlertRule.objects.select_related("model").filter(id=rule_id).first()
        return record_error(rule, exc, now, slot) if rule is not None else None


def lock_rule(rule_id: int, slot: datetime | None) -> AlertRule | None:
    """The enabled rule, locked until commit (a duplicate message waits here, then sees
    its slot done); None if there is nothing to do."""
    rule = (
        AlertRule.objects.select_for_update(of=("self",))
        .select_related("model")
        .filter(id=rule_id, enabled=True)
        .first()
    )
    if rule is None or (slot and rule.last_slot and rule.last_slot >= slot):
        return None
    return rule


def run_rule(rule: AlertRule, now: datetime, slot: datetime | None) -> CheckResult:
    with RULE_EVALUATION_SECONDS.labels(rule.kind).time():
        result = evaluate_rule(rule, now, store=True)
    apply_result(rule, result, now)
    mark_run(rule, now, slot)
    return result


def mark_run(rule: AlertRule, now: datetime, slot: datetime | None) -> None:
    fields = {"last_run_at": now} | ({"last_slot": slot} if slot else {})
    AlertRule.objects.filter(id=rule.id).update(**fields)


def record_error(
    rule: AlertRule, exc: Exception, now: datetime, slot: datetime | None = None
) -> CheckResult:
    """Store an `error` result (alert state is left alone) and mark the run."""
    tail = traceback.format_exception_only(type(exc), exc)[-1].strip()
    result = CheckResult.objects.create(
        rule=rule,
        evaluated_at=now,
        status=CheckResult.Status.ERROR,
        passed=False,
        details={"error": tail[:2000], "type": type(exc).__name__},
    )
    mark_run(rule, now, slot)
    return result
