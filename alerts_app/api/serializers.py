"""Serializers of the alerting API: rules and their check results.

Rule configs go through `alerts_app.rule_config`, the same validation as the admin,
so a bad field is answered `{"config": {"threshold": ["This field is required."]}}`.
Durations are accepted as "30s", "5m", "1h", "7d" or integer seconds and answered in
seconds (rule fields and config fields alike).
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from alerts_app.evaluate import EVALUATION_TIME_HELP, evaluation_time_allowed
from alerts_app.models import AlertRule, Channel, CheckResult, RuleKind
from alerts_app.rule_config import RULE_FIELDS, validate_config, validate_rule_fields
from models_app.models import Model, ModelVersion


@extend_schema_field(OpenApiTypes.INT)
class DurationField(serializers.Field):
    """A duration: "30s", "5m", "1h", "7d" or integer seconds in, seconds out."""

    def to_internal_value(self, data) -> int:
        try:
            return validate_rule_fields({self.field_name: data})[self.field_name]
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict[self.field_name])

    def to_representation(self, value) -> int:
        return int(value)


def _duration(name: str) -> DurationField:
    spec = RULE_FIELDS[name]
    return DurationField(required=False, help_text=f"{spec.help} Default {spec.default}s.")


class RuleSerializer(serializers.ModelSerializer):
    model = serializers.SlugRelatedField(slug_field="name", queryset=Model.objects.all())
    kind = serializers.ChoiceField(choices=RuleKind.choices)
    config = serializers.JSONField(
        required=False, help_text="Per-kind settings (see docs/checks.md); durations in seconds."
    )
    interval = _duration("interval")
    pending_for = _duration("pending_for")
    repeat_interval = _duration("repeat_interval")
    keep_firing_for = _duration("keep_firing_for")
    channels = serializers.PrimaryKeyRelatedField(
        many=True, required=False, queryset=Channel.objects.all()
    )

    class Meta:
        model = AlertRule
        fields = [
            "id", "name", "model", "kind", "config", "severity", "interval", "pending_for",
            "repeat_interval", "keep_firing_for", "channels", "enabled", "last_run_at",
            "created_at", "updated_at",
        ]
        read_only_fields = ["id", "last_run_at", "created_at", "updated_at"]

    def validate(self, attrs: dict) -> dict:
        kind = attrs.get("kind", getattr(self.instance, "kind", None))
        config = attrs.get("config", getattr(self.instance, "config", None))
        model = attrs.get("model", getattr(self.instance, "model", None))
        try:
            attrs["config"] = validate_config(kind, config)
        except DjangoValidationError as exc:
            raise serializers.ValidationError({"config": exc.message_dict})
        check_version(model, attrs["config"].get("version"))
        return attrs


def check_version(model: Model, version: str | None) -> None:
    if version and not ModelVersion.objects.filter(model=model, version=version).exists():
        raise serializers.ValidationError({"config": {"version": [
            f'Version "{version}" of model "{model.name}" does not exist.']}})


class EvaluateSerializer(serializers.Serializer):
    store = serializers.BooleanField(
        default=True, help_text="Store the result in the rule's history (never notifies)."
    )
    at = serializers.DateTimeField(
        required=False, help_text="Evaluate as of this time (default now): the window ends here."
    )

    def validate_at(self, value):
        if not evaluation_time_allowed(value):
            raise serializers.ValidationError(EVALUATION_TIME_HELP)
        return value


class CheckResultSerializer(serializers.ModelSerializer):
    """`{"status", "value", "threshold", "details"}` plus when, which rule and version."""

    id = serializers.IntegerField(read_only=True, allow_null=True,
                                  help_text="null when the result was not stored.")
    version = serializers.SlugRelatedField(slug_field="version", read_only=True, allow_null=True)

    class Meta:
        model = CheckResult
        fields = ["id", "rule", "version", "evaluated_at", "status", "value", "threshold",
                  "passed", "details"]
        read_only_fields = fields
