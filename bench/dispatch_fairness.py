"""How far back one busy model pushes every other model's rules, and the dispatcher's cost.

A scratch PostgreSQL database gets a "busy" model with 1,000 due rules (created in code,
past MODELWATCH_MAX_RULES_PER_MODEL, as before that limit) whose slots are older than
those of 99 quiet models with one due rule each. One dispatcher cycle is captured (not
published) and timed; then a second cycle runs while none of the first cycle's rules has
been evaluated (a backlog). Prints, per cycle: seconds, rules enqueued (busy / quiet), and
the message (of MODELWATCH_DISPATCH_CHUNK rules) that carries the last quiet rule, against
the plain oldest-first order the dispatcher used before.

    .venv/bin/python bench/dispatch_fairness.py
"""

import os
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.harness import bench_database  # noqa: E402


def main() -> None:
    _, env = bench_database("mw_bench_fairness")
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")})
    import django

    django.setup()
    from django.conf import settings
    from django.db import transaction
    from django.utils import timezone

    from alerts_app import schedule
    from alerts_app.models import AlertRule
    from models_app.models import Model

    now = timezone.now()
    busy = Model.objects.create(name="busy", task="binary_classification")
    quiet = Model.objects.bulk_create(
        Model(name=f"quiet{i}", task="binary_classification") for i in range(99)
    )
    AlertRule.objects.bulk_create(
        AlertRule(
            model=busy,
            name=f"b{i}",
            kind="data_drift",
            interval=60,
            next_run_at=now - timedelta(minutes=5),
        )
        for i in range(1000)
    )
    AlertRule.objects.bulk_create(
        AlertRule(
            model=model,
            name="q",
            kind="data_drift",
            interval=60,
            next_run_at=now - timedelta(seconds=1),
        )
        for model in quiet
    )
    quiet_ids = set(AlertRule.objects.exclude(model=busy).values_list("id", flat=True))
    chunk = settings.MODELWATCH_DISPATCH_CHUNK
    old_order = list(
        AlertRule.objects.filter(next_run_at__lte=now)
        .order_by("next_run_at", "id")
        .values_list("id", flat=True)
    )
    old_last = max(i for i, rule_id in enumerate(old_order) if rule_id in quiet_ids)
    print(
        f"before (oldest first): {len(old_order)} rules enqueued, the last quiet rule in "
        f"message {old_last // chunk + 1} of {-(-len(old_order) // chunk)}"
    )
    for cycle, at in enumerate([now, now + timedelta(seconds=30)], start=1):
        published = []
        started = time.perf_counter()
        with transaction.atomic():  # on_commit runs the capture at the end
            schedule.dispatch_due_rules(at, publish=published.append)
        seconds = time.perf_counter() - started
        order = [rule_id for batch in published for rule_id, _, _ in batch]
        n_quiet = sum(rule_id in quiet_ids for rule_id in order)
        last = max((i for i, r in enumerate(order) if r in quiet_ids), default=None)
        where = f"message {last // chunk + 1}" if last is not None else "none due"
        print(
            f"cycle {cycle}: {seconds:.3f} s, {len(order)} enqueued ({len(order) - n_quiet} "
            f"busy, {n_quiet} quiet), the last quiet rule in {where}"
        )


if __name__ == "__main__":
    main()
