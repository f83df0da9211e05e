"""`/api/v1/silences/`: list, create, read and delete silences (docs/alerting.md).

Who may do what (alerts_app/silences.py): anyone may list the silences about the models
they view (and those about every model, which mute their alerts too); creating or
deleting one needs the editor role on every model it concerns, and only staff may
silence every model at once. A silence one may not see answers 404.
"""

import django_filters
from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.exceptions import PermissionDenied

from access.roles import is_unrestricted, visible_models
from alerts_app import silences
from alerts_app.api.silence_serializers import SilenceSerializer
from alerts_app.models import Silence
from monitor_site.filters import StrictFilterBackend


class SilenceFilterSet(django_filters.FilterSet):
    active = django_filters.BooleanFilter(method="filter_active", help_text="In force now.")

    class Meta:
        model = Silence
        fields = ["active"]

    def filter_active(self, queryset, name, value):
        now = timezone.now()
        live = {"starts_at__lte": now, "ends_at__gt": now}
        return queryset.filter(**live) if value else queryset.exclude(**live)


@extend_schema_view(
    list=extend_schema(summary="Silences you may see, the newest start first"),
    create=extend_schema(summary="Silence the alerts the matchers select, from start to end"),
    destroy=extend_schema(summary="Remove a silence (it stops muting at once)"),
)
class SilenceViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Silences: matchers on model, rule, severity and feature, a start, an end, a comment."""

    queryset = Silence.objects.select_related("model", "created_by").order_by("-starts_at", "-id")
    serializer_class = SilenceSerializer
    filterset_class = SilenceFilterSet
    lookup_value_regex = "[0-9]+"  # /silences/false/ is a 404, not an int() error

    def filter_queryset(self, queryset):
        """The filters, then only what the user may see (by each silence's matchers, not by
        its `model` column: most silences have none)."""
        # the filters only (strict: 400s), not the model scoping of the other backends
        queryset = StrictFilterBackend().filter_queryset(self.request, queryset, self)
        if is_unrestricted(self.request.user):
            return queryset
        visible = set(visible_models(self.request.user).values_list("pk", flat=True))
        return [s for s in queryset if silences.may_see(self.request.user, s, visible)]

    def get_object(self) -> Silence:
        found = Silence.objects.select_related("model").filter(pk=self.kwargs["pk"]).first()
        if found is None or not silences.may_see(
            self.request.user,
            found,
            set(visible_models(self.request.user).values_list("pk", flat=True)),
        ):
            raise Http404
        return found

    def perform_create(self, serializer) -> None:
        serializer.save(created_by=self.request.user)

    def perform_destroy(self, silence: Silence) -> None:
        if not silences.may_remove(self.request.user, silence):
            raise PermissionDenied(
                "Removing this silence needs the editor role on every model it concerns."
            )
        silence.delete()
