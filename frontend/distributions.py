"""Reference vs current distribution of one feature, on the reference's own bins.

The reference summary gives the bins (decile edges or categories) and their counts; the
current side is the window's merged profile (`models_app.profiles.window_feature`) on the
same bins, reading O(buckets x bins).
Without profiles (a version whose telemetry predates them) the newest raw predictions of
the window are binned instead, at most `RAW_SAMPLE` of them.
"""

from collections import Counter

import numpy as np
import pandas as pd

from frontend.ranges import TimeRange
from models_app import profiles
from models_app.models import Model, ModelVersion, Prediction

RAW_SAMPLE = profiles.SAMPLE_SIZE
OTHER = "(other)"
COLUMNS = ["bin", "reference", "current"]


def reference_features(version: ModelVersion) -> dict[str, dict]:
    """{feature: summary} of the version's current reference (the layout the reference
    upload stores: features nested under "features", docs/telemetry.md)."""
    reference = profiles.current_reference(version)
    if reference is None:
        return {}
    return dict((reference.summary or {}).get("features") or {})


def edges_of(spec: dict) -> list[float]:
    return [float(e) for e in spec.get("edges") or []]


def categories_of(spec: dict) -> dict[str, float]:
    """Category -> reference count."""
    return {str(k): float(v) for k, v in (spec.get("categories") or {}).items()}


def is_categorical(spec: dict) -> bool:
    return spec.get("type") == profiles.CATEGORICAL


def bin_labels(edges: list[float]) -> list[str]:
    """Open outer bins: "< e0", "[e0, e1)", ..., ">= e_last" (numpy.searchsorted 'right')."""
    if not edges:
        return ["all"]
    inner = [f"[{fmt(a)}, {fmt(b)})" for a, b in zip(edges[:-1], edges[1:], strict=True)]
    return [f"< {fmt(edges[0])}", *inner, f"≥ {fmt(edges[-1])}"]


def fmt(value: float) -> str:
    return f"{value:.4g}"


def numeric_frame(spec: dict, current_counts) -> pd.DataFrame:
    edges = edges_of(spec)
    reference = list(spec.get("bin_counts") or [])
    size = len(edges) + 1
    reference = (reference + [0] * size)[:size]
    current = (list(current_counts) + [0] * size)[:size]
    return pd.DataFrame(
        {
            "bin": bin_labels(edges),
            "reference": profiles.proportions(reference),
            "current": profiles.proportions(current),
        },
        columns=COLUMNS,
    )


def categorical_frame(spec: dict, current_counts: dict) -> pd.DataFrame:
    known = dict(sorted(categories_of(spec).items(), key=lambda kv: (-kv[1], kv[0])))
    current = Counter()
    for name, count in current_counts.items():
        current[name if name in known else OTHER] += count
    labels = [*known, OTHER] if current.get(OTHER) else list(known)
    return pd.DataFrame(
        {
            "bin": labels,
            "reference": profiles.proportions([known.get(label, 0.0) for label in labels]),
            "current": profiles.proportions([current.get(label, 0) for label in labels]),
        },
        columns=COLUMNS,
    )


def profile_counts(version: ModelVersion, feature: str, window: TimeRange, size: int | None):
    """(found, bin counts, category counts) of the window from the stored profiles."""
    profile = profiles.window_feature(version, feature, window.start, window.end)
    if profile is None:
        return False, np.zeros(size or 0), Counter()
    bins = np.asarray(profile.bin_counts or [], dtype=float)
    if size and bins.size != size:
        bins = np.zeros(size)
    return True, bins, Counter({str(k): v for k, v in (profile.categories or {}).items()})


def raw_values(model: Model, version: ModelVersion, feature: str, window: TimeRange) -> list:
    rows = (
        Prediction.objects.filter(
            model=model, version=version, timestamp__gte=window.start, timestamp__lte=window.end
        )
        .order_by("-timestamp")
        .values_list("features", flat=True)[:RAW_SAMPLE]
    )
    return [row.get(feature) for row in rows if isinstance(row, dict)]


def raw_counts(values: list, spec: dict):
    """Counts of raw values: per category (canonical keys, as profiles count them) or
    in the reference's bins."""
    if is_categorical(spec):
        keys = (profiles.category_key(v) for v in values)
        return Counter(key for key in keys if isinstance(key, str))
    numbers = np.array(
        [
            v
            for v in values
            if isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v)
        ],
        dtype=float,
    )
    return profiles.bin_counts(numbers, edges_of(spec))


def distribution_frame(
    model: Model, version: ModelVersion, feature: str, window: TimeRange
) -> pd.DataFrame:
    """Proportions per bin of the reference and of the window, for one feature."""
    spec = reference_features(version).get(feature)
    if spec is None:
        return pd.DataFrame(columns=COLUMNS)
    categorical = is_categorical(spec)
    size = None if categorical else len(edges_of(spec)) + 1
    seen, bins, categories = profile_counts(version, feature, window, size)
    if not seen:
        counts = raw_counts(raw_values(model, version, feature, window), spec)
        return categorical_frame(spec, counts) if categorical else numeric_frame(spec, counts)
    return categorical_frame(spec, categories) if categorical else numeric_frame(spec, bins)


def feature_names(model: Model, version: ModelVersion | None) -> list[str]:
    """Features with a reference (else the declared schema), in declared order."""
    declared = [f["name"] for f in model.features or [] if isinstance(f, dict) and "name" in f]
    if version is None:
        return declared
    known = list(reference_features(version))
    ordered = [name for name in declared if name in known]
    return ordered + [name for name in known if name not in ordered] if known else declared
