"""Profile rows in the database: encoding, the tiers a window reads, reading them cheaply.

Tiers: partial rows (written at ingestion), rolled-up hourly rows and daily rows (the
rollup). A window reads daily rows for its whole UTC days, rolled-up hourly rows for
the hours around them and every partial row in range (`window_scalars`).

A window reads its rows in two steps. First every statistic but the samples, in one
statement (so a concurrent rollup cannot make a row count twice or not at all). Then the
samples: a rolled-up row stores its sample sorted by reservoir key, and the window's
merged sample (the `k` smallest keys of all its rows) can only hold the first ~k·nᵢ/N
values of row i (nᵢ its valid values, N the window's), so only that prefix is fetched,
with a margin. If a fetched prefix turns out too short to be sure (its last key is below
the merged k-th key), that row is fetched whole: the result is exact either way.

Packed partial rows (packed.py: one per batch and hour, every feature but the serving
outputs) are read whole (`packed_rows`) and turned into stat rows of the same shape
(`packed_stats`): one per layout and feature merging all of them, or one per packed row
where its kind or bins must be conformed on its own.
"""

import io
import itertools
import math
import struct
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta

import numpy as np
import orjson
from django.db import connection
from django.db.models import BooleanField, F, Q, TextField, Value
from django.db.models.functions import Cast, Length

from models_app.models import DailyProfile, PackedProfile, Profile, ProfileLayout
from models_app.profiles.packed import Block, Layout
from models_app.profiles.sketch import (
    CATEGORICAL,
    NUMERIC,
    SAMPLE_SIZE,
    FeatureProfile,
    keys_of,
    reservoir_keys,
)

HOUR, DAY = timedelta(hours=1), timedelta(days=1)
STAT_FIELDS = (
    "feature",
    "kind",
    "count",
    "missing",
    "type_errors",
    "out_of_range",
    "unseen",
    "min",
    "max",
    "sum",
    "sum_sq",
    "edges",
    "bin_counts",
    "categories",
    "sketch",
)
JSON_FIELDS = ("edges", "bin_counts", "categories", "sketch", "sample")
PLAIN_FIELDS = tuple(f for f in STAT_FIELDS if f not in JSON_FIELDS)
SCALAR_FIELDS = (
    "id",
    "bucket_start",
    *PLAIN_FIELDS,
    *(f"{f}_text" for f in JSON_FIELDS),
    "sample_seed",
    "sample_length",
    "is_sorted",
    "is_daily",
)
ROW_FIELDS = (
    "id",
    "bucket_start",
    *STAT_FIELDS,
    "sample",
    "sample_values",
    "sample_keys",
    "sample_seed",
)
PREFIX_SIGMAS, PREFIX_SLACK = 3.0, 4
WHOLE = 2**31 - 1


def encode_sample(profile: FeatureProfile) -> tuple[bytes | None, bytes | None, int | None]:
    """(values, keys, seed) as stored: keys are implied by the seed while it is set;
    explicit keys are stored ascending, with the values in the same order."""
    if not len(profile.sample):
        return None, None, None
    values = np.asarray(profile.sample, dtype="<f8")
    if profile.sample_seed is not None:
        return values.tobytes(), None, profile.sample_seed
    keys = keys_of(profile)
    order = np.lexsort((values, keys))
    return values[order].tobytes(), keys[order].astype("<u8").tobytes(), None


def stat_values(profile: FeatureProfile) -> dict:
    """The column values of a Profile/DailyProfile row holding `profile`."""
    values = {name: getattr(profile, name) for name in STAT_FIELDS}
    values["sketch"] = {str(k): v for k, v in profile.sketch.items()}
    values["sample_values"], values["sample_keys"], values["sample_seed"] = encode_sample(profile)
    return values


def implied_keys(seed: int, size: int) -> np.ndarray:
    """`reservoir_keys(seed, size)`, computed without the Generator: numpy draws a uint64
    below 2**63 as the next raw 64-bit word shifted right by one (Lemire's method never
    rejects for a power-of-two range), so the raw words give the same keys, ~1.6x faster
    (tests/models_app/test_profile_store.py holds them equal)."""
    return np.random.PCG64(seed).random_raw(size).astype(np.uint64, copy=False) >> np.uint64(1)


def decode_sample(row: dict) -> tuple[np.ndarray, np.ndarray]:
    """(values, keys) of a stored row; JSON `sample` rows get keys from their id."""
    blob = row.get("sample_values")
    if blob is not None:  # stored little-endian, the native order of every supported host
        values = np.frombuffer(blob, dtype=np.float64)
        if row.get("sample_seed") is not None:
            return values, implied_keys(row["sample_seed"], len(values))
        return values, np.frombuffer(row["sample_keys"], dtype=np.uint64)[: len(values)]
    values = np.asarray(
        [v for v in row.get("sample") or [] if isinstance(v, (int, float))], dtype=float
    )
    return values, reservoir_keys(row.get("id") or 0, len(values))


def profile_from_row(row: dict) -> FeatureProfile:
    """A FeatureProfile from a Profile/DailyProfile row's values."""
    fields = {name: row.get(name) for name in STAT_FIELDS}
    fields["sketch"] = {int(k): v for k, v in (row.get("sketch") or {}).items()}
    fields["edges"] = [float(e) for e in fields["edges"] or []]
    fields["bin_counts"] = list(fields["bin_counts"] or [])
    fields["categories"] = dict(fields["categories"] or {})
    values, keys = decode_sample(row) if fields["kind"] == NUMERIC else ([], [])
    return FeatureProfile(**fields, sample=values, sample_keys=keys)


def hour_of(moment: datetime) -> datetime:
    """The start of the UTC hour bucket holding `moment`."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def day_of(moment: datetime) -> datetime:
    return hour_of(moment).replace(hour=0)


def window_buckets(start: datetime, end: datetime) -> tuple[datetime, datetime, list]:
    """(first hour, last hour, whole days) of the hour buckets overlapping [start, end]."""
    first, last = hour_of(start), hour_of(end)
    day = day_of(first) if first == day_of(first) else day_of(first) + DAY
    days = []
    while day + DAY - HOUR <= last:
        days.append(day)
        day += DAY
    return first, last, days


def json_text(queryset):
    """`queryset` with its JSON columns also as text (`<field>_text`), for `parse_json`:
    Django's json.loads per value costs more than the whole query on a long window."""
    return queryset.annotate(**{f"{name}_text": Cast(name, TextField()) for name in JSON_FIELDS})


def _scalars(queryset, daily: bool):
    return (
        json_text(queryset)
        .annotate(
            sample_length=Length("sample_values"),
            is_sorted=Value(True, BooleanField()) if daily else F("rolled_up"),
            is_daily=Value(daily, BooleanField()),
        )
        .values(*SCALAR_FIELDS)
    )


TEXT_FIELDS = tuple((f"{name}_text", name) for name in JSON_FIELDS)


def parse_json(rows: list[dict]) -> list[dict]:
    """Turn the `<field>_text` columns of `window_scalars` rows into their values."""
    for row in rows:
        for text_name, name in TEXT_FIELDS:
            text = row.pop(text_name)
            row[name] = orjson.loads(text) if text is not None else None
    return rows


def _values(queryset) -> list[dict]:
    """`list(queryset)` of a `.values()` queryset; on PostgreSQL through a plain cursor
    (the columns need no conversion there), which costs a tenth of Django's per-row work
    on the ~10^5 rows of a window read behind a backfill."""
    if connection.vendor != "postgresql":
        return list(queryset)
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [column.name for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def window_scalars(
    versions: Q,
    start: datetime,
    end: datetime,
    features: Iterable[str] | None,
    daily: bool = True,
) -> list[dict]:
    """Every statistic but the samples of the rows covering [start, end] once: daily rows
    for whole days, rolled-up hourly rows for the hours around them, and every partial row
    (one UNION ALL statement of index range scans). `daily=False`: hourly rows only, for
    whole days too (a read that keeps the hours apart, `window.hourly_profiles`)."""
    first, last, days = window_buckets(start, end)
    days = days if daily else []
    named = Q(feature__in=list(features)) if features is not None else Q()
    hourly = Profile.objects.filter(versions, named)
    parts = [
        _scalars(
            hourly.filter(rolled_up=False, bucket_start__gte=first, bucket_start__lte=last),
            daily=False,
        )
    ]
    hour_ranges = [(first, last)] if not days else [(first, days[0] - HOUR), (days[-1] + DAY, last)]
    parts += [
        _scalars(
            hourly.filter(rolled_up=True, bucket_start__gte=low, bucket_start__lte=high),
            daily=False,
        )
        for low, high in hour_ranges
        if low <= high
    ]
    if days:
        parts.append(
            _scalars(
                DailyProfile.objects.filter(
                    versions, named, bucket_start__gte=days[0], bucket_start__lte=days[-1]
                ),
                daily=True,
            )
        )
    return parse_json(_values(parts[0].union(*parts[1:], all=True)))


def prefix_lengths(rows: Sequence[dict], k: int) -> dict[tuple, int]:
    """How many values to fetch from each sorted row: the expected share e = k·nᵢ/N of the
    merged sample, plus 3√e + 4 (short rows are detected and fetched whole)."""
    totals: dict[str, int] = defaultdict(int)
    for row in rows:
        totals[row["feature"]] += row["count"]
    lengths = {}
    for row in rows:
        if not row["is_sorted"]:  # a partial row's sample is in no order: all of it
            lengths[(row["is_daily"], row["id"])] = WHOLE
            continue
        total = totals[row["feature"]]
        share = k * row["count"] / total if total else 0.0
        wanted = max(1, math.ceil(share + PREFIX_SIGMAS * math.sqrt(share) + PREFIX_SLACK))
        lengths[(row["is_daily"], row["id"])] = wanted
    return lengths


def _fetch_postgresql(table: str, takes: dict[int, int]) -> dict[int, tuple]:
    """{id: (values, keys)} prefixes in one statement (lengths in items, joined by id)."""
    sql = (
        f"SELECT p.id, substr(p.sample_values, 1, w.take * 8), "
        f"substr(p.sample_keys, 1, w.take * 8) FROM {table} p "
        f"JOIN unnest(%s::bigint[], %s::int[]) AS w(id, take) ON p.id = w.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [list(takes), [min(t, WHOLE // 8) for t in takes.values()]])
        return {row[0]: row[1:] for row in cursor.fetchall()}


def _fetch(model, takes: dict[int, int]) -> dict[int, tuple]:
    if not takes:
        return {}
    if connection.vendor == "postgresql":
        return _fetch_postgresql(model._meta.db_table, takes)
    rows = model.objects.filter(id__in=list(takes)).values_list(
        "id", "sample_values", "sample_keys"
    )  # small embedded databases: whole samples
    return {row[0]: row[1:] for row in rows}


def fetch_samples(rows: list[dict], k: int = SAMPLE_SIZE, whole: frozenset = frozenset()):
    """Attach `sample_values`/`sample_keys` to numeric rows: prefixes of sorted rows (the
    (is_daily, id) pairs in `whole` in full). False when a row vanished (a rollup)."""
    wanted = [r for r in rows if r["kind"] == NUMERIC and r["sample_length"]]
    lengths = prefix_lengths(wanted, k)
    ok = True
    for daily, model in ((False, Profile), (True, DailyProfile)):
        mine = [r for r in wanted if r["is_daily"] == daily]
        takes = {
            r["id"]: WHOLE if (daily, r["id"]) in whole else lengths[(daily, r["id"])] for r in mine
        }
        fetched = _fetch(model, takes)
        for row in mine:
            if row["id"] not in fetched:
                ok = False
                continue
            row["sample_values"], row["sample_keys"] = fetched[row["id"]]
    return ok


def truncated(row: dict) -> bool:
    blob = row.get("sample_values")
    return blob is not None and len(blob) < row["sample_length"]


def short_rows(rows: Sequence[dict], merged: FeatureProfile, k: int) -> set:
    """Rows whose fetched prefix may miss a value of the merged sample (to fetch whole)."""
    if not len(merged.sample_keys):
        return set()
    threshold = int(merged.sample_keys[-1]) if len(merged.sample_keys) >= k else math.inf
    found = set()
    for row in rows:
        if truncated(row):
            last = int(np.frombuffer(row["sample_keys"][-8:], dtype=np.uint64)[0])
            if last <= threshold:
                found.add((row["is_daily"], row["id"]))
    return found


# --- packed partial rows ---------------------------------------------------------------

PACKED_FIELDS = (
    "id",
    "version_id",
    "bucket_start",
    "reference_id",
    "created_at",
    "layout_digest",
    "stats",
    "extra",
    "sample_values",
    "sample_keys",
)
LAYOUTS: dict[str, Layout] = {}  # by digest: a layout's content never changes
LAYOUT_CACHE_SIZE = 4096
Target = Callable[[str], tuple[str, list[float]] | None]


def layout_ids(layouts: set[Layout]) -> dict[Layout, int]:
    """The `ProfileLayout` id of each layout, stored first when new (concurrent writers
    of the same layout: the insert does nothing for the second, which then reads it)."""
    by_digest = {layout.digest(): layout for layout in layouts}
    found = dict(
        ProfileLayout.objects.filter(digest__in=list(by_digest)).values_list("digest", "id")
    )
    missing = [digest for digest in by_digest if digest not in found]
    if missing:
        ProfileLayout.objects.bulk_create(
            [ProfileLayout(digest=d, spec=by_digest[d].spec()) for d in missing],
            ignore_conflicts=True,
        )
        found.update(ProfileLayout.objects.filter(digest__in=missing).values_list("digest", "id"))
    return {layout: found[digest] for digest, layout in by_digest.items()}


def layouts_of(digests: Iterable[str]) -> dict[str, Layout]:
    """{digest: Layout}, read once per process."""
    missing = [d for d in set(digests) if d not in LAYOUTS]
    if missing:
        if len(LAYOUTS) > LAYOUT_CACHE_SIZE:
            LAYOUTS.clear()
        for digest, spec in ProfileLayout.objects.filter(digest__in=missing).values_list(
            "digest", "spec"
        ):
            LAYOUTS[digest] = Layout.from_spec(spec)
    return {d: LAYOUTS[d] for d in set(digests)}


def packed_rows(queryset) -> list[dict]:
    """The packed rows of `queryset` (a PackedProfile queryset), whole. On PostgreSQL
    through `COPY ... TO STDOUT` in the binary format: a query's bytea columns come as
    hex text, twice their size to send and decode, which cost ~3/4 of fetching a
    lagging day's ~75 MB of packed rows."""
    if connection.vendor == "postgresql":
        return _copied_packed_rows(queryset)
    return _values(queryset.annotate(layout_digest=F("layout__digest")).values(*PACKED_FIELDS))


PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"


def _copied_packed_rows(queryset) -> list[dict]:
    ids_sql, params = queryset.order_by().values("id").query.sql_with_params()
    table, layouts = PackedProfile._meta.db_table, ProfileLayout._meta.db_table
    select = (
        f"SELECT p.id, p.version_id, p.bucket_start, p.reference_id, p.created_at, l.digest, "
        f"p.stats, p.extra, p.sample_values, p.sample_keys FROM {table} p "
        f"JOIN {layouts} l ON l.id = p.layout_id WHERE p.id IN ({ids_sql}) ORDER BY p.id"
    )
    buffer = io.BytesIO()
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg2's own cursor: COPY takes no parameters, so inline
        sql = raw.mogrify(select, params).decode()
        raw.copy_expert(f"COPY ({sql}) TO STDOUT WITH (FORMAT binary)", buffer)
    return parse_binary_copy(buffer.getvalue())


def parse_binary_copy(data: bytes) -> list[dict]:
    """The rows of `_copied_packed_rows`'s COPY, in PostgreSQL's binary COPY format:
    a header, then per row a field count and each field as (length, bytes), -1 for NULL;
    int8 and timestamptz (microseconds since 2000-01-01 UTC) big-endian."""
    if not data.startswith(COPY_SIGNATURE):
        raise ValueError("Not a binary COPY.")
    view = memoryview(data)
    (extension,) = struct.unpack_from("!i", data, len(COPY_SIGNATURE) + 4)
    at = len(COPY_SIGNATURE) + 8 + extension
    rows = []
    while True:
        (count,) = struct.unpack_from("!h", data, at)
        at += 2
        if count == -1:
            return rows
        fields = []
        for _ in range(count):
            (length,) = struct.unpack_from("!i", data, at)
            at += 4
            if length < 0:
                fields.append(None)
                continue
            fields.append(view[at : at + length])
            at += length
        rows.append(_packed_row(fields))


def _packed_row(fields: list) -> dict:
    number = _int8
    return {
        "id": number(fields[0]),
        "version_id": number(fields[1]),
        "bucket_start": PG_EPOCH + timedelta(microseconds=number(fields[2])),
        "reference_id": number(fields[3]) if fields[3] is not None else None,
        "created_at": PG_EPOCH + timedelta(microseconds=number(fields[4])),
        "layout_digest": bytes(fields[5]).decode(),
        "stats": fields[6],
        "extra": fields[7],
        "sample_values": fields[8],
        "sample_keys": fields[9],
    }


def _int8(field) -> int:
    return struct.unpack("!q", field)[0]


def window_packed(versions: Q, start: datetime, end: datetime) -> list[dict]:
    """The packed partial rows of the hour buckets overlapping [start, end]."""
    first, last, _ = window_buckets(start, end)
    return packed_rows(
        PackedProfile.objects.filter(versions, bucket_start__gte=first, bucket_start__lte=last)
    )


def packed_exist(ids: list[int]) -> bool:
    """Whether every packed row of `ids` is still stored (no rollup took one since)."""
    if not ids:
        return True
    if connection.vendor != "postgresql":
        return PackedProfile.objects.filter(id__in=ids).count() == len(set(ids))
    with connection.cursor() as cursor:  # one array parameter: 10^4 ids cost nothing
        cursor.execute(
            f"SELECT count(*) FROM {PackedProfile._meta.db_table} WHERE id = ANY(%s)", [ids]
        )
        return cursor.fetchone()[0] == len(set(ids))


def fits_target(layout: Layout, index: int, target: tuple[str, list[float]] | None) -> bool:
    """Whether feature `index` of `layout` needs no conforming to `target` (kind, edges)."""
    if target is None:
        return True
    kind, edges = target
    mine = layout.kinds[index]
    return mine == kind and (kind == CATEGORICAL or list(layout.edges[index]) == list(edges))


_pseudo_ids = itertools.count(-1, -1)


def stat_row(profile: FeatureProfile, **extra) -> dict:
    """A stat row (window_scalars's shape, its sample attached) holding `profile`."""
    row = {**stat_values(profile), "sample": [], "is_sorted": True, "is_daily": False}
    if row["sample_values"] is None:  # an empty sample, not a JSON one (decode_sample)
        row["sample_values"] = row["sample_keys"] = b""
    row["sample_length"] = len(row["sample_values"])
    row["id"] = next(_pseudo_ids)
    return row | extra


def packed_stats(
    rows: Sequence[dict], target: Target, features: Iterable[str] | None = None
) -> list[dict]:
    """Stat rows of packed rows: per layout and feature, one merging every row whose
    kind and bins are `target(feature)`'s (any, when None), and one per other row (then
    conformed alone, as its per-feature row would have been). Rows carry `version_id`,
    `reference_id` and `created_at` of their newest packed row."""
    wanted = set(features) if features is not None else None
    by_layout: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_layout[row["layout_digest"]].append(row)
    layouts = layouts_of(by_layout)
    found = []
    for digest, group in by_layout.items():
        layout = layouts[digest]
        block = Block(layout, group)
        newest = max(group, key=lambda row: (row["created_at"], row["id"]))
        about = {k: newest[k] for k in ("version_id", "reference_id", "created_at")}
        for index, name in enumerate(layout.names):
            if wanted is not None and name not in wanted:
                continue
            if fits_target(layout, index, target(name)):
                found.append(stat_row(block.merged(index), **about))
                continue
            for position, row in enumerate(group):
                mine = {k: row[k] for k in ("version_id", "reference_id", "created_at")}
                found.append(stat_row(block.profile(position, index), **mine))
    return found


def stored_partials(versions: Q) -> list[tuple[datetime, FeatureProfile]]:
    """Every partial profile stored, one per (write, hour bucket, feature): per-feature
    rows and the features of packed rows alike (what the rollup has not merged yet)."""
    found = [
        (row["bucket_start"], profile_from_row(row))
        for row in Profile.objects.filter(versions, rolled_up=False).values(*ROW_FIELDS)
    ]
    by_layout: dict[str, list[dict]] = defaultdict(list)
    for row in packed_rows(PackedProfile.objects.filter(versions).order_by("id")):
        by_layout[row["layout_digest"]].append(row)
    layouts = layouts_of(by_layout)
    for digest, group in by_layout.items():
        block = Block(layouts[digest], group)
        for position, row in enumerate(group):
            for index in range(block.layout.width):
                found.append((row["bucket_start"], block.profile(position, index)))
    return found
