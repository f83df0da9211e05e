"""Metric points per second through POST /metrics/ vs psycopg2 COPY of the same rows.

Runs gunicorn (2 workers) on a scratch PostgreSQL database, sends pre-serialised
5,000-point batches from 4 client threads, then COPYs the same rows straight into the
same table, and prints both rates and their ratio (goal: >= 0.5).

    .venv/bin/python bench/ingest_metrics.py [--batches 120] [--threads 4]
"""

import argparse
import io
import os
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import psycopg2
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.harness import Server, bench_database, manage  # noqa: E402


def make_batches(n_batches: int, size: int) -> list[list[dict]]:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    batches = []
    for b in range(n_batches):
        batches.append(
            [
                {
                    "name": f"metric_{i % 20}",
                    "value": (b * size + i) * 0.001,
                    "timestamp": (start + timedelta(seconds=b * size + i)).isoformat(),
                    "step": b * size + i,
                    "stage": "train",
                }
                for i in range(size)
            ]
        )
    return batches


def send_all(url: str, token: str, bodies: list[bytes], threads: int) -> float:
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}

    def send(chunk: list[bytes]) -> None:
        with requests.Session() as session:
            for body in chunk:
                key = {"Idempotency-Key": uuid.uuid4().hex}
                response = session.post(url, data=body, headers=headers | key, timeout=120)
                response.raise_for_status()

    chunks = [bodies[i::threads] for i in range(threads)]
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(send, chunks))
    return time.perf_counter() - started


def copy_all(dsn: str, model_id: int, version_id: int, batches: list[list[dict]]) -> float:
    with psycopg2.connect(dsn) as conn, conn.cursor() as cursor:
        started = time.perf_counter()
        for batch in batches:
            buffer = io.StringIO()
            for r in batch:
                buffer.write(
                    f"{model_id},{version_id},{r['name']},{r['value']!r},"
                    f"{r['timestamp']},{r['step']},{r['stage']}\n"
                )
            buffer.seek(0)
            cursor.copy_expert(
                "COPY models_app_metricpoint (model_id, version_id, name, value, timestamp, "
                "step, stage) FROM STDIN WITH (FORMAT csv)",
                buffer,
            )
            conn.commit()
        return time.perf_counter() - started


def count_points(dsn: str, model_id: int) -> int:
    with psycopg2.connect(dsn) as conn, conn.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM models_app_metricpoint WHERE model_id = %s", (model_id,)
        )
        return cursor.fetchone()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=120)
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()

    dsn, env = bench_database("mw_bench_metrics")
    token = manage(env, "create_token", "bench", "--create", "--staff").strip()
    manage(
        env,
        "shell",
        "--no-imports",
        "-c",
        "from models_app.models import *; "
        "m, _ = Model.objects.get_or_create(name='bench-api', task='regression'); "
        "ModelVersion.objects.get_or_create(model=m, version='1'); "
        "m2, _ = Model.objects.get_or_create(name='bench-copy', task='regression'); "
        "ModelVersion.objects.get_or_create(model=m2, version='1')",
    )
    ids = manage(
        env,
        "shell",
        "--no-imports",
        "-c",
        "from models_app.models import ModelVersion as V; "
        "print(*[f'{v.model_id} {v.id}' for v in V.objects.filter("
        "model__name__startswith='bench').order_by('model__name')], sep=',')",
    )
    (api_model, _), (copy_model, copy_version) = [
        tuple(map(int, pair.split())) for pair in ids.strip().split(",")
    ]

    batches = make_batches(args.batches, args.batch_size)
    bodies = [orjson.dumps({"records": batch}) for batch in batches]
    rows = args.batches * args.batch_size
    print(
        f"{rows:,} points in {args.batches} batches of {args.batch_size:,}, "
        f"{args.threads} client threads, gunicorn 2 workers, PostgreSQL"
    )

    with Server(env, workers=2) as server:
        send_all(f"{server.url}/api/v1/models/bench-api/metrics/", token, bodies[:4], 4)  # warm
        api_seconds = send_all(
            f"{server.url}/api/v1/models/bench-api/metrics/", token, bodies, args.threads
        )
    stored = count_points(dsn, api_model) - 4 * args.batch_size
    copy_seconds = copy_all(dsn, copy_model, copy_version, batches)
    assert stored == rows, f"API stored {stored} of {rows}"
    api_rate, copy_rate = rows / api_seconds, rows / copy_seconds
    print(f"API  : {api_seconds:7.2f} s  {api_rate:10,.0f} points/s")
    print(f"COPY : {copy_seconds:7.2f} s  {copy_rate:10,.0f} points/s")
    print(f"ratio API/COPY = {api_rate / copy_rate:.2f}  (goal >= 0.5)")


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "monitor_site.settings")
    main()
