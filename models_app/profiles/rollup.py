"""The profile rollup: partial rows -> one rolled-up row per (version, hour, feature) and
one DailyProfile per (version, day, feature).

A round takes whole (version, hour) buckets, oldest hour first, so that each rolled-up
hourly row is rewritten once per round however many batches wrote into its hour (a
backfill leaves partial rows in every hour it covers: rolling up by row id rewrote each of
those hours' rows, samples included, in every round). Each (version, hour, feature)'s
partial rows are merged column by column (`bulk.merge_stored`); packed partial rows
(packed.py, one per batch and hour) are merged per layout as matrices first
(`store.packed_stats`), on the kind and bins of the newest partial row of each feature.
A round's size counts features: a packed row counts as many as it holds.

Merging is associative, so rolling up never changes what a window reads; partial rows
written against an older reference are re-binned on the newest one's edges first.
Concurrency: one round at a time (a global advisory lock), and per version one merger at
a time (a per-version advisory lock).
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone

from models_app.models import DailyProfile, PackedProfile, Profile
from models_app.pgcopy import copy_dicts, uses_copy
from models_app.profiles.bulk import merge_stored
from models_app.profiles.sketch import FeatureProfile, conform, merge_all
from models_app.profiles.store import (
    JSON_FIELDS,
    ROW_FIELDS,
    day_of,
    json_text,
    layouts_of,
    packed_rows,
    packed_stats,
    parse_json,
    profile_from_row,
    stat_values,
)

LOCK_ID = 0x4D57524F4C4C
VERSION_LOCK = 0x4D5752  # first key of the per-version locks (the version id second)
TEXT_ROW_FIELDS = tuple(f for f in ROW_FIELDS if f not in JSON_FIELDS)


def _advisory(sql: str, *keys: int) -> bool:
    if connection.vendor != "postgresql":  # SQLite serialises writers
        return True
    with connection.cursor() as cursor:
        cursor.execute(sql, list(keys))
        row = cursor.fetchone()
        return row[0] is not False


def _rollup_lock() -> bool:
    """One background round at a time across workers."""
    return _advisory("SELECT pg_try_advisory_xact_lock(%s)", LOCK_ID)


def _try_version_lock(version_id: int) -> bool:
    return _advisory("SELECT pg_try_advisory_xact_lock(%s, %s)", VERSION_LOCK, version_id)


def pending_buckets(limit: int) -> list[tuple[int, datetime]]:
    """The oldest (version, hour) buckets holding partial rows, about `limit` features'
    partial profiles in all (at least one bucket, whatever its size)."""
    sizes: dict[tuple[int, datetime], int] = defaultdict(int)
    legacy = (
        Profile.objects.filter(rolled_up=False)
        .values_list("version_id", "bucket_start")
        .annotate(rows=Count("id"))
        .order_by()
    )
    packed = (
        PackedProfile.objects.values_list("version_id", "bucket_start")
        .annotate(rows=Sum("width"))
        .order_by()
    )
    for queryset in (legacy, packed):
        for version_id, bucket, rows in queryset:
            sizes[(version_id, bucket)] += rows
    chosen, total = [], 0
    for (version_id, bucket), rows in sorted(sizes.items(), key=lambda item: item[0][::-1]):
        if chosen and total + rows > limit:
            break
        chosen.append((version_id, bucket))
        total += rows
    return chosen


def rollup_profiles(limit: int = 50000) -> int:
    """Merge the partial rows of the oldest pending buckets (about `limit` features'
    partial profiles, whole buckets) into rolled-up hourly and daily rows; returns how
    many partial rows (per-feature and packed) were merged (0 when another rollup holds
    the lock)."""
    with transaction.atomic():
        if not _rollup_lock():
            return 0
        buckets = pending_buckets(limit)
        versions = {v for v, _ in buckets if _try_version_lock(v)}
        by_version: dict[int, list[datetime]] = defaultdict(list)
        for version_id, bucket in buckets:
            if version_id in versions:
                by_version[version_id].append(bucket)
        chosen = Q(pk__in=[])
        for version_id, hours in by_version.items():
            chosen |= Q(version_id=version_id, bucket_start__in=hours)
        return merge_partials(
            Profile.objects.filter(chosen, rolled_up=False), PackedProfile.objects.filter(chosen)
        )


def pending_exist() -> bool:
    return Profile.objects.filter(rolled_up=False).exists() or PackedProfile.objects.exists()


def rollup_pending(limit: int = 50000, max_rounds: int = 50) -> int:
    """Roll up partial rows until none are left (at most `max_rounds` rounds)."""
    total = 0
    for _ in range(max_rounds):
        merged = rollup_profiles(limit)
        total += merged
        if merged == 0 or not pending_exist():
            break
    return total


def read_rows(queryset) -> list[dict]:
    """Rows with every field a merge needs (JSON parsed by orjson: see store.json_text)."""
    return parse_json(
        list(
            json_text(queryset).values(
                *TEXT_ROW_FIELDS,
                *(f"{name}_text" for name in JSON_FIELDS),
                "version_id",
                "reference_id",
                "created_at",
            )
        )
    )


def merge_partials(partial_rows, packed=None) -> int:
    """Merge the partial rows of `partial_rows` (and the packed rows of `packed`, a
    PackedProfile queryset) into hourly and daily rows, delete them. Each (version,
    hour, feature)'s partial rows are merged once (`Delta`), then into the stored hourly
    row and, with the other hours of its day, into the daily row."""
    partials = read_rows(partial_rows)
    packs = packed_rows(packed) if packed is not None else []
    if not partials and not packs:
        return 0
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for row in partials:
        groups[(row["version_id"], row["bucket_start"], row["feature"])].append(row)
    by_bucket: dict[tuple, list[dict]] = defaultdict(list)
    for row in packs:
        by_bucket[(row["version_id"], row["bucket_start"])].append(row)
    for (version_id, bucket), rows in by_bucket.items():
        target = newest_target(rows, groups, version_id, bucket)
        for stat in packed_stats(rows, target):
            groups[(version_id, bucket, stat["feature"])].append(stat | {"bucket_start": bucket})
    hours = {key: [merged_partials(rows)] for key, rows in groups.items()}
    days: dict[tuple, list[Delta]] = defaultdict(list)
    for (version_id, bucket, feature), deltas in hours.items():
        days[(version_id, day_of(bucket), feature)].extend(deltas)
    replace_rows(Profile, hours, existing(Profile, hours, rolled_up=True), rolled_up=True)
    replace_rows(DailyProfile, days, existing(DailyProfile, days))
    delete_ids(Profile, [row["id"] for row in partials])
    delete_ids(PackedProfile, [row["id"] for row in packs])
    return len(partials) + len(packs)


def newest_target(packs: list[dict], groups: dict[tuple, list[dict]], version_id, bucket):
    """The kind and bins of each feature's newest partial row in one (version, hour):
    per-feature rows of `groups` or the packed rows `packs` (by `created_at`, then id)."""
    newest = max(packs, key=order)
    layouts = layouts_of({row["layout_digest"] for row in packs})

    def target(name: str) -> tuple[str, list[float]]:
        holding = [row for row in packs if name in layouts[row["layout_digest"]].names] or [newest]
        row = max(holding, key=order)
        legacy = groups.get((version_id, bucket, name))
        if legacy and order(max(legacy, key=order)) > order(row):
            chosen = max(legacy, key=order)
            return chosen["kind"], [float(e) for e in chosen["edges"] or []]
        layout = layouts[row["layout_digest"]]
        index = layout.names.index(name)
        return layout.kinds[index], list(layout.edges[index])

    return target


def order(row: dict) -> tuple:
    """Which of two partial rows is newer: written later (ids break ties)."""
    return (row["created_at"], row["id"])


@dataclass
class Delta:
    """The merge of some partial rows of one feature, binned as the newest of them."""

    profile: FeatureProfile
    reference_id: int | None
    newest: tuple  # `order` of the newest partial row: its kind and edges win


def merged_partials(rows: Sequence[dict]) -> Delta:
    newest = max(rows, key=order)
    kind, edges = newest["kind"], [float(e) for e in newest["edges"] or []]
    return Delta(merge_stored(rows, kind, edges), newest["reference_id"], order(newest))


def merged_with(stored: dict | None, deltas: list[Delta]) -> Delta:
    """`deltas` merged into the `stored` row, conformed to the newest delta's bins."""
    newest = max(deltas, key=lambda delta: delta.newest)
    kind, edges = newest.profile.kind, newest.profile.edges
    profiles = [profile_from_row(stored)] if stored else []
    profiles += [delta.profile for delta in deltas]
    merged = merge_all([conform(p, kind, edges) for p in profiles]) if len(profiles) > 1 else None
    return Delta(merged or newest.profile, newest.reference_id, newest.newest)


def delete_ids(model, ids: list[int]) -> None:
    if not ids:
        return
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {model._meta.db_table} WHERE id = ANY(%s)", [ids])
        return
    for first in range(0, len(ids), 500):
        model.objects.filter(id__in=ids[first : first + 500]).delete()


def existing(model, keys: Iterable[tuple], **filters) -> dict[tuple, dict]:
    """The stored rolled-up rows of the (version, bucket, feature) `keys`."""
    keys = list(keys)
    rows = read_rows(
        model.objects.filter(
            version_id__in={k[0] for k in keys},
            bucket_start__in={k[1] for k in keys},
            feature__in={k[2] for k in keys},
            **filters,
        )
    )
    wanted = set(keys)
    found = {}
    for row in rows:
        key = (row["version_id"], row["bucket_start"], row["feature"])
        if key in wanted:
            found[key] = row
    return found


def replace_rows(
    model, groups: dict[tuple, list[Delta]], stored: dict[tuple, dict], **extra
) -> None:
    new_rows, now = [], timezone.now()
    for key, deltas in groups.items():
        merged = merged_with(stored.get(key), deltas)
        new_rows.append(
            {
                "version_id": key[0],
                "bucket_start": key[1],
                "reference_id": merged.reference_id,
                "sample": [],
                "created_at": now,
                **stat_values(merged.profile),
                **extra,
            }
        )
    delete_ids(model, [row["id"] for row in stored.values()])
    if uses_copy():
        copy_dicts(model, new_rows)
    else:
        model.objects.bulk_create([model(**row) for row in new_rows], batch_size=500)
