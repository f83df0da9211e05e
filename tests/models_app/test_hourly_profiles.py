"""`profiles.hourly_profiles`: one read of a span of hours answers, hour by hour, what
`window_profiles` answers for each hour alone, whatever the rollup has reached (rolled-up
rows, packed partial rows and both in one hour)."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from models_app import profiles
from models_app.models import PackedProfile, Profile
from tests.models_app.test_profile_sketch import assert_same_profile

T0 = datetime(
    2026, 3, 1, 20, 0, tzinfo=UTC
)  # the span crosses midnight: a whole day is not read daily
HOUR = timedelta(hours=1)


def post(api, hours: range, seed: int, with_c: bool = True) -> None:
    rng = np.random.default_rng(seed)
    records = [
        {
            "timestamp": (T0 + hour * HOUR + timedelta(seconds=1 + i * 40)).isoformat(),
            "features": {"x": float(rng.normal(hour, 1))}
            | ({"c": str(rng.integers(0, 4))} if with_c else {}),
            "prediction": int(rng.integers(0, 2)),
        }
        for hour in hours
        for i in range(80)
    ]
    response = api.post("/api/v1/models/fraud/predictions/", {"records": records}, format="json")
    assert response.status_code in (200, 201), response.json()


@pytest.mark.django_db
@pytest.mark.parametrize(("features", "until"), [(None, 34), (["x", "c"], 34), (["c"], 30)])
def test_a_span_read_once_equals_each_hour_read_alone(api, model, features, until):
    post(api, range(0, 30), seed=1)
    profiles.rollup_pending()  # every hour rolled up (and the whole day into a daily row)
    post(api, range(26, 34), seed=2, with_c=False)  # partial rows on top, c absent from them
    assert Profile.objects.filter(rolled_up=True).exists() and PackedProfile.objects.exists()
    version = model.versions.get()
    first, last = T0 + 2 * HOUR, T0 + 35 * HOUR
    found = profiles.hourly_profiles(version, first, last, features)
    # the hours holding rows of the features asked (c is not sent after hour 29)
    assert sorted(found) == [T0 + h * HOUR for h in range(2, until)]
    for hour, window in found.items():
        alone = profiles.window_profiles(
            version, hour, hour + HOUR - timedelta(microseconds=1), features
        )
        assert sorted(window) == sorted(alone)
        for name in window:
            assert_same_profile(window[name], alone[name])
    assert "c" not in found.get(T0 + 30 * HOUR, {})  # not declared, no reference: absent
    both = found[T0 + 27 * HOUR]  # a rolled-up row and a packed partial row
    assert both["c"].count == 80
    assert features == ["c"] or both["x"].count == 160
