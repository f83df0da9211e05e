"""A window's merged sample read from key-sorted prefixes equals the merge of whole rows."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from models_app import profiles
from models_app.models import DailyProfile, Profile
from models_app.profiles import FeatureSpec, sketch, store
from tests.factories import make_model

T0 = datetime(2026, 3, 1, 22, 0, tzinfo=UTC)


@pytest.fixture
def stored(db):
    """Three full hours (6,000 values each, so every stored sample is truncated to 5,000)."""
    version = make_model().versions.get()
    rng = np.random.default_rng(0)
    for hour in range(3):
        values = rng.normal(hour, 1, 6000).tolist()
        profile = sketch.profile_values("x", values, FeatureSpec(), seed=hour + 1)
        profiles.write_partials(version, None, [(T0 + timedelta(hours=hour), profile)])
    profiles.rollup_pending()
    return version


def whole_merge(version) -> sketch.FeatureProfile:
    rows = Profile.objects.filter(version=version).values(*store.ROW_FIELDS)
    return sketch.merge_all([store.profile_from_row(row) for row in rows])


def test_the_window_sample_from_prefixes_equals_the_merge_of_whole_rows(stored):
    window = profiles.window_profiles(stored, T0, T0 + timedelta(hours=2))["x"]
    expected = whole_merge(stored)
    assert window.count == 18000
    assert list(window.sample_keys) == list(expected.sample_keys)
    assert window.sample == expected.sample


def test_prefixes_that_are_too_short_are_fetched_whole(stored, monkeypatch):
    monkeypatch.setattr(store, "PREFIX_SIGMAS", 0.0)
    monkeypatch.setattr(store, "PREFIX_SLACK", -1000)  # one value per row
    window = profiles.window_profiles(stored, T0, T0 + timedelta(hours=2))["x"]
    assert window.sample == whole_merge(stored).sample


def test_a_whole_day_is_read_from_its_daily_row(stored):
    assert DailyProfile.objects.filter(version=stored).count() == 2
    day = T0.replace(hour=0) + timedelta(days=1)
    assert profiles.window_profiles(stored, day, day + timedelta(hours=23))["x"].count == 6000
