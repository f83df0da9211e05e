"""False alarms and detection delay of daily drift checks: ModelWatch vs Evidently vs NannyML.

60 simulated days of stable traffic (20 numeric features of four shapes — normal,
lognormal, bimodal, integer-valued — and 5 categorical), at 10,000, 100,000 and
1,000,000 rows a day, each day compared with a reference of 10 days of the same traffic
(drawn apart from the 60). A judged day "alerts" when the tool's verdict is drift; the
false-alarm rate is the share of the judged stable days that alert.

Then the same days with shifts injected into three features from day 40 (`SHIFTS`:
a mean shift of 0.25 sd, a standard deviation ×1.5, the rarest category's share +0.10),
each ramping linearly from 10 % of its size on day 40 to its full size on day 49 and
staying there: the detection delay of a feature is the first day ≥ 40 on which the
tool flags it, minus 40.

Each tool runs its own code on the same rows:
- ModelWatch: the reference summary of the reference upload (`models_app.reference`),
  each day's profiles as ingestion writes them (`models_app.profiles.profile_values`, one
  per UTC hour and feature) merged as a one-day window reads them (`merge_all`), the
  loader's conversion (`alerts_app.loaders.profiles.drift_inputs`) and the kind's
  check (`alerts_app.checks.drift.data_drift`) with configs validated by
  `alerts_app.rule_config.validate_config`. No database: the check is pure.
- Evidently 0.7 (`Report([DataDriftPreset()])`, defaults) in its own venv
  (bench/requirements-evidently.txt), NannyML (`UnivariateDriftCalculator`, default methods
  and thresholds, one chunk = one day) in its own (bench/requirements-nannyml.txt), as
  subprocesses over the rows written once per size as .npz files (bench/.data/).

Where a tool is too slow for every day at a size, it judges every k-th day (`SCHEDULES`);
the output says which days each tool judged. Seeded: the same arguments give the same
data and the same verdicts.

    .venv/bin/python bench/false_alarms.py                  # all sizes (about 30 min)
    .venv/bin/python bench/false_alarms.py --sizes 10000    # one size, a few minutes
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

# One BLAS thread: on 2 shared cores, threaded BLAS spinning costs more than it gains.
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")
os.environ.setdefault("NML_DISABLE_USAGE_LOGGING", "1")  # NannyML's usage analytics

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "bench" / ".data" / "false_alarms"
EVIDENTLY_VENV = ROOT / "bench" / ".venv-evidently"
NANNYML_VENV = ROOT / "bench" / ".venv-nannyml"
SEED = 20261129
DAYS = 60
SHIFT_DAY = 40
RAMP_DAYS = 10
SIZES = (10_000, 100_000, 1_000_000)
REFERENCE_DAYS = 10  # the reference: 10 days of traffic (NannyML asks for 6 chunks or more)
NUMERIC = [f"num_{i:02d}" for i in range(20)]
CATEGORICAL = [f"cat_{j}" for j in range(5)]
SHAPES = ("normal", "lognormal", "bimodal", "integer")
CATEGORY_COUNTS = (3, 5, 8, 12, 20)
POISSON_MEANS = (0.7, 2.0, 5.0, 20.0, 100.0)
# Days each tool judges at a size: (every k-th stable day, every k-th day from day 40 of
# the shifted run); absent means every day, None means not run at that size. Chosen to
# keep the whole bench near 30 minutes on 2 shared cores (measured there, at load ~11):
# Evidently's DataDriftPreset takes 10-30 s a day at 10,000 rows (100,000-row reference),
# ~32 s at 100,000 rows against a 100,000-row reference and minutes at 1,000,000 rows;
# ModelWatch's `auto` bands take ~100 s per numeric feature at a chunk size of 1,000,000
# (once per reference; the server caches them); profiling a 1,000,000-row day ~11 s.
SCHEDULES = {
    ("evidently", 10_000): (10, 5),
    ("evidently", 100_000): (10, 5),
    ("evidently", 1_000_000): None,
    ("nannyml", 1_000_000): (10, 5),
    ("modelwatch", 1_000_000): (10, 5),
}


@dataclass(frozen=True)
class Shift:
    """A drift injected into one feature, at `size` once the ramp is complete."""

    feature: str
    kind: str  # mean (+ size × sd) | scale (sd × size) | share (rarest category + size)
    size: float
    label: str


SHIFTS = (
    Shift("num_00", "mean", 0.25, "mean +0.25 sd"),
    Shift("num_04", "scale", 1.5, "sd ×1.5"),
    Shift("cat_1", "share", 0.10, "category share +0.10"),
)


# -- the traffic (pure, seeded) -------------------------------------------------------------


def numeric_params(i: int) -> tuple[str, dict]:
    """Shape and parameters of numeric feature i: four shapes, five variants each."""
    shape, k = SHAPES[i % 4], i // 4
    if shape == "normal":
        return shape, {"mean": 10.0 * k, "sd": 1.0 + k}
    if shape == "lognormal":
        return shape, {"mu": 0.5 * k, "sigma": 0.25 + 0.25 * k}
    if shape == "bimodal":
        return shape, {"weight": 0.2 + 0.15 * k, "far": 4.0 + k, "far_sd": 1.0 + 0.5 * k}
    return shape, {"lam": POISSON_MEANS[k]}


def numeric_column(rng: np.random.Generator, i: int, n: int) -> np.ndarray:
    """n values of numeric feature i, rounded to float32 (the files store float32)."""
    shape, p = numeric_params(i)
    if shape == "normal":
        values = rng.normal(p["mean"], p["sd"], n)
    elif shape == "lognormal":
        values = rng.lognormal(p["mu"], p["sigma"], n)
    elif shape == "bimodal":
        far = rng.uniform(size=n) < p["weight"]
        values = np.where(far, rng.normal(p["far"], p["far_sd"], n), rng.normal(0.0, 1.0, n))
    else:
        values = rng.poisson(p["lam"], n).astype(float)
    return values.astype(np.float32).astype(float)


def category_names(j: int) -> list[str]:
    return [f"c{r}" for r in range(CATEGORY_COUNTS[j])]


def category_shares(j: int) -> np.ndarray:
    """Zipf-like shares of categorical feature j: the r-th category ∝ 1 / (r + 1)."""
    weights = 1.0 / np.arange(1, CATEGORY_COUNTS[j] + 1)
    return weights / weights.sum()


def category_codes(rng: np.random.Generator, j: int, n: int) -> np.ndarray:
    """n codes (indices into `category_names(j)`) of categorical feature j."""
    return rng.choice(CATEGORY_COUNTS[j], n, p=category_shares(j)).astype(np.uint8)


def make_rows(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """n rows of stable traffic: float values per numeric feature, codes per categorical."""
    data = {name: numeric_column(rng, i, n) for i, name in enumerate(NUMERIC)}
    data |= {name: category_codes(rng, j, n) for j, name in enumerate(CATEGORICAL)}
    return data


def ramp(day: int) -> float:
    """Share of the full shift on `day`: 0 before SHIFT_DAY, then 0.1, 0.2 … 1.0, then 1."""
    return float(np.clip((day - SHIFT_DAY + 1) / RAMP_DAYS, 0.0, 1.0))


def shifted(values: np.ndarray, shift: Shift, share: float, rng: np.random.Generator):
    """`values` of `shift.feature` with `share` (0..1) of the shift applied.

    mean: + share × size × sd; scale: deviations from the mean × (1 + share × (size - 1));
    share: each row not of the rarest category moves to it with the probability that
    raises its share by share × size (the others shrink in proportion).
    """
    if shift.kind == "share":
        j = CATEGORICAL.index(shift.feature)
        target = CATEGORY_COUNTS[j] - 1
        p = category_shares(j)[target]
        moves = (rng.uniform(size=len(values)) < share * shift.size / (1 - p)) & (values != target)
        return np.where(moves, np.uint8(target), values).astype(np.uint8)
    _, p = numeric_params(NUMERIC.index(shift.feature))
    if shift.kind == "mean":
        out = values + share * shift.size * p["sd"]
    else:
        out = p["mean"] + (values - p["mean"]) * (1 + share * (shift.size - 1))
    return out.astype(np.float32).astype(float)


def reference_rows(rows: int, seed: int = SEED) -> dict[str, np.ndarray]:
    """The reference at `rows` a day: REFERENCE_DAYS days of stable traffic."""
    return make_rows(np.random.default_rng([seed, rows, 10**6]), REFERENCE_DAYS * rows)


def day_rows(rows: int, day: int, seed: int = SEED) -> tuple[dict, dict]:
    """(stable rows, the shifted columns) of `day` at `rows` a day; no shifted columns
    before SHIFT_DAY. The shifted columns are the stable ones with the shift applied."""
    data = make_rows(np.random.default_rng([seed, rows, day]), rows)
    share = ramp(day)
    if share == 0:
        return data, {}
    rng = np.random.default_rng([seed, rows, day, 1])
    return data, {s.feature: shifted(data[s.feature], s, share, rng) for s in SHIFTS}


# -- data files, written once per size ------------------------------------------------------


def size_dir(rows: int) -> Path:
    return DATA_DIR / str(rows)


def day_file(rows: int, day: int, drifted: bool) -> Path:
    return size_dir(rows) / f"{'shifted' if drifted else 'day'}_{day:02d}.npz"


def save_columns(path: Path, data: dict[str, np.ndarray]) -> None:
    """Numeric columns as float32 (values are float32-exact), categorical as uint8 codes."""
    np.savez(path, **{n: v.astype(np.float32) if n in NUMERIC else v for n, v in data.items()})


def load_columns(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as stored:
        return {n: stored[n].astype(float) if n in NUMERIC else stored[n] for n in stored.files}


def category_values(name: str, codes: np.ndarray) -> np.ndarray:
    """Codes of categorical feature `name` as an object array of its category names."""
    names = np.asarray(category_names(CATEGORICAL.index(name)), dtype=object)
    return names[codes]


def frame_of(data: dict[str, np.ndarray]):
    """A pandas DataFrame of the 25 features, categories as strings."""
    import pandas as pd

    columns = {n: data[n] for n in NUMERIC}
    columns |= {n: category_values(n, data[n]) for n in CATEGORICAL}
    return pd.DataFrame(columns)


def day_columns(rows: int, day: int, drifted: bool) -> dict[str, np.ndarray]:
    """A day's stored rows, with the shifted columns in place of the stable ones if asked."""
    data = load_columns(day_file(rows, day, False))
    if drifted:
        data |= load_columns(day_file(rows, day, True))
    return data


def day_frame(rows: int, day: int, drifted: bool):
    return frame_of(day_columns(rows, day, drifted))


# -- which days each side judges --------------------------------------------------------------


def judged_days(tool: str, rows: int, days: int) -> dict[str, list[int]] | None:
    """{"stable": days, "shifted": days ≥ SHIFT_DAY} a tool judges at `rows` a day, or
    None when it is not run at that size (`SCHEDULES`)."""
    schedule = SCHEDULES.get((tool, rows), (1, 1))
    if schedule is None:
        return None
    stable, shifted = schedule
    return {
        "stable": list(range(0, days, stable)),
        "shifted": list(range(SHIFT_DAY, days, shifted)),
    }


def needed_days(rows: int, days: int) -> list[int]:
    """The days some tool judges at `rows` a day: only those are written."""
    found = set()
    for tool in TOOLS:
        schedule = judged_days(tool, rows, days)
        if schedule:
            found |= set(schedule["stable"]) | set(schedule["shifted"])
    return sorted(found)


# -- Evidently (its own venv) -----------------------------------------------------------------


def run_evidently(rows: int, days_file: Path, out_file: Path) -> None:
    """(In the Evidently venv.) DataDriftPreset, defaults, on each judged day's rows."""
    import evidently
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    sys.path.insert(0, str(ROOT))
    from bench.drift import evidently_features

    definition = DataDefinition(numerical_columns=NUMERIC, categorical_columns=CATEGORICAL)
    reference = Dataset.from_pandas(
        frame_of(load_columns(size_dir(rows) / "reference.npz")), data_definition=definition
    )

    def judge(frame) -> dict:
        snapshot = Report([DataDriftPreset()]).run(
            Dataset.from_pandas(frame, data_definition=definition), reference
        )
        result = snapshot.dict()
        features = evidently_features(result)
        share = dataset_share(result)
        return {
            "drifted": sorted(n for n, f in features.items() if f["drifted"]),
            "dataset": share >= 0.5,
            "methods": sorted({f["method"] for f in features.values()}),
        }

    write_verdicts(rows, days_file, out_file, judge, {"evidently": evidently.__version__})


def dataset_share(result: dict) -> float:
    """The share of drifted columns DataDriftPreset's DriftedColumnsCount reports."""
    for metric in result["metrics"]:
        if metric["config"].get("type", "").endswith("DriftedColumnsCount"):
            return float(metric["value"]["share"])
    raise ValueError("No DriftedColumnsCount in the snapshot.")


def write_verdicts(rows: int, days_file: Path, out_file: Path, judge, versions: dict) -> None:
    """Judge each scheduled day (stable, then shifted) and write the verdicts as JSON."""
    days = json.loads(days_file.read_text())
    out = {"versions": versions, "stable": {}, "shifted": {}, "seconds": []}
    for scenario in ("stable", "shifted"):
        for day in days[scenario]:
            frame = day_frame(rows, day, scenario == "shifted")
            started = time.perf_counter()
            out[scenario][str(day)] = judge(frame)
            out["seconds"].append(time.perf_counter() - started)
            print(f"    {scenario} day {day}: {out['seconds'][-1]:.1f} s", flush=True)
    out_file.write_text(json.dumps(out))


# -- NannyML (its own venv) -------------------------------------------------------------------


def run_nannyml(rows: int, days_file: Path, out_file: Path) -> None:
    """(In the NannyML venv.) UnivariateDriftCalculator, default methods and thresholds,
    fitted on the reference cut into chunks of one day's rows (`chunk_size`, so its
    REFERENCE_DAYS chunks give the thresholds' mean and std); each judged day is one chunk."""
    import warnings

    import nannyml

    warnings.filterwarnings("ignore")
    calculator = nannyml.UnivariateDriftCalculator(
        column_names=NUMERIC + CATEGORICAL, treat_as_categorical=CATEGORICAL, chunk_size=rows
    )
    calculator.fit(frame_of(load_columns(size_dir(rows) / "reference.npz")))
    methods = sorted({*calculator.continuous_method_names, *calculator.categorical_method_names})

    def judge(frame) -> dict:
        table = calculator.calculate(frame).filter(period="analysis").to_df()
        drifted = set()
        for column in NUMERIC + CATEGORICAL:
            for method in methods:
                if (column, method, "alert") in table.columns and bool(
                    table[(column, method, "alert")].iloc[0]
                ):
                    drifted.add(column)
        return {"drifted": sorted(drifted), "dataset": bool(drifted), "methods": methods}

    write_verdicts(rows, days_file, out_file, judge, {"nannyml": nannyml.__version__})


# -- ModelWatch (the app's venv, no database) ------------------------------------------------


def setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/mw_falsealarms")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "monitor_site.settings")
    import django

    django.setup()


def reference_summary(data: dict[str, np.ndarray]) -> dict:
    """The reference as the reference upload builds it (`models_app.reference`)."""
    from models_app import reference

    columns = {n: data[n] for n in NUMERIC}
    columns |= {n: category_values(n, data[n]).tolist() for n in CATEGORICAL}
    declared = {n: "numeric" for n in NUMERIC} | {n: "categorical" for n in CATEGORICAL}
    rows = len(data[NUMERIC[0]])
    return reference.summarize(
        columns, declared, {"prediction": (np.zeros(rows), "numeric")}, n_rows=rows
    )


def feature_specs(summary: dict) -> dict:
    """{feature: FeatureSpec}: how ingestion profiles each feature of a regression model
    under this reference and the declared schema (`WriteSpecs.spec`, without the database)."""
    from models_app.profiles.specs import spec_from

    declared = {n: "numeric" for n in NUMERIC} | {n: "categorical" for n in CATEGORICAL}
    return {
        n: spec_from(n, summary["features"][n], {"type": kind}, "regression")
        for n, kind in declared.items()
    }


def window_profiles(data: dict[str, np.ndarray], specs: dict, rows: int, day: int) -> dict:
    """The day's merged profiles, {name: FeatureProfile}: ingestion profiles each UTC hour's
    rows (`profile_values`, with JSON scalars as a request carries them) and a one-day
    window merges the hours (`merge_all`), as `window_profiles` does with stored rows.

    The reservoir seeds ingestion draws at random (`secrets.randbits`) are drawn here from
    the bench's seed, so that a run repeats exactly.
    """
    from models_app.profiles import merge_all, profile_values

    n, names = len(data[NUMERIC[0]]), NUMERIC + CATEGORICAL
    bounds = np.searchsorted(np.arange(n) * 24 // n, np.arange(25))
    seeds = np.random.default_rng([SEED, rows, day, 2]).integers(0, 2**62, (24, len(names)))
    values = {n: data[n] for n in NUMERIC} | {n: category_values(n, data[n]) for n in CATEGORICAL}
    parts: dict[str, list] = {name: [] for name in names}
    for hour in range(24):
        lo, hi = bounds[hour], bounds[hour + 1]
        for i, name in enumerate(names):
            part = values[name][lo:hi].tolist()
            parts[name].append(profile_values(name, part, specs[name], int(seeds[hour, i])))
    return {name: merge_all(found) for name, found in parts.items()}


def modelwatch_rules(with_auto: bool) -> dict[str, dict]:
    """{name: validated data_drift config}: the default rule and, when available, the same
    with `"threshold": "auto"`. One evaluation answers both rows of a config: the result's
    status is the drift_share 0.5 verdict, its per-feature verdicts are what a rule listing
    every feature alerts on (the same per-feature tests; listing features only adds
    "any listed feature drifts" to the rule's breach)."""
    from alerts_app.rule_config import validate_config

    rules = {"default": validate_config("data_drift", {})}
    if with_auto:
        rules["auto"] = validate_config("data_drift", {"threshold": "auto"})
        # A diagnostic: each feature against its own band, without the correction
        # across the 25 features that the rule's `correction` (fdr) applies.
        alone = {"threshold": "auto", "correction": "none"}
        rules["auto_uncorrected"] = validate_config("data_drift", alone)
    return rules


def calibrate(data, pairs: dict[str, dict], config: dict, bands: dict) -> None:
    """Set each feature's calibrated threshold (`"threshold": "auto"`) as the loader does
    (`alerts_app.loaders.calibration.calibrate_drift`), with `bands` standing in for its
    per-reference cache: {(feature, method, chunk size): Band or None}."""
    from alerts_app.checks.calibration import ReferenceFeature, drift_calibration, feature_band
    from alerts_app.loaders.calibration import band_key, seed_of

    for name, feature in data.features.items():
        key = band_key(name, feature, config)
        if key not in bands:
            reference = ReferenceFeature.from_summary(pairs[name])
            bands[key] = feature_band(reference, key[1], key[2], seed_of(name))
        band = bands[key]
        feature.calibration = None if band is None else drift_calibration(band, config["k"])


def auto_available() -> bool:
    try:
        import alerts_app.checks.calibration  # noqa: F401
    except ImportError:
        return False
    return True


def modelwatch_side(rows: int, days: int, rules: dict[str, dict]) -> dict[str, dict]:
    """{rule name: verdicts} over the judged days, stable and shifted, at `rows` a day
    (the rules `SCHEDULES` does not run at that size left out)."""
    rules = {n: c for n, c in rules.items() if SCHEDULES.get((n, rows), 1) is not None}
    from alerts_app.checks.drift import data_drift
    from alerts_app.loaders.profiles import drift_inputs

    summary = reference_summary(load_columns(size_dir(rows) / "reference.npz"))
    specs, features = feature_specs(summary), summary["features"]
    pairs = {n: features[n] for n in NUMERIC + CATEGORICAL}
    out = {name: {"stable": {}, "shifted": {}, "seconds": []} for name in rules}
    schedule, bands = judged_days("modelwatch", rows, days), {}
    for scenario in ("stable", "shifted"):
        for day in schedule[scenario]:
            window = window_profiles(
                day_columns(rows, day, scenario == "shifted"), specs, rows, day
            )
            data = drift_inputs(pairs, window, summary["n_rows"])
            for name, config in rules.items():
                started = time.perf_counter()
                if config["threshold"] == "auto":
                    calibrate(data, pairs, config, bands)
                outcome = data_drift(data, config)
                seconds = time.perf_counter() - started
                verdicts, found = outcome.details["verdicts"], outcome.details["features"]
                out[name][scenario][str(day)] = {
                    "drifted": sorted(n for n, v in verdicts.items() if v["status"] == "breached"),
                    "dataset": outcome.breached,
                    "methods": sorted({f["method"] for f in found.values()}),
                }
                out[name]["seconds"].append(seconds)
    return out


# -- the run --------------------------------------------------------------------------------


def write_size(rows: int, days: int) -> None:
    """The reference and the judged days' rows (and shifted columns) at `rows` a day."""
    folder = size_dir(rows)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    save_columns(folder / "reference.npz", reference_rows(rows))
    for day in needed_days(rows, days):
        stable, drifted = day_rows(rows, day)
        save_columns(day_file(rows, day, False), stable)
        if drifted:
            save_columns(day_file(rows, day, True), drifted)


def run_tool(tool: str, python: Path, rows: int, days: int) -> dict | None:
    schedule = judged_days(tool, rows, days)
    if schedule is None:
        return None
    folder = size_dir(rows)
    days_file, out_file = folder / f"{tool}-days.json", folder / f"{tool}.json"
    days_file.write_text(json.dumps(schedule))
    subprocess.run(
        [str(python), __file__, f"--{tool}", str(rows), str(days_file), str(out_file)],
        check=True,
    )
    return json.loads(out_file.read_text())


def alert_rate(verdicts: dict, per_feature: bool) -> tuple[int, int]:
    """(days alerting, days judged) over the stable days."""
    days = verdicts["stable"].values()
    alerting = sum(bool(v["drifted"]) if per_feature else v["dataset"] for v in days)
    return alerting, len(days)


def delay(verdicts: dict, feature: str, per_feature: bool) -> int | None:
    """Days from SHIFT_DAY to the first judged day that flags `feature` (per-feature
    rows) or alerts at all (dataset rows); None when none does."""
    for day in sorted(int(d) for d in verdicts["shifted"]):
        found = verdicts["shifted"][str(day)]
        if (feature in found["drifted"]) if per_feature else found["dataset"]:
            return day - SHIFT_DAY
    return None


TOOLS = ("modelwatch", "evidently", "nannyml")
# The table's rows: (label, tool, which of its results, per-feature or dataset verdicts).
ROWS = [
    ("ModelWatch auto, per-feature", "modelwatch", "auto", True),
    ("ModelWatch auto, drift_share 0.5", "modelwatch", "auto", False),
    ("ModelWatch auto, correction none, per-feature", "modelwatch", "auto_uncorrected", True),
    ("ModelWatch default, per-feature", "modelwatch", "default", True),
    ("ModelWatch default, drift_share 0.5", "modelwatch", "default", False),
    ("Evidently DataDriftPreset, any column", "evidently", "evidently", True),
    ("Evidently DataDriftPreset, dataset drift", "evidently", "evidently", False),
    ("NannyML univariate drift, any column", "nannyml", "nannyml", True),
]


def table(results: dict, sizes: list[int]) -> str:
    """The Markdown table: false-alarm rate per size, then delay per shift per size."""
    size_names = [f"{s // 1000:,}k" if s < 1_000_000 else f"{s // 1_000_000}M" for s in sizes]
    head = ["method"] + [f"false alarms {n}" for n in size_names]
    head += [f"{s.label} {n}" for s in SHIFTS for n in size_names]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for label, _, key, per_feature in ROWS:
        if not any(key in results[s] for s in sizes):
            continue
        cells = [label]
        for s in sizes:
            if key not in results[s]:
                cells.append("not run")
                continue
            alerting, judged = alert_rate(results[s][key], per_feature)
            cells.append(f"{alerting / judged:.1%} ({alerting}/{judged})")
        for shift in SHIFTS:
            for s in sizes:
                if key not in results[s]:
                    cells.append("not run")
                    continue
                found = delay(results[s][key], shift.feature, per_feature)
                cells.append("never" if found is None else f"{found} d")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def judged_note(sizes: list[int], days: int) -> list[str]:
    """One line per (tool, size) that does not judge every day."""
    notes = []
    for s in sizes:
        if SCHEDULES.get(("auto", s), 1) is None:
            notes.append(f"ModelWatch auto at {s:,} rows a day: not run (too slow for the budget)")
        for tool in TOOLS:
            schedule = judged_days(tool, s, days)
            if schedule is None:
                notes.append(f"{tool} at {s:,} rows a day: not run (too slow for the budget)")
            elif len(schedule["stable"]) < days or len(schedule["shifted"]) < days - SHIFT_DAY:
                notes.append(
                    f"{tool} at {s:,} rows a day: stable days "
                    f"{', '.join(map(str, schedule['stable']))}; shifted days "
                    f"{', '.join(map(str, schedule['shifted']))} (delays are in steps of "
                    f"{SCHEDULES[(tool, s)][1]} days)"
                )
    return notes or [f"every tool judged all {days} days at every size"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--days", type=int, default=DAYS)
    parser.add_argument("--evidently-venv", type=Path, default=EVIDENTLY_VENV)
    parser.add_argument("--nannyml-venv", type=Path, default=NANNYML_VENV)
    parser.add_argument("--keep-data", action="store_true", help="keep bench/.data files")
    for tool in ("evidently", "nannyml"):
        parser.add_argument(f"--{tool}", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.evidently:
        return run_evidently(int(args.evidently[0]), *map(Path, args.evidently[1:]))
    if args.nannyml:
        return run_nannyml(int(args.nannyml[0]), *map(Path, args.nannyml[1:]))
    if args.days <= SHIFT_DAY + RAMP_DAYS:
        parser.error(f"--days must be more than {SHIFT_DAY + RAMP_DAYS}")
    sys.path.insert(0, str(ROOT))
    from bench.drift import ensure_evidently_venv
    from bench.harness import ensure_venv

    pythons = {
        "evidently": ensure_evidently_venv(args.evidently_venv),
        "nannyml": ensure_venv(args.nannyml_venv, ROOT / "bench" / "requirements-nannyml.txt"),
    }
    setup_django()
    with_auto = auto_available()
    rules = modelwatch_rules(with_auto)
    results, versions, seconds = {}, {}, {}
    for rows in args.sizes:
        started = time.perf_counter()
        write_size(rows, args.days)
        print(f"{rows:,} rows a day: data written in {time.perf_counter() - started:.0f} s")
        results[rows] = {}
        for tool in ("evidently", "nannyml"):
            started = time.perf_counter()
            found = run_tool(tool, pythons[tool], rows, args.days)
            if found is not None:
                versions |= found["versions"]
                seconds[(tool, rows)] = found["seconds"]
                results[rows][tool] = found
            print(f"  {tool}: {time.perf_counter() - started:.0f} s", flush=True)
        started = time.perf_counter()
        results[rows] |= modelwatch_side(rows, args.days, rules)
        seconds[("modelwatch", rows)] = results[rows]["default"]["seconds"]
        print(f"  ModelWatch: {time.perf_counter() - started:.0f} s", flush=True)
        (DATA_DIR / "results.json").write_text(json.dumps({str(k): v for k, v in results.items()}))
        print(table(results, list(results)), flush=True)
        if not args.keep_data:
            shutil.rmtree(size_dir(rows))
    report(results, args, versions, seconds, with_auto)


def report(results, args, versions, seconds, with_auto: bool) -> None:
    sizes = args.sizes
    print(
        f"\nseed {SEED}; {args.days} days a size, reference {REFERENCE_DAYS} days of traffic; "
        f"shifts from day {SHIFT_DAY}, full on day {SHIFT_DAY + RAMP_DAYS - 1}; "
        + ", ".join(f"{k} {v}" for k, v in sorted(versions.items()))
    )
    print("\n".join(judged_note(sizes, args.days)))
    if not with_auto:
        print("no ModelWatch auto rows: alerts_app.checks.calibration is not in this tree")
    print()
    print(table(results, sizes))
    print("\nmedian seconds per judged day (the check alone for ModelWatch):")
    for (tool, rows), values in sorted(seconds.items()):
        print(f"  {tool:10} {rows:>9,}: {np.median(values):.3f} s over {len(values)} days")
    print("\nstable days alerting per feature (per-feature verdicts), the most first:")
    for key in ("auto", "auto_uncorrected", "default", "evidently", "nannyml"):
        for s in sizes:
            if key in results[s]:
                counts = {}
                for verdict in results[s][key]["stable"].values():
                    for name in verdict["drifted"]:
                        counts[name] = counts.get(name, 0) + 1
                ranked = sorted(counts.items(), key=lambda item: -item[1])
                listed = ", ".join(f"{name} {count}" for name, count in ranked) or "none"
                print(f"  {key:9} {s:>9,}: {listed}")
    print("\nmethods used:")
    for key in ("auto", "auto_uncorrected", "default", "evidently", "nannyml"):
        for s in sizes:
            if key in results[s]:
                days = results[s][key]["stable"].values()
                used = sorted({m for v in days for m in v["methods"]})
                print(f"  {key:9} {s:>9,}: {', '.join(used)}")


if __name__ == "__main__":
    main()
