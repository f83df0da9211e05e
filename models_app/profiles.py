"""Profiles in the database: written at ingestion, rolled up, read per window.

Reading side (what the checks and the dashboards call):
- `current_reference(version)`: the newest Reference of a version, or None.
- `window_profiles(version, start, end, features=None)`: {feature: FeatureProfile} of
  every hour bucket overlapping [start, end], merging rolled-up rows (daily rows for the
  whole days inside the window) and the partial rows the rollup has not reached yet, so
  the answer is the same before and after a rollup. Every profile is conformed to the
  current reference's kind and bins. Special names: `__prediction__` (the output),
  `__score__` (positive-class score, binary), `__latency_ms__`, `__error__` (error
  messages as categories; `missing` = predictions without error), `__label__` (labels,
  counted in the bucket of their prediction when they arrive).
- `window_serving(version_or_model, start, end)`: prediction, error and label counts and
  latency percentiles from the mergeable sketch.

Writing side: `record_profiles(version, rows)` appends one partial row per (hour bucket,
feature present in the rows, or output) inside the caller's transaction;
`models_app.rollup` merges partial rows into one rolled-up row per (version, hour,
feature) and one `DailyProfile` per day.
"""

import secrets
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.db.models import Q
from django.utils import timezone

from models_app import profiling
from models_app.models import Model, ModelVersion, Profile, Reference, Task
from models_app.profile_store import (
    day_of,
    fetch_samples,
    hour_of,
    profile_from_row,
    short_rows,
    stat_values,
    window_scalars,
)
from models_app.profiling import CATEGORICAL, NUMERIC, SAMPLE_SIZE, FeatureProfile, FeatureSpec
from models_app.reference import compact_specs
from models_app.rollup import rollup_pending, rollup_profiles

__all__ = ["current_reference", "window_profiles", "window_serving", "record_profiles",
           "rollup_profiles", "rollup_pending", "PREDICTION", "SCORE", "LATENCY", "ERROR",
           "LABEL", "day_of", "hour_of"]

PREDICTION, SCORE, LATENCY, ERROR, LABEL = (
    "__prediction__", "__score__", "__latency_ms__", "__error__", "__label__")
OUTPUTS = (PREDICTION, SCORE, LATENCY, ERROR, LABEL)
SUMMARY_KEYS = {PREDICTION: "prediction", SCORE: "scores", LABEL: "label"}

def current_reference(version: ModelVersion) -> Reference | None:
    """The reference the drift checks of `version` compare against (the newest), or None."""
    return Reference.objects.filter(version=version).order_by("-created_at", "-id").first()


def reference_for_profiles(version: ModelVersion) -> Reference | None:
    """The newest reference with its big `summary` deferred: profiling reads `specs_of`."""
    return (Reference.objects.filter(version=version).defer("summary")
            .order_by("-created_at", "-id").first())


def specs_of(reference: Reference | None) -> dict:
    """The compact specs of a reference (derived from its summary for older rows)."""
    if reference is None:
        return {}
    if not hasattr(reference, "_profile_specs"):
        reference._profile_specs = reference.specs or compact_specs(reference.summary)
    return reference._profile_specs


# --- specs: how each feature is profiled ------------------------------------------------


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


def spec_from(name: str, ref: dict | None, declared: dict | None, task: str,
              values: Sequence = ()) -> FeatureSpec:
    """The spec of one feature: kind and bins from the reference, else the declared
    schema, else the values; allowed range/categories from the schema, else the reference."""
    declared = declared or {}
    kind = (ref or {}).get("type") or profiling.DECLARED_KINDS.get(declared.get("type"))
    kind = kind or (output_kind(name, task) if name in OUTPUTS else None)
    kind = kind or profiling.infer_kind(values)
    edges = tuple(float(e) for e in (ref or {}).get("edges") or ()) if kind == NUMERIC else ()
    if kind == CATEGORICAL:
        allowed = declared.get("categories") or (ref or {}).get("categories")
        keys = frozenset(profiling.category_key(c) for c in allowed) if allowed else None
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


def feature_spec(version: ModelVersion, name: str, reference: Reference | None = None,
                 values: Sequence = ()) -> FeatureSpec:
    """The spec `name` gets at ingestion for `version` under `reference`."""
    return WriteSpecs(version, reference).spec(name, values)


# --- writing partial profiles -----------------------------------------------------------


def positive_score(scores) -> float | None:
    """The positive-class score of a binary `scores` object (class "1"/"true"/"yes"...)."""
    if not isinstance(scores, dict) or not scores:
        return None
    for key in ("1", "true", "True", "yes", "positive", "pos", "1.0"):
        if key in scores:
            return scores[key]
    negatives = [k for k in scores if str(k).lower() in ("0", "false", "no", "negative", "neg")]
    others = [k for k in scores if k not in negatives]
    return scores[others[0]] if len(others) == 1 else None


def output_columns(rows: Sequence[dict], binary: bool) -> dict[str, list]:
    """The output columns (prediction, score, latency, error, label) of validated rows."""
    columns = {
        PREDICTION: [r.get("prediction") for r in rows],
        LATENCY: [r.get("latency_ms") for r in rows],
        ERROR: [r.get("error") or None for r in rows],
    }
    if binary:
        columns[SCORE] = [positive_score(r.get("scores")) for r in rows]
    labels = [r.get("label") for r in rows]
    if any(label is not None for label in labels):
        columns[LABEL] = [label for label in labels if label is not None]
    return columns


def feature_columns(rows: Sequence[dict], names: Iterable[str] = ()) -> dict[str, list]:
    """{feature: values per row (None when absent)} for the features present in `rows`
    (and `names`, if given)."""
    features = [r["features"] for r in rows]
    first = tuple(features[0]) if features else ()
    if all(tuple(f) == first for f in features):  # one shape: transpose in C
        transposed = zip(*(f.values() for f in features), strict=True)
        columns = dict(zip(first, map(list, transposed), strict=True)) if first else {}
        columns.update({name: [None] * len(rows) for name in names if name not in columns})
        return columns
    seen = set(names).union(*(f.keys() for f in features))
    return {name: [f.get(name) for f in features] for name in sorted(seen)}


def profile_rows(specs: WriteSpecs, rows: Sequence[dict]) -> list[FeatureProfile]:
    """Partial profiles of one bucket's rows: the features present in them (a declared
    or reference feature absent from every row is counted missing when read, see
    `absent_as_missing`) and every output."""
    columns = feature_columns(rows)
    columns.update(output_columns(rows, specs.task == Task.BINARY))
    return [profiling.profile_values(name, values, specs.spec(name, values),
                                     secrets.randbits(62))
            for name, values in columns.items() if specs.profiled(name)]


@dataclass(frozen=True)
class BatchSize:
    """What a batch of prediction rows makes `record_profiles` do, at most."""

    profile_rows: int  # per hour bucket: its distinct feature keys plus the outputs
    hours: int
    keys: int  # distinct feature keys
    values: int  # feature values (keys summed over the records)


def batch_size(rows: Sequence[dict]) -> BatchSize:
    keys_by_hour: dict[datetime, set] = defaultdict(set)
    values = 0
    for row in rows:
        keys_by_hour[hour_of(row["timestamp"])].update(row["features"])
        values += len(row["features"])
    written = sum(len(keys) + len(OUTPUTS) for keys in keys_by_hour.values())
    return BatchSize(written, len(keys_by_hour), len(set().union(*keys_by_hour.values())),
                     values)


def group_by_hour(rows: Sequence[dict], field: str = "timestamp") -> dict[datetime, list[dict]]:
    groups: dict[datetime, list[dict]] = defaultdict(list)
    for row in rows:
        groups[hour_of(row[field])].append(row)
    return groups


def record_profiles(version: ModelVersion, rows: Sequence[dict],
                    reference: Reference | None = None) -> int:
    """Append partial profiles of validated prediction rows (caller holds the transaction)."""
    reference = reference if reference is not None else reference_for_profiles(version)
    specs = WriteSpecs(version, reference)
    written = [(bucket, profile) for bucket, group in group_by_hour(rows).items()
               for profile in profile_rows(specs, group)]
    write_partials(version, reference, written)
    return len(written)


def record_label_profiles(version_labels: dict[int, list[tuple[datetime, object]]]) -> None:
    """Count newly joined labels in the buckets of their predictions (`__label__`)."""
    versions = ModelVersion.objects.select_related("model").in_bulk(list(version_labels))
    for version_id, pairs in version_labels.items():
        version = versions[version_id]
        reference = reference_for_profiles(version)
        written = []
        by_hour: dict[datetime, list] = defaultdict(list)
        for moment, label in pairs:
            by_hour[hour_of(moment)].append(label)
        for bucket, labels in by_hour.items():
            spec = feature_spec(version, LABEL, reference, labels)
            written.append((bucket, profiling.profile_values(
                LABEL, labels, spec, secrets.randbits(62))))
        write_partials(version, reference, written)


def write_partials(version: ModelVersion, reference: Reference | None,
                   written: list[tuple[datetime, FeatureProfile]]) -> None:
    fixed = {"version_id": version.pk, "rolled_up": False, "sample": [],
             "reference_id": reference.pk if reference else None, "created_at": timezone.now()}
    rows = [{"bucket_start": bucket, **fixed, **stat_values(profile)}
            for bucket, profile in written]
    if connection.vendor == "postgresql":
        from models_app.ingest import copy_dicts

        copy_dicts(Profile, rows)
    else:
        Profile.objects.bulk_create([Profile(**row) for row in rows], batch_size=500)


# --- reading ----------------------------------------------------------------------------


def read_window(versions: Q, start: datetime, end: datetime, features: Iterable[str] | None,
                samples: bool = True) -> dict[str, list[dict]]:
    """The stored rows covering the window, by feature (with sample prefixes if asked)."""
    for _ in range(3):  # a rollup replacing a row between the two reads: read again
        rows = window_scalars(versions, start, end, features)
        if not samples or fetch_samples(rows):
            break
    grouped: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        grouped[row["feature"]].append(row)
    return grouped


def merge_rows(rows: Iterable[dict], spec: FeatureSpec | None) -> FeatureProfile:
    """Merge stored rows of one feature, conformed to `spec` (else the majority kind)."""
    profiles = [profile_from_row(row) for row in rows]
    if spec is None:
        kinds = defaultdict(int)
        for p in profiles:
            kinds[p.kind] += p.rows
        kind = max(sorted(kinds), key=kinds.get)
        edges = next((p.edges for p in profiles if p.kind == kind and p.edges), [])
    else:
        kind, edges = spec.kind, list(spec.edges)
    conformed = [profiling.conform(p, kind, edges) for p in profiles]
    return profiling.merge_all(conformed)


def reference_spec(reference: Reference | None, name: str) -> FeatureSpec | None:
    ref = reference_feature(specs_of(reference), name) if reference else None
    if not ref or name == LATENCY:
        return None
    return FeatureSpec(ref["type"], tuple(ref.get("edges") or ()) if ref["type"] == NUMERIC
                       else ())


def window_profiles(version: ModelVersion, start: datetime, end: datetime,
                    features: Iterable[str] | None = None) -> dict[str, FeatureProfile]:
    """{feature: FeatureProfile} of `version` over the hour buckets overlapping [start, end].

    Reads O(buckets x features) stored rows, never the raw predictions; a feature
    without rows is absent, unless declared or in the reference: predictions without it
    count as its `missing` (`absent_as_missing`). Bins follow the current reference
    (`edges` on each profile).
    """
    reference = reference_for_profiles(version)
    specs = WriteSpecs(version, reference)
    expected = expected_features(specs, features)
    wanted = features
    if features is not None and expected and PREDICTION not in features:
        wanted = [*features, PREDICTION]
    grouped = read_window(Q(version=version), start, end, wanted)
    window = {name: merged_feature(rows, reference_spec(reference, name))
              for name, rows in grouped.items()}
    absent_as_missing(window, expected, specs)
    if wanted is not features:
        window.pop(PREDICTION, None)
    return dict(sorted(window.items()))


def expected_features(specs: WriteSpecs, features: Iterable[str] | None) -> list[str]:
    """The declared (profiled) and reference features, among `features` if given."""
    names = [name for name in specs.declared if specs.profiled(name)]
    names += [name for name in (specs.summary or {}).get("features") or {}
              if name not in specs.declared]
    if features is not None:
        asked = set(features)
        names = [name for name in names if name in asked]
    return names


def absent_as_missing(window: dict[str, FeatureProfile], names: Iterable[str],
                      specs: WriteSpecs) -> None:
    """Count the predictions of the window that lacked a declared or reference feature
    as `missing` of that feature. Ingestion writes rows only for the features a batch
    holds (its cost follows what was sent, not the schema), so a feature absent from a
    whole batch has no row for it: its missing values are the window's predictions less
    the rows of the feature. Older rows, written for every known feature, add 0 here."""
    total = window[PREDICTION].rows if PREDICTION in window else 0
    if not total:
        return
    for name in names:
        profile = window.get(name)
        if profile is None:
            profile = window[name] = profiling.empty_profile(name, specs.spec(name))
        profile.missing += max(total - profile.rows, 0)


def merged_feature(rows: list[dict], spec: FeatureSpec | None) -> FeatureProfile:
    """Merge one feature's rows; fetch whole the rows whose sample prefix was too short."""
    merged = merge_rows(rows, spec)
    short = short_rows(rows, merged, SAMPLE_SIZE)
    if short:
        fetch_samples([r for r in rows if (r["is_daily"], r["id"]) in short],
                      whole=frozenset(short))
        merged = merge_rows(rows, spec)
    return merged


def window_serving(version_or_model: ModelVersion | Model, start: datetime,
                   end: datetime) -> dict:
    """Serving figures over [start, end] (hour buckets), for a version or a whole model.

    `{"predictions", "errors", "error_rate", "labels", "label_coverage", "latency":
    {"count", "mean", "min", "max", "p50", "p95", "p99"}}`. Percentiles come from the
    log-bucket sketch: within 1% relative error of `numpy.percentile(x, q, method="lower")`.
    """
    if isinstance(version_or_model, Model):
        versions = Q(version__model=version_or_model)
    else:
        versions = Q(version=version_or_model)
    grouped = read_window(versions, start, end, [LATENCY, ERROR, LABEL], samples=False)
    error = serving_merge(grouped[ERROR], CATEGORICAL)
    latency = serving_merge(grouped[LATENCY], NUMERIC)
    labels = sum(row["count"] for row in grouped[LABEL])
    return serving_figures(error.rows, error.count, labels, latency)


def serving_merge(rows: list[dict], kind: str) -> FeatureProfile:
    """Merge across versions and references: counts and sketch only (bins dropped)."""
    profiles = [profiling.conform(profile_from_row(r), kind, []) for r in rows]
    return profiling.merge_all(profiles) if profiles else FeatureProfile("", kind)


def serving_figures(predictions: int, errors: int, labels: int,
                    latency: FeatureProfile) -> dict:
    quantile = profiling.sketch_quantile
    return {
        "predictions": predictions, "errors": errors,
        "error_rate": errors / predictions if predictions else None,
        "labels": labels, "label_coverage": labels / predictions if predictions else None,
        "latency": {
            "count": latency.count, "mean": latency.mean, "min": latency.min, "max": latency.max,
            "p50": quantile(latency.sketch, 0.50), "p95": quantile(latency.sketch, 0.95),
            "p99": quantile(latency.sketch, 0.99),
        },
    }



