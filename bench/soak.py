"""Soak: minutes of mixed production traffic on PostgreSQL, and what drifted meanwhile.

The production shape on one machine: gunicorn with 2 workers, 2 `celery worker`
processes (concurrency 1) and `celery beat`, a scratch PostgreSQL database
(bench/harness.py) and Redis. 20 models seeded as bench/dispatch.py does (reference,
an hour of predictions, a loss series) carry 10 rules each, 200 rules due every minute
(staggered over the minute). Meanwhile:

- 4 client processes ingest at a steady rate through the SDK (retries off, so that every
  failure counts): each second, a batch of predictions and a batch of metrics;
- 1 process polls the dashboards as a logged-in user: a model page and its figures.

Reported at the end: request latency p50/p99 per kind, errors, rows sent vs stored, RSS of
the web and worker processes after warm-up vs at the end (and their ratio), dispatch lag
(evaluation start - the rule's slot, which includes up to one dispatcher interval) and
whether every rule ran once per minute. Goals: 0 errors, sent == stored, RSS growth
under 10%. The rules' windows are 2 minutes (not the hour of bench/dispatch.py), so that
after the warm-up every check reads a steady amount of data: RSS growth from there on is
growth, not a window filling up.

    CELERY_BROKER_URL=redis://127.0.0.1:6379/8 .venv/bin/python bench/soak.py --minutes 10
"""

import argparse
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "modelwatch"))
from bench.harness import Server, bench_database  # noqa: E402

MODELS, RULE_INTERVAL = 20, 60
WINDOW = "2m"  # windows fill during the warm-up: then each check reads a steady amount
CLIENTS, PREDICTIONS, METRICS = 4, 50, 10
FIGURES = ("timeline", "serving", "drift", "performance")


def setup_django(env: dict) -> None:
    os.environ.update(env)  # the same SECRET_KEY as the server: the poller's session
    import django

    django.setup()


def seed(start) -> dict:
    """20 models with data and 200 rules (slots staggered over a minute); the tokens."""
    from django.contrib.auth import get_user_model
    from django.db import connections
    from rest_framework.authtoken.models import Token

    from alerts_app.models import AlertRule
    from alerts_app.rule_config import validate_config
    from bench.dispatch import RULES, seed_model
    from models_app.models import Model
    from models_app.profiles import rollup_pending

    for index in range(MODELS):
        seed_model(index, start)
    rollup_pending()
    rules = [
        (model, kind, short_windows(config))
        for model in Model.objects.all()
        for kind, config in RULES.items()
    ]
    AlertRule.objects.bulk_create(
        AlertRule(
            model=model,
            name=f"{kind} of {model.name}",
            kind=kind,
            repeat_interval=0,
            interval=RULE_INTERVAL,
            config=validate_config(kind, config),
            next_run_at=start + timedelta(seconds=RULE_INTERVAL * i / len(rules)),
        )
        for i, (model, kind, config) in enumerate(rules)
    )
    user = get_user_model().objects.create_superuser("soak", "soak@example.com", "pw-soak-123")
    cast = {
        "token": Token.objects.create(user=user).key,
        "session": session_of(user),
        "models": list(Model.objects.values_list("name", flat=True)),
    }
    connections.close_all()
    return cast


def short_windows(config: dict) -> dict:
    return config | {key: WINDOW for key in ("window", "baseline_window") if key in config}


def session_of(user) -> str:
    """A logged-in browser session for `user` (the dashboard poller's cookie)."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session[SESSION_KEY], session[HASH_SESSION_KEY] = str(user.pk), user.get_session_auth_hash()
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session.create()
    return session.session_key


def prediction_batch(rng, client: int, tick: int) -> list[dict]:
    rows = []
    for i in range(PREDICTIONS):
        score = float(rng.uniform())
        features = {f"num_{j}": round(float(rng.normal()), 4) for j in range(5)}
        features |= {
            f"cat_{j}": ["north", "south", "east", "west"][int(rng.integers(0, 4))]
            for j in range(2)
        }
        rows.append(
            {
                "id": f"c{client}-{tick}-{i}",
                "features": features,
                "prediction": int(score > 0.5),
                "scores": {"0": 1 - score, "1": score},
                "label": int(score > 0.45),
                "latency_ms": round(float(rng.gamma(4, 6)), 2),
            }
        )
    return rows


def timed_send(send, records: list, kind: str, log: dict) -> None:
    """Send one batch; note its latency, and what was accepted or why it failed."""
    start = time.perf_counter()
    try:
        log["sent"][kind] += send(records)
    except Exception as exc:  # counted, and the soak goes on
        log["errors"].append(f"{kind}: {exc}"[:300])
    log["timings"].append((kind, time.perf_counter() - start))


def ingest_client(url: str, token: str, models: list, client: int, seconds: float, out) -> None:
    """One client process: a prediction and a metric batch each second, on the clock."""
    import numpy as np

    from modelwatch import Client

    rng, log = np.random.default_rng(client), {"timings": [], "errors": [], "sent": Counter()}
    began = time.monotonic()
    with Client(url, token, max_retries=0, timeout=60) as mw:
        for tick in range(int(seconds)):
            time.sleep(max(0.0, began + tick - time.monotonic()))
            handle = mw.model(models[(client + tick * CLIENTS) % len(models)])
            metrics = [
                {"name": "loss", "value": float(rng.normal(0.5, 0.1)), "step": tick}
                for _ in range(METRICS)
            ]
            timed_send(
                handle.log_predictions, prediction_batch(rng, client, tick), "predictions", log
            )
            timed_send(handle.log_metrics, metrics, "metrics", log)
    out.put(log | {"sent": dict(log["sent"])})


def dashboard_client(url: str, session: str, models: list, seconds: float, out) -> None:
    """Poll a model page and its figures, as open dashboards refresh."""
    import requests

    timings, errors, http = [], [], requests.Session()
    http.cookies.set("sessionid", session)
    deadline, tick = time.monotonic() + seconds, 0
    while time.monotonic() < deadline:
        name = models[tick % len(models)]
        paths = [("page", f"/models/{name}/?range=1h")] + [
            ("figure", f"/models/{name}/figures/{figure}.json?range=1h") for figure in FIGURES
        ]
        for kind, path in paths:
            start = time.perf_counter()
            try:
                status = http.get(url + path, timeout=60).status_code
                if status != 200:
                    errors.append(f"{path}: {status}")
            except requests.RequestException as exc:
                errors.append(f"{path}: {exc}"[:300])
            timings.append((kind, time.perf_counter() - start))
        tick += 1
        time.sleep(1.0)
    out.put({"timings": timings, "errors": errors, "sent": {}})


def rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def memory(server: Server, workers: list) -> dict[str, int]:
    """RSS (kB) of the web workers and of the celery workers (main processes and pools)."""
    celery = [pid for w in workers for pid in [w.pid, *children(w.pid)]]
    return {
        "web": sum(rss_kb(p) for p in server.worker_pids()),
        "worker": sum(rss_kb(p) for p in celery),
        "processes": {pid: rss_kb(pid) for pid in [*server.worker_pids(), *celery]},
    }


def sample_memory(server: Server, workers: list, procs: list, every: float = 30.0) -> list:
    """RSS every `every` seconds while the ingestion clients run."""
    samples = []
    while any(p.is_alive() for p in procs):
        samples.append(memory(server, workers))
        deadline = time.monotonic() + every
        while time.monotonic() < deadline and any(p.is_alive() for p in procs):
            time.sleep(1)
    return samples


def celery(env: dict, name: str, *args: str) -> subprocess.Popen:
    log = open(ROOT / "var" / f"soak-{name}.log", "wb")  # noqa: SIM115 - lives with the process
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "monitor_site", *args],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def start_celery(env: dict, queue: str) -> list[subprocess.Popen]:
    workers = [
        celery(
            env,
            f"worker-{i}",
            "worker",
            "-n",
            f"{queue}-{i}@localhost",
            "-c",
            "1",
            "--without-gossip",
            "--without-mingle",
            "--loglevel=WARNING",
        )
        for i in (1, 2)
    ]
    schedule = os.path.join(tempfile.mkdtemp(prefix="mw-soak-"), "schedule")
    return [
        *workers,
        celery(
            env,
            "beat",
            "beat",
            "--loglevel=WARNING",
            "-S",
            "celery.beat:PersistentScheduler",
            "-s",
            schedule,
        ),
    ]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def latency_report(results: list[dict]) -> None:
    by_kind: dict[str, list[float]] = {}
    for result in results:
        for kind, seconds in result["timings"]:
            by_kind.setdefault(kind, []).append(seconds * 1000)
    print("request latency (ms):")
    for kind, values in sorted(by_kind.items()):
        p50, p99 = percentile(values, 0.5), percentile(values, 0.99)
        print(
            f"  {kind:12s} n={len(values):6d}  p50 {p50:7.1f}  p99 {p99:7.1f}  "
            f"max {max(values):7.1f}  p99/p50 {p99 / p50:5.1f}x"
        )


def stored_rows(before: dict) -> dict:
    from models_app.models import MetricPoint, Prediction

    return {
        "predictions": Prediction.objects.count() - before["predictions"],
        "metrics": MetricPoint.objects.count() - before["metrics"],
    }


def dispatch_report(start, end) -> None:
    """Lag of each evaluation behind its rule's slot; evaluations per rule per minute."""
    from alerts_app.models import AlertRule, CheckResult

    offsets = {
        rule_id: (slot - start).total_seconds() % RULE_INTERVAL
        for rule_id, slot in AlertRule.objects.values_list("id", "next_run_at")
    }
    results = list(
        CheckResult.objects.filter(evaluated_at__gte=start, evaluated_at__lte=end).values_list(
            "rule_id", "evaluated_at", "status"
        )
    )
    lags = [
        ((at - start).total_seconds() - offsets[rule]) % RULE_INTERVAL for rule, at, _ in results
    ]
    per_rule = Counter(rule for rule, _, _ in results)
    minutes = (end - start).total_seconds() / RULE_INTERVAL
    print(
        f"dispatch: {len(results)} evaluations of {len(offsets)} rules in {minutes:.1f} min"
        f" (about {len(offsets) * minutes:.0f} due); per rule min "
        f"{min(per_rule.values(), default=0)} max {max(per_rule.values(), default=0)}"
    )
    print(
        f"  lag behind slot (s): p50 {percentile(lags, 0.5):.1f}  "
        f"p99 {percentile(lags, 0.99):.1f}  max {max(lags, default=float('nan')):.1f}"
    )
    print(f"  statuses: {dict(Counter(status for _, _, status in results))}")


def run_clients(url: str, cast: dict, seconds: float) -> tuple[list, object]:
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    procs = [
        context.Process(
            target=ingest_client, args=(url, cast["token"], cast["models"], i, seconds, out)
        )
        for i in range(CLIENTS)
    ]
    procs.append(
        context.Process(
            target=dashboard_client, args=(url, cast["session"], cast["models"], seconds, out)
        )
    )
    for proc in procs:
        proc.start()
    return procs, out


def collect(procs: list, out) -> list[dict]:
    results = [out.get(timeout=600) for _ in procs]
    for proc in procs:
        proc.join(timeout=60)
    return results


def soak(env: dict, cast: dict, seconds: float, warmup: float) -> None:
    from django.utils import timezone

    from models_app.models import MetricPoint, Prediction

    before = {"predictions": Prediction.objects.count(), "metrics": MetricPoint.objects.count()}
    queue = env["CELERY_TASK_DEFAULT_QUEUE"]
    processes = start_celery(env, queue)
    try:
        with Server(env, workers=2) as server:
            began = timezone.now()
            procs, out = run_clients(server.url, cast, seconds)
            time.sleep(min(warmup, seconds / 2))
            samples = sample_memory(server, processes[:2], procs[:CLIENTS])
            end_memory, ended = memory(server, processes[:2]), timezone.now()
            results = collect(procs, out)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=60)
    report(results, stored_rows(before), samples[0], end_memory)
    memory_report(samples + [end_memory])
    dispatch_report(began, ended)


def memory_report(samples: list[dict]) -> None:
    """The RSS series (so that growth can be told from a warm-up plateau), per process."""
    for role in ("web", "worker"):
        series = " ".join(f"{s[role] / 1024:.0f}" for s in samples)
        print(f"RSS {role} every 30 s (MB): {series}")
    first, last = samples[0]["processes"], samples[-1]["processes"]
    print(
        "RSS per process, warm -> end (MB): "
        + ", ".join(
            f"{pid}: {first[pid] / 1024:.0f} -> {last.get(pid, 0) / 1024:.0f}" for pid in first
        )
    )


def report(results: list[dict], stored: dict, warm: dict, end: dict) -> None:
    latency_report(results)
    errors = [e for r in results for e in r["errors"]]
    sent = Counter()
    for result in results:
        sent.update(result["sent"])
    print(f"errors: {len(errors)} (goal 0) {errors[:5]}")
    for kind in ("predictions", "metrics"):
        ratio = stored[kind] / sent[kind] if sent[kind] else float("nan")
        print(f"rows {kind}: sent {sent[kind]} stored {stored[kind]} (stored/sent {ratio:.4f})")
    for role in ("web", "worker"):
        ratio = end[role] / warm[role] if warm[role] else float("nan")
        print(
            f"RSS {role}: after warm-up {warm[role] / 1024:.0f} MB, at the end "
            f"{end[role] / 1024:.0f} MB (end/warm {ratio:.3f}; goal < 1.10)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument(
        "--warmup",
        type=float,
        default=180.0,
        help="seconds before the first RSS sample (default 180: the 2-minute "
        "windows are full by then)",
    )
    args = parser.parse_args()
    broker = os.environ.get("CELERY_BROKER_URL", "")
    if not broker.startswith("redis://"):
        sys.exit("set CELERY_BROKER_URL=redis://... (a Redis database of your own)")
    _, env = bench_database("mw_bench_soak")
    env |= {
        "DJANGO_DEBUG": "0",
        "SECRET_KEY": "soak-" + "x" * 50,
        "SECURE_SSL_REDIRECT": "0",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "CELERY_TASK_DEFAULT_QUEUE": f"soak-{uuid.uuid4().hex[:6]}",
    }
    # every kind of work on the soak's own queue (docs/scaling.md "Queues")
    for setting in (
        "MODELWATCH_QUEUE_INGEST",
        "MODELWATCH_QUEUE_EVALUATE",
        "MODELWATCH_QUEUE_DELIVER",
    ):
        env[setting] = env["CELERY_TASK_DEFAULT_QUEUE"]
    setup_django(env)
    from django.utils import timezone

    started = time.perf_counter()
    cast = seed(timezone.now())
    print(
        f"seeded {MODELS} models, {MODELS * 10} rules in {time.perf_counter() - started:.0f} s;"
        f" soaking for {args.minutes:g} min"
    )
    soak(env, cast, args.minutes * 60, args.warmup)


if __name__ == "__main__":
    main()
