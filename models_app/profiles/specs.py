"""How each feature is profiled: the output names, the current reference and its specs.

A feature's spec (kind, bins, allowed values) comes from the current reference, else the
model's declared schema, else the values themselves. The outputs are profiled under
special names: `__prediction__`, `__score__` (positive-class score, binary),
`__latency_ms__`, `__error__` (error messages as categories; `missing` = predictions
without error) and `__label__` (labels, counted in the bucket of their prediction).
"""

from collections import OrderedDict
from collections.abc import Sequence

from models_app.models import ModelVersion, Reference, Task
from models_app.profiles.sketch import (
    CATEGORICAL,
    DECLARED_KINDS,
    NUMERIC,
    FeatureSpec,
    category_key,
    infer_kind,
)

PREDICTION, SCORE, LATENCY, ERROR, LABEL = (
    "__prediction__",
    "__score__",
    "__latency_ms__",
    "__error__",
    "__label__",
)
OUTPUTS = (PREDICTION, SCORE, LATENCY, ERROR, LABEL)
# The outputs the serving figures sum in SQL: stored as `Profile` rows, never packed.
SERVING = (LATENCY, ERROR, LABEL)
SUMMARY_KEYS = {PREDICTION: "prediction", SCORE: "scores", LABEL: "label"}
SPEC_KEYS = ("type", "edges", "categories", "min", "max")
SUMMARY_CACHE: OrderedDict[tuple, dict] = OrderedDict()
SUMMARY_CACHE_SIZE = 16


def current_reference(version: ModelVersion) -> Reference | None:
    """The reference the drift checks of `version` compare against (the newest), or None."""
    return Reference.objects.filter(version=version).order_by("-created_at", "-id").first()


def reference_for_profiles(version: ModelVersion) -> Reference | None:
    """The newest reference with its big `summary` deferred: profiling reads `specs_of`."""
    return (
        Reference.objects.filter(version=version)
        .defer("summary")
        .order_by("-created_at", "-id")
        .first()
    )


def specs_of(reference: Reference | None) -> dict:
    """The compact specs of a reference (derived from its summary for older rows)."""
    if reference is None:
        return {}
    if not hasattr(reference, "_profile_specs"):
        reference._profile_specs = reference.specs or compact_specs(reference.summary)
    return reference._profile_specs


def compact_specs(summary: dict) -> dict:
    """The part of a summary that profiling reads (no samples): `Reference.specs`."""

    def spec(part: dict) -> dict:
        return {key: part.get(key) for key in SPEC_KEYS}

    specs = {
        "features": {
            name: spec(part)
            for name, part in summary.get("features", {}).items()
            if isinstance(part, dict)
        }
    }
    for name in ("prediction", "scores", "label"):
        if isinstance(summary.get(name), dict):
            specs[name] = spec(summary[name])
    return specs


def cached_summary(reference_id: int, created_at) -> dict:
    """A reference's summary, parsed once per process (references are never edited: a new
    upload is a new row), the least recently used dropped past SUMMARY_CACHE_SIZE."""
    key = (reference_id, created_at)
    if key in SUMMARY_CACHE:
        SUMMARY_CACHE.move_to_end(key)
        return SUMMARY_CACHE[key]
    summary = Reference.objects.values_list("summary", flat=True).get(pk=reference_id) or {}
    SUMMARY_CACHE[key] = summary
    while len(SUMMARY_CACHE) > SUMMARY_CACHE_SIZE:
        SUMMARY_CACHE.popitem(last=False)
    return summary


def current_summary(version: ModelVersion) -> tuple[dict, int] | None:
    """(summary, rows) of the current reference (as `current_reference` picks it), or
    None when the version has none (or an empty summary)."""
    head = (
        Reference.objects.filter(version=version)
        .order_by("-created_at", "-id")
        .values_list("id", "created_at", "n_rows")
        .first()
    )
    summary = cached_summary(head[0], head[1]) if head else None
    if not summary:
        return None
    return summary, int(summary.get("n_rows") or head[2] or 0)


def reference_feature(summary: dict, name: str) -> dict | None:
    """The summary of `name` (or of an output) in a Reference.summary, if any."""
    if name in SUMMARY_KEYS:
        found = summary.get(SUMMARY_KEYS[name])
    else:
        found = (summary.get("features") or {}).get(name)
    return found if isinstance(found, dict) and found.get("type") else None


def output_kind(name: str, task: str) -> str | None:
    """Kinds of the outputs without a reference; None means inferred from the values."""
    if name in (SCORE, LATENCY):
        return NUMERIC
    if name == ERROR:
        return CATEGORICAL
    if task == Task.REGRESSION:
        return NUMERIC
    if task in (Task.BINARY, Task.MULTICLASS):
        return CATEGORICAL
    return None


def spec_from(
    name: str, ref: dict | None, declared: dict | None, task: str, values: Sequence = ()
) -> FeatureSpec:
    """The spec of one feature: kind and bins from the reference, else the declared
    schema, else the values; allowed range/categories from the schema, else the reference."""
    declared = declared or {}
    kind = (ref or {}).get("type") or DECLARED_KINDS.get(declared.get("type"))
    kind = kind or (output_kind(name, task) if name in OUTPUTS else None)
    kind = kind or infer_kind(values)
    edges = tuple(float(e) for e in (ref or {}).get("edges") or ()) if kind == NUMERIC else ()
    if kind == CATEGORICAL:
        allowed = declared.get("categories") or (ref or {}).get("categories")
        keys = frozenset(category_key(c) for c in allowed) if allowed else None
        return FeatureSpec(CATEGORICAL, categories=keys)
    low = declared.get("min", (ref or {}).get("min"))
    high = declared.get("max", (ref or {}).get("max"))
    return FeatureSpec(NUMERIC, edges, low=low, high=high, sketch=name == LATENCY)


class WriteSpecs:
    """The specs of one version's features under one reference, the declared schema and
    the reference's specs read once (a spec per feature must not re-read them)."""

    def __init__(self, version: ModelVersion, reference: Reference | None) -> None:
        self.task = version.model.task
        self.declared = version.model.feature_schema()
        self.summary = specs_of(reference) if reference else None

    def spec(self, name: str, values: Sequence = ()) -> FeatureSpec:
        ref = reference_feature(self.summary, name) if self.summary else None
        declared = self.declared.get(name) if name not in OUTPUTS else None
        return spec_from(name, None if name == LATENCY else ref, declared, self.task, values)

    def profiled(self, name: str) -> bool:
        """Image features are summarised by the SDK as numeric features of their own."""
        return self.declared.get(name, {}).get("type") != "image"


def feature_spec(
    version: ModelVersion, name: str, reference: Reference | None = None, values: Sequence = ()
) -> FeatureSpec:
    """The spec `name` gets at ingestion for `version` under `reference`."""
    return WriteSpecs(version, reference).spec(name, values)
