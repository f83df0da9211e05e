"""A backfill with no worker running: evaluate time at full rollup lag, rollup time, sizes.

The case of issue #16: prediction rows with timestamps spread over the last 6 days, posted
in 5,000-row batches (20 numeric + 5 categorical features, binary outputs) through gunicorn
while no Celery worker runs, so that no rollup happens. Then a `data_drift` rule is
evaluated through `POST /rules/{id}/evaluate/` (one with a 1-hour window, one with a
1-day window), the rollup is run to the end in one process, and both are evaluated again.
Printed: evaluate seconds before/after the rollup, the rollup's seconds per million rows,
and the profile tables' size against the prediction table's (`pg_total_relation_size`).

    .venv/bin/python bench/backfill.py [--rows 1000000] [--batch-size 5000]
    .venv/bin/python bench/backfill.py --resume   # the steps after posting, on the same
                                                  # database, evaluations in one process
    .venv/bin/python bench/backfill.py --post-only  # stop after posting (copy the database
                                                    # with CREATE DATABASE … TEMPLATE to
                                                    # --resume it once per side compared)

`--resume` evaluates in process (`evaluate_rule`, nothing stored) rather than through
gunicorn, whose 120 s timeout a first read of a 1-day window at full lag exceeded here.
"""

import argparse
import json
import os
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import orjson
import psycopg2
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.harness import ADMIN_DSN, Server, bench_database, manage  # noqa: E402
from bench.ingest_metrics import send_all  # noqa: E402
from bench.ingest_predictions import PRODUCTION  # noqa: E402

CATEGORIES = ["north", "south", "east", "west", "centre"]
DAYS = 6
TABLES = {
    "predictions": ["models_app_prediction"],
    "profiles": [
        "models_app_profile",
        "models_app_dailyprofile",
        "models_app_packedprofile",
        "models_app_profilelayout",
    ],
}


class PatientServer(Server):
    """gunicorn as in the harness, given 4 more minutes to answer (a busy shared machine)."""

    def __enter__(self) -> "PatientServer":
        try:
            return super().__enter__()
        except RuntimeError:
            if self.process is None or self.process.poll() is not None:
                raise
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/healthz", timeout=10).status_code in (200, 503):
                    return self
            except requests.RequestException:
                time.sleep(1)
        self.__exit__()
        raise RuntimeError("gunicorn did not start in 5 minutes")


def make_batch(index: int, size: int, now: datetime) -> list[dict]:
    """One batch whose timestamps are spread uniformly over the last DAYS days."""
    rng = np.random.default_rng(index)
    numbers = rng.normal(size=(size, 20)).round(6).tolist()
    scores = rng.uniform(size=size).round(4).tolist()
    ages = rng.uniform(60, DAYS * 86400 - 60, size=size).tolist()
    batch = []
    for i in range(size):
        features = {f"num_{j}": numbers[i][j] for j in range(20)}
        features |= {f"cat_{j}": CATEGORIES[(i * (j + 1) + index) % 5] for j in range(5)}
        batch.append(
            {
                "id": uuid.uuid4().hex,
                "timestamp": (now - timedelta(seconds=ages[i])).isoformat(),
                "features": features,
                "prediction": int(scores[i] > 0.5),
                "scores": {"0": round(1 - scores[i], 4), "1": scores[i]},
                "latency_ms": round(3 + 20 * scores[i], 3),
            }
        )
    return batch


def reference_records() -> list[dict]:
    rng = np.random.default_rng(12345)
    numbers = rng.normal(size=(5000, 20)).round(6).tolist()
    return [
        {f"num_{j}": numbers[i][j] for j in range(20)}
        | {f"cat_{j}": CATEGORIES[(i + j) % 5] for j in range(5)}
        | {"prediction": i % 2, "score": (i % 100) / 100}
        for i in range(5000)
    ]


def setup(env: dict, url: str) -> tuple[str, dict]:
    token = manage(env, "create_token", "bench", "--create", "--staff").strip()
    manage(
        env,
        "shell",
        "--no-imports",
        "-c",
        "from models_app.models import *; ModelVersion.objects.get_or_create(model="
        "Model.objects.get_or_create(name='backfill', task='binary_classification')[0], "
        "version='1')",
    )
    headers = {"Authorization": f"Token {token}"}
    answer = requests.post(
        f"{url}/api/v1/models/backfill/reference/",
        json={"records": reference_records()},
        headers=headers,
        timeout=120,
    )
    answer.raise_for_status()
    rules = {}
    for name, window in (("1h", "1h"), ("1d", "1d")):
        body = {
            "name": f"drift {name}",
            "model": "backfill",
            "kind": "data_drift",
            "config": {"window": window, "method": "psi"},
        }
        answer = requests.post(f"{url}/api/v1/rules/", json=body, headers=headers, timeout=60)
        answer.raise_for_status()
        rules[name] = answer.json()["id"]
    return token, rules


def evaluate_in_process(env: dict, rule_id: int) -> tuple[float, dict]:
    out = manage(
        env,
        "shell",
        "--no-imports",
        "-c",
        "import time, json; from django.utils import timezone; "
        "from alerts_app.evaluate import evaluate_rule_by_id; t = time.perf_counter(); "
        f"r = evaluate_rule_by_id({rule_id}, timezone.now(), store=False); "
        "print(time.perf_counter() - t, json.dumps({'status': r.status, 'value': r.value}))",
    )
    seconds, result = out.strip().splitlines()[-1].split(" ", 1)
    return float(seconds), json.loads(result)


def evaluate(url: str, token: str, rule_id: int) -> tuple[float, dict]:
    if url.startswith("env:"):
        return evaluate_in_process(RESUMED[url], rule_id)
    started = time.perf_counter()
    answer = requests.post(
        f"{url}/api/v1/rules/{rule_id}/evaluate/",
        json={"store": False},
        headers={"Authorization": f"Token {token}"},
        timeout=600,
    )
    seconds = time.perf_counter() - started
    answer.raise_for_status()
    return seconds, answer.json()


def table_bytes(dsn: str) -> dict[str, int]:
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute(
            "VACUUM models_app_profile, models_app_dailyprofile, models_app_packedprofile"
        )
        found = {}
        for name, tables in TABLES.items():
            found[name] = 0
            for table in tables:
                cursor.execute("SELECT pg_total_relation_size(%s)", [table])
                found[name] += cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM models_app_profile WHERE NOT rolled_up")
        found["partial rows"] = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM models_app_packedprofile")
        found["packed rows"] = cursor.fetchone()[0]
        # the prediction rows the partial rows describe: their `__error__` profiles' rows
        cursor.execute(
            "SELECT coalesce(sum(count + missing + type_errors), 0) FROM models_app_profile "
            "WHERE NOT rolled_up AND feature = '__error__'"
        )
        found["rows pending"] = int(cursor.fetchone()[0])
    conn.close()
    return found


def rollup(env: dict) -> float:
    out = manage(
        env,
        "shell",
        "--no-imports",
        "-c",
        "import time; from models_app.profiles import rollup_pending; t = time.perf_counter(); "
        "n = rollup_pending(max_rounds=100000); print(time.perf_counter() - t, n)",
    )
    seconds, merged = out.split()
    print(f"rollup merged {int(merged):,} partial rows")
    return float(seconds)


def post_all(url: str, token: str, args, now: datetime) -> float:
    n_batches, seconds = args.rows // args.batch_size, 0.0
    for first in range(0, n_batches, args.chunk):
        indexes = range(first, min(first + args.chunk, n_batches))
        bodies = [orjson.dumps({"records": make_batch(i, args.batch_size, now)}) for i in indexes]
        seconds += send_all(url, token, bodies, args.threads)
    return seconds


def print_sizes(label: str, found: dict) -> None:
    rows, profiles = found["predictions"], found["profiles"]
    print(
        f"{label}: predictions {rows / 1e6:,.1f} MB, profiles {profiles / 1e6:,.1f} MB "
        f"(ratio {profiles / rows:.3f}; goal < 1), partial rows {found['partial rows']:,} "
        f"per feature + {found['packed rows']:,} packed, describing "
        f"{found['rows pending']:,} prediction rows"
    )


def print_evaluations(label: str, url: str, token: str, rules: dict) -> None:
    for name, rule_id in rules.items():
        seconds, result = evaluate(url, token, rule_id)
        print(
            f"evaluate {label}, {name} window: {seconds:6.2f} s (goal < 1 s), status "
            f"{result['status']}, value {result.get('value')}"
        )


RESUMED: dict[str, dict] = {}


def resume(args) -> None:
    """The steps after posting, on the database a previous run filled."""
    dsn = ADMIN_DSN.rsplit("/", 1)[0] + f"/{args.database}"
    env = os.environ | PRODUCTION | {"DATABASE_URL": dsn, "LOG_LEVEL": "WARNING"}
    RESUMED["env:"] = env
    rules = {"1h": 1, "1d": 2}
    before = table_bytes(dsn)
    print_sizes("resumed", before)
    print_evaluations("with the backlog left (in process)", "env:", "", rules)
    left = table_bytes(dsn)
    print_sizes("after those evaluations", left)
    rolled = rollup(env)
    rows = left["rows pending"]
    print(
        f"rollup: {rolled:.1f} s for {left['partial rows']:,} partial rows and "
        f"{left['packed rows']:,} packed ones ({rows:,} prediction rows' worth), "
        f"{rolled * 1e6 / rows:.1f} s per million rows"
    )
    print_sizes("after the rollup", table_bytes(dsn))
    print_evaluations("after the rollup (in process)", "env:", "", rules)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--chunk", type=int, default=10, help="batches serialised at a time")
    parser.add_argument("--database", default="mw_bench_backfill")
    parser.add_argument("--resume", action="store_true", help="skip posting (see above)")
    parser.add_argument(
        "--post-only", action="store_true", help="stop after posting (then --resume)"
    )
    args = parser.parse_args()
    if args.resume:
        resume(args)
        return
    dsn, env = bench_database(args.database)
    env |= PRODUCTION
    now = datetime.now(UTC)
    print(
        f"{args.rows:,} predictions over the last {DAYS} days in batches of "
        f"{args.batch_size:,}, {args.threads} client threads, gunicorn 2 workers, no worker"
    )
    with PatientServer(env, workers=2) as server:
        token, rules = setup(env, server.url)
        seconds = post_all(f"{server.url}/api/v1/models/backfill/predictions/", token, args, now)
        print(f"posted in {seconds:.1f} s ({args.rows / seconds:,.0f} rows/s)")
        before = table_bytes(dsn)
        print_sizes("before the rollup", before)
        if args.post_only:
            return
        print_evaluations("before the rollup (whole backlog)", server.url, token, rules)
        left = table_bytes(dsn)
        print_sizes("after those evaluations", left)
        rolled = rollup(env)
        print(
            f"rollup: {rolled:.1f} s for {left['rows pending']:,} prediction rows' worth of "
            f"partial rows, {rolled * 1e6 / max(left['rows pending'], 1):.1f} s per million rows"
        )
        print_sizes("after the rollup", table_bytes(dsn))
        print_evaluations("after the rollup", server.url, token, rules)


if __name__ == "__main__":
    main()
