"""Serializers of routing: notification policies, inhibit rules, incidents.

Matchers, `group_by` and mute timings are checked by `alerts_app/routing.py` (the admin
uses the same functions), so a bad value is answered naming its field:
`{"matchers": ['Unknown matcher "team". Known: model, tags, severity, kind.']}`.
"""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from access.channels import unusable_channel_message, unusable_channels
from access.roles import EDIT, has_model_perm, is_unrestricted
from alerts_app import routing
from alerts_app.api.notification_serializers import AlertSerializer
from alerts_app.api.serializers import ChannelIdsField
from alerts_app.incident_messages import incident_url
from alerts_app.models import (
    Channel,
    Incident,
    IncidentAlert,
    IncidentNotification,
    InhibitRule,
    NotificationPolicy,
)
from alerts_app.rule_fields import MAX_DURATION, FieldError, parse_duration
from models_app.models import Model


@extend_schema_field({"oneOf": [{"type": "integer"}, {"type": "string"}], "nullable": True})
class PolicyDurationField(serializers.Field):
    """A duration ("30s", "5m", "4h" or seconds) or null (inherited from the parent)."""

    def __init__(self, **kwargs):
        super().__init__(required=False, allow_null=True, **kwargs)

    def to_internal_value(self, data) -> int:
        try:
            seconds = parse_duration(data)
        except (FieldError, ValueError) as exc:
            raise serializers.ValidationError(str(exc)) from None
        if seconds > MAX_DURATION:
            raise serializers.ValidationError(
                f"Ensure this value is at most {MAX_DURATION} seconds."
            )
        return seconds

    def to_representation(self, value) -> int | None:
        return None if value is None else int(value)


def checked(errors: list[str], value):
    if errors:
        raise serializers.ValidationError(errors)
    return value


class PolicySerializer(serializers.ModelSerializer):
    matchers = serializers.JSONField(
        required=False,
        help_text='{"model"?: [names], "tags"?: [tags], "severity"?: [levels], "kind"?: '
        "[rule kinds]}: keys AND-ed, values OR-ed; none matches every alert.",
    )
    channels = ChannelIdsField(required=False, help_text="Channel ids; empty: the parent's.")
    group_by = serializers.JSONField(
        required=False,
        allow_null=True,
        help_text=f"Label names among {', '.join(routing.GROUP_LABELS)}; null: the parent's "
        "(top level: model).",
    )
    group_wait = PolicyDurationField(help_text="Wait before an incident's first notification.")
    group_interval = PolicyDurationField(help_text="Wait between an incident's updates.")
    repeat_interval = PolicyDurationField(help_text="Reminders while nothing changes.")
    mute_timings = serializers.JSONField(
        required=False,
        help_text='[{"weekdays": ["sat", "sun"], "start": "00:00", "end": "24:00", '
        '"timezone": "Europe/Paris"}]',
    )
    parent = serializers.PrimaryKeyRelatedField(
        queryset=NotificationPolicy.objects.all(), required=False, allow_null=True
    )
    # `continue` is a Python keyword: declared through the class namespace.
    locals()["continue"] = serializers.BooleanField(
        source="continue_matching",
        required=False,
        help_text="Keep trying the next sibling policies after this one matched.",
    )

    class Meta:
        model = NotificationPolicy
        fields = [
            "id",
            "name",
            "matchers",
            "channels",
            "group_by",
            "group_wait",
            "group_interval",
            "repeat_interval",
            "continue",
            "mute_timings",
            "parent",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]

    def validate_matchers(self, value):
        return checked(routing.matcher_errors(value), value)

    def validate_group_by(self, value):
        return value if value is None else checked(routing.group_by_errors(value), value)

    def validate_mute_timings(self, value):
        return checked(routing.mute_timing_errors(value), value)

    def validate_parent(self, value):
        if value is not None and self.instance is not None:
            node = value
            while node is not None:
                if node.pk == self.instance.pk:
                    raise serializers.ValidationError("A policy cannot be its own ancestor.")
                node = node.parent
        return value

    def validate(self, attrs: dict) -> dict:
        user = getattr(self.context.get("request"), "user", None)
        matchers = attrs.get("matchers", getattr(self.instance, "matchers", {}) or {})
        models = list(Model.objects.filter(name__in=matchers.get("model") or []))
        if not is_unrestricted(user):
            check_editor(user, matchers, models)
        if "channels" in attrs:
            refused = unusable_channels(user, models, attrs["channels"])
            if refused:
                raise serializers.ValidationError(
                    {"channels": [unusable_channel_message(refused[0])]}
                )
            attrs["channels"] = list(Channel.objects.filter(pk__in=attrs["channels"]))
        return attrs


def check_editor(user, matchers: dict, models: list) -> None:
    """A non-staff user's policy names only models they edit (a policy over every model
    routes other teams' alerts: staff only)."""
    names = matchers.get("model") or []
    if not names:
        raise serializers.ValidationError(
            {
                "matchers": [
                    'Name the models of this policy ("model": [...]): a policy over '
                    "every model is for staff."
                ]
            }
        )
    found = {m.name: m for m in models}
    for name in names:
        if name not in found or not has_model_perm(user, EDIT, found[name]):
            raise serializers.ValidationError(
                {"matchers": [f'You need the editor role on model "{name}" to route it.']}
            )


class InhibitRuleSerializer(serializers.ModelSerializer):
    source_matchers = serializers.JSONField(help_text="Matchers of the inhibiting alerts.")
    target_matchers = serializers.JSONField(help_text="Matchers of the alerts held back.")
    equal = serializers.JSONField(
        required=False, help_text='Labels source and target must share, e.g. ["model"].'
    )

    class Meta:
        model = InhibitRule
        fields = [
            "id",
            "name",
            "source_matchers",
            "target_matchers",
            "equal",
            "enabled",
            "created_at",
        ]
        read_only_fields = ["id", "created_at"]

    def validate_source_matchers(self, value):
        return checked(routing.matcher_errors(value), value)

    def validate_target_matchers(self, value):
        return checked(routing.matcher_errors(value), value)

    def validate_equal(self, value):
        return checked(routing.group_by_errors(value), value)


class IncidentAlertSerializer(serializers.ModelSerializer):
    alert = AlertSerializer(read_only=True)

    class Meta:
        model = IncidentAlert
        fields = ["alert", "joined_at", "resolved_at"]
        read_only_fields = fields


class IncidentNotificationSerializer(serializers.ModelSerializer):
    deliveries = serializers.SerializerMethodField()

    class Meta:
        model = IncidentNotification
        fields = ["id", "sequence", "event", "created_at", "deliveries"]
        read_only_fields = fields

    def get_deliveries(self, notification) -> list[dict]:
        return [
            {
                "channel": d.channel.name,
                "status": d.status,
                "attempts": d.attempts,
                "error": d.error,
                "sent_at": d.sent_at,
            }
            for d in notification.deliveries.all()
        ]


class IncidentSerializer(serializers.ModelSerializer):
    policy = serializers.SlugRelatedField(slug_field="name", read_only=True, allow_null=True)
    model = serializers.SlugRelatedField(slug_field="name", read_only=True, allow_null=True)
    acknowledged_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    members = IncidentAlertSerializer(many=True, read_only=True)
    notifications = IncidentNotificationSerializer(many=True, read_only=True)
    url = serializers.SerializerMethodField()

    class Meta:
        model = Incident
        fields = [
            "id",
            "state",
            "policy",
            "model",
            "group_key",
            "labels",
            "started_at",
            "resolved_at",
            "last_notified_at",
            "acknowledged_at",
            "acknowledged_by",
            "acknowledged_note",
            "members",
            "notifications",
            "url",
        ]
        read_only_fields = fields

    def get_url(self, incident) -> str:
        return incident_url(incident.id)


class IncidentAcknowledgeSerializer(serializers.Serializer):
    note = serializers.CharField(
        required=False, allow_blank=True, max_length=2000, default="", trim_whitespace=False
    )
