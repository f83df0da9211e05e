"""Merging many stored rows at once equals merging their profiles one by one (no database)."""

import math

import numpy as np
import pytest

from models_app.profiles.bulk import merge_stored
from models_app.profiles.keys import TABLE_STEP, implied_keys_many, seed_states
from models_app.profiles.sketch import (
    CATEGORICAL,
    NUMERIC,
    FeatureSpec,
    conform,
    merge_all,
    profile_values,
    reservoir_keys,
)
from models_app.profiles.store import profile_from_row, stat_values

EDGES = (-1.0, -0.25, 0.0, 0.5, 1.2)
OLD_EDGES = (-0.5, 0.5)


def test_seed_states_are_numpys_seed_sequence():
    seeds = [0, 1, 7, 2**32 - 1, 2**32, 2**62 - 3, 2**64 - 1]
    expected = [np.random.SeedSequence(s).generate_state(4, np.uint64).tolist() for s in seeds]
    assert seed_states(np.array(seeds, dtype=np.uint64)).tolist() == expected


def test_implied_keys_many_are_each_seeds_reservoir_keys():
    rng = np.random.default_rng(5)
    seeds = [*rng.integers(0, 2**62, size=200, dtype=np.uint64).tolist(), 0, 3, 2**32 + 1]
    lengths = [*rng.integers(0, 90, size=200).tolist(), 0, TABLE_STEP + 17, 5]
    found = implied_keys_many(np.array(seeds, dtype=np.uint64), np.array(lengths))
    expected = np.concatenate([reservoir_keys(s, n) for s, n in zip(seeds, lengths, strict=True)])
    assert found.dtype == np.uint64 and found.tolist() == expected.tolist()


def stored(profile, row_id: int) -> dict:
    """The row dict a window read yields for `profile` (JSON as parsed, bytes as read)."""
    return {"id": row_id, "sample": None, **stat_values(profile)}


def numeric_row(rng, row_id, size, edges=EDGES, sketch=False, sample_size=50):
    values = rng.normal(size=size).tolist()
    values[: size // 10] = [None] * (size // 10)
    spec = FeatureSpec(NUMERIC, edges, low=-2.0, high=2.0, sketch=sketch)
    profile = profile_values(
        "x", values, spec, seed=int(rng.integers(2**62)), sample_size=sample_size
    )
    return stored(profile, row_id)


def categorical_row(rng, row_id, size):
    values = rng.choice(["a", "b", "c", "d", None], size=size).tolist()
    spec = FeatureSpec(CATEGORICAL, categories=frozenset({"a", "b"}))
    return stored(profile_values("x", values, spec), row_id)


def pairwise(rows, kind, edges, k):
    return merge_all([conform(profile_from_row(row), kind, list(edges)) for row in rows], k)


def assert_same(found, expected):
    for name in ("feature", "kind", "count", "missing", "type_errors", "out_of_range", "unseen"):
        assert getattr(found, name) == getattr(expected, name), name
    assert found.min == expected.min and found.max == expected.max
    assert math.isclose(found.sum, expected.sum, rel_tol=1e-12, abs_tol=1e-12)
    assert math.isclose(found.sum_sq, expected.sum_sq, rel_tol=1e-12, abs_tol=1e-12)
    assert found.edges == expected.edges and found.bin_counts == expected.bin_counts
    assert found.categories == expected.categories and found.sketch == expected.sketch
    assert list(found.sample) == list(expected.sample)
    assert np.asarray(found.sample_keys).tolist() == np.asarray(expected.sample_keys).tolist()


@pytest.mark.parametrize("seed", range(4))
def test_numeric_rows_merge_as_their_profiles(seed):
    rng = np.random.default_rng(seed)
    sizes = rng.integers(0, 120, size=60)  # samples of 50: seeded and explicit keys both
    rows = [numeric_row(rng, i, int(n), sketch=seed % 2 == 1) for i, n in enumerate(sizes)]
    for k in (40, 5000):
        assert_same(merge_stored(rows, NUMERIC, EDGES, k), pairwise(rows, NUMERIC, EDGES, k))


def test_prefixes_json_samples_and_old_bins_merge_as_their_profiles():
    rng = np.random.default_rng(9)
    rows = [numeric_row(rng, i, 80) for i in range(6)]
    rows[0] = numeric_row(rng, 0, 80, edges=OLD_EDGES)  # the first row needs re-binning
    rows[2] = numeric_row(rng, 2, 70, edges=OLD_EDGES)
    rows[3]["sample_values"] = bytes(rows[3]["sample_values"])[: 8 * 20]  # a fetched prefix
    rows[3]["sample_keys"] = memoryview(rows[3]["sample_keys"])[: 8 * 20]
    legacy = numeric_row(rng, 4, 30)
    legacy["sample"] = np.frombuffer(legacy["sample_values"]).tolist()
    legacy["sample_values"] = legacy["sample_keys"] = legacy["sample_seed"] = None
    rows[4] = legacy
    rows.append(categorical_row(rng, 6, 40))  # conformed to numeric from its counts
    for order in (rows, rows[::-1]):
        assert_same(merge_stored(order, NUMERIC, EDGES, 60), pairwise(order, NUMERIC, EDGES, 60))


def test_categorical_rows_merge_as_their_profiles():
    rng = np.random.default_rng(3)
    rows = [categorical_row(rng, i, int(n)) for i, n in enumerate(rng.integers(0, 50, 40))]
    rows.insert(5, numeric_row(rng, 99, 30))  # conformed to categorical from its sample
    assert_same(merge_stored(rows, CATEGORICAL, []), pairwise(rows, CATEGORICAL, [], 5000))


def test_nothing_to_merge_is_an_error():
    with pytest.raises(ValueError):
        merge_stored([], NUMERIC, EDGES)
