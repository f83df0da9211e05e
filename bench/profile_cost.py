"""The server's cost of 10 million predictions arriving as profiles vs as rows.

    .venv/bin/python bench/profile_cost.py [--rows 1000000] [--profiled 10000000]

One gunicorn (2 workers) on a scratch PostgreSQL database. The rows path posts `--rows`
predictions (20 numeric + 5 categorical features, 24 hours of timestamps) in
1,000-row batches to /predictions/ and is scaled to `--profiled`; the profiles path
profiles `--profiled` rows of the same kind on the client (`profile_frame`, merged per
hour bucket, not counted) and posts the profiles to /profiles/. Measured: CPU seconds of
the gunicorn processes (utime + stime from /proc, master and workers) and the bytes the
model's rows take in PostgreSQL (pg_column_size of its prediction and profile rows).
"""

import argparse
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import orjson
import pandas as pd
import psycopg2
import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "modelwatch")]

from bench.harness import Server, bench_database, manage  # noqa: E402
from bench.ingest_predictions import PRODUCTION  # noqa: E402
from modelwatch.client import profile_chunks  # noqa: E402
from modelwatch.profiles import merge_records, profile_frame  # noqa: E402
from modelwatch.records import frame_prediction_records  # noqa: E402

START = 1_772_000_000  # epoch seconds of the first hour
CHUNK = 250_000


def frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    data = {"timestamp": START + rng.uniform(0, 86400, n)}
    for i in range(20):
        data[f"num_{i}"] = rng.normal(i, 1 + i / 10, n)
    for i in range(5):
        data[f"cat_{i}"] = rng.choice([f"c{i}_{k}" for k in range(5 + 5 * i)], n)
    score = rng.random(n)
    data |= {"prediction": (score > 0.5).astype(int), "score_0": 1 - score, "score_1": score}
    data["latency_ms"] = rng.lognormal(2, 0.4, n)
    return pd.DataFrame(data)


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (clock ticks)
    return total / 100


def stored_bytes(dsn: str, model: str) -> tuple[int, int]:
    """(prediction rows, profile rows incl. daily) bytes of `model` in PostgreSQL."""
    with psycopg2.connect(dsn) as conn, conn.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(sum(pg_column_size(p.*)), 0) FROM models_app_prediction p "
            "JOIN models_app_model m ON m.id = p.model_id WHERE m.name = %s",
            [model],
        )
        rows = cursor.fetchone()[0]
        profiles = 0
        for table in ("models_app_profile", "models_app_dailyprofile"):
            cursor.execute(
                f"SELECT coalesce(sum(pg_column_size(p.*)), 0) FROM {table} p "
                "JOIN models_app_modelversion v ON v.id = p.version_id "
                "JOIN models_app_model m ON m.id = v.model_id WHERE m.name = %s",
                [model],
            )
            profiles += cursor.fetchone()[0]
    return int(rows), int(profiles)


def post_all(url: str, token: str, bodies, threads: int = 4) -> None:
    session = requests.Session()
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}

    def send(body: bytes) -> None:
        response = session.post(url, data=body, headers=headers, timeout=600)
        response.raise_for_status()

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(send, bodies))


def rows_path(server: Server, token: str, rows: int) -> float:
    url = f"{server.url}/api/v1/models/cost-rows/predictions/"
    pids = [server.process.pid, *server.worker_pids()]
    before = cpu_seconds(pids)
    for first in range(0, rows, CHUNK):
        records = frame_prediction_records(frame(min(CHUNK, rows - first), first), None, "score_")
        records.sort(key=lambda r: r["timestamp"])
        bodies = (
            orjson.dumps({"records": records[i : i + 1000]}) for i in range(0, len(records), 1000)
        )
        post_all(url, token, bodies)
    return cpu_seconds(pids) - before


def profiles_path(server: Server, token: str, profiled: int) -> tuple[float, float, int]:
    specs = requests.get(
        f"{server.url}/api/v1/models/cost-profiles/profiles/",
        headers={"Authorization": f"Token {token}"},
        timeout=60,
    ).json()
    began, records = time.perf_counter(), []
    for first in range(0, profiled, CHUNK):
        part = profile_frame(frame(min(CHUNK, profiled - first), 10**9 + first), specs)
        records = merge_records(records + part)
    client_seconds = time.perf_counter() - began
    url = f"{server.url}/api/v1/models/cost-profiles/profiles/"
    bodies = [orjson.dumps({"records": chunk}) for chunk in profile_chunks(records, 16 << 20)]
    pids = [server.process.pid, *server.worker_pids()]
    before = cpu_seconds(pids)
    post_all(url, token, bodies, threads=2)
    return cpu_seconds(pids) - before, client_seconds, sum(len(b) for b in bodies)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--profiled", type=int, default=10_000_000)
    args = parser.parse_args()
    dsn, env = bench_database("mw_h16_profile_cost")
    env |= PRODUCTION
    token = manage(env, "create_token", "bench", "--create", "--staff").strip()
    manage(
        env,
        "shell",
        "--no-imports",
        "-c",
        "from models_app.models import *; "
        "[ModelVersion.objects.get_or_create(model=Model.objects.get_or_create(name=n, "
        "task='binary_classification')[0], version='1') for n in ('cost-rows', 'cost-profiles')]",
    )
    with Server(env, workers=2) as server:
        requests.get(f"{server.url}/healthz", timeout=30)
        row_cpu = rows_path(server, token, args.rows)
        profile_cpu, client_seconds, sent = profiles_path(server, token, args.profiled)
    row_bytes = stored_bytes(dsn, "cost-rows")
    profile_bytes = stored_bytes(dsn, "cost-profiles")
    scale = args.profiled / args.rows
    print("machine shared with other test suites: read ratios, not absolute figures")
    print(
        f"rows path: {args.rows:,} rows cost {row_cpu:.1f} CPU s of gunicorn -> "
        f"{row_cpu * scale:.0f} CPU s for {args.profiled:,} (scaled x{scale:g}); stored "
        f"{row_bytes[0] / 1e6:.1f} MB of rows + {row_bytes[1] / 1e6:.1f} MB of profiles "
        f"-> {(row_bytes[0] + row_bytes[1]) * scale / 1e9:.2f} GB scaled"
    )
    print(
        f"profiles path: {args.profiled:,} rows profiled on the client in {client_seconds:.0f} s "
        f"({args.profiled / client_seconds:,.0f} rows/s, not counted); {sent / 1e6:.1f} MB "
        f"posted; {profile_cpu:.2f} CPU s of gunicorn; stored {profile_bytes[1] / 1e6:.2f} MB"
    )
    print(
        f"CPU ratio (rows / profiles): {row_cpu * scale / max(profile_cpu, 0.01):,.0f}x; "
        f"bytes ratio: {(row_bytes[0] + row_bytes[1]) * scale / max(profile_bytes[1], 1):,.0f}x"
    )


if __name__ == "__main__":
    main()
