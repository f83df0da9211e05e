"""Writing partial profiles, per hour bucket: one packed row holding every feature present
(and the prediction, score), one `Profile` row per serving output (error, latency, label).

`record_profiles(version, rows)` runs inside the caller's transaction, at ingestion;
`record_label_profiles` counts late labels in the buckets of their predictions. The
rollup (`rollup.py`) later merges partial rows into rolled-up hourly and daily rows.
The serving outputs keep rows of their own because the serving figures sum them in SQL
(serving.py); everything else goes packed (packed.py): a backfill's batch writes one row
per hour it covers instead of one per hour and feature.
"""

import secrets
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from models_app.models import ModelVersion, PackedProfile, Profile, Reference, Task
from models_app.pgcopy import copy_dicts, uses_copy
from models_app.profiles.packed import Layout, pack, sample_keys_of
from models_app.profiles.sketch import FeatureProfile, profile_values
from models_app.profiles.specs import (
    ERROR,
    LABEL,
    LATENCY,
    OUTPUTS,
    PREDICTION,
    SCORE,
    SERVING,
    WriteSpecs,
    feature_spec,
    reference_for_profiles,
)
from models_app.profiles.store import hour_of, layout_ids, stat_values


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
    return [
        profile_values(name, values, specs.spec(name, values), secrets.randbits(62))
        for name, values in columns.items()
        if specs.profiled(name)
    ]


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
    return BatchSize(written, len(keys_by_hour), len(set().union(*keys_by_hour.values())), values)


def group_by_hour(rows: Sequence[dict], field: str = "timestamp") -> dict[datetime, list[dict]]:
    groups: dict[datetime, list[dict]] = defaultdict(list)
    for row in rows:
        groups[hour_of(row[field])].append(row)
    return groups


def record_profiles(
    version: ModelVersion, rows: Sequence[dict], reference: Reference | None = None
) -> int:
    """Append partial profiles of validated prediction rows (caller holds the transaction)."""
    reference = reference if reference is not None else reference_for_profiles(version)
    specs = WriteSpecs(version, reference)
    written = [
        (bucket, profile)
        for bucket, group in group_by_hour(rows).items()
        for profile in profile_rows(specs, group)
    ]
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
            written.append((bucket, profile_values(LABEL, labels, spec, secrets.randbits(62))))
        write_partials(version, reference, written)


def write_partials(
    version: ModelVersion,
    reference: Reference | None,
    written: list[tuple[datetime, FeatureProfile]],
    packed: bool = True,
) -> None:
    """Store partial profiles: the serving outputs as `Profile` rows, the rest as one
    packed row per hour bucket (every profile as a `Profile` row when not `packed`, the
    layout written before packed rows existed, still read and rolled up)."""
    rows = [(bucket, p) for bucket, p in written if not packed or p.feature in SERVING]
    write_rows(version, reference, rows)
    if packed:
        write_packed(version, reference, [(b, p) for b, p in written if p.feature not in SERVING])


def write_rows(
    version: ModelVersion,
    reference: Reference | None,
    written: list[tuple[datetime, FeatureProfile]],
) -> None:
    if not written:
        return
    fixed = {
        "version_id": version.pk,
        "rolled_up": False,
        "sample": [],
        "reference_id": reference.pk if reference else None,
        "created_at": timezone.now(),
    }
    rows = [
        {"bucket_start": bucket, **fixed, **stat_values(profile)} for bucket, profile in written
    ]
    if uses_copy():
        copy_dicts(Profile, rows)
    else:
        Profile.objects.bulk_create([Profile(**row) for row in rows], batch_size=500)


def write_packed(
    version: ModelVersion,
    reference: Reference | None,
    written: list[tuple[datetime, FeatureProfile]],
) -> None:
    """One packed row per hour bucket of `written` (features in name order, so that
    batches of the same features share a layout)."""
    by_bucket: dict[datetime, list[FeatureProfile]] = defaultdict(list)
    for bucket, profile in written:
        by_bucket[bucket].append(profile)
    if not by_bucket:
        return
    groups = [(b, sorted(ps, key=lambda p: p.feature)) for b, ps in by_bucket.items()]
    keys = iter(sample_keys_of([p for _, ps in groups for p in ps]))
    layouts = {bucket: Layout.of(profiles) for bucket, profiles in groups}
    ids = layout_ids(set(layouts.values()))
    now = timezone.now()
    rows = []
    for bucket, profiles in groups:
        layout = layouts[bucket]
        packed = pack(layout, profiles, [next(keys) for _ in profiles])
        rows.append(
            {
                "version_id": version.pk,
                "bucket_start": bucket,
                "layout_id": ids[layout],
                "reference_id": reference.pk if reference else None,
                "width": layout.width,
                "stats": packed.stats,
                "extra": packed.extra,
                "sample_values": packed.sample_values,
                "sample_keys": packed.sample_keys,
                "created_at": now,
            }
        )
    if uses_copy():
        copy_dicts(PackedProfile, rows)
    else:
        PackedProfile.objects.bulk_create([PackedProfile(**row) for row in rows], batch_size=500)
