"""Serializers of the notification side: channels, alerts, model health.

Channel configs go through `transports.validate_channel_config`, the same validation as
the admin, so a bad field is answered `{"config": {"url": ["Refused: ..."]}}`.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from alerts_app.inhibition import inhibition_text, inhibitor_of
from alerts_app.models import Alert, AlertTransition, Channel, Delivery
from alerts_app.outbox import alert_links
from alerts_app.transports import public_config, secrets_set, validate_channel_config
from models_app.models import Model


class ChannelSerializer(serializers.ModelSerializer):
    config = serializers.JSONField(
        help_text='email: {"address": "a@x.com, b@y.com"}; webhook: {"url": "https://…", '
        '"secret"?: "…"}; slack, msteams: {"url": "https://…"}; pagerduty: {"routing_key": '
        '"…", "url"?: "…"}; opsgenie: {"api_key": "…", "url"?: "…"}. Secrets (secret, '
        "routing_key, api_key) are write-only: never shown back, kept when left out of a "
        'PATCH, removed by "".'
    )
    secrets_set = serializers.SerializerMethodField(
        help_text="The secret fields of the config that hold a value."
    )

    shared_models = serializers.SlugRelatedField(
        many=True,
        required=False,
        slug_field="name",
        queryset=Model.objects.all(),
        help_text="Models whose editors may route their rules here (and whose viewers see "
        "its deliveries).",
    )

    class Meta:
        model = Channel
        fields = [
            "id",
            "name",
            "kind",
            "config",
            "secrets_set",
            "enabled",
            "shared_with_all_models",
            "shared_models",
            "created_at",
        ]
        read_only_fields = ["id", "created_at"]

    def to_representation(self, channel: Channel) -> dict:
        shown = super().to_representation(channel)
        shown["config"] = public_config(channel.kind, channel.config)
        return shown

    def get_secrets_set(self, channel: Channel) -> list[str]:
        return secrets_set(channel.kind, channel.config)

    def validate(self, attrs: dict) -> dict:
        kind = attrs.get("kind", getattr(self.instance, "kind", None))
        stored = self.instance.config if self.instance and self.instance.kind == kind else None
        config = attrs.get("config", getattr(self.instance, "config", None))
        try:
            attrs["config"] = validate_channel_config(kind, config, stored)
        except DjangoValidationError as exc:
            errors = exc.message_dict
            raise serializers.ValidationError(
                errors if "kind" in errors or "config" in errors else {"config": errors}
            )
        return attrs


class AlertSerializer(serializers.ModelSerializer):
    """One alert (fingerprint): its current state and the values of its last evaluation."""

    rule_name = serializers.CharField(source="rule.name", read_only=True)
    kind = serializers.CharField(source="rule.kind", read_only=True)
    model = serializers.CharField(source="rule.model.name", read_only=True)
    version = serializers.SlugRelatedField(slug_field="version", read_only=True, allow_null=True)
    severity = serializers.CharField(source="rule.severity", read_only=True)
    acknowledged_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    url = serializers.SerializerMethodField()
    inhibited_by = serializers.SerializerMethodField(
        help_text="The firing alert holding back this one's notifications (docs/alerting.md "
        '"Inhibition"): {"id", "rule", "model", "text"}, or null.'
    )

    class Meta:
        model = Alert
        fields = [
            "id",
            "rule",
            "rule_name",
            "kind",
            "model",
            "version",
            "feature",
            "segment",
            "fingerprint",
            "severity",
            "state",
            "value",
            "threshold",
            "message",
            "pending_since",
            "started_at",
            "resolved_at",
            "changed_at",
            "last_evaluated",
            "last_notified_at",
            "acknowledged_at",
            "acknowledged_by",
            "acknowledged_note",
            "muted",
            "inhibited_by",
            "url",
        ]
        read_only_fields = fields

    def get_url(self, alert: Alert) -> str:
        return alert_links(alert)[0]

    def get_inhibited_by(self, alert: Alert) -> dict | None:
        if alert.state not in ("pending", "firing"):
            return None
        inhibitor = inhibitor_of(alert)
        if inhibitor is None:
            return None
        return {
            "id": inhibitor.id,
            "rule": inhibitor.rule.name,
            "model": inhibitor.rule.model.name,
            "text": inhibition_text(inhibitor),
        }


class AcknowledgeSerializer(serializers.Serializer):
    """The optional body of an acknowledgement: what the person is doing about it."""

    # The length is checked as sent (the view strips): DRF's trimming would first drop
    # leading control characters Python counts as whitespace, and pass 2,003 characters.
    note = serializers.CharField(
        required=False, allow_blank=True, max_length=2000, default="", trim_whitespace=False
    )


class DeliverySerializer(serializers.ModelSerializer):
    channel = serializers.CharField(source="channel.name", read_only=True)

    class Meta:
        model = Delivery
        fields = [
            "id",
            "channel",
            "status",
            "attempts",
            "error",
            "created_at",
            "sent_at",
            "next_attempt_at",
            "log",
        ]
        read_only_fields = fields


class TransitionSerializer(serializers.ModelSerializer):
    deliveries = DeliverySerializer(many=True, read_only=True)

    class Meta:
        model = AlertTransition
        fields = [
            "id",
            "old",
            "new",
            "event",
            "value",
            "threshold",
            "message",
            "created_at",
            "deliveries",
        ]
        read_only_fields = fields


class HealthSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["ok", "warning", "critical"])
    firing = AlertSerializer(many=True)


class TestResultSerializer(serializers.Serializer):
    sent = serializers.BooleanField()
    error = serializers.CharField(allow_blank=True)
    permanent = serializers.BooleanField(allow_null=True)
