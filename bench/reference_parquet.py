"""A 10-million-row reference uploaded as Parquet through the SDK: its upload time.

A scratch PostgreSQL database and gunicorn (1 worker, a 30-minute timeout: the summary
is computed in the request). The client builds a DataFrame of `--rows` rows x 25 columns
(20 numeric, 5 categorical) and calls `ModelHandle.set_reference(df)`, which writes it to
a temporary Parquet file and streams it (the 32 MB body limit does not apply). Printed:
seconds to write the Parquet file, seconds of the whole call, the file's size, the web
worker's peak memory, and what the server stored.

    .venv/bin/python bench/reference_parquet.py [--rows 10000000]
"""

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "modelwatch"))
from bench.harness import bench_database, free_port, manage  # noqa: E402
from bench.ingest_predictions import PRODUCTION, memory_kb  # noqa: E402
from modelwatch import Client  # noqa: E402

CATEGORIES = ["north", "south", "east", "west", "centre", "other"]


def make_frame(rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    columns = {f"num_{j}": rng.normal(j, 1 + j / 10, rows) for j in range(20)}
    columns |= {
        f"cat_{j}": pd.Categorical.from_codes(rng.integers(0, 6, rows), CATEGORIES)
        for j in range(5)
    }
    return pd.DataFrame(columns)


def start_web(env: dict) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "monitor_site.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--timeout",
            "1800",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/healthz", timeout=10).status_code in (200, 503):
                return process, url
        except requests.RequestException:
            time.sleep(1)
    process.terminate()
    raise RuntimeError("gunicorn did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--database", default="mw_bench_reference_parquet")
    args = parser.parse_args()
    _, env = bench_database(args.database)
    env |= PRODUCTION
    token = manage(env, "create_token", "bench", "--create", "--staff").strip()
    manage(
        env,
        "shell",
        "--no-imports",
        "-c",
        "from models_app.models import *; ModelVersion.objects.create(model="
        "Model.objects.create(name='big', task='binary_classification'), version='1')",
    )
    frame = make_frame(args.rows)
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        frame.to_parquet(Path(folder) / "f.parquet", engine="pyarrow", index=False)
        write_seconds = time.perf_counter() - started
        size = (Path(folder) / "f.parquet").stat().st_size
    process, url = start_web(env)
    try:
        with Client(url, token, timeout=1800, max_retries=0) as client:
            started = time.perf_counter()
            answer = client.model("big").set_reference(frame)
            seconds = time.perf_counter() - started
        peak = max(v[1] for v in memory_kb([process.pid, *children(process.pid)]).values())
    finally:
        process.terminate()
        process.wait(timeout=30)
    print(
        f"{args.rows:,} rows x 25 columns; Parquet file {size / 1e6:,.0f} MB "
        f"(written in {write_seconds:.1f} s by pandas/pyarrow)"
    )
    print(
        f"set_reference(df) as Parquet: {seconds:.1f} s in all "
        f"({args.rows / seconds:,.0f} rows/s), web worker peak memory {peak / 1024:,.0f} MB"
    )
    print(f"stored: n_rows {answer['n_rows']:,}, features {len(answer['summary']['features'])}")


def children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


if __name__ == "__main__":
    main()
