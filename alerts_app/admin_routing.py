"""Admin of routing: notification policies, inhibit rules, incidents (imported by admin.py).

Matchers, group_by and mute timings are checked by the same functions as the API
(`alerts_app/routing.py`), so a bad value is reported next to its field with the API's
message. The admin is for staff, who may route anything anywhere.
"""

from django import forms
from django.contrib import admin, messages
from django.utils import timezone

from alerts_app import incidents, routing
from alerts_app.models import (
    Incident,
    IncidentAlert,
    IncidentDelivery,
    IncidentNotification,
    InhibitRule,
    NotificationPolicy,
)

ROUTING_CHECKS = {
    "matchers": routing.matcher_errors,
    "source_matchers": routing.matcher_errors,
    "target_matchers": routing.matcher_errors,
    "group_by": lambda v: [] if v is None else routing.group_by_errors(v),
    "equal": routing.group_by_errors,
    "mute_timings": routing.mute_timing_errors,
}


class RoutingForm(forms.ModelForm):
    """Each JSON field checked as the API checks it."""

    def clean(self):
        data = super().clean()
        for name, check in ROUTING_CHECKS.items():
            if name in data:
                for message in check(data[name]):
                    self.add_error(name, message)
        return data


@admin.register(NotificationPolicy)
class NotificationPolicyAdmin(admin.ModelAdmin):
    form = RoutingForm
    list_display = [
        "name",
        "parent",
        "matchers",
        "group_by",
        "group_wait",
        "group_interval",
        "repeat_interval",
        "continue_matching",
    ]
    list_select_related = ["parent"]
    filter_horizontal = ["channels"]
    search_fields = ["name"]
    fieldsets = [
        (None, {"fields": ["name", "parent", "matchers", "channels", "continue_matching"]}),
        (
            "Grouping and timing (empty: the parent's; top level: model, 30 s, 5 min, 4 h)",
            {
                "fields": [
                    "group_by",
                    "group_wait",
                    "group_interval",
                    "repeat_interval",
                    "mute_timings",
                ]
            },
        ),
    ]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(InhibitRule)
class InhibitRuleAdmin(admin.ModelAdmin):
    form = RoutingForm
    list_display = ["name", "source_matchers", "target_matchers", "equal", "enabled"]
    list_filter = ["enabled"]


class IncidentAlertInline(admin.TabularInline):
    model = IncidentAlert
    extra = 0
    can_delete = False
    fields = readonly_fields = ["alert", "joined_at", "resolved_at"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class IncidentNotificationInline(admin.TabularInline):
    model = IncidentNotification
    extra = 0
    can_delete = False
    fields = readonly_fields = ["sequence", "event", "created_at"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "state",
        "group_key",
        "policy",
        "started_at",
        "resolved_at",
        "last_notified_at",
        "acknowledged_at",
    ]
    list_filter = ["state", "policy"]
    search_fields = ["group_key"]
    inlines = [IncidentAlertInline, IncidentNotificationInline]
    actions = ["acknowledge"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Acknowledge (and their alerts)")
    def acknowledge(self, request, queryset):
        done = sum(
            1
            for incident in queryset
            if incidents.acknowledge(incident.id, request.user, timezone.now())
        )
        messages.success(request, f"Acknowledged {done} incident(s).")


@admin.register(IncidentDelivery)
class IncidentDeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "notification",
        "channel",
        "status",
        "attempts",
        "error",
        "sent_at",
    ]
    list_filter = ["status", "channel"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
