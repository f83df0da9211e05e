"""Packed partial rows (one per batch and hour, every feature) merge exactly as the
per-feature rows they replace, before and after the rollup, and are never stored twice."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from models_app import profiles, reference_io
from models_app.models import DailyProfile, ModelVersion, PackedProfile, Profile
from models_app.profiles.bulk import merge_stored
from models_app.profiles.packed import Block, Layout, pack, sample_keys_of
from models_app.profiles.sketch import (
    CATEGORICAL,
    NUMERIC,
    SAMPLE_SIZE,
    FeatureSpec,
    keys_of,
    profile_values,
)
from models_app.profiles.store import STAT_FIELDS, stat_values
from tests.factories import make_model, partial_features

T0 = datetime(2026, 3, 1, 20, 0, tzinfo=UTC)  # 4 hours before a UTC day ends
EDGES = (-1.0, -0.25, 0.0, 0.5, 1.2)
SPECS = {
    "a": FeatureSpec(NUMERIC, EDGES),
    "b": FeatureSpec(NUMERIC),
    "colour": FeatureSpec(CATEGORICAL),
    "lat": FeatureSpec(NUMERIC, sketch=True),
}


def batch_profiles(rng, size: int) -> list:
    """The profiles of one batch in one hour: numeric with and without bins (some
    missing), categorical, and a sketch."""
    a = rng.normal(size=size).tolist()
    a[::7] = [None] * len(a[::7])
    columns = {
        "a": a,
        "b": rng.gamma(2.0, size=size).tolist(),
        "colour": rng.choice(["red", "blue", "green"], size).tolist(),
        "lat": rng.uniform(1, 50, size).round(2).tolist(),
    }
    return [
        profile_values(name, values, SPECS[name], int(rng.integers(0, 2**62)))
        for name, values in columns.items()
    ]


def packed_block(batches: list[list]) -> Block:
    layout = Layout.of(batches[0])
    rows = []
    for profiles_ in batches:
        packed = pack(layout, profiles_, sample_keys_of(profiles_))
        rows.append(packed.__dict__)
    return Block(layout, rows)


def assert_same(one, other) -> None:
    for name in STAT_FIELDS:
        assert getattr(one, name) == getattr(other, name), name
    assert list(one.sample) == list(other.sample)
    assert np.asarray(one.sample_keys).tolist() == np.asarray(other.sample_keys).tolist()


@pytest.mark.parametrize(("batches", "size"), [(1, 1), (3, 40), (60, 120)])
def test_a_packed_block_merges_as_the_per_feature_rows_of_the_same_profiles(batches, size):
    rng = np.random.default_rng(size)
    written = [batch_profiles(rng, size + i % 7) for i in range(batches)]  # ragged
    block = packed_block(written)
    for index, name in enumerate(block.layout.names):
        rows = [stat_values(batch[index]) | {"id": i} for i, batch in enumerate(written)]
        edges = list(SPECS[name].edges)
        expected = merge_stored(rows, SPECS[name].kind, edges)
        assert_same(block.merged(index), expected)
    if batches * size > SAMPLE_SIZE:  # the bottom-k of 7,200 values: a sample of 5,000
        assert len(block.merged(block.layout.names.index("b")).sample) == SAMPLE_SIZE


def test_one_packed_row_gives_back_each_profile_with_its_keys():
    rng = np.random.default_rng(4)
    written = [batch_profiles(rng, 30), batch_profiles(rng, 9)]
    block = packed_block(written)
    for position, batch in enumerate(written):
        for index, original in enumerate(batch):
            found = block.profile(position, index)
            for name in STAT_FIELDS:
                assert getattr(found, name) == getattr(original, name), name
            keys = keys_of(original)
            order = np.lexsort((np.asarray(original.sample, dtype=float), keys))
            assert found.sample == np.asarray(original.sample, dtype=float)[order].tolist()
            assert found.sample_keys.tolist() == keys[order].tolist()


def test_a_layout_is_found_again_by_its_digest():
    layout = Layout.of(batch_profiles(np.random.default_rng(1), 3))
    again = Layout.from_spec(layout.spec())
    assert again == layout and again.digest() == layout.digest()
    assert layout.bins.tolist() == [len(EDGES) + 1, 0, 0, 0]


# --- in the database ---------------------------------------------------------------------


@pytest.fixture
def versions(db):
    model = make_model()
    return model.versions.get(), ModelVersion.objects.create(model=model, version="2")


def hours_of_profiles(seed: int, hours: int = 30, batches: int = 4) -> list:
    """(bucket, profile) of `batches` writes in each of `hours` hours from T0."""
    rng = np.random.default_rng(seed)
    return [
        [
            (T0 + timedelta(hours=hour), profile)
            for hour in range(hours)
            for profile in batch_profiles(rng, int(rng.integers(1, 60)))
        ]
        for _ in range(batches)
    ]


def write_both(old, new, writes, reference=None) -> None:
    """The same profiles as per-feature rows (`old`) and packed rows (`new`)."""
    for written in writes:
        profiles.write_partials(old, reference, written, packed=False)
        profiles.write_partials(new, reference, written)


def window(version, start=T0, end=T0 + timedelta(hours=29)) -> dict:
    return profiles.window_profiles(version, start, end)


def comparable(found: dict) -> dict:
    """Every statistic exact, but the sums within 1e-12 (merged in another grouping)."""
    return {
        name: (
            [getattr(p, field) for field in STAT_FIELDS if field not in ("sum", "sum_sq")],
            [float(f"{p.sum:.12e}"), float(f"{p.sum_sq:.12e}")],
            sorted(p.sample),
        )
        for name, p in found.items()
    }


def test_packed_rows_are_one_per_write_and_hour_and_read_as_per_feature_rows(versions):
    old, new = versions
    writes = hours_of_profiles(5)
    write_both(old, new, writes)
    assert PackedProfile.objects.filter(version=new).count() == 4 * 30
    assert Profile.objects.filter(version=new, feature="a").count() == 0
    assert Profile.objects.filter(version=old).count() == 4 * 30 * 4
    before = window(old)
    assert set(before) == {"a", "b", "colour", "lat"}
    for name, profile in window(new).items():
        assert_same(profile, before[name])
    day = window(new, T0 + timedelta(hours=4), T0 + timedelta(hours=27, minutes=59))
    assert day["a"].rows == sum(
        p.rows
        for written in writes
        for bucket, p in written
        if p.feature == "a" and T0 + timedelta(hours=4) <= bucket <= T0 + timedelta(hours=27)
    )


def test_a_lagging_read_equals_the_rolled_up_read_and_the_rollup_empties_the_packed_rows(
    versions,
):
    old, new = versions
    write_both(old, new, hours_of_profiles(6))
    start, end = T0 + timedelta(hours=2), T0 + timedelta(hours=28)  # a whole day inside
    lagging = comparable(window(new, start, end))
    assert lagging == comparable(window(old, start, end))
    assert profiles.rollup_pending(limit=300) > 0
    assert not PackedProfile.objects.exists() and not Profile.objects.filter(rolled_up=False)
    assert DailyProfile.objects.filter(version=new, feature="a").count() == 3  # 3 UTC days
    assert comparable(window(new, start, end)) == lagging
    assert comparable(window(old, start, end)) == lagging


def test_packed_rows_of_an_older_reference_are_conformed_one_by_one_as_before(versions):
    old, new = versions
    write_both(old, new, hours_of_profiles(7, hours=3))
    reference_io.reference_from_records(
        old, [{"a": float(v), "b": float(v) + 3} for v in np.random.default_rng(8).normal(size=300)]
    )
    reference_io.reference_from_records(
        new, [{"a": float(v), "b": float(v) + 3} for v in np.random.default_rng(8).normal(size=300)]
    )
    end = T0 + timedelta(hours=2)
    lagging = comparable(window(new, T0, end))
    assert lagging == comparable(window(old, T0, end))
    assert window(new, T0, end)["b"].edges == new.references.get().summary["features"]["b"]["edges"]
    profiles.rollup_pending()
    assert comparable(window(new, T0, end)) == comparable(window(old, T0, end)) == lagging


def test_a_mix_of_per_feature_and_packed_partial_rows_is_read_and_rolled_up_once(versions):
    old, new = versions
    first, second = hours_of_profiles(9, hours=5, batches=2)
    for written in (first, second):
        profiles.write_partials(old, None, written, packed=False)
    profiles.write_partials(new, None, first, packed=False)  # rows written before packing
    profiles.write_partials(new, None, second)
    end = T0 + timedelta(hours=4)
    expected = comparable(window(old, T0, end))
    assert comparable(window(new, T0, end)) == expected
    profiles.rollup_pending(limit=20)
    assert comparable(window(new, T0, end)) == expected


# --- idempotency through the API ---------------------------------------------------------


def record(i: int) -> dict:
    return {
        "id": f"p{i}",
        "timestamp": (T0 + timedelta(minutes=17 * i)).isoformat(),
        "features": {"amount": 10.0 + i, "country": "fr"},
        "prediction": 1,
        "scores": {"0": 0.2, "1": 0.8},
        "latency_ms": 12.5,
    }


def test_a_replayed_batch_and_a_replayed_profile_post_store_nothing_twice(api, model):
    url = "/api/v1/models/fraud/predictions/"
    batch = {"records": [record(i) for i in range(10)]}
    for _ in range(2):
        answer = api.post(url, batch, format="json", HTTP_IDEMPOTENCY_KEY="b-1")
        assert answer.status_code == 201, answer.json()
    assert api.post(url, batch, format="json").status_code == 400  # the ids are stored
    assert PackedProfile.objects.count() == 3  # 10 rows over 3 hours: one row per hour
    assert sorted(set(partial_features())) == sorted(
        ["amount", "country", "__prediction__", "__score__", "__error__", "__latency_ms__"]
    )
    assert len(partial_features()) == 3 * 6
    profile = {
        "format": 1,
        "bucket": "2026-03-02T05:00:00Z",
        "rows": 4,
        "features": {
            "amount": {
                "kind": "numeric",
                "count": 4,
                "min": 1.0,
                "max": 4.0,
                "sum": 10.0,
                "sum_sq": 30.0,
                "sample": [1.0, 2.0, 3.0, 4.0],
            }
        },
        "outputs": {"prediction": {"kind": "categorical", "count": 4, "categories": {"1": 4}}},
    }
    posted = "/api/v1/models/fraud/profiles/"
    for _ in range(2):
        answer = api.post(posted, {"records": [profile]}, format="json", HTTP_IDEMPOTENCY_KEY="p-1")
        assert answer.status_code == 201, answer.json()
    assert PackedProfile.objects.count() == 4
    found = profiles.window_profiles(model.versions.get(), T0, T0 + timedelta(hours=10))
    assert found["amount"].count == 14 and found["__prediction__"].rows == 14
    assert sorted(found["amount"].sample) == sorted([10.0 + i for i in range(10)] + [1, 2, 3, 4])


def test_the_binary_copy_of_packed_rows_reads_what_the_orm_reads(versions):
    from django.db.models import F

    from models_app.profiles import store

    _, new = versions
    write_both(*versions, hours_of_profiles(3, hours=4, batches=2))
    queryset = PackedProfile.objects.filter(version=new)
    copied = sorted(store.packed_rows(queryset), key=lambda row: row["id"])  # any order
    plain = list(
        queryset.order_by("id")
        .annotate(layout_digest=F("layout__digest"))
        .values(*store.PACKED_FIELDS)
    )
    assert len(copied) == len(plain) == 8
    for mine, theirs in zip(copied, plain, strict=True):
        assert {k: bytes(v) if isinstance(v, memoryview) else v for k, v in mine.items()} == {
            k: bytes(v) if isinstance(v, memoryview) else v for k, v in theirs.items()
        }
