"""The rules endpoints: CRUD, evaluate now, the history of results, and the backtest."""

import django_filters
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from alerts_app import lifecycle
from alerts_app.api.backtest_serializers import BacktestAnswerSerializer, BacktestSerializer
from alerts_app.api.serializers import (
    CheckResultSerializer,
    EvaluateSerializer,
    RuleSerializer,
)
from alerts_app.backtest import backtest
from alerts_app.evaluate import (
    EVALUATE_NOW_MEANING,
    EvaluationTooEarly,
    RuleDisabled,
    evaluate_now,
    evaluate_rule,
)
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
    """Alert rules: list, create, read, update, delete; evaluate now; past results; backtest."""

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

    @extend_schema(
        request=EvaluateSerializer,
        responses={
            200: CheckResultSerializer,
            409: OpenApiResponse(description="The rule is disabled (with `store`)."),
        },
        description=EVALUATE_NOW_MEANING
        + ' With `"at"`, the window ends then (not before the rule\'s newest result). '
        '`"store": false` only shows the result: nothing is stored, no alert moves.',
    )
    @action(
        detail=True, methods=["post"], serializer_class=EvaluateSerializer, filterset_class=None
    )
    def evaluate(self, request, pk=None):
        """Evaluate now: store the result and apply it to the alerts (`evaluate_now`, as the
        admin does), or with `store: false` only answer it."""
        rule = self.get_object()
        params = EvaluateSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        at = params.validated_data.get("at")
        try:
            if params.validated_data["store"]:
                result = evaluate_now(rule.id, at).result
            else:
                result = evaluate_rule(rule, at or timezone.now(), store=False)
        except DjangoValidationError as exc:  # a config stored around the validation
            raise ValidationError({"config": exc.message_dict})
        except AlertRule.DoesNotExist:  # deleted while it was evaluated: nothing stored
            raise NotFound("No AlertRule matches the given query.") from None
        except EvaluationTooEarly as exc:
            raise ValidationError({"at": [str(exc)]}) from None
        except RuleDisabled as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(CheckResultSerializer(result).data, status=status.HTTP_200_OK)

    @extend_schema(responses={200: CheckResultSerializer(many=True)})
    @action(
        detail=True, methods=["get"], serializer_class=CheckResultSerializer, filterset_class=None
    )
    def results(self, request, pk=None):
        """The rule's stored results, newest first."""
        page = self.paginate_queryset(self.get_object().results.select_related("version"))
        return self.get_paginated_response(CheckResultSerializer(page, many=True).data)

    @extend_schema(
        request=BacktestSerializer,
        responses={
            200: BacktestAnswerSerializer,
            404: OpenApiResponse(description="No such model, or you may not view it."),
        },
        description="Replay a rule (the body of a create, plus `days`) at its interval over "
        "the last `days` of stored history, through the alert state machine (`pending_for`, "
        "`keep_firing_for`, `clear_threshold`): when it would have fired and resolved, and "
        "every evaluation's value and status. Nothing is stored and nobody is notified. "
        "You need the viewer role on the model (404 otherwise).",
    )
    @action(
        detail=False, methods=["post"], serializer_class=BacktestSerializer, filterset_class=None
    )
    def backtest(self, request):
        """The rule in the body replayed over the last `days` (`alerts_app.backtest`)."""
        params = BacktestSerializer(data=request.data, context={"request": request})
        params.is_valid(raise_exception=True)
        data = dict(params.validated_data)
        days = data.pop("days")
        data.pop("channels", None)
        rule = AlertRule(**data)
        answer = backtest(rule, days, timezone.now())
        return Response(BacktestAnswerSerializer(answer).data, status=status.HTTP_200_OK)
