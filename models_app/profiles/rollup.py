"""The profile rollup: partial rows -> one rolled-up row per (version, hour, feature) and
one DailyProfile per (version, day, feature), in one transaction per round.

Merging is associative, so rolling up never changes what a window reads; partial rows
written against an older reference are re-binned on the newest one's edges first.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence

from django.db import connection, transaction

from models_app.models import DailyProfile, Profile
from models_app.profiles.sketch import FeatureProfile, conform, merge_all
from models_app.profiles.store import ROW_FIELDS, day_of, profile_from_row, stat_values

LOCK_ID = 0x4D57524F4C4C


def _rollup_lock() -> bool:
    """One rollup at a time across workers (PostgreSQL advisory lock; SQLite serialises)."""
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [LOCK_ID])
        return bool(cursor.fetchone()[0])


def rollup_profiles(limit: int = 20000) -> int:
    """Merge up to `limit` partial rows into rolled-up hourly and daily rows; returns how
    many partial rows were merged (0 when another rollup holds the lock)."""
    with transaction.atomic():
        if not _rollup_lock():
            return 0
        partials = list(
            Profile.objects.filter(rolled_up=False)
            .order_by("id")
            .values(*ROW_FIELDS, "version_id", "reference_id")[:limit]
        )
        if not partials:
            return 0
        groups: dict[tuple, list[dict]] = defaultdict(list)
        for row in partials:
            groups[(row["version_id"], row["bucket_start"], row["feature"])].append(row)
        merge_into_hours(groups)
        merge_into_days(groups)
        Profile.objects.filter(id__in=[row["id"] for row in partials]).delete()
    return len(partials)


def rollup_pending(limit: int = 20000, max_rounds: int = 50) -> int:
    """Roll up partial rows until none are left (at most `max_rounds` x `limit`)."""
    total = 0
    for _ in range(max_rounds):
        merged = rollup_profiles(limit)
        total += merged
        if merged < limit:
            break
    return total


def target_spec(rows: Sequence[dict]) -> tuple[str, list[float], int | None]:
    """Kind, edges and reference of the newest partial row: the others conform to it."""
    newest = max(rows, key=lambda row: row["id"])
    return newest["kind"], [float(e) for e in newest["edges"] or []], newest["reference_id"]


def merged_group(stored: dict | None, partials: list[dict]) -> tuple[FeatureProfile, int | None]:
    kind, edges, reference_id = target_spec(partials)
    rows = ([stored] if stored else []) + partials
    profiles = [conform(profile_from_row(row), kind, edges) for row in rows]
    return merge_all(profiles), reference_id


def existing(model, keys: Iterable[tuple], **filters) -> dict[tuple, dict]:
    """The stored rolled-up rows of the (version, bucket, feature) `keys`."""
    keys = list(keys)
    rows = model.objects.filter(
        version_id__in={k[0] for k in keys},
        bucket_start__in={k[1] for k in keys},
        feature__in={k[2] for k in keys},
        **filters,
    ).values(*ROW_FIELDS, "version_id", "reference_id")
    wanted = set(keys)
    found = {}
    for row in rows:
        key = (row["version_id"], row["bucket_start"], row["feature"])
        if key in wanted:
            found[key] = row
    return found


def replace_rows(
    model, groups: dict[tuple, list[dict]], stored: dict[tuple, dict], **extra
) -> None:
    new_rows = []
    for key, partials in groups.items():
        profile, reference_id = merged_group(stored.get(key), partials)
        new_rows.append(
            model(
                version_id=key[0],
                bucket_start=key[1],
                reference_id=reference_id,
                **stat_values(profile),
                **extra,
            )
        )
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
