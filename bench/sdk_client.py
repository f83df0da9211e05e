"""The SDK's cost: predictions per second through `modelwatch` vs bare requests.

Baseline: the same records, pre-serialised with orjson, POSTed by plain `requests` in
10,000-record batches. SDK: `ModelHandle.log_predictions(dataframe)` (conversion from
pandas, strict JSON, packing, idempotency keys, retries) synchronously, and through
the background sender (logged 500 at a time, then `close()`). Also the client-side
work alone (building and packing the batches, no network) against `orjson.dumps`.
Prints rates and ratios (goal: SDK end to end >= 0.8x the bare baseline).

    DATABASE_URL=... .venv/bin/python bench/sdk_client.py [--rows 20000]
"""

import argparse
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import orjson
import pandas as pd
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "modelwatch"))
from bench.harness import Server, bench_database, free_port, manage  # noqa: E402
from modelwatch import Client  # noqa: E402
from modelwatch.records import prediction_records  # noqa: E402
from modelwatch.sender import pack  # noqa: E402

BATCH = 10_000


def make_frame(rows: int, prefix: str, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(rows, 10)), columns=[f"f{i}" for i in range(10)])
    score = rng.uniform(size=rows)
    return frame.assign(
        id=[f"{prefix}-{i}" for i in range(rows)],
        prediction=(score > 0.5) * 1,
        score_0=1 - score,
        score_1=score,
        latency_ms=rng.uniform(5, 50, rows),
    )


def timed(func) -> float:
    started = time.perf_counter()
    func()
    return time.perf_counter() - started


def bare_post(url: str, token: str, model: str, frame: pd.DataFrame) -> float:
    records = prediction_records(frame)  # same payload; its building is not timed below
    bodies = [
        orjson.dumps({"records": records[i : i + BATCH]}) for i in range(0, len(records), BATCH)
    ]
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
    started = time.perf_counter()
    with requests.Session() as session:
        for body in bodies:
            session.post(
                f"{url}/api/v1/models/{model}/predictions/", data=body, headers=headers, timeout=120
            ).raise_for_status()
    return time.perf_counter() - started


def background(url: str, token: str, model: str, frame: pd.DataFrame) -> None:
    with Client(url, token, background=True, flush_interval=0.5) as client:
        handle = client.model(model)
        for start in range(0, len(frame), 500):
            handle.log_predictions(frame.iloc[start : start + 500])


def client_side(frame: pd.DataFrame) -> tuple[float, float]:
    sdk = timed(lambda: list(pack("p", None, prediction_records(frame), BATCH, 16 << 20)))
    plain = frame.to_dict("records")
    baseline = timed(
        lambda: [orjson.dumps(plain[i : i + BATCH]) for i in range(0, len(plain), BATCH)]
    )
    return sdk, baseline


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=20_000)
    rows = parser.parse_args().rows
    _, env = bench_database("mw_bench_sdk")
    token = manage(env, "create_token", "bench", "--create", "--staff").strip()
    port = free_port()
    with Server(env, workers=2, port=port) as server:
        url = f"http://127.0.0.1:{port}"
        client = Client(url, token)
        for name in ("bare", "sdk", "background"):
            client.register_model(name, "binary_classification", exist_ok=True)
        run = uuid.uuid4().hex[:6]
        bare = bare_post(url, token, "bare", make_frame(rows, f"b{run}"))
        sdk = timed(lambda: client.model("sdk").log_predictions(make_frame(rows, f"s{run}")))
        queued = timed(lambda: background(url, token, "background", make_frame(rows, f"q{run}")))
        assert server.process.poll() is None
    packing, dumping = client_side(make_frame(rows, "x"))
    print(f"{rows} predictions, 10 features, batches of {BATCH}")
    print(f"bare requests + orjson (pre-built): {rows / bare:8.0f} /s")
    print(f"SDK log_predictions(DataFrame):     {rows / sdk:8.0f} /s  ratio {bare / sdk:.2f}")
    print(f"SDK background, 500 per call:       {rows / queued:8.0f} /s  ratio {bare / queued:.2f}")
    print(
        f"client side only: SDK build+pack {packing * 1000:.0f} ms vs orjson.dumps "
        f"{dumping * 1000:.0f} ms ({dumping / packing:.2f}x)"
    )


if __name__ == "__main__":
    main()
