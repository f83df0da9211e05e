"""Pure profile statistics: counts, bins, reservoir, sketch and the associative merge."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models_app.profiles import sketch
from models_app.profiles.sketch import (
    CATEGORICAL,
    NUMERIC,
    FeatureSpec,
    category_key,
    conform,
    merge,
    merge_all,
    profile_values,
    sketch_of,
    sketch_quantile,
)

EDGES = (-1.0, 0.0, 0.5, 2.0)


def numeric(values, seed=1, **spec):
    return profile_values("x", values, FeatureSpec(NUMERIC, EDGES, **spec), seed)


def test_bin_counts_equal_numpy_searchsorted_on_the_same_data():
    values = np.random.default_rng(3).normal(0, 2, 1000)
    values[:5] = EDGES[:4] + (7.0,)
    expected = np.bincount(np.searchsorted(EDGES, values, side="right"), minlength=5)
    assert numeric(values.tolist()).bin_counts == expected.tolist()


def test_numeric_sums_match_numpy():
    values = np.random.default_rng(4).gamma(2, 3, 700)
    profile = numeric(values.tolist())
    assert profile.count == 700
    assert profile.min == values.min() and profile.max == values.max()
    assert profile.mean == pytest.approx(values.mean(), rel=1e-12)
    assert profile.std == pytest.approx(np.std(values), rel=1e-9)


def test_missing_wrong_types_and_out_of_range_are_counted_not_refused():
    profile = numeric([1.0, None, "7", True, [1], {"a": 1}, 5, -3.5, None], low=0, high=4)
    assert (profile.count, profile.missing, profile.type_errors) == (3, 2, 4)
    assert profile.out_of_range == 2
    assert profile.rows == 9
    assert sorted(profile.sample) == [-3.5, 1.0, 5.0]


def test_categorical_counts_canonical_values_and_unseen():
    spec = FeatureSpec(CATEGORICAL, categories=frozenset({"a", "1"}))
    profile = profile_values("c", ["a", 1, 1.0, "1", True, None, [2], "z", "a"], spec)
    assert profile.categories == {"a": 2, "1": 3, "true": 1, "z": 1}
    assert (profile.count, profile.missing, profile.type_errors) == (7, 1, 1)
    assert profile.unseen == 2
    assert profile.sample == []


def test_category_key_makes_integral_floats_and_ints_equal():
    assert category_key(3) == category_key(3.0) == category_key("3") == "3"
    assert category_key(2.5) == "2.5"
    assert category_key(False) == "false"
    assert category_key(None) is None


def test_the_reservoir_holds_every_value_when_there_are_at_most_5000():
    values = np.random.default_rng(5).normal(size=5000)
    profile = numeric(values.tolist())
    assert sorted(profile.sample) == sorted(values.tolist())


def test_the_reservoir_is_bounded_and_uniform_beyond_5000():
    values = np.arange(20000, dtype=float)
    profile = numeric(values.tolist())
    assert len(profile.sample) == sketch.SAMPLE_SIZE
    assert len(set(profile.sample)) == sketch.SAMPLE_SIZE
    assert abs(np.mean(profile.sample) - values.mean()) < 300


def test_merged_reservoirs_keep_every_value_up_to_5000():
    values = np.random.default_rng(6).normal(size=4999)
    parts = [numeric(chunk.tolist(), seed=i) for i, chunk in enumerate(np.array_split(values, 7))]
    assert sorted(merge_all(parts).sample) == sorted(values.tolist())


def test_sketch_percentiles_are_within_one_percent_of_numpy_lower():
    values = np.random.default_rng(7).lognormal(3, 1, 5000)
    values[:10] = 0.0
    buckets = sketch_of(values)
    for q in (0.5, 0.95, 0.99):
        exact = np.percentile(values, 100 * q, method="lower")
        assert sketch_quantile(buckets, q) == pytest.approx(exact, rel=sketch.SKETCH_ALPHA)


def test_sketch_of_zeros_answers_zero():
    assert sketch_quantile(sketch_of(np.zeros(4)), 0.5) == 0.0
    assert sketch_quantile({}, 0.5) is None


def test_conform_rebins_exactly_while_the_sample_holds_every_value():
    values = np.random.default_rng(8).normal(size=300)
    unbinned = profile_values("x", values.tolist(), FeatureSpec(NUMERIC), 1)
    new_edges = [-0.5, 0.1, 0.9]
    expected = np.bincount(np.searchsorted(new_edges, values, side="right"), minlength=4)
    assert conform(unbinned, NUMERIC, new_edges).bin_counts == expected.tolist()


def test_conform_turns_a_numeric_profile_into_categories():
    profile = profile_values("x", [0, 1, 1, 2.0, None], FeatureSpec(NUMERIC), 1)
    categorical = conform(profile, CATEGORICAL, [])
    assert categorical.categories == {"0": 1, "1": 2, "2": 1}
    assert categorical.missing == 1 and categorical.sample == []


def test_conform_turns_categories_back_into_numbers():
    spec = FeatureSpec(CATEGORICAL)
    profile = profile_values("x", [1, 2, 2, "abc", None], spec)
    numbers = conform(profile, NUMERIC, [1.5])
    assert (numbers.count, numbers.type_errors, numbers.missing) == (3, 1, 1)
    assert numbers.bin_counts == [1, 2]
    assert numbers.sum == 5.0


def test_merging_profiles_on_different_bins_asks_to_conform_first():
    a = numeric([1.0])
    b = profile_values("x", [2.0], FeatureSpec(NUMERIC, (3.0,)), 2)
    with pytest.raises(ValueError, match="conform"):
        merge(a, b)


def test_categories_past_the_limit_fold_into_other():
    counts = {f"c{i}": i + 1 for i in range(10)}
    folded = sketch.fold_categories(counts, limit=3)
    assert folded == {"c9": 10, "c8": 9, "c7": 8, sketch.OTHER: sum(range(1, 8))}


# --- the merge property --------------------------------------------------------------

cells = st.one_of(
    st.none(),
    st.floats(-1e6, 1e6, allow_nan=False),
    st.integers(-50, 50),
    st.sampled_from(["a", "b", "c", "7"]),
    st.booleans(),
)


def split_points(draw, size: int) -> list[int]:
    cuts = draw(st.lists(st.integers(0, size), max_size=6))
    return sorted(set(cuts))


def assert_same_profile(left, right):
    for name in (
        "count",
        "missing",
        "type_errors",
        "out_of_range",
        "unseen",
        "min",
        "max",
        "edges",
        "bin_counts",
        "categories",
        "sketch",
    ):
        assert getattr(left, name) == getattr(right, name), name
    assert left.sum == pytest.approx(right.sum, rel=1e-9, abs=1e-6)
    assert left.sum_sq == pytest.approx(right.sum_sq, rel=1e-9, abs=1e-6)
    assert reservoir(left) == reservoir(right)


def reservoir(profile) -> list[tuple]:
    """(key, value) pairs of the sample, whether its keys are explicit or seed-implied."""
    return sorted(zip(sketch.keys_of(profile).tolist(), profile.sample, strict=True))


def profile_parts(values, cuts, kind, sample_size):
    spec = FeatureSpec(
        kind,
        EDGES if kind == NUMERIC else (),
        frozenset({"a", "b"}) if kind == CATEGORICAL else None,
        low=-10,
        high=10,
        sketch=True,
    )
    bounds = [0, *cuts, len(values)]
    return [
        profile_values("x", values[a:b], spec, seed=17 * i + 1, sample_size=sample_size)
        for i, (a, b) in enumerate(zip(bounds[:-1], bounds[1:], strict=True))
    ]


@settings(max_examples=150, deadline=None)
@given(
    data=st.data(),
    kind=st.sampled_from([NUMERIC, CATEGORICAL]),
    sample_size=st.sampled_from([3, 10, 5000]),
)
def test_merging_partial_profiles_in_any_order_and_grouping_gives_the_same_profile(
    data, kind, sample_size
):
    values = data.draw(st.lists(cells, max_size=60))
    parts = profile_parts(values, split_points(data.draw, len(values)), kind, sample_size)
    order = data.draw(st.permutations(range(len(parts))))
    shuffled = [parts[i] for i in order]
    left_fold = shuffled[0]
    for part in shuffled[1:]:
        left_fold = merge(left_fold, part, sample_size)
    right_fold = shuffled[-1]
    for part in reversed(shuffled[:-1]):
        right_fold = merge(part, right_fold, sample_size)
    at_once = merge_all(parts, sample_size)
    assert_same_profile(left_fold, at_once)
    assert_same_profile(right_fold, at_once)


@settings(max_examples=100, deadline=None)
@given(data=st.data(), kind=st.sampled_from([NUMERIC, CATEGORICAL]))
def test_merged_partials_equal_the_profile_of_all_rows_at_once(data, kind):
    values = data.draw(st.lists(cells, max_size=60))
    parts = profile_parts(values, split_points(data.draw, len(values)), kind, 5000)
    whole = profile_parts(values, [], kind, 5000)[0]
    merged = merge_all(parts)
    for name in (
        "count",
        "missing",
        "type_errors",
        "out_of_range",
        "unseen",
        "min",
        "max",
        "bin_counts",
        "categories",
        "sketch",
    ):
        assert getattr(merged, name) == getattr(whole, name), name
    assert merged.sum == pytest.approx(whole.sum, rel=1e-9, abs=1e-6)
    assert sorted(merged.sample) == sorted(whole.sample)
    if merged.count:
        assert math.isclose(merged.mean, whole.mean, rel_tol=1e-9, abs_tol=1e-6)


def test_bottom_k_breaks_key_ties_by_value_whatever_the_input_order():
    keys = np.array([5, 5, 1, 5, 9], dtype=np.uint64)
    values = np.array([3.0, 1.0, 2.0, 2.0, 0.0])
    for order in ([0, 1, 2, 3, 4], [4, 3, 2, 1, 0], [1, 3, 0, 4, 2]):
        chosen_keys, chosen = sketch.bottom_k(keys[order], values[order], 3)
        assert chosen_keys.tolist() == [1, 5, 5] and chosen.tolist() == [2.0, 1.0, 2.0]


def test_a_long_category_is_counted_under_its_first_200_characters():
    huge = "v" * 20_000_000  # 20 MB: the profile (and its figure) must not carry it
    values = [huge, huge[:200] + "w", "fr", None, 5]
    profile = profile_values("x", values, FeatureSpec(CATEGORICAL))
    assert profile.categories == {"v" * 200: 2, "fr": 1, "5": 1}
    assert (profile.count, profile.missing) == (4, 1)
    only_strings = profile_values("x", [huge, "fr"], FeatureSpec(CATEGORICAL))
    assert only_strings.categories == {"v" * 200: 1, "fr": 1}
    assert category_key("é" * 300) == "é" * 200
