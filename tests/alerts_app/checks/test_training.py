"""Training health on synthetic curves: over-fitting caught within patience + 1 steps of
the turn, under-fitting and plateaus caught, healthy runs never flagged."""

import numpy as np
import pytest

from alerts_app.checks.training import Curve, overfitting, page_hinkley, underfitting
from alerts_app.rule_config import validate_config

STEPS = np.arange(60)


def healthy(seed: int, noise: float = 0.005):
    rng = np.random.default_rng(seed)
    train = 0.1 + 2.0 * np.exp(-STEPS / 10) + rng.normal(0, noise, len(STEPS))
    val = 0.15 + 2.0 * np.exp(-STEPS / 10) + rng.normal(0, noise, len(STEPS))
    return train, val


def overfit(turn: int, seed: int, noise: float = 0.005):
    train, val = healthy(seed, noise)
    after = STEPS > turn
    val = val.copy()
    val[after] = (
        val[turn]
        + 0.03 * (STEPS[after] - turn)
        + np.random.default_rng(seed + 100).normal(0, noise, after.sum())
    )
    return train, val


def first_breach(check, make_data, config, n: int) -> int | None:
    """The first step at which the check, run on the curve so far, breaks the rule."""
    for end in range(2, n + 1):
        if check(make_data(end), config).status == "breached":
            return end - 1
    return None


def fit_data(train, val):
    return lambda end: {
        "train": Curve.of(STEPS[:end], train[:end]),
        "validation": Curve.of(STEPS[:end], val[:end]),
    }


@pytest.mark.parametrize(("turn", "patience", "seed"), [(20, 3, 1), (30, 5, 2), (25, 8, 3)])
def test_overfitting_is_caught_within_patience_plus_one_steps_of_the_turn(turn, patience, seed):
    config = validate_config("overfitting", {"patience": patience})
    step = first_breach(overfitting, fit_data(*overfit(turn, seed)), config, len(STEPS))
    assert step is not None and turn < step <= turn + patience + 1


@pytest.mark.parametrize("seed", range(5))
def test_a_healthy_run_is_never_flagged_as_overfitting(seed):
    config = validate_config("overfitting", {"patience": 3})
    assert first_breach(overfitting, fit_data(*healthy(seed)), config, len(STEPS)) is None


def test_overfitting_breaks_when_the_gap_exceeds_max_gap():
    train, val = healthy(0)
    config = validate_config("overfitting", {"max_gap": 0.02})
    result = overfitting(fit_data(train, val)(len(STEPS)), config)
    assert result.status == "breached" and result.details["breached_by"] == ["max_gap"]
    assert result.details["gap"] == pytest.approx(val[-1] - train[-1])


def test_overfitting_in_mode_max_watches_a_falling_validation_accuracy():
    train, val = overfit(20, 4)
    config = validate_config("overfitting", {"patience": 4, "mode": "max"})
    data = {"train": Curve.of(STEPS, 3 - train), "validation": Curve.of(STEPS, 3 - val)}
    assert overfitting(data, config).status == "breached"


def test_training_and_validation_are_aligned_on_validation_steps():
    train = Curve.of(np.arange(0, 100), np.linspace(2, 0.1, 100))
    val = Curve.of(np.arange(9, 100, 10), np.r_[np.linspace(2, 0.5, 5), np.linspace(0.6, 1, 5)])
    result = overfitting(
        {"train": train, "validation": val}, validate_config("overfitting", {"patience": 3})
    )
    assert result.status == "breached" and result.details["best_step"] == 49


def test_too_few_points_is_insufficient_data():
    data = {"train": Curve.of([0], [1.0]), "validation": Curve.of([0], [1.0])}
    assert overfitting(data, validate_config("overfitting", {})).status == "insufficient_data"


# -- under-fitting ---------------------------------------------------------------------


def decay(level: float, seed: int, n: int = 200, rate: float = 10, noise: float = 0.003):
    steps = np.arange(n)
    values = level + 2.0 * np.exp(-steps / rate)
    return steps, values + np.random.default_rng(seed).normal(0, noise, n)


def curve_data(steps, values):
    return lambda end: Curve.of(steps[:end], values[:end])


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("rate", [5, 20, 40])
def test_a_run_that_reaches_the_threshold_is_never_flagged_even_slowly(seed, rate):
    steps, values = decay(0.1, seed, rate=rate, noise=0.01)
    config = validate_config("underfitting", {"threshold": 0.3, "after_steps": 150})
    assert first_breach(underfitting, curve_data(steps, values), config, len(steps)) is None


def test_a_curve_flattening_high_is_caught_long_before_after_steps():
    steps, values = decay(1.0, 3, rate=10, noise=0.01)
    config = validate_config("underfitting", {"threshold": 0.3, "after_steps": 150})
    step = first_breach(underfitting, curve_data(steps, values), config, len(steps))
    assert step is not None and step < 60


def test_a_run_that_never_reaches_the_threshold_breaks_at_after_steps():
    steps, values = decay(1.0, 0)
    config = validate_config(
        "underfitting", {"threshold": 0.3, "after_steps": 100, "plateau": False}
    )
    step = first_breach(underfitting, curve_data(steps, values), config, len(steps))
    assert step == 100


def test_a_plateau_short_of_the_threshold_is_caught_early():
    steps = np.arange(200)
    values = np.where(steps < 30, 2.0 - 0.04 * steps, 0.8)
    values = values + np.random.default_rng(5).normal(0, 0.002, 200)
    config = validate_config("underfitting", {"threshold": 0.3, "after_steps": 150})
    step = first_breach(underfitting, curve_data(steps, values), config, len(steps))
    assert step is not None and 30 < step <= 40
    result = underfitting(Curve.of(steps[: step + 1], values[: step + 1]), config)
    assert result.details["breached_by"] == ["plateau"]
    assert 25 <= result.details["plateau_step"] <= 40


def test_page_hinkley_alarms_after_a_drop_in_the_mean_and_not_before():
    x = np.r_[np.full(30, 0.02), np.zeros(30)]
    alarm = page_hinkley(x, delta=0.005, lam=0.05)
    assert alarm is not None and 30 <= alarm <= 36
    assert page_hinkley(np.full(60, 0.02), delta=0.005, lam=0.05) is None


def test_underfitting_in_mode_max_needs_the_metric_to_rise_above_the_threshold():
    steps = np.arange(50)
    accuracy = 0.5 + 0.1 * (1 - np.exp(-steps / 5))
    config = validate_config("underfitting", {"threshold": 0.9, "after_steps": 40, "mode": "max"})
    result = underfitting(Curve.of(steps, accuracy), config)
    assert result.status == "breached"
    assert result.value == pytest.approx(accuracy.max())
