"""Rule configuration: durations, defaults, one message per bad field."""

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given, settings
from hypothesis import strategies as st

from alerts_app.kinds import KINDS, kind_of
from alerts_app.rule_config import (
    describe_kind,
    format_duration,
    is_cleared,
    parse_duration,
    validate_config,
    validate_rule_fields,
)

MINIMAL = {
    "metric_threshold": {"metric": "loss", "threshold": 1},
    "metric_change": {"metric": "loss", "max_change_pct": 20},
    "metric_anomaly": {"metric": "loss"},
    "data_drift": {},
    "prediction_drift": {},
    "data_quality": {},
    "performance": {"metric": "accuracy", "threshold": 0.8},
    "estimated_performance": {"metric": "f1", "threshold": 0.7},
    "overfitting": {},
    "underfitting": {"threshold": 0.3},
    "latency": {"threshold_ms": 200},
    "error_rate": {"max_rate": 0.05},
    "no_data": {},
    "parameter_health": {},
    "multivariate_drift": {"method": "domain_classifier"},
}


def errors_of(kind, config) -> dict:
    with pytest.raises(ValidationError) as caught:
        validate_config(kind, config)
    return caught.value.message_dict


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30),
        ("5m", 300),
        ("1h", 3600),
        ("7d", 604800),
        ("2w", 1209600),
        ("1h30m", 5400),
        (" 5M ", 300),
        ("300", 300),
        (300, 300),
        (0, 0),
        (60.0, 60),
    ],
)
def test_parse_duration_reads_units_and_integer_seconds(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["5 minutes", "5x", "", "m5", "-5m", -1, 1.5, True, None, [1]])
def test_parse_duration_refuses_anything_else_with_a_clear_message(bad):
    with pytest.raises(ValueError, match="duration"):
        parse_duration(bad)


def test_format_duration_spells_the_largest_exact_unit():
    assert [format_duration(s) for s in (30, 300, 3600, 90, 86400 * 7)] == [
        "30s",
        "5m",
        "1h",
        "90s",
        "1w",
    ]


def test_every_kind_has_a_minimal_valid_config():
    assert set(MINIMAL) == {kind.name for kind in KINDS}
    for kind, config in MINIMAL.items():
        assert validate_config(kind, config)


def test_defaults_are_filled_and_durations_become_seconds():
    clean = validate_config(
        "metric_threshold", {"metric": "loss", "threshold": 1, "window": "15m", "operator": "lt"}
    )
    assert clean["window"] == 900
    assert clean["operator"] == "<"
    assert clean["aggregation"] == "avg"
    assert clean["stage"] == "production"
    assert clean["clear_threshold"] is None


def test_a_missing_required_field_is_named():
    assert errors_of("metric_threshold", {"metric": "loss"}) == {
        "threshold": ["This field is required."]
    }


def test_every_bad_field_gets_its_own_message():
    errors = errors_of("data_drift", {"method": "magic", "window": "soon", "drift_share": 2})
    assert set(errors) == {"method", "window", "drift_share"}
    assert "Choose one of" in errors["method"][0]
    assert "duration" in errors["window"][0]
    assert "less than or equal to 1" in errors["drift_share"][0]


def test_unknown_fields_are_refused_by_name():
    assert "Unknown field" in errors_of("no_data", {"windw": "5m"})["windw"][0]


def test_an_unknown_kind_is_refused():
    assert "kind" in errors_of("telepathy", {})


def test_a_config_that_is_not_an_object_is_refused():
    assert errors_of("no_data", ["window"]) == {"config": ["Expected a JSON object."]}


def test_numbers_must_be_finite_numbers_not_strings_or_booleans():
    assert errors_of("latency", {"threshold_ms": "200"})["threshold_ms"] == ["Must be a number."]
    assert errors_of("latency", {"threshold_ms": True})["threshold_ms"] == ["Must be a number."]
    assert "finite" in errors_of("latency", {"threshold_ms": float("inf")})["threshold_ms"][0]


def test_clear_threshold_must_be_on_the_clearing_side():
    errors = errors_of(
        "metric_threshold", {"metric": "x", "threshold": 0.25, "clear_threshold": 0.3}
    )
    assert "below or equal" in errors["clear_threshold"][0]
    assert validate_config(
        "metric_threshold", {"metric": "x", "threshold": 0.25, "clear_threshold": 0.15}
    )


def test_performance_operator_defaults_by_metric_direction():
    assert validate_config("performance", {"metric": "f1", "threshold": 0.8})["operator"] == "<"
    assert validate_config("performance", {"metric": "rmse", "threshold": 3})["operator"] == ">"


def test_data_quality_needs_at_least_one_limit():
    config = {k: None for k in kind_of("data_quality").fields if k.startswith("max_")}
    assert "max_missing_rate" in errors_of("data_quality", config)


def test_rule_fields_accept_durations_and_name_bad_ones():
    assert validate_rule_fields({"interval": "1m", "pending_for": "5m"}) == {
        "interval": 60,
        "pending_for": 300,
    }
    with pytest.raises(ValidationError) as caught:
        validate_rule_fields({"interval": 1, "keep_firing_for": "later"})
    assert set(caught.value.message_dict) == {"interval", "keep_firing_for"}


def test_is_cleared_applies_the_clear_threshold_once_firing():
    config = validate_config(
        "metric_threshold", {"metric": "x", "threshold": 0.25, "clear_threshold": 0.15}
    )
    assert not is_cleared("metric_threshold", config, 0.2)
    assert is_cleared("metric_threshold", config, 0.1)
    below = validate_config(
        "performance", {"metric": "f1", "threshold": 0.8, "clear_threshold": 0.85}
    )
    assert not is_cleared("performance", below, 0.82)
    assert is_cleared("performance", below, 0.9)


def test_is_cleared_without_clear_threshold_means_no_longer_breaking():
    config = validate_config("latency", {"threshold_ms": 100})
    assert is_cleared("latency", config, 90)
    assert not is_cleared("latency", config, 120)


def test_describe_kind_gives_help_required_and_default_for_the_admin_form():
    fields = describe_kind("metric_threshold")
    assert fields["threshold"]["required"] is True
    assert fields["aggregation"]["default"] == "avg"
    assert "avg" in fields["aggregation"]["choices"]
    assert all(spec["help"] for kind in KINDS for spec in describe_kind(kind.name).values())


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=10,
)


@settings(max_examples=200, deadline=None)
@given(
    kind=st.sampled_from(sorted(kind.name for kind in KINDS)),
    config=st.dictionaries(
        st.sampled_from(sorted({f for k in KINDS for f in k.fields}) + ["junk"]), JSON
    ),
)
def test_any_json_config_is_either_normalised_or_refused_field_by_field(kind, config):
    try:
        clean = validate_config(kind, config)
    except ValidationError as exc:
        assert set(exc.message_dict) <= set(config) | set(kind_of(kind).fields) | {"config"}
        assert all(isinstance(m, str) for ms in exc.message_dict.values() for m in ms)
    else:
        assert set(clean) == set(kind_of(kind).fields)
        assert validate_config(kind, clean) == clean
