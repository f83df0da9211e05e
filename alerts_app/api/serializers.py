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

from access.channels import unusable_channel_message, unusable_channels
from access.fields import EditableModelField
from alerts_app import segments
from alerts_app.evaluate import EVALUATION_TIME_HELP, evaluation_time_allowed
from alerts_app.models import AlertRule, Channel, CheckResult, RuleKind
from alerts_app.rule_config import RULE_FIELDS, validate_config, validate_rule_fields
from alerts_app.rule_warnings import rule_warnings
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


@extend_schema_field({"type": "array", "items": {"type": "integer"}})
class ChannelIdsField(serializers.ListField):
    """Channel ids in and out; which ones a user may set is decided by the serializer."""

    child = serializers.IntegerField(min_value=1, max_value=2**31 - 1)

    def to_representation(self, value) -> list[int]:
        return [channel.pk for channel in value.all()]


def _duration(name: str) -> DurationField:
    spec = RULE_FIELDS[name]
    return DurationField(required=False, help_text=f"{spec.help} Default {spec.default}s.")


class RuleSerializer(serializers.ModelSerializer):
    model = EditableModelField(help_text="The model's name; you need the editor role on it.")
    kind = serializers.ChoiceField(choices=RuleKind.choices)
    config = serializers.JSONField(
        required=False, help_text="Per-kind settings (see docs/checks.md); durations in seconds."
    )
    interval = _duration("interval")
    pending_for = _duration("pending_for")
    repeat_interval = _duration("repeat_interval")
    keep_firing_for = _duration("keep_firing_for")
    channels = ChannelIdsField(required=False)
    warnings = serializers.SerializerMethodField(
        help_text="Why the rule cannot give a verdict yet, e.g. its model has no reference "
        "(saved anyway); [] when nothing is missing."
    )

    class Meta:
        model = AlertRule
        fields = [
            "id",
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
            "last_run_at",
            "created_at",
            "updated_at",
            "warnings",
        ]
        read_only_fields = ["id", "last_run_at", "created_at", "updated_at"]

    def get_warnings(self, rule: AlertRule) -> list[str]:
        return rule_warnings(rule.kind, rule.model, rule.config)

    def validate(self, attrs: dict) -> dict:
        kind = attrs.get("kind", getattr(self.instance, "kind", None))
        config = attrs.get("config", getattr(self.instance, "config", None))
        model = attrs.get("model", getattr(self.instance, "model", None))
        try:
            attrs["config"] = validate_config(kind, config)
        except DjangoValidationError as exc:
            raise serializers.ValidationError({"config": exc.message_dict})
        check_version(model, attrs["config"].get("version"))
        if error := segments.segment_error(model, kind, attrs["config"]):
            raise serializers.ValidationError({"config": {"segment_by": [error]}})
        attrs["channels"] = self.usable_channels(model, attrs.get("channels"))
        if attrs["channels"] is None:
            del attrs["channels"]
        return attrs

    def usable_channels(self, model: Model, ids: list[int] | None) -> list | None:
        """The channels to set, each one the user may route `model` to (see
        `access.channels`); the ones already on the rule may stay while its model does."""
        kept: set[int] = set()
        if self.instance is not None:
            kept = set(self.instance.channels.values_list("pk", flat=True))
            if model != self.instance.model:
                ids, kept = (sorted(kept) if ids is None else ids), set()
        if ids is None:
            return None
        user = getattr(self.context.get("request"), "user", None)
        refused = [pk for pk in unusable_channels(user, [model], ids) if pk not in kept]
        if refused:
            raise serializers.ValidationError({"channels": [unusable_channel_message(refused[0])]})
        return list(Channel.objects.filter(pk__in=ids))


def check_version(model: Model, version: str | None) -> None:
    if version and not ModelVersion.objects.filter(model=model, version=version).exists():
        raise serializers.ValidationError(
            {
                "config": {
                    "version": [f'Version "{version}" of model "{model.name}" does not exist.']
                }
            }
        )


class EvaluateSerializer(serializers.Serializer):
    store = serializers.BooleanField(
        default=True,
        help_text="Store the result and apply it to the alerts, as a scheduled evaluation "
        "would (may notify); false: only answer the result.",
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

    id = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="null when the result was not stored."
    )
    version = serializers.SlugRelatedField(slug_field="version", read_only=True, allow_null=True)

    class Meta:
        model = CheckResult
        fields = [
            "id",
            "rule",
            "version",
            "evaluated_at",
            "status",
            "value",
            "threshold",
            "passed",
            "details",
        ]
        read_only_fields = fields
