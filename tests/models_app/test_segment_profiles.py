"""Segment profiles (models_app/profiles/segments.py): written only for the features rules
segment by, bounded per feature, rolled up without changing what a window reads."""

from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from alerts_app.models import AlertRule
from models_app.models import SegmentProfile, SegmentValue
from models_app.profiles import FeatureSpec, merge_all, profile_values
from models_app.profiles import segments as segment_store
from models_app.profiles.segments import decode, encode, segment_windows

NOW = timezone.now().replace(microsecond=0)
SCHEMA = [
    {"name": "country", "type": "categorical"},
    {"name": "channel", "type": "categorical"},
    {"name": "x", "type": "numeric"},
]


def records(countries: list[str], hours: int = 1) -> list[dict]:
    rng = np.random.default_rng(4)
    return [
        {
            "timestamp": (
                NOW - timedelta(minutes=1 + (i * 60 * hours) // len(countries))
            ).isoformat(),
            "features": {"country": c, "channel": "web", "x": float(rng.normal())},
            "prediction": 1,
        }
        for i, c in enumerate(countries)
    ]


def send(api, rows: list[dict]) -> None:
    response = api.post("/api/v1/models/fraud/predictions/", {"records": rows}, format="json")
    assert response.status_code in (200, 201), response.json()


@pytest.fixture
def declared(model):
    model.features = SCHEMA
    model.save()
    return model


def segment_by(model, feature: str = "country") -> AlertRule:
    return AlertRule.objects.create(
        name="by", model=model, kind="data_drift", config={"segment_by": feature}
    )


@pytest.mark.django_db
def test_nothing_is_written_while_no_rule_segments(api, declared):
    AlertRule.objects.create(name="plain", model=declared, kind="data_drift", config={})
    send(api, records(["DE", "FR"] * 50))
    assert not SegmentProfile.objects.exists()
    assert not SegmentValue.objects.exists()


@pytest.mark.django_db
def test_only_the_segmented_feature_gets_segment_rows(api, declared):
    segment_by(declared)
    send(api, records(["DE"] * 60 + ["FR"] * 40))
    stored = SegmentProfile.objects.values_list("segment_feature", "segment_value").distinct()
    assert sorted(stored) == [("country", "DE"), ("country", "FR")]
    # one row per (segment, feature or output) of the one hour bucket
    features = set(SegmentProfile.objects.values_list("feature", flat=True))
    assert features == {
        "country",
        "channel",
        "x",
        "__prediction__",
        "__latency_ms__",
        "__error__",
        "__score__",
    }
    groups = SegmentProfile.objects.values_list("bucket_start", "segment_value").distinct()
    assert SegmentProfile.objects.count() == groups.count() * len(features)
    rows = {"DE": 0, "FR": 0}
    for value, n in SegmentProfile.objects.filter(feature="__prediction__").values_list(
        "segment_value", "count"
    ):
        rows[value] += n
    assert rows == {"DE": 60, "FR": 40}


@pytest.mark.django_db
def test_values_past_the_bound_are_profiled_as_other(api, declared, monkeypatch):
    monkeypatch.setattr(segment_store, "MAX_TRACKED", 3)
    segment_by(declared)
    countries = ["A"] * 40 + ["B"] * 30 + ["C"] * 20 + ["D"] * 10 + ["E"] * 5
    send(api, records(countries))
    send(api, records(["F"] * 7 + ["A"] * 3))
    tracked = set(SegmentValue.objects.values_list("value", flat=True))
    assert tracked == {"A", "B", "C"}  # the most frequent of the first batch
    counts = {}
    for value, n in SegmentProfile.objects.filter(feature="__prediction__").values_list(
        "segment_value", "count"
    ):
        counts[value] = counts.get(value, 0) + n
    assert counts == {"A": 43, "B": 30, "C": 20, "__other__": 22}


@pytest.mark.django_db
def test_the_rollup_leaves_one_row_per_key_and_the_window_unchanged(api, declared):
    segment_by(declared)
    version = declared.latest_version()
    for _ in range(3):
        send(api, records(["DE"] * 30 + ["FR"] * 20, hours=3))
    start = NOW - timedelta(hours=4)

    def window():
        return {
            s.value: (
                s.rows,
                s.profiles["x"].count,
                sorted(s.profiles["x"].sample),
                s.profiles["x"].sum,
            )
            for s in segment_windows(version, "country", start, NOW, ["x"], 10)
        }

    before = window()
    partial = SegmentProfile.objects.count()
    merged = segment_store.rollup_segment_profiles(now=NOW + timedelta(hours=2))
    keys = (
        SegmentProfile.objects.values_list("bucket_start", "segment_value", "feature")
        .distinct()
        .count()
    )
    assert merged == partial
    assert SegmentProfile.objects.count() == keys < partial
    assert set(SegmentProfile.objects.values_list("rolled_up", flat=True)) == {True}
    after = window()
    assert after.keys() == before.keys() == {"DE", "FR"}
    for value in before:
        assert after[value][:3] == before[value][:3]
        assert after[value][3] == pytest.approx(before[value][3])
    assert before["DE"][0] == 90


def test_a_profile_survives_its_row_encoding():
    rng = np.random.default_rng(1)
    seeded = profile_values(
        "x", rng.normal(size=50).tolist(), FeatureSpec(edges=(-1.0, 0.0, 1.0)), 7
    )
    big = profile_values(
        "x", rng.normal(size=6000).tolist(), FeatureSpec(edges=(-1.0, 0.0, 1.0)), 8
    )
    merged = merge_all([seeded, big])
    for profile in (seeded, merged):
        back = decode(encode(profile))
        again = merge_all([back, seeded])
        expected = merge_all([profile, seeded])
        assert (again.count, again.bin_counts, again.sample) == (
            expected.count,
            expected.bin_counts,
            expected.sample,
        )
