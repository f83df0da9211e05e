"""Segment profiles: the same mergeable profiles, per value of a segmented feature.

A rule with `segment_by` (docs/checks.md, "Segments") runs its check once per value of
one categorical feature. Its profile-based kinds (drift, data quality, CBPE) need each
segment's window, so ingestion keeps, beside the normal profiles, one profile per
(version, hour bucket, segmented feature, segment value, feature or output) in
`SegmentProfile`:

- only for the features listed in `SegmentFeature` (those some enabled rule of the model
  segments by; the alerting side keeps that list): a model no rule segments writes no
  segment row, and pays one indexed read of an empty list per batch;
- a value gets profiles of its own while its (version, feature) has fewer than
  `MAX_TRACKED` such values (`SegmentValue`, the first seen); every other value, and
  rows without the feature, are profiled under `__other__`. A feature with a million
  distinct values therefore costs at most `MAX_TRACKED + 1` segments;
- segments start when the feature starts being segmented: rows sent before are not
  profiled again (docs/storage.md says why and what a rule sees meanwhile).

Partial rows are appended in the ingestion transaction; `rollup_segment_profiles` (run
with the profile rollup) merges each key's rows into one. A window read
(`segment_windows`) merges every row it finds, so it is the same before and after.

Only names of the package's public surface are used (`profile_values`, `merge_all`,
`conform`, `feature_spec`, `hour_of`, `positive_score` ..., imported from their modules
because `__init__` re-exports this one), never the normal tiers' tables or encoding, so
those can change without touching this module.
"""

import secrets
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
from django.db import connection, transaction
from django.utils import timezone

from models_app.models import (
    Model,
    ModelVersion,
    Reference,
    SegmentFeature,
    SegmentProfile,
    SegmentValue,
    Task,
)
from models_app.pgcopy import copy_dicts, uses_copy
from models_app.profiles.sketch import (
    NUMERIC,
    OTHER,
    FeatureProfile,
    FeatureSpec,
    category_key,
    conform,
    merge_all,
    profile_values,
)
from models_app.profiles.specs import (
    ERROR,
    LABEL,
    LATENCY,
    PREDICTION,
    SCORE,
    current_summary,
    feature_spec,
    reference_feature,
)
from models_app.profiles.store import STAT_FIELDS, hour_of
from models_app.profiles.write import positive_score

MAX_TRACKED = 50  # values with profiles of their own per (version, feature); the rest: OTHER
MAX_SEGMENTS = 50  # the largest `max_segments` a rule may ask for
HOUR = timedelta(hours=1)
COUNTS = ("count", "missing", "type_errors", "out_of_range", "unseen")
LOCK_NAMESPACE = 0x5E6  # pg_advisory_xact_lock(namespace, version id): registering values


# -- which features, which values ------------------------------------------------------------


def segmented_features(model: Model) -> list[str]:
    """The features some enabled rule of `model` segments by (sorted)."""
    return sorted(SegmentFeature.objects.filter(model=model).values_list("feature", flat=True))


def segment_key(value) -> str:
    """The segment of a row's value: its canonical category (`category_key`), `OTHER`
    for a missing or wrongly typed value."""
    key = category_key(value)
    return key if isinstance(key, str) else OTHER


def tracked_values(version: ModelVersion, feature: str) -> set[str]:
    return set(
        SegmentValue.objects.filter(version=version, feature=feature).values_list(
            "value", flat=True
        )
    )


def register_values(version: ModelVersion, feature: str, seen: dict[str, int]) -> set[str]:
    """The values of `feature` with profiles of their own after this batch: the tracked
    ones, plus this batch's new values (most frequent first) while fewer than MAX_TRACKED
    are tracked. New values are registered under a per-version advisory lock, so that
    concurrent batches cannot together pass the bound; once it is reached no lock is taken."""
    tracked = tracked_values(version, feature)
    new = [v for v in seen if v not in tracked and v != OTHER]
    if not new or len(tracked) >= MAX_TRACKED:
        return tracked
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_NAMESPACE, version.pk])
        tracked = tracked_values(version, feature)
    room = MAX_TRACKED - len(tracked)
    chosen = sorted((v for v in new if v not in tracked), key=lambda v: (-seen[v], v))[:room]
    SegmentValue.objects.bulk_create(
        [SegmentValue(version=version, feature=feature, value=v) for v in chosen],
        ignore_conflicts=True,
    )
    return tracked | set(chosen)


# -- writing -----------------------------------------------------------------------------------


def newest_reference(version: ModelVersion) -> Reference | None:
    """The reference the normal profiles bin on (its big summary left unread)."""
    return (
        Reference.objects.filter(version=version)
        .defer("summary")
        .order_by("-created_at", "-id")
        .first()
    )


def row_columns(rows: Sequence[dict], binary: bool) -> dict[str, list]:
    """{feature or output: its value per row} of some validated prediction rows: every
    feature present in them, the prediction, latency and error, the positive-class score
    of a binary model and the labels sent with the predictions."""
    names = sorted(set().union(*(row["features"] for row in rows)))
    columns = {name: [row["features"].get(name) for row in rows] for name in names}
    columns[PREDICTION] = [row.get("prediction") for row in rows]
    columns[LATENCY] = [row.get("latency_ms") for row in rows]
    columns[ERROR] = [row.get("error") or None for row in rows]
    if binary:
        columns[SCORE] = [positive_score(row.get("scores")) for row in rows]
    labels = [row.get("label") for row in rows if row.get("label") is not None]
    if labels:
        columns[LABEL] = labels
    return columns


def encode(profile: FeatureProfile) -> dict:
    """The column values of a SegmentProfile row holding `profile` (samples in binary:
    float64 values, and uint64 keys unless the seed implies them)."""
    values = {name: getattr(profile, name) for name in COUNTS}
    values |= {
        "feature": profile.feature,
        "kind": profile.kind,
        "min": profile.min,
        "max": profile.max,
        "sum": profile.sum,
        "sum_sq": profile.sum_sq,
        "edges": list(profile.edges),
        "bin_counts": list(profile.bin_counts),
        "categories": dict(profile.categories),
        "sketch": {str(k): v for k, v in profile.sketch.items()},
        "sample_values": None,
        "sample_keys": None,
        "sample_seed": None,
    }
    if len(profile.sample):
        values["sample_values"] = np.asarray(profile.sample, dtype="<f8").tobytes()
        if profile.sample_seed is not None:
            values["sample_seed"] = profile.sample_seed
        else:
            values["sample_keys"] = np.asarray(profile.sample_keys, dtype="<u8").tobytes()
    return values


def decode(row: dict) -> FeatureProfile:
    """The FeatureProfile a SegmentProfile row holds (the inverse of `encode`)."""
    blob, keys = row["sample_values"], row["sample_keys"]
    sample = np.frombuffer(bytes(blob), dtype="<f8").tolist() if blob else []
    return FeatureProfile(
        feature=row["feature"],
        kind=row["kind"],
        **{name: row[name] for name in COUNTS},
        min=row["min"],
        max=row["max"],
        sum=row["sum"],
        sum_sq=row["sum_sq"],
        edges=[float(e) for e in row["edges"] or []],
        bin_counts=list(row["bin_counts"] or []),
        categories=dict(row["categories"] or {}),
        sample=sample,
        sample_keys=np.frombuffer(bytes(keys), dtype="<u8")[: len(sample)] if keys else [],
        sketch={int(k): v for k, v in (row["sketch"] or {}).items()},
        sample_seed=row["sample_seed"],
    )


def segment_groups(
    version: ModelVersion, feature: str, rows: Sequence[dict]
) -> dict[tuple[datetime, str], list[dict]]:
    """The batch's rows by (hour bucket, segment of `feature`)."""
    keys = [segment_key(row["features"].get(feature)) for row in rows]
    seen: dict[str, int] = defaultdict(int)
    for key in keys:
        seen[key] += 1
    own = register_values(version, feature, seen)
    groups: dict[tuple[datetime, str], list[dict]] = defaultdict(list)
    for key, row in zip(keys, rows, strict=True):
        groups[(hour_of(row["timestamp"]), key if key in own else OTHER)].append(row)
    return groups


def record_segment_profiles(version: ModelVersion, rows: Sequence[dict]) -> int:
    """Append the partial segment profiles of validated prediction rows, for the features
    some enabled rule segments by (none: nothing written). Runs in the caller's
    transaction, at ingestion (`models_app/ingest.py`); returns the rows written."""
    features = segmented_features(version.model) if rows else []
    if not features:
        return 0
    reference = newest_reference(version)
    schema = version.model.feature_schema()
    binary = version.model.task == Task.BINARY
    fixed = {"version_id": version.pk, "rolled_up": False, "created_at": timezone.now()}
    specs: dict[str, FeatureSpec] = {}
    written = []
    for segmented in features:
        for (bucket, value), group in segment_groups(version, segmented, rows).items():
            for name, values in row_columns(group, binary).items():
                if schema.get(name, {}).get("type") == "image":
                    continue
                if name not in specs:  # one spec per batch, as the normal profiles
                    specs[name] = feature_spec(version, name, reference, values)
                profile = profile_values(name, values, specs[name], secrets.randbits(62))
                written.append(
                    {
                        **fixed,
                        "bucket_start": bucket,
                        "segment_feature": segmented,
                        "segment_value": value,
                        **encode(profile),
                    }
                )
    if uses_copy():
        copy_dicts(SegmentProfile, written)
    else:
        SegmentProfile.objects.bulk_create(
            [SegmentProfile(**row) for row in written], batch_size=500
        )
    return len(written)


# -- reading -----------------------------------------------------------------------------------


@dataclass
class Segment:
    """One segment of a window: its value, its rows (predictions) and its profiles."""

    value: str
    rows: int
    profiles: dict[str, FeatureProfile] = field(default_factory=dict)


# the stored statistics of a profile row (store.STAT_FIELDS) and its binary sample
ROW_FIELDS = ("segment_value", *STAT_FIELDS, "sample_values", "sample_keys", "sample_seed")


def window_rows(
    version: ModelVersion,
    feature: str,
    start: datetime,
    end: datetime,
    names: Iterable[str] | None,
) -> list[dict]:
    """The segment rows of the hour buckets overlapping [start, end] (as the normal
    profiles' windows), of `names` (None: every feature), in one statement: a concurrent
    rollup cannot make a row count twice or not at all."""
    rows = SegmentProfile.objects.filter(
        version=version,
        segment_feature=feature,
        bucket_start__gte=hour_of(start),
        bucket_start__lte=hour_of(end),
    )
    if names is not None:
        rows = rows.filter(feature__in=list(names))
    return list(rows.values(*ROW_FIELDS))


def target_kind(name: str, summary: dict | None, profiles: list[FeatureProfile]) -> tuple:
    """(kind, edges) every profile of `name` is conformed to: the reference's, else the
    kind of most rows (and its first bins)."""
    ref = reference_feature(summary, name) if summary and name != LATENCY else None
    if ref:
        edges = tuple(ref.get("edges") or ()) if ref["type"] == NUMERIC else ()
        return ref["type"], edges
    weight: dict[str, int] = defaultdict(int)
    for p in profiles:
        weight[p.kind] += p.rows
    kind = max(sorted(weight), key=weight.get)
    edges = next((tuple(p.edges) for p in profiles if p.kind == kind and p.edges), ())
    return kind, edges


def merged(name: str, summary: dict | None, profiles: list[FeatureProfile]) -> FeatureProfile:
    kind, edges = target_kind(name, summary, profiles)
    return merge_all([conform(p, kind, edges) for p in profiles])


def expected_names(
    version: ModelVersion, summary: dict | None, names: Iterable[str] | None
) -> list[str]:
    """The declared and reference features (among `names`, if given): a segment's rows
    without one count as its `missing`, as in the normal profiles' windows."""
    schema = version.model.feature_schema()
    known = {name for name, declared in schema.items() if declared.get("type") != "image"}
    known |= set((summary or {}).get("features") or {})
    return sorted(known) if names is None else [name for name in names if name in known]


def empty(version: ModelVersion, name: str, summary: dict | None) -> FeatureProfile:
    """The profile of a feature no row of the segment had (its kind: the reference's, else
    the declared schema's)."""
    if reference_feature(summary or {}, name):
        kind, edges = target_kind(name, summary, [])
    else:
        kind, edges = feature_spec(version, name).kind, ()
    return FeatureProfile(
        name, kind, edges=list(edges), bin_counts=[0] * (len(edges) + 1) if edges else []
    )


def segment_windows(
    version: ModelVersion,
    feature: str,
    start: datetime,
    end: datetime,
    names: Iterable[str] | None,
    max_segments: int,
) -> list[Segment]:
    """The window's segments of `feature`: its `max_segments` values with the most rows
    (ties by value), then `__other__` (every other value, and rows without the feature)
    when it has rows. Each segment's profiles of `names` are merged and conformed to the
    current reference's kinds and bins, as `profiles.window_profiles` does for the whole
    window."""
    names = list(dict.fromkeys(names)) if names is not None else None
    current = current_summary(version)
    summary = current[0] if current else None
    by_segment: dict[str, dict[str, list[FeatureProfile]]] = defaultdict(lambda: defaultdict(list))
    asked = [*names, PREDICTION] if names is not None else None
    for row in window_rows(version, feature, start, end, asked):
        by_segment[row["segment_value"]][row["feature"]].append(decode(row))
    sizes = {
        value: sum(p.rows for p in parts.get(PREDICTION, ())) for value, parts in by_segment.items()
    }
    ranked = sorted((v for v in sizes if v != OTHER), key=lambda v: (-sizes[v], v))
    kept, folded = ranked[:max_segments], [v for v in sizes if v not in ranked[:max_segments]]
    groups = [(value, [value]) for value in kept]
    if folded and sum(sizes[v] for v in folded):
        groups.append((OTHER, folded))
    expected = expected_names(version, summary, names)  # None: the declared and reference
    segments = []
    for value, members in groups:
        parts: dict[str, list[FeatureProfile]] = defaultdict(list)
        for member in members:
            for name, profiles in by_segment[member].items():
                parts[name].extend(profiles)
        window = {name: merged(name, summary, stored) for name, stored in parts.items()}
        rows = window[PREDICTION].rows if PREDICTION in window else 0
        for name in expected:
            profile = window.get(name)
            if profile is None:
                profile = window[name] = empty(version, name, summary)
            profile.missing += max(rows - profile.rows, 0)
        window = {name: window[name] for name in sorted(window) if names is None or name in names}
        segments.append(Segment(value, rows, window))
    return segments


# -- the rollup ----------------------------------------------------------------------------------


def rollup_segment_profiles(now: datetime | None = None, max_buckets: int = 200) -> int:
    """Merge the rows of each (version, closed hour, segment, feature) key into one rolled-up
    row, for at most `max_buckets` (version, hour) buckets holding partial rows; returns
    the partial rows merged. Rows written meanwhile stay for the next run (rows are
    deleted by id), and a read counts every row once before, during and after."""
    limit = hour_of(now or timezone.now())
    buckets = list(
        SegmentProfile.objects.filter(rolled_up=False, bucket_start__lt=limit)
        .values_list("version_id", "bucket_start")
        .distinct()
        .order_by("bucket_start", "version_id")[:max_buckets]
    )
    return sum(rollup_bucket(version_id, bucket) for version_id, bucket in buckets)


def rollup_bucket(version_id: int, bucket: datetime) -> int:
    with transaction.atomic():
        rows = list(
            SegmentProfile.objects.select_for_update()
            .filter(version_id=version_id, bucket_start=bucket)
            .order_by("id")
            .values("id", "segment_feature", "rolled_up", *ROW_FIELDS)
        )
        keys: dict[tuple, list[dict]] = defaultdict(list)
        for row in rows:
            keys[(row["segment_feature"], row["segment_value"], row["feature"])].append(row)
        merged_rows, done = [], []
        for (segmented, value, _), group in keys.items():
            if len(group) == 1 and group[0]["rolled_up"]:
                continue
            profiles = [decode(row) for row in group]
            merged_rows.append(
                SegmentProfile(
                    version_id=version_id,
                    bucket_start=bucket,
                    segment_feature=segmented,
                    segment_value=value,
                    rolled_up=True,
                    **encode(merged(profiles[0].feature, None, profiles)),
                )
            )
            done += [row["id"] for row in group]
        SegmentProfile.objects.filter(id__in=done).delete()
        SegmentProfile.objects.bulk_create(merged_rows, batch_size=500)
    merged_ids = set(done)
    return sum(1 for row in rows if not row["rolled_up"] and row["id"] in merged_ids)
