"""Time of a backtest (`alerts_app.backtest`) vs the same evaluations made one by one.

A 25-feature regression model on a scratch PostgreSQL database: a reference of 2,000
rows, then `--days` (30) of hourly partial profiles (`--rows` rows an hour, 200 by
default) written with `models_app.profiles.write_partials` and rolled up; three
features drift for a while in the last week. A `data_drift` rule evaluated hourly
(`window` 1h) is backtested over the 30 days (720 evaluations) and timed against 720
live `evaluate_rule(rule, t, store=False)` calls at the same moments, in the same run;
the two must agree on every result. Goal: the backtest under 5 s. Then the same rule
every 10 minutes over 5 days (720 evaluations, six to an hour bucket). Wall and CPU
time of this process are both printed: the machine is shared.

    .venv/bin/python bench/backtest.py [--days 30] [--rows 200] [--reuse]
"""

import argparse
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.harness import ADMIN_DSN, bench_database  # noqa: E402

DB = "mw_bench_backtest"
FEATURES = [f"f{i:02d}" for i in range(25)]
DRIFTING = FEATURES[:3]


def shift(hour: int, hours: int) -> float:
    """How far the drifting features move at `hour`: twice for a day in the last week."""
    since_end = hours - hour
    return 1.0 if 24 * 6 > since_end > 24 * 5 or 24 * 3 > since_end > 24 * 2 else 0.0


def hour_values(rng: np.random.Generator, size: int, moved: float) -> np.ndarray:
    values = rng.normal(0, 1, size=(size, len(FEATURES)))
    values[:, : len(DRIFTING)] += moved
    return values


def build(version, reference, start: datetime, hours: int, rows: int) -> None:
    from models_app import profiles

    rng = np.random.default_rng(3)
    specs = {name: profiles.feature_spec(version, name, reference) for name in FEATURES}
    for hour in range(hours):
        values = hour_values(rng, rows, shift(hour, hours))
        bucket = start + timedelta(hours=hour)
        seeds = rng.integers(2**62, size=len(FEATURES))
        written = [
            (bucket, profiles.profile_values(name, values[:, j].tolist(), specs[name], seed=int(s)))
            for j, (name, s) in enumerate(zip(FEATURES, seeds, strict=True))
        ]
        profiles.write_partials(version, reference, written)
    profiles.rollup_pending(limit=5000, max_rounds=10**6)


def open_store(args):
    """(model, end) of the store: rebuilt, or reused with `--reuse`."""
    dsn = ADMIN_DSN.rsplit("/", 1)[0] + f"/{DB}"
    if not args.reuse:
        dsn, _ = bench_database(DB)
    os.environ.update(
        {
            "DATABASE_URL": dsn,
            "DJANGO_SETTINGS_MODULE": "monitor_site.settings",
            "LOG_LEVEL": "WARNING",
        }
    )
    import django

    django.setup()
    from models_app import reference_io
    from models_app.models import Model, ModelVersion

    end = datetime(2026, 6, 30, tzinfo=UTC)
    if args.reuse:
        return Model.objects.get(name="bench-backtest"), end
    model = Model.objects.create(name="bench-backtest", task="regression")
    version = ModelVersion.objects.create(model=model, version="1")
    sample = hour_values(np.random.default_rng(1), 2000, 0.0)
    reference = reference_io.reference_from_records(
        version, [dict(zip(FEATURES, row.tolist(), strict=True)) for row in sample]
    )
    hours = args.days * 24 + 2
    build(version, reference, end - timedelta(hours=hours - 1), hours, args.rows)
    return model, end


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--rows", type=int, default=200, help="rows an hour")
    parser.add_argument("--reuse", action="store_true", help="reuse the store of a last run")
    args = parser.parse_args()
    began = time.perf_counter()
    model, end = open_store(args)
    print(
        f"{len(FEATURES)} features, {args.rows} rows an hour over {args.days} days: store "
        f"{'reused' if args.reuse else 'built'} in {time.perf_counter() - began:.0f} s"
    )
    from django.db import connection

    from alerts_app import backtest
    from alerts_app.evaluate import evaluate_rule
    from alerts_app.models import AlertRule

    print(f"load average before: {os.getloadavg()[0]:.1f}")
    with connection.cursor() as cursor:  # warm: the first query of a connection costs more
        cursor.execute("SELECT 1")
    for interval, days in ((3600, args.days), (600, max(1, args.days // 6))):
        rule = AlertRule(
            name="drift",
            model=model,
            kind="data_drift",
            interval=interval,
            pending_for=7200,
            config={"window": 3600, "drift_share": 0.12},
        )
        measure(rule, days, end, evaluate_rule, backtest)


def clocks() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def measure(rule, days: int, end, evaluate_rule, backtest) -> None:
    """Backtest `rule` over `days`, then the same evaluations one by one; print both."""
    times = backtest.evaluation_times(end, rule.interval, days)
    wall, cpu = clocks()
    answer = backtest.backtest(rule, days, end)
    replay_s, replay_cpu = clocks()[0] - wall, clocks()[1] - cpu
    wall, cpu = clocks()
    live = [evaluate_rule(rule, t, store=False) for t in times]
    live_s, live_cpu = clocks()[0] - wall, clocks()[1] - cpu
    assert [p["status"] for p in answer["series"]] == [r.status for r in live]
    assert [p["value"] for p in answer["series"]] == [r.value for r in live]
    print(
        f"\ninterval {rule.interval} s over {days} days: {answer['evaluations']} evaluations; "
        f"the rule {answer['summary']}"
    )
    print(f"  backtest                          : {replay_s:6.2f} s  (CPU {replay_cpu:6.2f} s)")
    print(f"  {len(times)} x evaluate_rule(store=False) : {live_s:6.2f} s  (CPU {live_cpu:6.2f} s)")
    print(
        f"  ratio = {live_s / replay_s:.2f}x wall, {live_cpu / replay_cpu:.2f}x CPU "
        "(goal: 720 hourly evaluations < 5 s); every result agrees"
    )


if __name__ == "__main__":
    main()
