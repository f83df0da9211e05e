"""Profiles in the database: written with the rows, rolled up, read per window."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from models_app import ingest, profiles, reference_io
from models_app.models import DailyProfile, ModelVersion, PackedProfile, Profile
from models_app.profiles import SKETCH_ALPHA
from models_app.profiles.packed import Layout
from tests.factories import make_model

T0 = datetime(2026, 3, 1, 20, 0, tzinfo=UTC)


def rows(values, start=T0, step=timedelta(minutes=7), **extra):
    return [
        {
            "id": None,
            "timestamp": start + i * step,
            "features": {"x": value, "colour": ["red", "blue"][i % 2]},
            "prediction": i % 2,
            "scores": {"1": 0.1 + 0.8 * (i % 2)},
            "label": None,
            "latency_ms": float(10 + i % 50),
            "error": "" if i % 9 else "oops",
        }
        | extra
        for i, value in enumerate(values)
    ]


def store(version, values, **kwargs):
    batch = rows(values, **kwargs)
    for chunk in (batch[i : i + 37] for i in range(0, len(batch), 37)):
        ingest.record_predictions(version, chunk)
    return batch


@pytest.fixture
def version(db) -> ModelVersion:
    return make_model().versions.get()


def comparable(window):
    return {
        name: (
            p.count,
            p.missing,
            p.min,
            p.max,
            p.bin_counts,
            p.categories,
            sorted(p.sample),
            round(p.sum, 6),
        )
        for name, p in window.items()
    }


def test_a_window_reads_the_same_before_and_after_the_rollup(version):
    store(version, np.random.default_rng(1).normal(size=600).tolist())
    start, end = T0, T0 + timedelta(days=3)
    before = comparable(profiles.window_profiles(version, start, end))
    assert profiles.rollup_pending() > 0
    assert not Profile.objects.filter(rolled_up=False).exists()
    assert DailyProfile.objects.exists()
    assert comparable(profiles.window_profiles(version, start, end)) == before
    store(version, [1.0, 2.0], start=T0 + timedelta(hours=30))
    after_more = profiles.window_profiles(version, start, end)
    assert after_more["x"].count == 602
    profiles.rollup_pending()
    assert profiles.window_profiles(version, start, end)["x"].count == 602


def test_a_long_window_uses_daily_rows_and_counts_every_row_once(version):
    values = np.arange(1000, dtype=float)
    store(version, values.tolist(), step=timedelta(minutes=13))
    profiles.rollup_pending()
    window = profiles.window_profiles(version, T0 - timedelta(days=1), T0 + timedelta(days=30))
    assert window["x"].count == 1000 and sorted(window["x"].sample) == values.tolist()
    assert window["colour"].categories == {"red": 500, "blue": 500}


def test_a_window_covers_the_hour_buckets_it_overlaps(version):
    store(version, [1.0, 2.0, 3.0], step=timedelta(minutes=50))
    one_hour = profiles.window_profiles(
        version, T0 + timedelta(minutes=5), T0 + timedelta(minutes=10), ["x"]
    )
    assert one_hour["x"].count == 2


def test_profiles_follow_the_current_reference_bins_even_when_written_before_it(version):
    values = np.random.default_rng(2).normal(size=400)
    store(version, values.tolist())
    profiles.rollup_pending()
    reference = reference_io.reference_from_records(
        version, [{"x": float(v)} for v in np.random.default_rng(3).normal(size=300)]
    )
    edges = reference.summary["features"]["x"]["edges"]
    window = profiles.window_profiles(version, T0, T0 + timedelta(days=3), ["x"])
    expected = np.bincount(np.searchsorted(edges, values, side="right"), minlength=len(edges) + 1)
    assert window["x"].edges == edges and window["x"].bin_counts == expected.tolist()
    store(version, [0.0], start=T0 + timedelta(days=1))
    layout = Layout.from_spec(PackedProfile.objects.get().layout.spec)
    assert list(layout.edges[layout.names.index("x")]) == edges


def test_a_reference_with_few_distinct_values_makes_the_profiles_categorical(version):
    reference_io.reference_from_records(version, [{"x": i % 3} for i in range(30)])
    store(version, [0, 1, 1, 2, 7])
    window = profiles.window_profiles(version, T0, T0 + timedelta(hours=2), ["x"])
    assert window["x"].kind == "categorical"
    assert window["x"].categories == {"0": 1, "1": 2, "2": 1, "7": 1}
    assert window["x"].unseen == 1


def test_serving_figures_match_numpy(version):
    batch = store(version, list(range(300)))
    serving = profiles.window_serving(version, T0, T0 + timedelta(days=2))
    latency = np.array([r["latency_ms"] for r in batch])
    assert serving["predictions"] == 300
    assert serving["errors"] == sum(1 for r in batch if r["error"])
    assert serving["latency"]["mean"] == pytest.approx(latency.mean())
    for name, q in (("p50", 50), ("p95", 95), ("p99", 99)):
        exact = np.percentile(latency, q, method="lower")
        assert serving["latency"][name] == pytest.approx(exact, rel=SKETCH_ALPHA)


def test_serving_figures_of_a_model_add_up_its_versions(version):
    other = ModelVersion.objects.create(model=version.model, version="2")
    store(version, [1.0] * 10)
    store(other, [1.0] * 5)
    profiles.rollup_pending()
    assert profiles.window_serving(version.model, T0, T0 + timedelta(days=1))["predictions"] == 15
    assert profiles.window_serving(other, T0, T0 + timedelta(days=1))["predictions"] == 5


def test_the_positive_class_score_is_profiled_for_binary_models(version):
    store(version, [1.0, 2.0, 3.0, 4.0])
    score = profiles.window_profiles(version, T0, T0 + timedelta(hours=1), ["__score__"])
    assert sorted(score["__score__"].sample) == pytest.approx([0.1, 0.1, 0.9, 0.9])


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        ({"0": 0.3, "1": 0.7}, 0.7),
        ({"false": 0.4, "true": 0.6}, 0.6),
        ({"legit": 0.2, "fraud": 0.8}, None),
        ({"no": 0.9, "spam": 0.1}, 0.1),
        (None, None),
    ],
)
def test_the_positive_class_is_one_true_yes_or_the_only_non_negative(scores, expected):
    assert profiles.positive_score(scores) == expected


@pytest.mark.parametrize("seed", [0, 1, 12345, 2**62 - 1])
@pytest.mark.parametrize("size", [0, 1, 35, 5000])
def test_implied_keys_are_the_reservoir_keys_of_the_seed(seed, size):
    from models_app.profiles.sketch import reservoir_keys
    from models_app.profiles.store import implied_keys

    expected = reservoir_keys(seed, size)
    found = implied_keys(seed, size)
    assert found.dtype == expected.dtype and found.tolist() == expected.tolist()


def test_a_read_far_behind_the_rollup_writes_nothing_and_reads_what_the_rollup_gives(version):
    store(version, np.random.default_rng(2).normal(size=600).tolist())
    start, end = T0 + timedelta(hours=10), T0 + timedelta(hours=20)
    stored = list(Profile.objects.order_by("id").values_list("id", "rolled_up"))
    packed = list(PackedProfile.objects.order_by("id").values_list("id", flat=True))
    assert len(stored) > 100 and not any(rolled for _, rolled in stored) and len(packed) > 30
    before = comparable(profiles.window_profiles(version, start, end))
    assert list(Profile.objects.order_by("id").values_list("id", "rolled_up")) == stored
    assert list(PackedProfile.objects.order_by("id").values_list("id", flat=True)) == packed
    assert not DailyProfile.objects.exists()
    profiles.rollup_pending()
    assert not Profile.objects.filter(rolled_up=False).exists()
    assert not PackedProfile.objects.exists()
    assert comparable(profiles.window_profiles(version, start, end)) == before
    assert profiles.window_profiles(version, T0, T0 + timedelta(days=3))["x"].count == 600
