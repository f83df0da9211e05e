"""One full evaluation cycle of 1,000 rules over 100 models on 2 worker processes.

A scratch PostgreSQL database gets 100 binary classifiers (5 numeric + 2 categorical
features, a 500-row reference, 600 predictions with latency, errors and labels in the last
hour, merged into hourly profiles by the rollup, and a production `loss` series) and
10 rules per model over 10 kinds (threshold, change, anomaly, data and prediction drift,
data quality, performance, latency, error rate, no data). Then, in the same run:

1. baseline: every rule evaluated serially in this process (`evaluate_due_rule`);
2. the real path: `dispatch_due_rules()` enqueues all 1,000 rules on Redis and a
   `celery worker --concurrency 2` evaluates them; the clock stops when the 1,000th
   result of the cycle is stored.

3. with `--policies N` (default 10): the same cycle again (alerts cleared, so that the
   same alerts fire) after N notification policies were added (by model, tags, severity
   and kind, with `continue`, grouped by model or by model and severity, and a
   catch-all default): the rules have no channels of their own, so every firing alert
   also joins its incidents in the evaluating transaction. The cycle of 2. is its
   baseline, measured in the same run. Then the incidents' first notifications are
   flushed in this process (timed).

Prints seconds and rules/s of both, their ratio, the per-kind serial cost, the
statuses and the incidents. Goal: the cycle within 30 s on 2 cores.

    CELERY_BROKER_URL=redis://127.0.0.1:6379/5 .venv/bin/python bench/dispatch.py
"""

import argparse
import os
import subprocess
import sys
import time
import uuid
from collections import Counter, defaultdict
from datetime import timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.harness import bench_database  # noqa: E402

CATEGORIES = ["north", "south", "east", "west"]
RULES = {
    "metric_threshold": {"metric": "loss", "window": "1h", "threshold": 0.8},
    "metric_change": {
        "metric": "loss",
        "window": "30m",
        "baseline_window": "30m",
        "max_change_pct": 50,
    },
    "metric_anomaly": {"metric": "loss", "lookback": 30},
    "data_drift": {"method": "auto", "window": "1h", "min_samples": 50},
    "prediction_drift": {"window": "1h", "min_samples": 50},
    "data_quality": {"window": "1h", "max_missing_rate": 0.05, "min_samples": 50},
    "performance": {"metric": "accuracy", "threshold": 0.7, "window": "1h", "min_labels": 50},
    "latency": {"percentile": 95, "threshold_ms": 40, "window": "30m"},
    "error_rate": {"max_rate": 0.02, "window": "30m"},
    "no_data": {"window": "10m"},
}


def setup_django(env: dict) -> None:
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")})
    import django

    django.setup()


def feature_rows(rng, n: int, shift: float, missing: float) -> list[dict]:
    numbers = rng.normal(loc=shift, size=(n, 5)).round(5)
    rows = []
    for i in range(n):
        row = {
            f"num_{j}": (None if rng.uniform() < missing else float(numbers[i, j]))
            for j in range(5)
        }
        row |= {f"cat_{j}": CATEGORIES[int(rng.integers(0, 4 - j % 2))] for j in range(2)}
        rows.append(row)
    return rows


def seed_model(index: int, now) -> None:
    """One model: reference, an hour of predictions (some drifted), a loss series."""
    from models_app import ingest, validation
    from models_app.models import Model, ModelVersion
    from models_app.reference_io import reference_from_records

    rng = np.random.default_rng(index)
    model = Model.objects.create(
        name=f"model-{index:03d}",
        task="binary_classification",
        features=[{"name": f"num_{j}", "type": "numeric"} for j in range(5)]
        + [{"name": f"cat_{j}", "type": "categorical"} for j in range(2)],
    )
    version = ModelVersion.objects.create(model=model, version="1")
    reference = feature_rows(rng, 500, 0.0, 0.0)
    scores = rng.uniform(size=500).tolist()  # plain floats, as JSON would bring them
    reference_from_records(
        version,
        [
            f | {"prediction": int(s > 0.5), "label": int(s > 0.4), "scores": {"0": 1 - s, "1": s}}
            for f, s in zip(reference, scores, strict=True)
        ],
    )
    shift = 0.5 if index % 3 == 0 else 0.0
    rows = []
    for i, features in enumerate(feature_rows(rng, 600, shift, 0.02 * (index % 4))):
        score = float(rng.uniform())
        rows.append(
            validation.prediction_record(
                {
                    "id": uuid.uuid4().hex,
                    "timestamp": (now - timedelta(seconds=5 * i)).isoformat(),
                    "features": features,
                    "prediction": int(score > 0.5),
                    "scores": {"0": 1 - score, "1": score},
                    "label": int(score > 0.45),
                    "latency_ms": float(rng.gamma(4, 6)),
                    "error": "boom" if i % 60 == 0 else None,
                },
                {},
                now,
            )
        )
    ingest.record_predictions(version, rows)
    losses = 0.5 + 0.1 * rng.normal(size=90)
    ingest.record_metrics(
        version,
        [
            validation.metric_record(
                {
                    "name": "loss",
                    "value": float(v),
                    "timestamp": (now - timedelta(minutes=89 - i)).isoformat(),
                },
                {},
                now,
            )
            for i, v in enumerate(losses)
        ],
    )


def seed(models: int) -> None:
    from django.utils import timezone

    from alerts_app.models import AlertRule
    from alerts_app.rule_config import validate_config
    from models_app.models import Model
    from models_app.profiles import rollup_pending

    now = timezone.now()
    for index in range(models):
        seed_model(index, now)
    rollup_pending()
    AlertRule.objects.bulk_create(
        AlertRule(
            model=model,
            name=f"{kind} of {model.name}",
            kind=kind,
            interval=3600,
            repeat_interval=0,
            config=validate_config(kind, config),
            next_run_at=now,
        )
        for model in Model.objects.all()
        for kind, config in RULES.items()
    )


def seed_policies(count: int) -> None:
    """`count` policies: a catch-all default plus policies by model, tags, severity and
    kind (some with `continue`), all to one webhook channel (never sent: flushed only)."""
    from alerts_app.models import Channel, NotificationPolicy
    from models_app.models import Model

    if count <= 0:
        return
    names = list(Model.objects.order_by("name").values_list("name", flat=True))
    for index, name in enumerate(names):
        Model.objects.filter(name=name).update(tags=["even" if index % 2 else "odd"])
    channel = Channel.objects.create(
        name="bench-hook", kind="webhook", config={"url": "https://hooks.example.com/bench"}
    )
    shapes = [
        {"matchers": {"severity": ["critical"]}, "group_by": ["model", "severity"]},
        {"matchers": {"kind": ["data_drift", "prediction_drift"]}, "continue_matching": True},
        {"matchers": {"tags": ["odd"]}, "group_by": ["model", "kind"]},
        {"matchers": {"kind": ["no_data"]}},
    ]
    for i in range(count - 1):
        fields = (
            shapes[i % len(shapes)]
            if i < len(shapes)
            else {"matchers": {"model": names[i::count][:10]}}
        )
        policy = NotificationPolicy.objects.create(name=f"policy-{i}", **fields)
        policy.channels.set([channel])
    default = NotificationPolicy.objects.create(name="default", matchers={})
    default.channels.set([channel])


def clear_alerts() -> None:
    from alerts_app.models import Alert, Incident

    Incident.objects.all().delete()
    Alert.objects.all().delete()


def flush_incidents() -> tuple[int, int, float]:
    """(incidents, their alerts, seconds to flush every first notification)."""
    from django.utils import timezone

    from alerts_app.incidents import flush_due_incidents
    from alerts_app.models import Incident, IncidentAlert

    start = time.perf_counter()
    flush_due_incidents(timezone.now() + timedelta(minutes=1))
    took = time.perf_counter() - start
    return Incident.objects.count(), IncidentAlert.objects.count(), took


def serial_baseline() -> tuple[float, dict, Counter]:
    """Every rule evaluated in this process, one after the other."""
    from alerts_app.models import AlertRule
    from alerts_app.schedule import evaluate_due_rule

    per_kind, statuses = defaultdict(list), Counter()
    start = time.perf_counter()
    for rule_id, kind in AlertRule.objects.values_list("id", "kind"):
        began = time.perf_counter()
        statuses[str(evaluate_due_rule(rule_id).status)] += 1
        per_kind[kind].append(time.perf_counter() - began)
    return time.perf_counter() - start, per_kind, statuses


def start_workers(env: dict, queue: str, concurrency: int) -> subprocess.Popen:
    log = open(ROOT / "var" / "bench-dispatch-worker.log", "wb")  # noqa: SIM115
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "monitor_site",
            "worker",
            "-Q",
            queue,
            "-c",
            str(concurrency),
            "-n",
            f"{queue}@localhost",
            "--without-gossip",
            "--without-mingle",
            "--loglevel=WARNING",
        ],
        cwd=ROOT,
        # its own queue for every kind of work (docs/scaling.md "Queues"): the tasks it
        # sends (deliveries, incident flushes) stay with the bench
        env=env
        | {
            "CELERY_TASK_DEFAULT_QUEUE": queue,
            "MODELWATCH_QUEUE_INGEST": queue,
            "MODELWATCH_QUEUE_EVALUATE": queue,
            "MODELWATCH_QUEUE_DELIVER": queue,
        },
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def wait_ready(queue: str, worker: subprocess.Popen) -> None:
    from monitor_site.celery import app

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and worker.poll() is None:
        if app.control.ping(destination=[f"{queue}@localhost"], timeout=1.0):
            return
    raise RuntimeError("the bench worker did not start (see var/bench-dispatch-worker.log)")


def celery_cycle(queue: str, expected: int, timeout: float) -> tuple[float, Counter]:
    """Dispatch every rule and wait for `expected` results of this cycle."""
    from django.conf import settings
    from django.utils import timezone

    from alerts_app.models import AlertRule, CheckResult
    from alerts_app.schedule import dispatch_due_rules
    from monitor_site.celery import app

    app.conf.task_default_queue = queue
    app.conf.task_routes = {name: {"queue": queue} for name in settings.TASK_QUEUES}
    app.amqp.flush_routes()
    app.amqp.__dict__.pop("router", None)  # Celery caches its router: rebuilt from the table
    begin = timezone.now()
    AlertRule.objects.update(next_run_at=begin)
    start = time.perf_counter()
    dispatched = dispatch_due_rules()
    assert dispatched == expected, dispatched
    print(
        f"dispatcher: claimed and enqueued {dispatched} rules in "
        f"{time.perf_counter() - start:.2f} s"
    )
    results = CheckResult.objects.filter(evaluated_at__gte=begin)
    while results.count() < expected:
        if time.perf_counter() - start > timeout:
            raise RuntimeError(f"only {results.count()} of {expected} in {timeout}s")
        time.sleep(0.1)
    elapsed = time.perf_counter() - start
    return elapsed, Counter(results.values_list("status", flat=True))


def report(
    serial: float,
    per_kind: dict,
    serial_statuses: Counter,
    cycle: float,
    statuses: Counter,
    rules: int,
) -> None:
    print(f"rules: {rules}")
    print(f"serial, 1 process:            {serial:7.2f} s  {rules / serial:8.1f} rules/s")
    print(f"celery, dispatcher + 2 procs: {cycle:7.2f} s  {rules / cycle:8.1f} rules/s")
    print(f"ratio celery / serial throughput: {serial / cycle:.2f}x")
    print(f"goal: cycle <= 30 s -> {'met' if cycle <= 30 else 'NOT met'}")
    print("serial cost per kind (ms, mean):")
    for kind, times in sorted(per_kind.items()):
        print(f"  {kind:18s} {1000 * np.mean(times):7.1f}")
    print(f"statuses (serial): {dict(serial_statuses)}")
    print(f"statuses (celery): {dict(statuses)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--policies", type=int, default=10)
    parser.add_argument("--database", default="mw_bench_dispatch", help="scratch database")
    args = parser.parse_args()
    if not os.environ.get("CELERY_BROKER_URL", "").startswith("redis://"):
        sys.exit("set CELERY_BROKER_URL=redis://... (a Redis database of your own)")
    _, env = bench_database(args.database)
    setup_django(env)
    t0 = time.perf_counter()
    seed(args.models)
    print(f"seeded {args.models} models in {time.perf_counter() - t0:.1f} s")
    rules = args.models * len(RULES)
    serial, per_kind, serial_statuses = serial_baseline()
    queue = f"bench-{uuid.uuid4().hex[:6]}"
    worker = start_workers(env | {"LOG_LEVEL": "WARNING"}, queue, args.concurrency)
    try:
        wait_ready(queue, worker)
        clear_alerts()
        plain, statuses = celery_cycle(queue, rules, args.timeout)
        routed = None
        if args.policies > 0:
            clear_alerts()  # the same alerts fire again, now routed into incidents
            seed_policies(args.policies)
            routed, statuses = celery_cycle(queue, rules, args.timeout)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    report(serial, per_kind, serial_statuses, routed or plain, statuses, rules)
    if routed is not None:
        incidents, members, took = flush_incidents()
        print(
            f"celery cycle without policies: {plain:.2f} s; with {args.policies}: "
            f"{routed:.2f} s (x{routed / plain:.2f})"
        )
        print(
            f"incidents: {incidents} holding {members} alert memberships; their first "
            f"notifications flushed in {took:.2f} s (in process)"
        )


if __name__ == "__main__":
    main()
