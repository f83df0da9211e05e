"""Reference summaries (pure): columns of values in, the `Reference.summary` dict out.

Per feature: its type, count, missing rate, type errors, min/max, mean/std (ddof=0),
decile edges (`numpy.quantile(x, [0.1 … 0.9])`, duplicates dropped), counts in those
bins, category counts, the number of distinct values and a bounded sample (the layout
is in docs/telemetry.md). A numeric feature with at most `AUTO_CATEGORICAL_MAX` distinct
values is typed categorical (Evidently's rule) and also keeps its numeric statistics.

Those per-feature samples are drawn among each feature's valid values, so they are not
aligned by row. The joint sample (`joint_sample`, stored as a `ReferenceSample`) is: the
values of every feature on one seeded sample of whole rows, for multivariate drift.
"""

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np

from models_app.profiles.sketch import (
    _TYPE_ERROR,
    CATEGORICAL,
    DECLARED_KINDS,
    NUMERIC,
    SAMPLE_SIZE,
    FeatureProfile,
    bin_counts,
    category_key,
    decile_edges,
    infer_kind,
    scaled_counts,
    split_numeric,
)

AUTO_CATEGORICAL_MAX = 5
POSITIVE_LABELS = frozenset({"1", "true", "yes", "positive", "pos"})
TEXT_OR_NONE = frozenset({str, type(None)})


def bounded_sample(values: Sequence, size: int, seed: int) -> list:
    """Every value when there are at most `size`, else a seeded sample without replacement
    (a numpy array is sampled as the list of its values would be, without making it)."""
    if len(values) <= size:
        return values.tolist() if isinstance(values, np.ndarray) else list(values)
    chosen = np.random.default_rng(seed).choice(len(values), size=size, replace=False)
    if isinstance(values, np.ndarray):
        return values[np.sort(chosen)].tolist()
    return [values[i] for i in sorted(chosen)]


JOINT_SAMPLE_SIZE = 5000
JOINT_MAX_CELLS = 250_000


def joint_size(n_features: int) -> int:
    """Rows in a reference's joint sample: 5,000, fewer for a wide reference so that the
    sample holds at most 250,000 values (1,000 features: 250 rows)."""
    return max(1, min(JOINT_SAMPLE_SIZE, JOINT_MAX_CELLS // max(n_features, 1)))


def joint_rows(n_rows: int, size: int, seed: int = 0) -> np.ndarray:
    """The row indices of the joint sample: every row when there are at most `size`, else
    a seeded sample without replacement, ascending (the rows keep the file's order): the
    indices `bounded_sample` picks, without making a range of every row."""
    if n_rows <= size:
        return np.arange(n_rows, dtype=np.int64)
    chosen = np.random.default_rng(seed).choice(n_rows, size=size, replace=False)
    return np.sort(chosen).astype(np.int64)


def pick(values: Sequence, rows: np.ndarray) -> list:
    """`values` at `rows` (a numpy column is indexed at C speed)."""
    if isinstance(values, np.ndarray):
        return values[rows].tolist()
    return [values[i] for i in rows.tolist()]


def joint_value(value, kind: str):
    """One cell of a joint sample (or of a window's rows, encoded alike): a finite float
    or None for a numeric feature; the canonical category string or None for a
    categorical one (a type error counts as missing)."""
    if kind == NUMERIC:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        number = float(value)
        return number if math.isfinite(number) else None
    key = category_key(value)
    return key if isinstance(key, str) else None


def joint_sample(picked: dict[str, Sequence], types: dict[str, str], size: int) -> dict:
    """`{"size", "types", "columns"}` of the rows picked from every feature (each column
    holds the same rows, in the same order): `ReferenceSample`'s fields."""
    return {
        "size": size,
        "types": {name: types[name] for name in picked},
        "columns": {
            name: [joint_value(v, types[name]) for v in values] for name, values in picked.items()
        },
    }


def no_numbers() -> dict:
    """The numeric statistics of a feature without numbers (a fresh dict each call)."""
    return {"min": None, "max": None, "mean": None, "std": None, "edges": [], "bin_counts": []}


def numeric_summary(numbers: np.ndarray, size: int, seed: int) -> dict:
    if not len(numbers):
        return no_numbers() | {"n_distinct": 0, "sample": []}
    edges = decile_edges(numbers)
    return {
        "min": float(numbers.min()),
        "max": float(numbers.max()),
        "mean": float(numbers.mean()),
        "std": float(numbers.std()),
        "edges": edges,
        "bin_counts": bin_counts(numbers, edges).tolist(),
        "n_distinct": int(len(np.unique(numbers))),
        "sample": bounded_sample(numbers, size, seed),
    }


def categorical_counts(values: Sequence) -> tuple[Counter, int, int]:
    if set(map(type, values)) <= TEXT_OR_NONE:  # CSV cells: each value is its own key
        counts = Counter(values)
        return counts, counts.pop(None, 0), 0
    counts = Counter(category_key(v) for v in values)
    return counts, counts.pop(None, 0), counts.pop(_TYPE_ERROR, 0)


def category_keys(values: Sequence) -> list[str]:
    """The keys of the present, well-typed values, in order."""
    if set(map(type, values)) <= TEXT_OR_NONE:
        return [v for v in values if v is not None]
    return [key for key in map(category_key, values) if key is not None and key is not _TYPE_ERROR]


def numeric_categories(numbers: np.ndarray) -> dict[str, int]:
    """Category counts of a few distinct numbers, counted by numpy (not per value)."""
    distinct, counts = np.unique(numbers, return_counts=True)
    categories = Counter()
    for value, count in zip(distinct.tolist(), counts.tolist(), strict=True):
        categories[category_key(float(value))] += count
    return dict(categories)


def summarize_column(
    values: Sequence, kind: str | None = None, size: int = SAMPLE_SIZE, seed: int = 0
) -> dict:
    """The summary of one column of raw values (None = missing). `kind` None infers it;
    a numeric column with ≤ AUTO_CATEGORICAL_MAX distinct values becomes categorical."""
    if isinstance(values, np.ndarray):  # a numeric column read from Parquet (NaN: missing)
        kind = kind or NUMERIC
        values = values if kind == NUMERIC else plain_values(values)
    kind = kind or infer_kind(values)
    rows = len(values)
    if kind == NUMERIC:
        numbers, missing, type_errors = numeric_values(values)
        summary = numeric_summary(numbers, size, seed)
        if 0 < summary["n_distinct"] <= AUTO_CATEGORICAL_MAX:
            summary |= {"type": CATEGORICAL, "categories": numeric_categories(numbers)}
        else:
            summary |= {"type": NUMERIC, "categories": {}}
        count = len(numbers)
    else:
        counts, missing, type_errors = categorical_counts(values)
        count = sum(counts.values())
        keys = category_keys(values)
        summary = no_numbers() | {
            "type": CATEGORICAL,
            "categories": dict(counts),
            "n_distinct": len(counts),
            "sample": bounded_sample(keys, size, seed),
        }
    return summary | {
        "count": count,
        "missing_rate": missing / rows if rows else 0.0,
        "type_errors": type_errors,
    }


def plain_values(array: np.ndarray) -> list:
    """A float array as the list a CSV column gives: floats, None where NaN."""
    return [None if v != v else v for v in array.astype(float).tolist()]


def numeric_values(values) -> tuple[np.ndarray, int, int]:
    """(valid numbers, missing, type errors): `split_numeric`, at C speed for an array."""
    if isinstance(values, np.ndarray):
        array = values.astype(float, copy=False)
        finite = np.isfinite(array)
        return array[finite], int(len(array) - finite.sum()), 0
    return split_numeric(values)


def has_values(values) -> bool:
    if isinstance(values, np.ndarray):
        return bool(np.isfinite(values.astype(float, copy=False)).any())
    if isinstance(values, list):
        return values.count(None) != len(values)  # counted in C
    return any(v is not None for v in values)


def positive_label(value) -> int | None:
    """1 for the positive class (`1`, `true`, `yes`, …), 0 for any other label."""
    key = category_key(value)
    if key is None or key is _TYPE_ERROR:
        return None
    return int(key.lower() in POSITIVE_LABELS)


def calibration_pairs(scores: Sequence, labels: Sequence, size: int, seed: int) -> dict:
    """The (positive-class score, 0/1 label) pairs CBPE calibrates on, at most `size`."""
    pairs = [
        (float(s), positive_label(y))
        for s, y in zip(scores, labels, strict=True)
        if isinstance(s, (int, float)) and not isinstance(s, bool) and positive_label(y) is not None
    ]
    pairs = bounded_sample(pairs, size, seed)
    return {"scores": [p[0] for p in pairs], "labels": [p[1] for p in pairs]}


def summarize(
    features: dict[str, Sequence],
    declared: dict[str, str | None],
    outputs: dict[str, tuple[Sequence, str | None]],
    n_rows: int,
    size: int = SAMPLE_SIZE,
    seed: int = 0,
) -> dict:
    """The whole `Reference.summary`: `features` columns with their declared schema types,
    and the `outputs` among "prediction", "scores" (positive-class score) and "label" as
    (values, kind or None)."""
    summary = {
        "n_rows": n_rows,
        "features": {
            name: summarize_column(values, DECLARED_KINDS.get(declared.get(name)), size, seed)
            | {"declared_type": declared.get(name)}
            for name, values in features.items()
        },
    }
    for name, (values, kind) in outputs.items():
        if has_values(values):
            summary[name] = summarize_column(values, kind, size, seed)
    scores, labels = outputs.get("scores", ((), None))[0], outputs.get("label", ((), None))[0]
    if has_values(scores) and has_values(labels):
        scores = plain_values(scores) if isinstance(scores, np.ndarray) else scores
        labels = plain_values(labels) if isinstance(labels, np.ndarray) else labels
        summary["calibration"] = calibration_pairs(scores, labels, size, seed)
    return summary


def profile_summary(profile: FeatureProfile, size: int = SAMPLE_SIZE) -> dict:
    """A column's summary made from its profile (a reference built from profiles).

    Exact: counts, missing rate, type errors, min, max, category counts; mean and std
    from the profile's sums. From the profile's uniform sample (every value while there
    are at most SAMPLE_SIZE): the decile edges, the number of distinct values and, scaled
    to the count, the bin counts; the auto-categorical rule applies only when the sample
    holds every value. A categorical sample is the counts scaled to at most `size`.
    """
    rows = profile.rows
    common = {
        "count": profile.count,
        "missing_rate": profile.missing / rows if rows else 0.0,
        "type_errors": profile.type_errors,
    }
    if profile.kind == CATEGORICAL:
        return categorical_profile_summary(profile, size) | common
    sample = np.asarray(profile.sample, dtype=float)
    if not len(sample):
        return no_numbers() | {"type": NUMERIC, "categories": {}, "n_distinct": 0, "sample": []}
    exact = len(sample) == profile.count
    edges = decile_edges(sample)
    counts = bin_counts(sample, edges)
    summary = {
        "min": profile.min,
        "max": profile.max,
        "mean": profile.mean,
        "std": profile.std,
        "edges": edges,
        "bin_counts": (counts if exact else scaled_counts(counts, profile.count)).tolist(),
        "n_distinct": int(len(np.unique(sample))),
        "sample": sample.tolist(),
    }
    if exact and 0 < summary["n_distinct"] <= AUTO_CATEGORICAL_MAX:
        return summary | {"type": CATEGORICAL, "categories": numeric_categories(sample)} | common
    return summary | {"type": NUMERIC, "categories": {}} | common


def categorical_profile_summary(profile: FeatureProfile, size: int) -> dict:
    keys = list(profile.categories)
    counts = np.asarray([profile.categories[k] for k in keys], dtype=np.int64)
    scaled = scaled_counts(counts, min(int(counts.sum()), size)) if len(keys) else counts
    sample = [key for key, n in zip(keys, scaled.tolist(), strict=True) for _ in range(n)]
    return no_numbers() | {
        "type": CATEGORICAL,
        "categories": dict(profile.categories),
        "n_distinct": len(keys),
        "sample": sample,
    }


def without_samples(summary: dict) -> dict:
    """The summary with its bounded samples replaced by their sizes (for API answers)."""

    def strip(part: dict) -> dict:
        return {k: v for k, v in part.items() if k != "sample"} | {
            "sample_size": len(part.get("sample") or [])
        }

    answer = {k: v for k, v in summary.items() if k not in ("features", "calibration")}
    answer["features"] = {name: strip(part) for name, part in summary["features"].items()}
    for name in ("prediction", "scores", "label"):
        if name in summary:
            answer[name] = strip(summary[name])
    if "calibration" in summary:
        answer["calibration"] = {"size": len(summary["calibration"]["scores"])}
    return answer
