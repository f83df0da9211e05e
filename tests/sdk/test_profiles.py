"""The SDK's profiles equal the server's: the same rows sent once through
POST /predictions/ (model A) and once profiled by `log_profiles` (model B) are stored as
the same partial profiles, field by field (the random reservoir keys aside)."""

from collections import defaultdict

import numpy as np
import pandas as pd
import pytest
from django.db.models import Q

from models_app.models import Model
from models_app.profiles import FeatureProfile, merge_all
from models_app.profiles.store import STAT_FIELDS, stored_partials
from modelwatch.profiles import merge_records, profile_frame
from tests.factories import make_model

START = pd.Timestamp("2026-03-01T10:00:00Z")
FEATURES = [
    {"name": "amount", "type": "numeric", "min": 0, "max": 500},
    {"name": "country", "type": "categorical", "categories": ["fr", "de", "es"]},
]


def frame(n: int, seed: int = 1, hours: int = 3) -> pd.DataFrame:
    """Rows over `hours` hours: numbers with NaN and out-of-range values, a mixed column
    (numbers and strings), categories with None and unseen values, integer codes, an
    undeclared feature, outputs with labels on some rows, latencies and errors."""
    rng = np.random.default_rng(seed)
    amount = rng.gamma(2.0, 60.0, n)
    amount[rng.random(n) < 0.05] = np.nan
    mixed = np.where(rng.random(n) < 0.1, "n/a", rng.normal(size=n).round(3).astype(str))
    mixed = [v if v == "n/a" else float(v) for v in mixed]
    country = rng.choice(["fr", "de", "es", "it", None], n, p=[0.4, 0.3, 0.15, 0.1, 0.05])
    score = rng.random(n)
    label = np.where(rng.random(n) < 0.6, (rng.random(n) < score).astype(float), np.nan)
    error = np.where(rng.random(n) < 0.03, "timeout", None)
    seconds = np.sort(rng.uniform(0, hours * 3600, n))
    return pd.DataFrame(
        {
            "timestamp": (START + pd.to_timedelta(seconds, unit="s")).floor("us"),
            "amount": amount,
            "mixed": mixed,
            "country": country,
            "code": rng.integers(0, 4, n),
            "tenure": rng.integers(0, 10_000, n),
            "prediction": (score > 0.5).astype(int),
            "score_0": 1 - score,
            "score_1": score,
            "label": label,
            "latency_ms": rng.lognormal(3, 0.5, n),
            "error": error,
        }
    )


def reference() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 2000
    score = rng.random(n)
    return pd.DataFrame(
        {
            "amount": rng.gamma(2.0, 50.0, n),
            "mixed": rng.normal(size=n),
            "country": rng.choice(["fr", "de", "es"], n),
            "code": rng.integers(0, 4, n),
            "prediction": (score > 0.5).astype(int),
            "score": score,
            "label": (rng.random(n) < score).astype(int),
        }
    )


def stored(model) -> dict[tuple, FeatureProfile]:
    """The partial rows of each (hour, feature), merged (a batch of rows may split one)."""
    found = defaultdict(list)
    for bucket, profile in stored_partials(Q(version__model=model)):
        found[(bucket, profile.feature)].append(profile)
    return {key: merge_all(parts) for key, parts in found.items()}


def assert_same_profiles(a, b, exact_samples: bool = True) -> None:
    profiles_a, profiles_b = stored(a), stored(b)
    assert sorted(profiles_a) == sorted(profiles_b)
    for key, one in profiles_a.items():
        other = profiles_b[key]
        for name in STAT_FIELDS:
            mine, theirs = getattr(one, name), getattr(other, name)
            if name in ("sum", "sum_sq"):
                assert mine == pytest.approx(theirs, rel=1e-12, abs=1e-12), (key, name)
            else:
                assert mine == theirs, (key, name, mine, theirs)
        assert len(one.sample) == len(other.sample), key
        if exact_samples:
            assert np.array_equal(np.sort(one.sample), np.sort(other.sample)), key


@pytest.fixture
def twins(mw, transactional_db):
    """Models A (fed rows) and B (fed profiles) with the same schema and reference."""
    handles = []
    for name in ("rows-a", "profiles-b"):
        make_model(name, features=FEATURES)
        handle = mw.model(name)
        handle.set_reference(reference())
        handles.append(handle)
    return handles


def test_profiles_of_the_sdk_equal_the_profiles_the_server_writes(twins):
    rows_model, profiles_model = twins
    data = frame(3000)
    assert rows_model.log_predictions(data) == 3000
    assert profiles_model.log_profiles(data) == 3000
    a, b = (model_of(h) for h in twins)
    assert len(stored(a)) == 3 * 10  # 3 hours x (5 features + 5 outputs)
    assert_same_profiles(a, b)


def test_buckets_over_the_sample_size_agree_on_everything_but_which_values_are_sampled(twins):
    rows_model, profiles_model = twins
    data = frame(12_000, seed=3, hours=2)
    rows_model.log_predictions(data)
    profiles_model.log_profiles(data)
    assert_same_profiles(*(model_of(h) for h in twins), exact_samples=False)


def test_merging_the_profiles_of_parts_gives_the_profile_of_the_whole(twins):
    data = frame(9000, seed=5)
    specs = twins[0].profile_specs()
    whole = profile_frame(data, specs)
    quarters = [data.iloc[k * 2250 : (k + 1) * 2250] for k in range(4)]
    parts = merge_records(r for quarter in quarters for r in profile_frame(quarter, specs))
    for one, other in zip(whole, parts, strict=True):
        assert one["rows"] == other["rows"]
        for section in ("features", "outputs"):
            for name, profile in one[section].items():
                merged = other[section][name]
                for field in ("count", "missing", "type_errors", "out_of_range", "unseen"):
                    assert profile.get(field) == merged.get(field), (name, field)
                for field in ("bin_counts", "categories", "min", "max", "sketch"):
                    assert profile.get(field) == merged.get(field), (name, field)
                if profile["kind"] == "numeric" and profile["count"]:
                    assert merged["sum"] == pytest.approx(profile["sum"], rel=1e-12)
                    assert len(merged["sample"]) == len(profile["sample"])


def model_of(handle):
    return Model.objects.get(name=handle.name)
