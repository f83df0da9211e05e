"""Reference summaries (pure): columns of values in, the `Reference.summary` dict out.

Per feature: its type, count, missing rate, type errors, min/max, mean/std (ddof=0),
decile edges (`numpy.quantile(x, [0.1 … 0.9])`, duplicates dropped), counts in those
bins, category counts, the number of distinct values and a bounded sample (the layout
is in docs/telemetry.md). A numeric feature with at most `AUTO_CATEGORICAL_MAX` distinct
values is typed categorical (Evidently's rule) and also keeps its numeric statistics.
"""

from collections import Counter
from collections.abc import Sequence

import numpy as np

from models_app.profiles.sketch import (
    _TYPE_ERROR,
    CATEGORICAL,
    DECLARED_KINDS,
    NUMERIC,
    SAMPLE_SIZE,
    bin_counts,
    category_key,
    decile_edges,
    infer_kind,
    split_numeric,
)

AUTO_CATEGORICAL_MAX = 5
POSITIVE_LABELS = frozenset({"1", "true", "yes", "positive", "pos"})
TEXT_OR_NONE = frozenset({str, type(None)})


def bounded_sample(values: Sequence, size: int, seed: int) -> list:
    """Every value when there are at most `size`, else a seeded sample without replacement."""
    if len(values) <= size:
        return list(values)
    chosen = np.random.default_rng(seed).choice(len(values), size=size, replace=False)
    return [values[i] for i in sorted(chosen)]


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
        "sample": bounded_sample(numbers.tolist(), size, seed),
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
    kind = kind or infer_kind(values)
    rows = len(values)
    if kind == NUMERIC:
        numbers, missing, type_errors = split_numeric(values)
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
        if any(v is not None for v in values):
            summary[name] = summarize_column(values, kind, size, seed)
    scores, labels = outputs.get("scores", ((), None))[0], outputs.get("label", ((), None))[0]
    if any(v is not None for v in scores) and any(v is not None for v in labels):
        summary["calibration"] = calibration_pairs(scores, labels, size, seed)
    return summary


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
