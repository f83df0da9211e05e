"""The false-alarm bench's simulator and scoring (bench/false_alarms.py): the traffic is
stable before day 40, the injected shifts have the sizes the docs claim, and the delay
and false-alarm rate are read from the verdicts as defined."""

import numpy as np
import pytest

from bench import false_alarms as fa

ROWS = 200_000


def by_feature() -> dict[str, fa.Shift]:
    return {s.feature: s for s in fa.SHIFTS}


def test_nothing_is_shifted_before_day_40_and_the_ramp_is_full_from_day_49():
    assert fa.day_rows(1000, fa.SHIFT_DAY - 1)[1] == {}
    assert [fa.ramp(d) for d in (39, 40, 44, 49, 59)] == [0.0, 0.1, 0.5, 1.0, 1.0]
    assert set(fa.day_rows(1000, fa.SHIFT_DAY)[1]) == set(by_feature())


def test_the_same_seed_gives_the_same_day_and_another_day_differs():
    first, again = fa.day_rows(1000, 45), fa.day_rows(1000, 45)
    for name in fa.NUMERIC + fa.CATEGORICAL:
        assert np.array_equal(first[0][name], again[0][name])
    for name in first[1]:
        assert np.array_equal(first[1][name], again[1][name])
    assert not np.array_equal(first[0]["num_00"], fa.day_rows(1000, 46)[0]["num_00"])


def test_the_full_shifts_have_the_claimed_sizes():
    stable, drifted = fa.day_rows(ROWS, fa.SHIFT_DAY + fa.RAMP_DAYS - 1)
    shifts = by_feature()
    # mean +0.25 sd on a normal feature of sd 1: every value moves by exactly 0.25
    sd = fa.numeric_params(fa.NUMERIC.index("num_00"))[1]["sd"]
    moved = drifted["num_00"] - stable["num_00"]
    assert np.allclose(moved, shifts["num_00"].size * sd, atol=1e-5)
    # sd x1.5 about the feature's mean, the mean unchanged (within 3 standard errors)
    ratio = np.std(drifted["num_04"]) / np.std(stable["num_04"])
    assert ratio == pytest.approx(shifts["num_04"].size, abs=1e-5)
    mean, spread = fa.numeric_params(fa.NUMERIC.index("num_04"))[1].values()
    assert abs(np.mean(drifted["num_04"]) - mean) < 3 * 1.5 * spread / np.sqrt(ROWS)
    # the rarest category's share +0.10 (binomial standard error ~0.0007), others shrink
    j = fa.CATEGORICAL.index("cat_1")
    rarest, shares = fa.CATEGORY_COUNTS[j] - 1, fa.category_shares(j)
    after = np.bincount(drifted["cat_1"], minlength=fa.CATEGORY_COUNTS[j]) / ROWS
    assert after[rarest] - shares[rarest] == pytest.approx(0.10, abs=0.003)
    others = np.delete(after, rarest) / np.delete(shares, rarest)
    assert np.allclose(others, others.mean(), atol=0.02)


def test_a_partial_shift_is_that_share_of_the_full_one():
    stable, drifted = fa.day_rows(ROWS, fa.SHIFT_DAY + 2)  # 30 % of the way
    assert np.allclose(drifted["num_00"] - stable["num_00"], 0.3 * 0.25, atol=1e-5)
    ratio = np.std(drifted["num_04"]) / np.std(stable["num_04"])
    assert ratio == pytest.approx(1 + 0.3 * 0.5, abs=1e-5)


def test_stable_days_follow_the_reference_distributions():
    reference, day = fa.reference_rows(ROWS // fa.REFERENCE_DAYS), fa.day_rows(ROWS, 3)[0]
    for name in fa.NUMERIC:
        values = reference[name]
        error = np.std(values) * np.sqrt(2 / ROWS)
        assert abs(np.mean(day[name]) - np.mean(values)) < 5 * error, name
    for j, name in enumerate(fa.CATEGORICAL):
        shares = np.bincount(day[name], minlength=fa.CATEGORY_COUNTS[j]) / ROWS
        assert np.allclose(shares, fa.category_shares(j), atol=0.005), name


def test_the_shapes_are_as_documented():
    rng = np.random.default_rng(1)
    assert [fa.numeric_params(i)[0] for i in range(8)] == list(fa.SHAPES) * 2
    integer = fa.numeric_column(rng, 3, 10_000)
    assert np.array_equal(integer, np.round(integer))
    assert np.all(fa.numeric_column(rng, 1, 10_000) > 0)  # lognormal
    bimodal = fa.numeric_column(rng, 2, 10_000)
    assert np.mean(bimodal > 2) == pytest.approx(0.2, abs=0.02)


def verdicts(stable: dict, shifted: dict) -> dict:
    def days(found):
        return {str(d): {"drifted": names, "dataset": dataset} for d, (names, dataset) in found}

    return {"stable": days(stable.items()), "shifted": days(shifted.items())}


def test_delay_is_the_first_judged_day_that_flags_the_feature():
    found = verdicts(
        {0: ([], False), 1: (["cat_1"], False), 2: ([], False), 3: ([], True)},
        {40: (["num_04"], False), 44: (["num_00", "num_04"], True), 48: (["num_00"], False)},
    )
    assert fa.delay(found, "num_00", per_feature=True) == 4
    assert fa.delay(found, "num_04", per_feature=True) == 0
    assert fa.delay(found, "cat_1", per_feature=True) is None
    assert fa.delay(found, "cat_1", per_feature=False) == 4  # dataset rows: any alert
    assert fa.alert_rate(found, per_feature=True) == (1, 4)
    assert fa.alert_rate(found, per_feature=False) == (1, 4)
