"""Every rule kind is declared once, completely, and every list of kinds is that list."""

import inspect

import pytest
from django.core.exceptions import ValidationError

from alerts_app import kinds
from alerts_app.admin_forms import kind_choices, rule_form_for
from alerts_app.api.serializers import RuleSerializer
from alerts_app.api.views import RuleFilterSet
from alerts_app.kinds import KINDS, kind_of
from alerts_app.models import AlertRule, RuleKind
from alerts_app.rule_config import validate_config
from frontend.figures import MODEL_FIGURES

NAMES = [kind.name for kind in KINDS]


def test_each_kind_is_declared_once():
    assert len(NAMES) == len(set(NAMES)) > 0


@pytest.mark.parametrize("name", NAMES)
def test_every_kind_has_every_part(name):
    kind = kind_of(name)
    assert kind.summary.endswith(".") and kind.label
    assert kind.fields and all(spec.help for spec in kind.fields.values())
    assert list(inspect.signature(kind.load).parameters) == ["model", "version", "config", "now"]
    assert kind.load.__module__.startswith("alerts_app.loaders.")
    assert len(inspect.signature(kind.check).parameters) == 2
    assert kind.check.__module__.startswith("alerts_app.checks.")
    assert validate_config(name, kind.example)
    assert kind.figure in MODEL_FIGURES
    assert kind.line in kinds.LINES and kind.hints <= kinds.HINTS
    assert callable(kind.per_feature) and callable(kind.cross_check)


@pytest.mark.parametrize("name", NAMES)
def test_a_threshold_names_a_numeric_field_and_a_line_needs_a_threshold(name):
    kind = kind_of(name)
    if kind.threshold is not None:
        assert kind.fields[kind.threshold.key].type in ("number", "integer", "threshold")
        assert kind.threshold.operator or "operator" in kind.fields
        assert "clear_threshold" in kind.fields
    if kind.line:
        assert kind.threshold is not None


@pytest.mark.parametrize("name", NAMES)
def test_the_example_config_is_minimal(name):
    """Without any one key of its example, a kind's config is refused."""
    example = kind_of(name).example
    for key in example:
        with pytest.raises(ValidationError):
            validate_config(name, {k: v for k, v in example.items() if k != key})


def test_the_model_the_admin_and_the_api_accept_the_declared_kinds():
    field = AlertRule._meta.get_field("kind")
    assert [value for value, _ in field.choices] == NAMES
    assert list(RuleKind.values) == NAMES
    assert [name for name, _, _ in kind_choices()] == NAMES
    assert list(RuleSerializer().fields["kind"].choices) == NAMES
    assert [v for v, _ in RuleFilterSet.base_filters["kind"].extra["choices"]] == NAMES


def test_the_admin_chooser_shows_each_kinds_label_and_summary():
    assert kind_choices()[0] == (
        "metric_threshold",
        "Metric Threshold",
        "One aggregate of a metric over the window vs a threshold.",
    )
    for name in NAMES:
        assert rule_form_for(name).kind_name == name


def test_an_undeclared_kind_is_refused_everywhere():
    with pytest.raises(KeyError):
        kind_of("made_up")
    with pytest.raises(ValidationError) as caught:
        validate_config("made_up", {})
    assert caught.value.message_dict["kind"][0].startswith('"made_up" is not a valid choice.')
    assert "made_up" not in RuleSerializer().fields["kind"].choices


def test_kinds_are_chosen_by_figure_line_and_hint():
    assert kinds.named(figure="drift") == ("data_drift", "prediction_drift")
    assert kinds.named(figure="serving") == ("latency", "error_rate", "no_data")
    assert kinds.named(line="quality") == ("performance", "estimated_performance")
    assert kinds.named(hint="distribution") == ("data_drift",)
    assert kinds.named(hint="history") == (
        "data_drift",
        "prediction_drift",
        "data_quality",
        "performance",
        "estimated_performance",
    )
