"""Reference vs current distribution of one feature, on the reference's own bins.

The reference summary gives the bins (decile edges or categories) and their counts; the
current side sums the window's Profile rows over the same bins, reading O(buckets x bins).
Without profiles (a version whose telemetry predates them) the newest raw predictions of
the window are binned instead, at most `RAW_SAMPLE` of them.
"""

from collections import Counter

import numpy as np
import pandas as pd

from frontend.ranges import TimeRange
from models_app.models import Model, ModelVersion, Prediction, Profile, Reference

RAW_SAMPLE = 5000
OTHER = "(other)"
COLUMNS = ["bin", "reference", "current"]


def current_reference(version: ModelVersion) -> Reference | None:
    try:
        from models_app.profiles import current_reference as telemetry_reference
    except ImportError:
        return version.references.order_by("-created_at", "-id").first()
    return telemetry_reference(version)


def reference_features(reference: Reference | None) -> dict[str, dict]:
    """{feature: summary}; accepts a summary nested under "features" or flat."""
    if reference is None:
        return {}
    summary = reference.summary or {}
    features = summary.get("features", summary)
    return {name: spec for name, spec in features.items() if isinstance(spec, dict)}


def edges_of(spec: dict) -> list[float]:
    return [float(e) for e in spec.get("edges") or spec.get("bin_edges") or []]


def categories_of(spec: dict) -> dict[str, float]:
    """Category -> reference count (or frequency); a bare list counts each once."""
    for key in ("frequencies", "categories", "counts"):
        raw = spec.get(key)
        if isinstance(raw, dict):
            return {str(k): float(v) for k, v in raw.items()}
    raw = spec.get("categories")
    return {str(c): 1.0 for c in raw} if isinstance(raw, list) else {}


def is_categorical(spec: dict) -> bool:
    kind = str(spec.get("type") or spec.get("kind") or "")
    return kind in {"categorical", "boolean"} or (not edges_of(spec) and bool(categories_of(spec)))


def bin_labels(edges: list[float]) -> list[str]:
    """Open outer bins: "< e0", "[e0, e1)", ..., ">= e_last" (numpy.searchsorted 'right')."""
    if not edges:
        return ["all"]
    inner = [f"[{fmt(a)}, {fmt(b)})" for a, b in zip(edges[:-1], edges[1:], strict=True)]
    return [f"< {fmt(edges[0])}", *inner, f"≥ {fmt(edges[-1])}"]


def fmt(value: float) -> str:
    return f"{value:.4g}"


def proportions(counts) -> np.ndarray:
    counts = np.asarray(counts, dtype=float)
    total = counts.sum()
    return counts / total if total > 0 else counts


def numeric_frame(spec: dict, current_counts) -> pd.DataFrame:
    edges = edges_of(spec)
    reference = list(spec.get("bin_counts") or spec.get("counts") or [])
    size = len(edges) + 1
    reference = (reference + [0] * size)[:size]
    current = (list(current_counts) + [0] * size)[:size]
    return pd.DataFrame({"bin": bin_labels(edges), "reference": proportions(reference),
                         "current": proportions(current)}, columns=COLUMNS)


def categorical_frame(spec: dict, current_counts: dict) -> pd.DataFrame:
    known = dict(sorted(categories_of(spec).items(), key=lambda kv: (-kv[1], kv[0])))
    current = Counter()
    for name, count in current_counts.items():
        current[name if name in known else OTHER] += count
    labels = [*known, OTHER] if current.get(OTHER) else list(known)
    return pd.DataFrame({
        "bin": labels,
        "reference": proportions([known.get(label, 0.0) for label in labels]),
        "current": proportions([current.get(label, 0) for label in labels]),
    }, columns=COLUMNS)


def profile_counts(version: ModelVersion, feature: str, window: TimeRange, size: int | None):
    """(found, bin counts, category counts) of the window from stored profiles.

    TELEMETRY's `window_profiles` merges hourly, daily and partial rows exactly once;
    without it, the window's rows of `Profile` are summed.
    """
    try:
        from models_app.profiles import window_profiles
    except ImportError:
        return summed_profiles(version, feature, window, size)
    profile = window_profiles(version, window.start, window.end, [feature]).get(feature)
    if profile is None:
        return False, np.zeros(size or 0), Counter()
    bins = np.asarray(profile.bin_counts or [], dtype=float)
    if size and bins.size != size:
        bins = np.zeros(size)
    return True, bins, Counter({str(k): v for k, v in (profile.categories or {}).items()})


def summed_profiles(version: ModelVersion, feature: str, window: TimeRange, size: int | None):
    rows = Profile.objects.filter(
        version=version, feature=feature,
        bucket_start__gte=window.start, bucket_start__lte=window.end,
    ).values_list("bin_counts", "categories")
    bins, categories, seen = np.zeros(size or 0), Counter(), False
    for bin_counts, cats in rows.iterator(chunk_size=2000):
        seen = True
        if size and bin_counts and len(bin_counts) == size:
            bins += np.asarray(bin_counts, dtype=float)
        categories.update({str(k): v for k, v in (cats or {}).items()})
    return seen, bins, categories


def raw_values(model: Model, version: ModelVersion, feature: str, window: TimeRange) -> list:
    rows = (
        Prediction.objects.filter(model=model, version=version, timestamp__gte=window.start,
                                  timestamp__lte=window.end)
        .order_by("-timestamp").values_list("features", flat=True)[:RAW_SAMPLE]
    )
    return [row.get(feature) for row in rows if isinstance(row, dict)]


def raw_counts(values: list, spec: dict):
    if is_categorical(spec):
        return Counter(str(v).lower() if isinstance(v, bool) else str(v)
                       for v in values if v is not None)
    numbers = np.array([v for v in values if isinstance(v, (int, float))
                        and not isinstance(v, bool) and np.isfinite(v)], dtype=float)
    return np.bincount(np.searchsorted(edges_of(spec), numbers, side="right"),
                       minlength=len(edges_of(spec)) + 1)


def distribution_frame(model: Model, version: ModelVersion, feature: str,
                       window: TimeRange) -> pd.DataFrame:
    """Proportions per bin of the reference and of the window, for one feature."""
    spec = reference_features(current_reference(version)).get(feature)
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
    known = list(reference_features(current_reference(version)))
    ordered = [name for name in declared if name in known]
    return ordered + [name for name in known if name not in ordered] if known else declared
