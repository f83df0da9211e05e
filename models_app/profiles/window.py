"""Reading a window's profiles: {feature: FeatureProfile} over the hour buckets
overlapping [start, end], each row counted once whatever the rollup has reached.

Rolled-up rows (daily rows for the whole days inside the window) and the partial rows
the rollup has not reached yet are merged, so the answer is the same before and after
a rollup; every profile is conformed to the current reference's kind and bins. A read
never writes: when the rollup lags far behind (a backfill posted with no worker
running), the window's partial rows are merged in memory and the background rollup
catches up. Partial rows are packed (packed.py: one per batch and hour holding every
feature, merged per layout as matrices), or per feature for the serving outputs and for
rows written before packing (merged column by column, `bulk.merge_stored`).
"""

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from django.db.models import Q

from models_app.models import ModelVersion, Reference
from models_app.profiles.bulk import merge_stored
from models_app.profiles.sketch import (
    NUMERIC,
    SAMPLE_SIZE,
    FeatureProfile,
    FeatureSpec,
    empty_profile,
)
from models_app.profiles.specs import (
    LATENCY,
    PREDICTION,
    SERVING,
    WriteSpecs,
    reference_feature,
    reference_for_profiles,
    specs_of,
)
from models_app.profiles.store import (
    Target,
    fetch_samples,
    packed_exist,
    packed_stats,
    short_rows,
    window_packed,
    window_scalars,
)


def read_window(
    versions: Q,
    start: datetime,
    end: datetime,
    features: Iterable[str] | None,
    samples: bool = True,
    target: Target | None = None,
) -> dict[str, list[dict]]:
    """The stored rows covering the window, by feature (with sample prefixes if asked);
    packed partial rows come as stat rows, merged per layout where their kind and bins
    are `target(feature)`'s (see `store.packed_stats`)."""
    features = list(features) if features is not None else None
    rows, packed = read_rows(versions, start, end, features, samples=samples)
    rows += packed_stats(packed, target or no_target, features)
    grouped: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        grouped[row["feature"]].append(row)
    return grouped


def read_rows(
    versions: Q,
    start: datetime,
    end: datetime,
    features: list[str] | None,
    samples: bool = True,
    daily: bool = True,
) -> tuple[list[dict], list[dict]]:
    """(stat rows, packed partial rows) covering the window, read consistently with a
    rollup running beside. `samples`: attach the samples (prefixes; whole with
    `daily=False`, whose hourly rows are kept apart, not merged into one window);
    `daily=False`: hourly rows only (`store.window_scalars`)."""
    packed_wanted = features is None or any(name not in SERVING for name in features)
    for _ in range(3):  # a rollup replacing a row between the reads: read again
        packed = window_packed(versions, start, end) if packed_wanted else []
        rows = window_scalars(versions, start, end, features, daily=daily)
        whole = frozenset() if daily else frozenset((False, row["id"]) for row in rows)
        fetched = not samples or fetch_samples(rows, whole=whole)
        # a rollup that took packed rows after they were read put them in the rows read
        # next: they would count twice (one that took them later changed nothing read)
        if fetched and packed_exist([row["id"] for row in packed]):
            break
    return rows, packed


def no_target(name: str) -> None:
    return None


def merge_rows(rows: Iterable[dict], spec: FeatureSpec | None) -> FeatureProfile:
    """Merge stored rows of one feature, conformed to `spec` (else the majority kind)."""
    rows = list(rows)
    if spec is None:
        kinds = defaultdict(int)
        for row in rows:
            kinds[row["kind"]] += row["count"] + row["missing"] + row["type_errors"]
        kind = max(sorted(kinds), key=kinds.get)
        edges = next((row["edges"] for row in rows if row["kind"] == kind and row["edges"]), [])
    else:
        kind, edges = spec.kind, list(spec.edges)
    return merge_stored(rows, kind, edges)


def reference_spec(reference: Reference | None, name: str) -> FeatureSpec | None:
    ref = reference_feature(specs_of(reference), name) if reference else None
    if not ref or name == LATENCY:
        return None
    return FeatureSpec(ref["type"], tuple(ref.get("edges") or ()) if ref["type"] == NUMERIC else ())


def spec_target(reference: Reference | None) -> Target:
    """The kind and bins each feature is read with: the current reference's, or any."""

    def target(name: str) -> tuple[str, list[float]] | None:
        spec = reference_spec(reference, name)
        return (spec.kind, list(spec.edges)) if spec else None

    return target


def window_profiles(
    version: ModelVersion, start: datetime, end: datetime, features: Iterable[str] | None = None
) -> dict[str, FeatureProfile]:
    """{feature: FeatureProfile} of `version` over the hour buckets overlapping [start, end].

    Reads O(buckets x features) stored rows, never the raw predictions; a feature
    without rows is absent, unless declared or in the reference: predictions without it
    count as its `missing` (`absent_as_missing`). Bins follow the current reference
    (`edges` on each profile).
    """
    reader = Reader(version, features)
    grouped = read_window(
        Q(version=version), start, end, reader.wanted, target=spec_target(reader.reference)
    )
    return reader.profiles(grouped)


def hourly_profiles(
    version: ModelVersion, first: datetime, last: datetime, features: Iterable[str] | None = None
) -> dict[datetime, dict[str, FeatureProfile]]:
    """{hour: window_profiles(version, hour, the hour's last moment, features)} for every
    hour bucket from `first` to `last` that holds rows, from one read of hourly rows (a
    backtest replays a period hour by hour: one read instead of one per hour). Every
    sample is fetched whole: keep the span to about a day of rows."""
    reader = Reader(version, features)
    target = spec_target(reader.reference)
    rows, packed = read_rows(Q(version=version), first, last, reader.wanted, daily=False)
    by_hour: dict[datetime, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        by_hour[row["bucket_start"]][row["feature"]].append(row)
    packed_by_hour: dict[datetime, list[dict]] = defaultdict(list)
    for row in packed:
        packed_by_hour[row["bucket_start"]].append(row)
    for hour, group in packed_by_hour.items():
        for row in packed_stats(group, target, reader.wanted):
            by_hour[hour][row["feature"]].append(row)
    return {hour: reader.profiles(by_hour[hour]) for hour in sorted(by_hour)}


class Reader:
    """What a window read of `version` needs once: the current reference, the write
    specs, the features expected (declared or in the reference) among `features`, and
    the features to read (the prediction's row too, to count the absent ones)."""

    def __init__(self, version: ModelVersion, features: Iterable[str] | None):
        self.features = list(features) if features is not None else None
        self.reference = reference_for_profiles(version)
        self.specs = WriteSpecs(version, self.reference)
        self.expected = expected_features(self.specs, self.features)
        self.wanted = self.features
        if self.features is not None and self.expected and PREDICTION not in self.features:
            self.wanted = [*self.features, PREDICTION]

    def profiles(self, grouped: dict[str, list[dict]]) -> dict[str, FeatureProfile]:
        """{feature: FeatureProfile} of one window's stored rows, grouped by feature."""
        window = {
            name: merged_feature(rows, reference_spec(self.reference, name))
            for name, rows in grouped.items()
        }
        absent_as_missing(window, self.expected, self.specs)
        if self.wanted is not self.features:
            window.pop(PREDICTION, None)
        return dict(sorted(window.items()))


def expected_features(specs: WriteSpecs, features: Iterable[str] | None) -> list[str]:
    """The declared (profiled) and reference features, among `features` if given."""
    names = [name for name in specs.declared if specs.profiled(name)]
    names += [
        name for name in (specs.summary or {}).get("features") or {} if name not in specs.declared
    ]
    if features is not None:
        asked = set(features)
        names = [name for name in names if name in asked]
    return names


def absent_as_missing(
    window: dict[str, FeatureProfile], names: Iterable[str], specs: WriteSpecs
) -> None:
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
            profile = window[name] = empty_profile(name, specs.spec(name))
        profile.missing += max(total - profile.rows, 0)


def merged_feature(rows: list[dict], spec: FeatureSpec | None) -> FeatureProfile:
    """Merge one feature's rows; fetch whole the rows whose sample prefix was too short."""
    merged = merge_rows(rows, spec)
    short = short_rows(rows, merged, SAMPLE_SIZE)
    if short:
        fetch_samples(
            [r for r in rows if (r["is_daily"], r["id"]) in short], whole=frozenset(short)
        )
        merged = merge_rows(rows, spec)
    return merged


def window_feature(
    version: ModelVersion, name: str, start: datetime, end: datetime
) -> FeatureProfile | None:
    """The window's profile of one feature (binned on the current reference), or None
    when the window has no row for it."""
    return window_profiles(version, start, end, [name]).get(name)
