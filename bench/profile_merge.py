"""Time to answer "the profile of the last 30 days" from stored profiles vs from raw rows.

10,000,000 rows of 20 numeric features (1% missing) spread evenly over the last 30 days
are profiled per hour against a reference's decile bins, written as partial profiles and
rolled up (hourly rows and daily rows) on a scratch PostgreSQL database. Then
`window_profiles(version, now - 30 days, now)` is timed against pandas computing the same
statistics (count, missing, min, max, sum, sum of squares, bin counts, a 5,000-value
sample) from the raw rows already in memory — the cheapest the raw-row route can be, as it
leaves out reading 10M rows back from the database. Goal: >= 100x faster. The
results are checked to agree.

    .venv/bin/python bench/profile_merge.py [--rows 10000000] [--days 30]
"""

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.harness import ADMIN_DSN, bench_database  # noqa: E402

DB = "mw_tel_bench_profiles"
FEATURES = [f"f{i}" for i in range(20)]


def hour_values(rng: np.random.Generator, size: int, hour: int) -> np.ndarray:
    """One hour of rows: drifting normals, 1% missing (NaN)."""
    values = rng.normal(
        loc=np.arange(20) * 0.1 + hour * 1e-4, scale=1 + np.arange(20) * 0.05, size=(size, 20)
    )
    values[rng.uniform(size=values.shape) < 0.01] = np.nan
    return values


def build_store(
    version, reference, start: datetime, hours: int, rows: int, seed: int, write: bool = True
):
    """Profile each hour's rows, write them as partial profiles, roll up; return raw rows.

    With `write` False only the raw rows are regenerated (same seed, same values)."""
    from models_app import profiles

    rng = np.random.default_rng(seed)
    per_hour = np.full(hours, rows // hours)
    per_hour[: rows % hours] += 1
    specs = {name: profiles.feature_spec(version, name, reference) for name in FEATURES}
    blocks, stamps = [], []
    for hour, size in enumerate(per_hour):
        values = hour_values(rng, int(size), hour)
        bucket = start + timedelta(hours=hour)
        seeds = rng.integers(2**62, size=len(FEATURES))
        if write:
            written = [
                (
                    bucket,
                    profiles.profile_values(
                        name, values[:, j].tolist(), specs[name], seed=int(seeds[j])
                    ),
                )
                for j, name in enumerate(FEATURES)
            ]
            profiles.write_partials(version, reference, written)
        blocks.append(values)
        stamps.append(bucket.timestamp() + rng.uniform(0, 3600, int(size)))
    if write:
        profiles.rollup_pending(limit=5000, max_rounds=10**6)
    return np.vstack(blocks), np.concatenate(stamps)


def pandas_profile(frame, start: float, end: float, edges: dict) -> dict:
    """The same statistics computed from the raw rows with pandas/numpy, done lean: one
    boolean mask per feature, numpy reductions, a seeded 5,000-value sample."""
    window = frame[(frame["timestamp"] >= start) & (frame["timestamp"] <= end)]
    rng = np.random.default_rng(0)
    answer = {}
    for name in FEATURES:
        column = window[name].to_numpy()
        valid = column[~np.isnan(column)]
        bins = np.bincount(
            np.searchsorted(edges[name], valid, side="right"), minlength=len(edges[name]) + 1
        )
        answer[name] = {
            "count": len(valid),
            "missing": len(column) - len(valid),
            "min": valid.min(),
            "max": valid.max(),
            "sum": valid.sum(),
            "sum_sq": np.dot(valid, valid),
            "bin_counts": bins.tolist(),
            "sample": rng.choice(valid, size=min(5000, len(valid)), replace=False),
        }
    return answer


def timed(func, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        began = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - began)
    return statistics.median(times), result


def check_agreement(ours: dict, theirs: dict) -> None:
    for name in FEATURES:
        a, b = ours[name], theirs[name]
        assert (a.count, a.missing, a.bin_counts) == (b["count"], b["missing"], b["bin_counts"])
        assert a.min == b["min"] and a.max == b["max"]
        assert abs(a.sum - b["sum"]) <= 1e-6 * max(1.0, abs(b["sum_sq"]))
        assert len(a.sample) == len(b["sample"]) == 5000


def open_store(args):
    """(version, reference, start) of the store: rebuilt, or reused with `--reuse`."""
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
    from django.db.models import Min

    from models_app import reference_io
    from models_app.models import Model, ModelVersion, Profile

    if args.reuse:
        version = ModelVersion.objects.get(model__name="bench-profiles")
        first = Profile.objects.filter(version=version).aggregate(Min("bucket_start"))
        return version, version.references.get(), first["bucket_start__min"]
    model = Model.objects.create(name="bench-profiles", task="regression")
    version = ModelVersion.objects.create(model=model, version="1")
    sample = hour_values(np.random.default_rng(1), 20_000, 0)
    reference = reference_io.reference_from_records(
        version, [dict(zip(FEATURES, row.tolist(), strict=True)) for row in sample]
    )
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    return version, reference, end - timedelta(days=args.days)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="reuse the store a previous run built (same --rows/--days)",
    )
    args = parser.parse_args()
    version, reference, start = open_store(args)
    import pandas as pd

    from models_app import profiles

    began = time.perf_counter()
    raw, stamps = build_store(
        version, reference, start, args.days * 24, args.rows, seed=2, write=not args.reuse
    )
    print(
        f"{args.rows:,} rows x {len(FEATURES)} features over {args.days} days: profiles "
        f"{'reused' if args.reuse else 'written and rolled up'}, raw rows generated in "
        f"{time.perf_counter() - began:.0f} s"
    )
    frame = pd.DataFrame(raw, columns=FEATURES)
    frame["timestamp"] = stamps
    edges = {name: reference.summary["features"][name]["edges"] for name in FEATURES}
    window_end = start + timedelta(days=args.days) - timedelta(microseconds=1)
    cold_s, _ = timed(lambda: profiles.window_profiles(version, start, window_end, FEATURES), 1)
    ours_s, ours = timed(lambda: profiles.window_profiles(version, start, window_end, FEATURES), 5)
    pandas_s, theirs = timed(
        lambda: pandas_profile(frame, start.timestamp(), window_end.timestamp(), edges), 3
    )
    check_agreement(ours, theirs)
    print(
        f"profiles (window_profiles, 20 features) : {ours_s * 1000:9.1f} ms  "
        f"(first call {cold_s * 1000:.1f} ms)"
    )
    print(f"numpy/pandas from raw rows in memory    : {pandas_s * 1000:9.1f} ms")
    print(
        f"speed-up = {pandas_s / ours_s:.0f}x  (goal >= 100x; {pandas_s / cold_s:.0f}x for the "
        "first call); results agree"
    )


if __name__ == "__main__":
    main()
