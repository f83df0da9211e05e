"""The routing endpoints: notification policies, inhibit rules, incidents (acknowledge).

Who may do what (docs/security.md): staff manage every policy; an editor of models may
manage, with an API token, the policies that name only models they edit, routing to
channels shared with those models (`access.channels`); others read the policies that
name only models they may view. Inhibit rules are staff only. Incidents are read by
whoever may view their model (incidents grouped across models: staff).
"""

import django_filters
from django.db.models import Prefetch
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.response import Response

from access.permissions import IsStaff, is_token_request
from access.roles import EDIT, VIEW, has_model_perm, is_unrestricted, visible_models
from alerts_app import lifecycle
from alerts_app.api.routing_serializers import (
    IncidentAcknowledgeSerializer,
    IncidentSerializer,
    InhibitRuleSerializer,
    PolicySerializer,
)
from alerts_app.models import (
    Incident,
    IncidentAlert,
    IncidentNotification,
    InhibitRule,
    NotificationPolicy,
)
from models_app.models import Model


def policy_models(policy: NotificationPolicy) -> list[Model]:
    return list(Model.objects.filter(name__in=(policy.matchers or {}).get("model") or []))


def may_use_policy(user, policy: NotificationPolicy, perm: str) -> bool:
    """Whether a non-staff user holds `perm` on every model the policy names (a policy
    naming none is staff's)."""
    names = (policy.matchers or {}).get("model") or []
    models = policy_models(policy)
    return (
        bool(names)
        and len(models) == len(set(names))
        and all(has_model_perm(user, perm, model) for model in models)
    )


class PolicyAccess(BasePermission):
    message = "Over the API, writes need an API token (a browser session only reads)."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if is_unrestricted(user) or request.method in SAFE_METHODS:
            return True
        return is_token_request(request)

    def has_object_permission(self, request, view, policy) -> bool:
        user = request.user
        if is_unrestricted(user):
            return True
        if not may_use_policy(user, policy, VIEW):
            raise NotFound("Not found.")
        if request.method not in SAFE_METHODS and not may_use_policy(user, policy, EDIT):
            raise PermissionDenied("You need the editor role on every model of this policy.")
        return True


class PolicyViewSet(viewsets.ModelViewSet):
    """Notification policies: the routing tree (docs/alerting.md "Routing")."""

    queryset = NotificationPolicy.objects.prefetch_related("channels").order_by("id")
    serializer_class = PolicySerializer
    permission_classes = [PolicyAccess]
    filter_backends = []

    def get_queryset(self):
        policies = super().get_queryset()
        user = self.request.user
        if is_unrestricted(user):
            return policies
        return policies.filter(id__in=[p.id for p in policies if may_use_policy(user, p, VIEW)])

    def perform_create(self, serializer):
        serializer.save(created_by=self.request.user)


class InhibitRuleViewSet(viewsets.ModelViewSet):
    """Inhibit rules (staff only): a firing source holds back matching targets."""

    queryset = InhibitRule.objects.all()
    serializer_class = InhibitRuleSerializer
    permission_classes = [IsStaff]
    filter_backends = []


class IncidentFilterSet(django_filters.FilterSet):
    state = django_filters.MultipleChoiceFilter(choices=Incident.State.choices)
    model = django_filters.CharFilter(field_name="model__name", help_text="Model name.")

    class Meta:
        model = Incident
        fields = ["state", "model"]


class IncidentViewSet(viewsets.ReadOnlyModelViewSet):
    """Incidents, newest first (`?state=firing`); acknowledge one (and its alerts)."""

    serializer_class = IncidentSerializer
    filterset_class = IncidentFilterSet

    def get_queryset(self):
        members = IncidentAlert.objects.select_related(
            "alert__rule__model", "alert__version", "alert__acknowledged_by"
        )
        notifications = IncidentNotification.objects.prefetch_related("deliveries__channel")
        found = Incident.objects.select_related("policy", "model", "acknowledged_by")
        found = found.prefetch_related(
            Prefetch("members", queryset=members),
            Prefetch("notifications", queryset=notifications),
        ).order_by("-started_at", "-id")
        if is_unrestricted(self.request.user):
            return found
        return found.filter(model__in=visible_models(self.request.user).values("pk"))

    @extend_schema(
        request=IncidentAcknowledgeSerializer,
        responses={200: IncidentSerializer, 409: OpenApiResponse(description="Resolved")},
    )
    @action(detail=True, methods=["post"], filterset_class=None)
    def acknowledge(self, request, pk=None):
        """Acknowledge a firing incident and its firing alerts: no more reminders."""
        incident = self.get_object()
        if not is_unrestricted(request.user) and not (
            incident.model and has_model_perm(request.user, EDIT, incident.model)
        ):
            raise PermissionDenied(
                f'You need the editor role on model "{incident.model}" to do this.'
            )
        note = IncidentAcknowledgeSerializer(data=request.data)
        note.is_valid(raise_exception=True)
        done = lifecycle.acknowledge_incident(
            incident.id, request.user, timezone.now(), note.data["note"].strip()
        )
        if done is None:
            return Response(
                {
                    "detail": f"Only a firing incident can be acknowledged; this one is "
                    f"{incident.state}."
                },
                status=status.HTTP_409_CONFLICT,
            )
        return Response(IncidentSerializer(self.get_queryset().get(id=incident.id)).data)
