"""The backtest's request (a rule body as for create, plus `days`) and its answer.

The body is validated by the rule serializer itself (`RuleSerializer.validate`: the
kind's config, `version`, channels), so a bad field answers the same 400 as a create.
The model need only be one the user may view (nothing is stored); a model that does not
exist, or that they may not view, answers 404 as every model-scoped read does.
"""

from rest_framework import serializers

from access.permissions import check_model_perm
from access.roles import VIEW
from alerts_app.api.serializers import RuleSerializer
from alerts_app.backtest import DEFAULT_DAYS, MAX_DAYS, MAX_EVALUATIONS, evaluation_count
from alerts_app.rule_config import RULE_FIELDS
from models_app.models import Model


class ViewableModelField(serializers.SlugRelatedField):
    """A model named in the body (a JSON string or integer) that the user may view (404
    otherwise, as a model the user may not see is answered everywhere)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(slug_field="name", queryset=Model.objects.all(), **kwargs)

    def to_internal_value(self, data) -> Model:
        if isinstance(data, bool) or not isinstance(data, str | int):
            self.fail("invalid")
        model = Model.objects.filter(name=str(data)).first()
        check_model_perm(getattr(self.context.get("request"), "user", None), VIEW, model)
        return model


class BacktestSerializer(RuleSerializer):
    model = ViewableModelField(help_text="The model's name; you need the viewer role on it.")
    days = serializers.IntegerField(
        default=DEFAULT_DAYS,
        min_value=1,
        max_value=MAX_DAYS,
        help_text=f"How many days back to replay (1 to {MAX_DAYS}, default {DEFAULT_DAYS}); "
        f"at most {MAX_EVALUATIONS} evaluations (days x 86400 / interval).",
    )

    class Meta(RuleSerializer.Meta):
        fields = [
            "name",
            "model",
            "kind",
            "config",
            "severity",
            "interval",
            "pending_for",
            "repeat_interval",
            "keep_firing_for",
            "channels",
            "enabled",
            "days",
        ]
        read_only_fields = []
        extra_kwargs = {"name": {"required": False}}

    def validate(self, attrs: dict) -> dict:
        attrs = super().validate(attrs)
        interval = attrs.get("interval", RULE_FIELDS["interval"].default)
        if evaluation_count(interval, attrs["days"]) > MAX_EVALUATIONS:
            most = MAX_EVALUATIONS * interval // 86400
            raise serializers.ValidationError(
                {
                    "days": [
                        f"At most {MAX_EVALUATIONS} evaluations: with an interval of "
                        f"{interval} s, at most {most} day(s)."
                    ]
                }
            )
        return attrs


class FiringSerializer(serializers.Serializer):
    started_at = serializers.DateTimeField(help_text="When the alert would have fired.")
    resolved_at = serializers.DateTimeField(
        allow_null=True, help_text="When it would have resolved; null: still firing at the end."
    )
    peak = serializers.FloatField(
        allow_null=True, help_text="The value furthest on the breaking side while it fired."
    )
    feature = serializers.CharField(
        required=False, help_text="Per-feature rules only: the feature whose alert fired."
    )


class PointSerializer(serializers.Serializer):
    t = serializers.DateTimeField(help_text="The evaluation's time (its window ends here).")
    value = serializers.FloatField(allow_null=True)
    status = serializers.CharField(help_text="ok, breached, insufficient_data or error.")
    threshold = serializers.FloatField(allow_null=True)
    state = serializers.CharField(
        help_text="The rule's worst alert state after this evaluation: ok, pending or firing."
    )


class BacktestAnswerSerializer(serializers.Serializer):
    evaluations = serializers.IntegerField()
    firings = FiringSerializer(many=True)
    series = PointSerializer(many=True)
    summary = serializers.CharField(
        help_text='In words: "would have fired 3 times in 30 days, 41 h in total".'
    )
