"""The rules endpoints: CRUD, evaluate now, and the history of results."""

import django_filters
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from alerts_app import lifecycle
from alerts_app.api.serializers import (
    CheckResultSerializer,
    EvaluateSerializer,
    RuleSerializer,
)
from alerts_app.evaluate import evaluate_rule
from alerts_app.models import AlertRule, RuleKind, Severity
from alerts_app.rule_config import check_rule_limits


def within_rule_limits(model, user, rule=None) -> None:
    """400 when the rule would pass the per-model or per-user limit on rules."""
    try:
        check_rule_limits(model, user, rule)
    except DjangoValidationError as exc:
        raise ValidationError(exc.message_dict) from None


class RuleFilterSet(django_filters.FilterSet):
    model = django_filters.CharFilter(field_name="model__name")
    kind = django_filters.ChoiceFilter(choices=RuleKind.choices)
    severity = django_filters.ChoiceFilter(choices=Severity.choices)

    class Meta:
        model = AlertRule
        fields = ["model", "kind", "severity", "enabled"]


class RuleViewSet(viewsets.ModelViewSet):
    """Alert rules: list, create, read, update, delete; evaluate now; past results."""

    queryset = AlertRule.objects.select_related("model").prefetch_related("channels")
    serializer_class = RuleSerializer
    filterset_class = RuleFilterSet

    def perform_create(self, serializer):
        with transaction.atomic():
            within_rule_limits(serializer.validated_data.get("model"), self.request.user)
            serializer.save(created_by=self.request.user)

    def perform_update(self, serializer):
        with transaction.atomic():
            model = serializer.validated_data.get("model", serializer.instance.model)
            within_rule_limits(model, self.request.user, serializer.instance)
            serializer.save()

    def perform_destroy(self, instance):
        lifecycle.delete_rule(instance)  # after any evaluation in flight (row lock)

    @extend_schema(request=EvaluateSerializer, responses={200: CheckResultSerializer})
    @action(
        detail=True, methods=["post"], serializer_class=EvaluateSerializer, filterset_class=None
    )
    def evaluate(self, request, pk=None):
        """Evaluate the rule now (or `at`), store the result unless `store` is false; no
        alert state changes and nothing is notified."""
        rule = self.get_object()
        params = EvaluateSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        now = params.validated_data.get("at") or timezone.now()
        try:
            result = evaluate_rule(rule, now, store=params.validated_data["store"])
        except DjangoValidationError as exc:  # a config stored around the validation
            raise ValidationError({"config": exc.message_dict})
        except AlertRule.DoesNotExist:  # deleted while it was evaluated: nothing stored
            raise NotFound("No AlertRule matches the given query.") from None
        return Response(CheckResultSerializer(result).data, status=status.HTTP_200_OK)

    @extend_schema(responses={200: CheckResultSerializer(many=True)})
    @action(
        detail=True, methods=["get"], serializer_class=CheckResultSerializer, filterset_class=None
    )
    def results(self, request, pk=None):
        """The rule's stored results, newest first."""
        page = self.paginate_queryset(self.get_object().results.select_related("version"))
        return self.get_paginated_response(CheckResultSerializer(page, many=True).data)
