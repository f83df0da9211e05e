"""Silences with matchers: a pure match over labels, and the state machine's `silenced`
input and the muted deliveries decided per alert (per feature) by them."""

from datetime import UTC, datetime, timedelta

import pytest

from alerts_app import lifecycle
from alerts_app.models import Alert, Delivery, Silence
from alerts_app.silences import clean_matchers, effective_matchers, matches
from tests.alerts_app.results import drift_result, result
from tests.factories import make_alert_rule, make_channel

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LABELS = {"model": "fraud", "rule": 4, "severity": "critical", "feature": "age"}


@pytest.mark.parametrize(
    ("matchers", "expected"),
    [
        ({"model": ["fraud"]}, True),
        ({"model": ["churn", "fraud"]}, True),  # values OR-ed
        ({"model": ["fraud"], "severity": ["warning"]}, False),  # keys AND-ed
        ({"model": ["fraud"], "severity": ["critical"], "rule": [4]}, True),
        ({"rule": [5]}, False),
        ({"feature": ["age"]}, True),
        ({"feature": ["income"]}, False),
        ({}, False),  # no matcher silences nothing
    ],
)
def test_a_silence_matches_when_every_key_holds_one_of_its_values(matchers, expected):
    assert matches(matchers, LABELS) is expected


def test_a_feature_matcher_never_matches_a_dataset_level_alert():
    assert not matches({"feature": ["age"]}, LABELS | {"feature": ""})


def test_matchers_are_checked_naming_each_bad_key():
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as caught:
        clean_matchers({"severity": ["urgent"], "rule": ["4"], "colour": ["red"]})
    assert caught.value.message_dict == {
        "severity": ['"urgent" is not one of info, warning, critical.'],
        "rule": ["Rule ids are whole numbers; got '4'."],
        "colour": ["Unknown matcher. Known: feature, model, rule, severity."],
    }
    assert clean_matchers({"model": "fraud", "severity": ["info", "info"]}) == {
        "model": ["fraud"],
        "severity": ["info"],
    }


@pytest.mark.django_db
def test_a_per_rule_silence_reads_as_a_rule_matcher(model):
    rule = make_alert_rule(model)
    silence = Silence.objects.create(rule=rule, model=model, ends_at=T0)
    assert effective_matchers(silence) == {"rule": [rule.id], "model": ["fraud"]}


@pytest.mark.django_db
def test_a_feature_silence_mutes_only_that_features_alert(model):
    rule = make_alert_rule(
        model, "data_drift", channels=[make_channel()], config={"features": ["age", "income"]}
    )
    silence = Silence.objects.create(
        matchers={"model": ["fraud"], "feature": ["age"]},
        starts_at=T0 - timedelta(hours=1),
        ends_at=T0 + timedelta(hours=1),
    )
    lifecycle.apply_result(rule, drift_result(rule, {"age": True, "income": True}), T0)
    statuses = dict(Delivery.objects.values_list("transition__alert__feature", "status"))
    assert statuses == {"age": "muted", "income": "pending"}
    assert Delivery.objects.get(status="muted").error == f"muted by silence #{silence.id}"
    assert Alert.objects.get(feature="age").muted is True  # the state machine's input
    assert Alert.objects.get(feature="income").muted is False


@pytest.mark.django_db
def test_a_severity_silence_leaves_other_severities_audible(model):
    critical = make_alert_rule(model, name="crit", severity="critical", channels=[make_channel()])
    warning = make_alert_rule(model, name="warn", severity="warning", channels=[make_channel("b")])
    Silence.objects.create(
        matchers={"severity": ["warning"]},
        starts_at=T0 - timedelta(hours=1),
        ends_at=T0 + timedelta(hours=1),
    )
    for rule in (critical, warning):
        lifecycle.apply_result(rule, result(rule), T0)
    statuses = dict(Delivery.objects.values_list("transition__alert__rule__name", "status"))
    assert statuses == {"crit": "pending", "warn": "muted"}
