"""The silences API's serializer: matchers, start, end, comment (docs/alerting.md)."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from rest_framework import serializers

from alerts_app import silences
from alerts_app.models import Silence


class SilenceSerializer(serializers.ModelSerializer):
    matchers = serializers.JSONField(
        help_text='{"model": [names], "rule": [ids], "severity": [levels], "feature": [names]}: '
        "keys AND-ed, values OR-ed; at least one."
    )
    starts_at = serializers.DateTimeField(required=False, help_text="Default: now.")
    comment = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    active = serializers.SerializerMethodField()

    class Meta:
        model = Silence
        fields = [
            "id",
            "matchers",
            "starts_at",
            "ends_at",
            "comment",
            "created_by",
            "created_at",
            "active",
        ]
        read_only_fields = ["id", "created_by", "created_at", "active"]

    def to_representation(self, silence: Silence) -> dict:
        shown = super().to_representation(silence)
        shown["matchers"] = silences.effective_matchers(silence)
        return shown

    def get_active(self, silence: Silence) -> bool:
        return silence.starts_at <= timezone.now() < silence.ends_at

    def validate_matchers(self, raw) -> dict:
        try:
            matchers = silences.clean_matchers(raw)
            silences.check_targets(self.context["request"].user, matchers)
        except DjangoValidationError as exc:
            errors = exc.message_dict
            raise serializers.ValidationError(errors.get("matchers", errors)) from exc
        return matchers

    def validate(self, attrs: dict) -> dict:
        attrs.setdefault("starts_at", timezone.now())
        if attrs["ends_at"] <= attrs["starts_at"]:
            raise serializers.ValidationError({"ends_at": ["Must be after the start."]})
        return attrs
