"""The notification endpoints: channels (staff only), alerts, acknowledge, model health."""

import django_filters
from django import forms
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import generics, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from access.channels import visible_channels
from access.permissions import IsStaff
from access.roles import is_unrestricted
from alerts_app import lifecycle
from alerts_app.api.notification_serializers import (
    AcknowledgeSerializer,
    AlertSerializer,
    ChannelSerializer,
    HealthSerializer,
    TestResultSerializer,
    TransitionSerializer,
)
from alerts_app.health import model_health
from alerts_app.models import Alert, AlertState, Channel, Delivery, Severity
from alerts_app.outbox import send_test_notification
from alerts_app.transports import TransportError
from models_app.models import Model


class ChannelViewSet(viewsets.ModelViewSet):
    """Notification channels: e-mail, generic webhook, Slack incoming webhook (staff only)."""

    queryset = Channel.objects.all()
    serializer_class = ChannelSerializer
    permission_classes = [IsStaff]
    filterset_fields = ["kind", "enabled"]

    @extend_schema(request=None, responses={200: TestResultSerializer})
    @action(detail=True, methods=["post"], filterset_fields=None)
    def test(self, request, pk=None):
        """Send a test notification now; answer whether it was delivered."""
        try:
            send_test_notification(self.get_object())
        except TransportError as exc:
            return Response({"sent": False, "error": exc.message, "permanent": exc.permanent})
        return Response({"sent": True, "error": "", "permanent": None})


BIGINT_MAX = 2**63 - 1


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": BIGINT_MAX})
class IdFilter(django_filters.NumberFilter):
    """An object id: a whole number from 1 to 2**63 - 1; anything else is a 400, never a
    number the database cannot hold (-5.3e+76 used to overflow into a 500)."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", BIGINT_MAX)
        super().__init__(*args, **kwargs)


class AlertFilterSet(django_filters.FilterSet):
    state = django_filters.MultipleChoiceFilter(choices=AlertState.choices)
    model = django_filters.CharFilter(field_name="rule__model__name", help_text="Model name.")
    severity = django_filters.MultipleChoiceFilter(
        field_name="rule__severity", choices=Severity.choices
    )
    rule = IdFilter(field_name="rule_id", help_text="Rule id.")

    class Meta:
        model = Alert
        fields = ["state", "model", "severity", "rule"]


class AlertViewSet(viewsets.ReadOnlyModelViewSet):
    """Alerts, newest change first; acknowledge one; read its transitions and deliveries."""

    queryset = Alert.objects.select_related("rule__model", "version", "acknowledged_by").order_by(
        "-changed_at", "-id"
    )
    serializer_class = AlertSerializer
    filterset_class = AlertFilterSet

    @extend_schema(
        request=AcknowledgeSerializer,
        responses={200: AlertSerializer, 409: OpenApiResponse(description="Not pending or firing")},
    )
    @action(detail=True, methods=["post"], filterset_class=None)
    def acknowledge(self, request, pk=None):
        """Stop reminders until the alert resolves (pending or firing alerts only); an
        optional `{"note": "..."}` says what you are doing about it."""
        alert = self.get_object()
        body = AcknowledgeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        note = body.validated_data["note"].strip()
        acknowledged = lifecycle.acknowledge(alert.id, request.user, timezone.now(), note)
        if acknowledged is None:
            return Response(
                {
                    "detail": f"Only a pending or firing alert can be acknowledged; "
                    f"this one is {alert.state}."
                },
                status=status.HTTP_409_CONFLICT,
            )
        return Response(AlertSerializer(self.get_queryset().get(id=alert.id)).data)

    @extend_schema(responses={200: TransitionSerializer(many=True)})
    @action(
        detail=True, methods=["get"], filterset_class=None, serializer_class=TransitionSerializer
    )
    def transitions(self, request, pk=None):
        """The alert's history, newest first, with each notification delivery (to the
        channels shared with the alert's model, unless you are staff)."""
        alert = self.get_object()
        deliveries = Delivery.objects.select_related("channel")
        if not is_unrestricted(request.user):
            deliveries = deliveries.filter(
                channel__in=visible_channels(request.user, alert.rule.model)
            )
        transitions = alert.transitions.prefetch_related(
            Prefetch("deliveries", queryset=deliveries)
        )
        page = self.paginate_queryset(transitions)
        return self.get_paginated_response(TransitionSerializer(page, many=True).data)


class ModelHealthView(generics.GenericAPIView):
    """`{"status": "ok|warning|critical", "firing": [alerts]}` of one model."""

    serializer_class = HealthSerializer
    pagination_class = None
    filter_backends = []

    def get(self, request, name: str):
        health, firing = model_health(get_object_or_404(Model, name=name))
        return Response(HealthSerializer({"status": health, "firing": firing}).data)
