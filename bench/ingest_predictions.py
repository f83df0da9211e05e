"""Prediction rows per second through POST /predictions/ vs psycopg2 COPY of the same rows.

gunicorn (2 sync workers) on a scratch PostgreSQL database; 1,000-row batches of 20 numeric
and 5 categorical features, an id, a timestamp, a prediction, class scores and a latency.
Bodies are serialised before the clock starts (in chunks, to keep the client's memory
flat), sent by 4 client threads with an Idempotency-Key each. The endpoint validates,
writes the rows with COPY and the partial profiles in the same transaction. Then the same
rows are COPYed straight into the same table, one transaction per batch, and the two rates
are printed with their ratio (goal >= 0.5), plus the web workers' resident memory over the
run (goal: flat).

    .venv/bin/python bench/ingest_predictions.py [--rows 1000000]
"""

import argparse
import io
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import orjson
import psycopg2

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.harness import Server, bench_database, manage  # noqa: E402
from bench.ingest_metrics import send_all  # noqa: E402

CATEGORIES = ["north", "south", "east", "west", "centre"]
COLUMNS = (
    "model_id, version_id, client_id, timestamp, features, prediction, scores, label, "
    "labeled_at, latency_ms, error"
)
PORT = 8773  # not the harness default: other benches may run at the same time
PRODUCTION = {
    "DJANGO_DEBUG": "0",
    "SECRET_KEY": "bench-only-secret",
    "SECURE_SSL_REDIRECT": "0",
    "SESSION_COOKIE_SECURE": "0",
    "CSRF_COOKIE_SECURE": "0",
}


def make_batch(index: int, size: int, start: datetime) -> list[dict]:
    """One batch of records: 20 numeric features, 5 categorical, binary outputs."""
    rng = np.random.default_rng(index)
    numbers = rng.normal(size=(size, 20)).round(6).tolist()
    scores = rng.uniform(size=size).round(4).tolist()
    batch = []
    for i in range(size):
        features = {f"num_{j}": numbers[i][j] for j in range(20)}
        features |= {f"cat_{j}": CATEGORIES[(i * (j + 1) + index) % 5] for j in range(5)}
        moment = start + timedelta(seconds=0.15 * (index * size + i))
        batch.append(
            {
                "id": uuid.uuid4().hex,
                "timestamp": moment.isoformat(),
                "features": features,
                "prediction": int(scores[i] > 0.5),
                "scores": {"0": round(1 - scores[i], 4), "1": scores[i]},
                "latency_ms": round(3 + 20 * scores[i], 3),
            }
        )
    return batch


def copy_lines(model_id: int, version_id: int, batch: list[dict]) -> str:
    """The batch in COPY text format, the columns the endpoint writes."""
    out = io.StringIO()
    for r in batch:
        out.write(
            f"{model_id}\t{version_id}\t{uuid.uuid4().hex}\t{r['timestamp']}\t"
            f"{orjson.dumps(r['features']).decode()}\t{r['prediction']}\t"
            f"{orjson.dumps(r['scores']).decode()}\t\\N\t\\N\t{r['latency_ms']!r}\t\n"
        )
    return out.getvalue()


def copy_all(dsn: str, texts: list[str]) -> float:
    """Seconds to COPY each batch's text in its own transaction (formatting excluded)."""
    with psycopg2.connect(dsn) as conn, conn.cursor() as cursor:
        started = time.perf_counter()
        for text in texts:
            cursor.copy_expert(
                f"COPY models_app_prediction ({COLUMNS}) FROM STDIN", io.StringIO(text)
            )
            conn.commit()
        return time.perf_counter() - started


def memory_kb(pids: list[int]) -> dict[int, tuple[int, int]]:
    """{pid: (VmRSS, VmHWM)} in kB of each live process."""
    found = {}
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text().splitlines()
        except FileNotFoundError:
            continue
        values = {
            line.split(":")[0]: int(line.split()[1])
            for line in status
            if line.startswith(("VmRSS", "VmHWM"))
        }
        found[pid] = (values["VmRSS"], values["VmHWM"])
    return found


def ids_of(env: dict) -> dict[str, tuple[int, int]]:
    out = manage(
        env,
        "shell",
        "--no-imports",
        "-c",
        "from models_app.models import ModelVersion as V; "
        "print(*[f'{v.model.name} {v.model_id} {v.id}' for v in "
        "V.objects.filter(model__name__startswith='bench')], sep=',')",
    )
    return {name: (int(m), int(v)) for name, m, v in (p.split() for p in out.strip().split(","))}


def setup(env: dict) -> str:
    token = manage(env, "create_token", "bench", "--create", "--staff").strip()
    manage(
        env,
        "shell",
        "--no-imports",
        "-c",
        "from models_app.models import *; "
        "[ModelVersion.objects.get_or_create(model=Model.objects.get_or_create(name=n, "
        "task='binary_classification')[0], version='1') for n in ('bench-api', 'bench-copy')]",
    )
    return token


def run_api(server: Server, token: str, args, start: datetime) -> tuple[float, list]:
    """Seconds spent sending every batch, and memory readings of the workers per chunk."""
    url = f"{server.url}/api/v1/models/bench-api/predictions/"
    warm = [orjson.dumps({"records": make_batch(i, args.batch_size, start)}) for i in range(4)]
    send_all(url, token, warm, 4)
    seconds, readings, n_batches = 0.0, [], args.rows // args.batch_size
    for first in range(0, n_batches, args.chunk):
        indexes = range(first, min(first + args.chunk, n_batches))
        bodies = [orjson.dumps({"records": make_batch(i, args.batch_size, start)}) for i in indexes]
        seconds += send_all(url, token, bodies, args.threads)
        readings.append(((first + len(indexes)) * args.batch_size, memory_kb(server.worker_pids())))
    return seconds, readings


def print_memory(readings: list) -> None:
    print("web worker memory (RSS MB per worker) as rows arrive:")
    shown = (
        readings
        if len(readings) <= 6
        else [readings[i * (len(readings) - 1) // 5] for i in range(6)]
    )
    for rows, per_pid in shown:
        rss = ", ".join(f"{v[0] / 1024:.0f}" for v in per_pid.values())
        print(f"  after {rows:>9,} rows: {rss}")
    peak = max(v[1] for _, per_pid in readings for v in per_pid.values())
    print(f"  peak (VmHWM) of any worker: {peak / 1024:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--chunk", type=int, default=50, help="batches serialised at a time")
    args = parser.parse_args()
    dsn, env = bench_database("mw_tel_bench_ingest")
    env |= PRODUCTION
    token = setup(env)
    start = datetime.now(UTC) - timedelta(seconds=0.15 * args.rows + 3600)
    print(
        f"{args.rows:,} predictions in batches of {args.batch_size:,} (20 numeric + 5 "
        f"categorical features), {args.threads} client threads, gunicorn 2 workers, PostgreSQL"
    )
    with Server(env, workers=2, port=PORT) as server:
        api_seconds, readings = run_api(server, token, args, start)
    ids = ids_of(env)
    n_batches = args.rows // args.batch_size
    copied, copy_seconds, format_seconds = 0, 0.0, 0.0
    for first in range(0, n_batches, args.chunk):
        began = time.perf_counter()
        texts = [
            copy_lines(*ids["bench-copy"], make_batch(i, args.batch_size, start))
            for i in range(first, min(first + args.chunk, n_batches))
        ]
        format_seconds += time.perf_counter() - began
        copy_seconds += copy_all(dsn, texts)
        copied += len(texts) * args.batch_size
    report(args.rows, api_seconds, copy_seconds, format_seconds, readings)


def report(
    rows: int, api_seconds: float, copy_seconds: float, format_seconds: float, readings: list
) -> None:
    api_rate, copy_rate = rows / api_seconds, rows / copy_seconds
    print(f"API  POST /predictions/ : {api_seconds:8.2f} s  {api_rate:10,.0f} rows/s")
    print(f"raw COPY (prepared text) : {copy_seconds:8.2f} s  {copy_rate:10,.0f} rows/s")
    print(f"ratio API/COPY = {api_rate / copy_rate:.2f}  (goal >= 0.5)")
    with_format = rows / (copy_seconds + format_seconds)
    print(
        f"(COPY including building its text from dicts: {with_format:,.0f} rows/s, "
        f"ratio {api_rate / with_format:.2f})"
    )
    print_memory(readings)


if __name__ == "__main__":
    main()
