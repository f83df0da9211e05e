"""Data drift from stored profiles vs Evidently's DataDriftPreset on the same data.

20 numeric + 5 categorical features, 100,000 reference rows vs 1,000,000 current rows
(seeded; drift injected into some features). The current rows are profiled by the
same code ingestion runs (`models_app.profiles.record_profiles`, hour buckets over one
day) into a scratch PostgreSQL database and rolled up; the reference is built by the
reference upload code. Then, timed: one `data_drift` evaluation (method `auto`) that
reads the stored profiles only, and, in a subprocess of its own venv
(bench/.venv-evidently, from bench/requirements-evidently.txt), Evidently's
`Report([DataDriftPreset()]).run(...)` on the raw rows of the same data (saved as .npz).
Prints both times, their ratio (goal >= 50x) and both verdicts per feature.

    .venv/bin/python bench/drift.py            # creates bench/.venv-evidently if missing
    .venv/bin/python bench/drift.py --rows 200000 --reference-rows 20000   # quicker
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "bench" / ".data"
EVIDENTLY_VENV = ROOT / "bench" / ".venv-evidently"
NUMERIC = [f"num_{i:02d}" for i in range(20)]
CATEGORICAL = [f"cat_{i}" for i in range(5)]
# Mean shift of each numeric feature, in reference standard deviations.
SHIFTS = [
    0.0,
    0.0,
    0.0,
    0.0,
    0.0,
    0.0,
    0.0,
    0.0,
    0.02,
    0.02,
    0.03,
    0.05,
    0.2,
    0.25,
    0.3,
    0.5,
    0.5,
    1.0,
    1.0,
    2.0,
]
END = datetime(2026, 6, 2, tzinfo=UTC)


# -- the data (seeded, identical for both sides) -------------------------------------------


def numeric_column(rng, i: int, n: int, shift: float) -> np.ndarray:
    """Feature i: one of five shapes, shifted by `shift` reference stds."""
    shape = i % 5
    if shape == 0:
        values, std = rng.normal(10, 2, n), 2.0
    elif shape == 1:
        values, std = rng.lognormal(0, 0.5, n), np.sqrt((np.e**0.25 - 1) * np.e**0.25)
    elif shape == 2:
        values, std = rng.uniform(-5, 5, n), 10 / np.sqrt(12)
    elif shape == 3:
        values, std = rng.exponential(3, n), 3.0
    else:
        values = np.where(rng.uniform(size=n) < 0.5, rng.normal(-3, 1, n), rng.normal(3, 1, n))
        std = np.sqrt(10.0)
    return values + shift * std


def category_column(rng, i: int, n: int, drifted: bool) -> np.ndarray:
    k = 3 + 2 * i
    weights = np.linspace(1, 2, k)
    if drifted:
        weights = weights[::-1] ** 2
    return rng.choice([f"v{j}" for j in range(k)], n, p=weights / weights.sum())


def make_data(reference_rows: int, rows: int, seed: int = 20260601) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    data = {}
    for i, name in enumerate(NUMERIC):
        data[f"ref_{name}"] = numeric_column(rng, i, reference_rows, 0.0)
        data[f"cur_{name}"] = numeric_column(rng, i, rows, SHIFTS[i])
    for i, name in enumerate(CATEGORICAL):
        data[f"ref_{name}"] = category_column(rng, i, reference_rows, False)
        data[f"cur_{name}"] = category_column(rng, i, rows, drifted=i >= 3)
    return data


# Cases on each side of `auto`'s branches (docs/checks.md, "Drift"): (name, kind, reference
# values, current values).
def auto_cases(seed: int = 7) -> list[tuple[str, str, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [
        ("numeric, 1,000 ref rows", "num", rng.normal(size=1000), rng.normal(size=500)),
        ("numeric, 1,001 ref rows", "num", rng.normal(size=1001), rng.normal(size=500)),
        (
            "numeric 4 values, small",
            "num",
            rng.integers(0, 4, 500) * 1.0,
            rng.integers(0, 4, 500) * 1.0,
        ),
        ("numeric 0/1, small", "num", rng.integers(0, 2, 500) * 1.0, rng.integers(0, 2, 500) * 1.0),
        (
            "numeric 4 values, large",
            "num",
            rng.integers(0, 4, 5000) * 1.0,
            rng.integers(0, 4, 500) * 1.0,
        ),
        (
            "categorical 3 values, small",
            "cat",
            rng.choice(["a", "b", "c"], 600),
            rng.choice(["a", "b", "c"], 300),
        ),
        (
            "categorical yes/no, small",
            "cat",
            rng.choice(["yes", "no"], 600),
            rng.choice(["yes", "no"], 300),
        ),
        (
            "categorical, large",
            "cat",
            rng.choice(["a", "b", "c"], 5000),
            rng.choice(["a", "b", "c"], 300),
        ),
    ]


def evidently_auto_choices() -> dict[str, str]:
    """(In the Evidently venv.) The test Evidently picks by default for each case."""
    import pandas as pd
    from evidently.legacy.calculations.stattests.registry import get_stattest
    from evidently.legacy.core import ColumnType

    kinds = {"num": ColumnType.Numerical, "cat": ColumnType.Categorical}
    return {
        name: get_stattest(pd.Series(ref), pd.Series(cur), kinds[kind], None).name
        for name, kind, ref, cur in auto_cases()
    }


def our_auto_choices() -> dict[str, str]:
    from alerts_app.checks.drift import FeatureData, auto_method, sample_categories

    choices = {}
    for name, kind, ref, cur in auto_cases():
        if kind == "num":
            data = FeatureData("numeric", len(ref), len(cur), ref, cur)
        else:
            data = FeatureData(
                "categorical",
                len(ref),
                len(cur),
                ref_categories=sample_categories(ref),
                cur_categories=sample_categories(cur),
            )
        choices[name] = auto_method(data)
    return choices


# -- Evidently, in its own venv ------------------------------------------------------------


def ensure_evidently_venv(venv: Path = EVIDENTLY_VENV) -> Path:
    sys.path.insert(0, str(ROOT))
    from bench.harness import ensure_venv

    return ensure_venv(venv, ROOT / "bench" / "requirements-evidently.txt")


def evidently_verdict(method: str, value: float, threshold: float) -> bool:
    return bool(value < threshold if "p_value" in method else value >= threshold)


def evidently_features(result: dict) -> dict[str, dict]:
    """{column: method, statistic, threshold, drifted} of a DataDriftPreset snapshot's dict."""
    features = {}
    for metric in result["metrics"]:
        config = metric["config"]
        if config.get("type", "").endswith("ValueDrift"):
            method, value, limit = config["method"], metric["value"], config["threshold"]
            features[config["column"]] = {
                "method": method,
                "statistic": float(value),
                "threshold": limit,
                "drifted": evidently_verdict(method, value, limit),
            }
    return features


def run_evidently(data_file: Path, out_file: Path) -> None:
    """(In the Evidently venv.) Time DataDriftPreset on the raw rows; write the verdicts."""
    import pandas as pd
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    data = np.load(data_file)
    names = NUMERIC + CATEGORICAL
    ref = pd.DataFrame({n: data[f"ref_{n}"] for n in names})
    cur = pd.DataFrame({n: data[f"cur_{n}"] for n in names})
    started = time.perf_counter()
    definition = DataDefinition(numerical_columns=NUMERIC, categorical_columns=CATEGORICAL)
    snapshot = Report([DataDriftPreset()]).run(
        Dataset.from_pandas(cur, data_definition=definition),
        Dataset.from_pandas(ref, data_definition=definition),
    )
    features = evidently_features(snapshot.dict())
    seconds = time.perf_counter() - started
    out_file.write_text(
        json.dumps({"seconds": seconds, "features": features, "auto": evidently_auto_choices()})
    )


# -- ModelWatch: profiles in PostgreSQL, one evaluation --------------------------------------


def setup_django(database: str) -> None:
    sys.path.insert(0, str(ROOT))
    from bench.harness import bench_database

    dsn, _ = bench_database(database)
    os.environ["DATABASE_URL"] = dsn
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "monitor_site.settings")
    import django

    django.setup()


def store_reference(version, data: dict, reference_rows: int) -> float:
    from models_app.reference_io import save_reference

    columns = {n: data[f"ref_{n}"].tolist() for n in NUMERIC + CATEGORICAL}
    columns["prediction"] = [1] * reference_rows
    started = time.perf_counter()
    save_reference(version, columns, reference_rows, "upload")
    return time.perf_counter() - started


def current_rows(data: dict, start: int, stop: int, rows: int) -> list[dict]:
    """Validated prediction rows (as ingestion passes them on), spread over one day."""
    span = 86400 - 1
    columns = {n: data[f"cur_{n}"][start:stop].tolist() for n in NUMERIC + CATEGORICAL}
    out = []
    for j in range(stop - start):
        moment = END - timedelta(seconds=span * (1 - (start + j) / rows))
        out.append(
            {
                "id": None,
                "timestamp": moment,
                "features": {n: columns[n][j] for n in columns},
                "prediction": 1,
                "scores": None,
                "label": None,
                "latency_ms": None,
                "error": "",
            }
        )
    return out


def store_profiles(version, data: dict, rows: int, chunk: int = 20000) -> float:
    """Profile the current rows as ingestion does (partial rows), then roll them up."""
    from django.db import transaction

    from models_app.profiles import record_profiles, rollup_profiles

    started = time.perf_counter()
    for start in range(0, rows, chunk):
        with transaction.atomic():
            record_profiles(version, current_rows(data, start, min(start + chunk, rows), rows))
    while rollup_profiles():
        pass
    return time.perf_counter() - started


def time_checks(rule, repeats: int) -> tuple[list[float], object]:
    from alerts_app.evaluate import evaluate_rule

    times, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = evaluate_rule(rule, END, store=False)
        times.append(time.perf_counter() - started)
    return times, result


def modelwatch_side(data: dict, reference_rows: int, rows: int, repeats: int) -> dict:
    from alerts_app.models import AlertRule
    from models_app.models import Model, ModelVersion

    features = [{"name": n, "type": "numeric"} for n in NUMERIC] + [
        {"name": n, "type": "categorical"} for n in CATEGORICAL
    ]
    model = Model.objects.create(name="bench-drift", task="regression", features=features)
    version = ModelVersion.objects.create(model=model, version="1")
    reference_seconds = store_reference(version, data, reference_rows)
    profile_seconds = store_profiles(version, data, rows)
    rule = AlertRule.objects.create(
        name="drift", model=model, kind="data_drift", config={"window": "1d", "method": "auto"}
    )
    times, result = time_checks(rule, repeats)
    return {
        "reference_seconds": reference_seconds,
        "profile_seconds": profile_seconds,
        "times": times,
        "details": result.details,
        "status": result.status,
    }


# -- the report ----------------------------------------------------------------------------

SAME_TEST = {
    "wasserstein": "Wasserstein distance (normed)",
    "js": "Jensen-Shannon distance",
    "ks": "K-S p_value",
    "chi2": "chi-square p_value",
    "z": "Z-test p_value",
    "psi": "PSI",
}
EVIDENTLY_NAMES = {
    "wasserstein": "wasserstein",
    "js": "jensenshannon",
    "ks": "ks",
    "chi2": "chisquare",
    "z": "z",
    "psi": "psi",
}


def print_auto(theirs: dict[str, str]) -> None:
    ours = our_auto_choices()
    print(f"\n`auto` choice per case {'ModelWatch':>22} {'Evidently':>14}  same")
    for name, mine in ours.items():
        same = EVIDENTLY_NAMES[mine] == theirs[name]
        print(f"{name:30} {mine:>14} {theirs[name]:>14}  {'yes' if same else 'NO'}")


def print_report(ours: dict, theirs: dict, args) -> None:
    check = statistics.median(ours["times"])
    print(
        f"\n{len(NUMERIC)} numeric + {len(CATEGORICAL)} categorical features, "
        f"{args.reference_rows:,} reference rows vs {args.rows:,} current rows"
    )
    print(
        f"one-off, not timed below: reference summary {ours['reference_seconds']:.1f} s, "
        f"profiling at ingestion + rollup {ours['profile_seconds']:.1f} s"
    )
    print(f"\n{'feature':8} {'ModelWatch':>34} {'Evidently':>44}  same")
    agree = same_test = 0
    for name in NUMERIC + CATEGORICAL:
        mine, other = ours["details"]["features"][name], theirs["features"][name]
        comparable = SAME_TEST[mine["method"]] == other["method"]
        same = mine["drifted"] == other["drifted"]
        same_test += comparable
        agree += comparable and same
        print(
            f"{name:8} {mine['method']:>12} {mine['statistic']:10.4f} "
            f"{'DRIFT' if mine['drifted'] else 'ok':>6}   {other['method']:>30} "
            f"{other['statistic']:10.4f} {'DRIFT' if other['drifted'] else 'ok':>6}  "
            f"{'yes' if same else 'NO'}"
        )
    print(
        f"\nsame verdict on {agree} of {same_test} features tested with the same test; "
        f"dataset: ModelWatch drift_share {ours['details']['drift_share']:.2f} "
        f"({ours['status']}), Evidently share "
        f"{sum(f['drifted'] for f in theirs['features'].values()) / 25:.2f}"
    )
    print(
        f"ModelWatch check from stored profiles: median {check * 1000:.0f} ms of "
        f"{len(ours['times'])} (first {ours['times'][0] * 1000:.0f} ms)"
    )
    print(f"Evidently DataDriftPreset on raw rows: {theirs['seconds'] * 1000:.0f} ms")
    print(f"ratio: {theirs['seconds'] / check:.0f}x faster (goal >= 50x)")
    print_auto(theirs["auto"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--reference-rows", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--database", default="mw_bench_drift")
    parser.add_argument("--evidently", nargs=2, metavar=("DATA", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.evidently:
        return run_evidently(Path(args.evidently[0]), Path(args.evidently[1]))
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    data = make_data(args.reference_rows, args.rows)
    data_file, out_file = DATA_DIR / "drift.npz", DATA_DIR / "evidently.json"
    np.savez(data_file, **data)
    python = ensure_evidently_venv()
    print("Evidently on the raw rows (own venv) ...", flush=True)
    subprocess.run(
        [str(python), __file__, "--evidently", str(data_file), str(out_file)], check=True
    )
    theirs = json.loads(out_file.read_text())
    print("ModelWatch: reference, profiles, checks ...", flush=True)
    setup_django(args.database)
    ours = modelwatch_side(data, args.reference_rows, args.rows, args.repeats)
    print_report(ours, theirs, args)


if __name__ == "__main__":
    main()
