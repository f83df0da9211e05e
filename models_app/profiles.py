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
feature) inside the caller's transaction; `rollup_profiles()` merges partial rows into
one rolled-up row per (version, hour, feature) and one `DailyProfile` per day.
"""

import secrets
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

import numpy as np
from django.db import connection, transaction
from django.db.models import Q

from models_app import profiling
from models_app.models import DailyProfile, Model, ModelVersion, Profile, Reference, Task
from models_app.profiling import CATEGORICAL, NUMERIC, FeatureProfile, FeatureSpec

PREDICTION, SCORE, LATENCY, ERROR, LABEL = (
    "__prediction__", "__score__", "__latency_ms__", "__error__", "__label__")
OUTPUTS = (PREDICTION, SCORE, LATENCY, ERROR, LABEL)
HOUR, DAY = timedelta(hours=1), timedelta(days=1)
SUMMARY_KEYS = {PREDICTION: "prediction", SCORE: "scores", LABEL: "label"}
STAT_FIELDS = ("feature", "kind", "count", "missing", "type_errors", "out_of_range", "unseen",
               "min", "max", "sum", "sum_sq", "edges", "bin_counts", "categories", "sketch")
ROW_FIELDS = ("id", "bucket_start", *STAT_FIELDS, "sample", "sample_values", "sample_keys",
              "sample_seed")


def current_reference(version: ModelVersion) -> Reference | None:
    """The reference the drift checks of `version` compare against (the newest), or None."""
    return Reference.objects.filter(version=version).order_by("-created_at", "-id").first()


def hour_of(moment: datetime) -> datetime:
    """The start of the UTC hour bucket holding `moment`."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def day_of(moment: datetime) -> datetime:
    return hour_of(moment).replace(hour=0)


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


def feature_spec(version: ModelVersion, name: str, reference: Reference | None = None,
                 values: Sequence = ()) -> FeatureSpec:
    """The spec `name` gets at ingestion for `version` under `reference`."""
    model = version.model
    ref = reference_feature(reference.summary, name) if reference else None
    declared = model.feature_schema().get(name) if name not in OUTPUTS else None
    if name == LATENCY:
        ref = None
    return spec_from(name, ref, declared, model.task, values)


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


def feature_columns(rows: Sequence[dict], names: Iterable[str]) -> dict[str, list]:
    """{feature: values per row (None when absent)} for the seen and the known features."""
    features = [r["features"] for r in rows]
    first = tuple(features[0]) if features else ()
    if all(tuple(f) == first for f in features):  # one shape: transpose in C
        transposed = zip(*(f.values() for f in features), strict=True)
        columns = dict(zip(first, map(list, transposed), strict=True)) if first else {}
        columns.update({name: [None] * len(rows) for name in names if name not in columns})
        return columns
    seen = set(names).union(*(f.keys() for f in features))
    return {name: [f.get(name) for f in features] for name in sorted(seen)}


def profile_rows(version: ModelVersion, rows: Sequence[dict],
                 reference: Reference | None) -> list[FeatureProfile]:
    """Partial profiles of one bucket's rows: every feature and every output."""
    declared = version.model.feature_schema()
    ref_names = (reference.summary.get("features") or {}) if reference else {}
    columns = feature_columns(rows, [*declared, *ref_names])
    columns.update(output_columns(rows, version.model.task == Task.BINARY))
    profiles = []
    for name, values in columns.items():
        if declared.get(name, {}).get("type") == "image":
            continue
        spec = feature_spec(version, name, reference, values)
        profiles.append(profiling.profile_values(name, values, spec, secrets.randbits(62)))
    return profiles


def group_by_hour(rows: Sequence[dict], field: str = "timestamp") -> dict[datetime, list[dict]]:
    groups: dict[datetime, list[dict]] = defaultdict(list)
    for row in rows:
        groups[hour_of(row[field])].append(row)
    return groups


def record_profiles(version: ModelVersion, rows: Sequence[dict],
                    reference: Reference | None = None) -> int:
    """Append partial profiles of validated prediction rows (caller holds the transaction)."""
    reference = reference if reference is not None else current_reference(version)
    written = []
    for bucket, group in group_by_hour(rows).items():
        for profile in profile_rows(version, group, reference):
            written.append((bucket, profile))
    write_partials(version, reference, written)
    return len(written)


def record_label_profiles(version_labels: dict[int, list[tuple[datetime, object]]]) -> None:
    """Count newly joined labels in the buckets of their predictions (`__label__`)."""
    versions = ModelVersion.objects.select_related("model").in_bulk(list(version_labels))
    for version_id, pairs in version_labels.items():
        version = versions[version_id]
        reference = current_reference(version)
        written = []
        by_hour: dict[datetime, list] = defaultdict(list)
        for moment, label in pairs:
            by_hour[hour_of(moment)].append(label)
        for bucket, labels in by_hour.items():
            spec = feature_spec(version, LABEL, reference, labels)
            written.append((bucket, profiling.profile_values(
                LABEL, labels, spec, secrets.randbits(62))))
        write_partials(version, reference, written)


def encode_sample(profile: FeatureProfile) -> tuple[bytes | None, bytes | None, int | None]:
    """(values, keys, seed) as stored: keys are implied by the seed while it is set."""
    if not len(profile.sample):
        return None, None, None
    values = np.asarray(profile.sample, dtype="<f8").tobytes()
    if profile.sample_seed is not None:
        return values, None, profile.sample_seed
    return values, profiling.keys_of(profile).astype("<u8").tobytes(), None


def stat_values(profile: FeatureProfile) -> dict:
    values = {name: getattr(profile, name) for name in STAT_FIELDS}
    values["sketch"] = {str(k): v for k, v in profile.sketch.items()}
    values["sample_values"], values["sample_keys"], values["sample_seed"] = encode_sample(profile)
    return values


def write_partials(version: ModelVersion, reference: Reference | None,
                   written: list[tuple[datetime, FeatureProfile]]) -> None:
    rows = [Profile(version_id=version.pk, bucket_start=bucket, rolled_up=False,
                    reference=reference, **stat_values(profile))
            for bucket, profile in written]
    if connection.vendor == "postgresql":
        from models_app.ingest import copy_models

        copy_models(Profile, rows)
    else:
        Profile.objects.bulk_create(rows, batch_size=500)


# --- reading ----------------------------------------------------------------------------


def decode_sample(row: dict) -> tuple[np.ndarray, np.ndarray]:
    """(values, keys) of a stored row; JSON `sample` rows get keys from their id."""
    blob = row.get("sample_values")
    if blob is not None:
        values = np.frombuffer(bytes(blob), dtype="<f8").astype(float)
        if row.get("sample_seed") is not None:
            return values, profiling.reservoir_keys(row["sample_seed"], len(values))
        return values, np.frombuffer(bytes(row["sample_keys"]), dtype="<u8").astype(np.uint64)
    values = np.asarray([v for v in row.get("sample") or [] if isinstance(v, (int, float))],
                        dtype=float)
    return values, profiling.reservoir_keys(row.get("id") or 0, len(values))


def profile_from_row(row: dict) -> FeatureProfile:
    """A FeatureProfile from a Profile/DailyProfile row's values."""
    fields = {name: row.get(name) for name in STAT_FIELDS}
    fields["sketch"] = {int(k): v for k, v in (row.get("sketch") or {}).items()}
    fields["edges"] = [float(e) for e in fields["edges"] or []]
    fields["bin_counts"] = list(fields["bin_counts"] or [])
    fields["categories"] = dict(fields["categories"] or {})
    values, keys = decode_sample(row) if fields["kind"] == NUMERIC else ([], [])
    return FeatureProfile(**fields, sample=values, sample_keys=keys)


def window_buckets(start: datetime, end: datetime) -> tuple[datetime, datetime, list]:
    """(first hour, last hour, whole days) of the hour buckets overlapping [start, end]."""
    first, last = hour_of(start), hour_of(end)
    day = day_of(first) if first == day_of(first) else day_of(first) + DAY
    days = []
    while day + DAY - HOUR <= last:
        days.append(day)
        day += DAY
    return first, last, days


def window_rows(versions: Q, start: datetime, end: datetime,
                features: Iterable[str] | None) -> list[dict]:
    """Stored rows covering [start, end] once: daily rows for whole days, hourly rows for
    the rest, and every partial row (they are in no rolled-up row yet)."""
    first, last, days = window_buckets(start, end)
    hourly = Q(bucket_start__gte=first, bucket_start__lte=last)
    if days:
        inside = Q(bucket_start__gte=days[0], bucket_start__lt=days[-1] + DAY)
        hourly &= Q(rolled_up=False) | ~inside
    named = Q(feature__in=list(features)) if features is not None else Q()
    hours = Profile.objects.filter(versions, hourly, named).values(*ROW_FIELDS)
    if not days:
        return list(hours)
    daily = DailyProfile.objects.filter(
        versions, named, bucket_start__gte=days[0], bucket_start__lte=days[-1]
    ).values(*ROW_FIELDS)
    return list(hours.union(daily, all=True))


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
    ref = reference_feature(reference.summary, name) if reference else None
    if not ref or name == LATENCY:
        return None
    return FeatureSpec(ref["type"], tuple(ref.get("edges") or ()) if ref["type"] == NUMERIC
                       else ())


def window_profiles(version: ModelVersion, start: datetime, end: datetime,
                    features: Iterable[str] | None = None) -> dict[str, FeatureProfile]:
    """{feature: FeatureProfile} of `version` over the hour buckets overlapping [start, end].

    Reads O(buckets x features) stored rows, never the raw predictions; a feature
    without rows is absent. Bins follow the current reference (`edges` on each profile).
    """
    reference = current_reference(version)
    grouped: dict[str, list[dict]] = defaultdict(list)
    for row in window_rows(Q(version=version), start, end, features):
        grouped[row["feature"]].append(row)
    return {name: merge_rows(rows, reference_spec(reference, name))
            for name, rows in sorted(grouped.items())}


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
    grouped: dict[str, list[dict]] = defaultdict(list)
    for row in window_rows(versions, start, end, [LATENCY, ERROR, LABEL]):
        grouped[row["feature"]].append(row)
    error = serving_merge(grouped[ERROR], CATEGORICAL)
    latency = serving_merge(grouped[LATENCY], NUMERIC)
    labels = sum(row["count"] for row in grouped[LABEL])
    return serving_figures(error.rows, error.count, labels, latency)


def serving_merge(rows: list[dict], kind: str) -> FeatureProfile:
    profiles = [profiling.conform(profile_from_row(r), kind, []) for r in rows]
    profiles = [replace_bins(p) for p in profiles]
    return profiling.merge_all(profiles) if profiles else FeatureProfile("", kind)


def replace_bins(profile: FeatureProfile) -> FeatureProfile:
    profile.edges, profile.bin_counts = [], []
    return profile


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


# --- rollup -----------------------------------------------------------------------------


def _rollup_lock() -> bool:
    """One rollup at a time across workers (PostgreSQL advisory lock; SQLite serialises)."""
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [0x4D57524F4C4C])
        return bool(cursor.fetchone()[0])


def rollup_profiles(limit: int = 20000) -> int:
    """Merge up to `limit` partial rows into rolled-up hourly and daily rows; returns how
    many partial rows were merged (0 when another rollup holds the lock)."""
    with transaction.atomic():
        if not _rollup_lock():
            return 0
        partials = list(Profile.objects.filter(rolled_up=False).order_by("id")
                        .values(*ROW_FIELDS, "version_id", "reference_id")[:limit])
        if not partials:
            return 0
        groups: dict[tuple, list[dict]] = defaultdict(list)
        for row in partials:
            groups[(row["version_id"], row["bucket_start"], row["feature"])].append(row)
        merge_into_hours(groups)
        merge_into_days(groups)
        Profile.objects.filter(id__in=[row["id"] for row in partials]).delete()
    return len(partials)


def target_spec(rows: Sequence[dict]) -> tuple[str, list[float], int | None]:
    """Kind, edges and reference of the newest partial row: the others conform to it."""
    newest = max(rows, key=lambda row: row["id"])
    return newest["kind"], [float(e) for e in newest["edges"] or []], newest["reference_id"]


def merged_group(stored: dict | None, partials: list[dict]) -> tuple[FeatureProfile, int | None]:
    kind, edges, reference_id = target_spec(partials)
    rows = ([stored] if stored else []) + partials
    profiles = [profiling.conform(profile_from_row(row), kind, edges) for row in rows]
    return profiling.merge_all(profiles), reference_id


def existing(model, keys: Iterable[tuple], **filters) -> dict[tuple, dict]:
    keys = list(keys)
    rows = model.objects.filter(
        version_id__in={k[0] for k in keys}, bucket_start__in={k[1] for k in keys},
        feature__in={k[2] for k in keys}, **filters,
    ).values(*ROW_FIELDS, "version_id", "reference_id")
    wanted = set(keys)
    found = {}
    for row in rows:
        key = (row["version_id"], row["bucket_start"], row["feature"])
        if key in wanted:
            found[key] = row
    return found


def replace_rows(model, groups: dict[tuple, list[dict]], stored: dict[tuple, dict],
                 **extra) -> None:
    new_rows = []
    for key, partials in groups.items():
        profile, reference_id = merged_group(stored.get(key), partials)
        new_rows.append(model(version_id=key[0], bucket_start=key[1], reference_id=reference_id,
                              **stat_values(profile), **extra))
    model.objects.filter(id__in=[row["id"] for row in stored.values()]).delete()
    model.objects.bulk_create(new_rows, batch_size=500)


def merge_into_hours(groups: dict[tuple, list[dict]]) -> None:
    stored = existing(Profile, groups, rolled_up=True)
    replace_rows(Profile, groups, stored, rolled_up=True)


def merge_into_days(groups: dict[tuple, list[dict]]) -> None:
    days: dict[tuple, list[dict]] = defaultdict(list)
    for (version_id, bucket, feature), rows in groups.items():
        days[(version_id, day_of(bucket), feature)].extend(rows)
    replace_rows(DailyProfile, days, existing(DailyProfile, days))


def rollup_pending(limit: int = 20000, max_rounds: int = 50) -> int:
    """Roll up partial rows until none are left (at most `max_rounds` x `limit`)."""
    total = 0
    for _ in range(max_rounds):
        merged = rollup_profiles(limit)
        total += merged
        if merged < limit:
            break
    return total
