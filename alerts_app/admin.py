"""The admin: the main UI for alert rules, channels and silences; alerts read-only.

Rules: pick a kind first, then a form that explains each config field of that kind and
validates it like the API, and warns (without refusing) when the rule cannot give a verdict
yet (`rule_warnings`: no reference). "Evaluate now" is `evaluate.evaluate_now`, as over the
API: the result is stored and applied to the alerts. "Preview" backtests the form as filled
in (`admin_preview`), storing nothing. Results read as tables
(`admin_results`); rule and channel pages link to the dashboards (`admin_links`).
Channels: "Send test notification".
"""

from datetime import timedelta

from django.contrib import admin, messages
from django.db.models import Exists, OuterRef, Subquery
from django.http import JsonResponse
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from access.channels import routable_channels
from alerts_app import admin_links, lifecycle
from alerts_app.admin_evaluate import evaluation_message, evaluation_row
from alerts_app.admin_forms import (
    ChannelForm,
    SilenceForm,
    config_field_names,
    kind_choices,
    kind_summary,
    rule_form_for,
)
from alerts_app.admin_preview import form_errors, parse_days, preview
from alerts_app.admin_results import badge, explain, number, one_line
from alerts_app.evaluate import EVALUATE_NOW_MEANING
from alerts_app.kinds import BY_NAME
from alerts_app.models import (
    Alert,
    AlertRule,
    AlertState,
    AlertTransition,
    Channel,
    CheckResult,
    Delivery,
    Silence,
)
from alerts_app.outbox import send_test_notification
from alerts_app.transports import TransportError


class ReadOnlyAdmin(admin.ModelAdmin):
    """History is written by the system, never edited by hand."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class ResultColumns:
    """A check result's columns as the admin shows them: rounded, with a status badge and
    the causes in one line."""

    @admin.display(description="status")
    def status_badge(self, result: CheckResult) -> str:
        return badge(result.status)

    @admin.display(description="why")
    def summary(self, result: CheckResult) -> str:
        return one_line(result.details)

    @admin.display(description="value")
    def shown_value(self, result: CheckResult) -> str:
        return number(result.value)

    @admin.display(description="threshold")
    def shown_threshold(self, result: CheckResult) -> str:
        return number(result.threshold)


class RecentResultInline(ResultColumns, ReadOnlyInline):
    """The rule's ten latest results."""

    model = CheckResult
    verbose_name_plural = "Recent results (latest 10)"
    fields = [
        "evaluated_at",
        "status_badge",
        "shown_value",
        "shown_threshold",
        "version",
        "summary",
    ]
    readonly_fields = fields
    limit = 10

    def get_formset(self, request, obj=None, **kwargs):
        request._alert_rule = obj  # get_queryset has no obj: keep it for the slice below
        return super().get_formset(request, obj, **kwargs)

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        rule = getattr(request, "_alert_rule", None)
        if rule is None:
            return queryset.none()
        latest = list(queryset.filter(rule=rule).values_list("id", flat=True)[: self.limit])
        return queryset.filter(id__in=latest).select_related("version")


def worst_state_annotations() -> dict:
    alerts = Alert.objects.filter(rule=OuterRef("pk"))
    last = CheckResult.objects.filter(rule=OuterRef("pk")).order_by("-evaluated_at", "-id")
    return {
        "_firing": Exists(alerts.filter(state=AlertState.FIRING)),
        "_pending": Exists(alerts.filter(state=AlertState.PENDING)),
        "_resolved": Exists(alerts.filter(state=AlertState.RESOLVED)),
        "_last_status": Subquery(last.values("status")[:1]),
        "_last_at": Subquery(last.values("evaluated_at")[:1]),
    }


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "model",
        "kind",
        "severity",
        "enabled",
        "last_result",
        "alert_state",
        "next_run_at",
    ]
    list_filter = ["enabled", "kind", "severity", "model"]
    list_select_related = ["model"]
    search_fields = ["name", "model__name"]
    readonly_fields = [
        "kind_description",
        "dashboard_links",
        "open_alerts",
        "next_run_at",
        "last_run_at",
        "created_by",
        "created_at",
        "updated_at",
    ]
    filter_horizontal = ["channels"]
    inlines = [RecentResultInline]
    actions = [
        "enable_rules",
        "disable_rules",
        "evaluate_now",
        "silence_for_an_hour",
        "silence_for_a_day",
    ]
    change_form_template = "admin/alerts_app/alertrule/change_form.html"

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(**worst_state_annotations())

    @admin.display(description="last result")
    def last_result(self, rule: AlertRule) -> str:
        if not getattr(rule, "_last_status", None):
            return "never evaluated"
        return format_html(
            "{} <small>{}</small>",
            badge(rule._last_status),
            timezone.localtime(rule._last_at).strftime("%Y-%m-%d %H:%M"),
        )

    @admin.display(description="alert state")
    def alert_state(self, rule: AlertRule) -> str:
        for state in ("firing", "pending", "resolved"):
            if getattr(rule, f"_{state}", False):
                return badge(state)
        return badge("ok")

    @admin.display(description="kind")
    def kind_description(self, rule: AlertRule) -> str:
        return format_html("<b>{}</b> — {}", rule.kind, kind_summary(rule.kind))

    @admin.display(description="dashboard")
    def dashboard_links(self, rule: AlertRule) -> str:
        return admin_links.rule_dashboard_links(rule) if rule.pk else "—"

    @admin.display(description="open alerts")
    def open_alerts(self, rule: AlertRule) -> str:
        return admin_links.open_alert_links(rule) if rule.pk else "—"

    def chosen_kind(self, request, obj=None) -> str | None:
        kind = obj.kind if obj else request.POST.get("kind") or request.GET.get("kind")
        return kind if kind in BY_NAME else None

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = rule_form_for(self.chosen_kind(request, obj))
        kwargs["fields"] = None
        form = super().get_form(request, obj, change, **kwargs)
        return type(form.__name__, (form,), {"request_user": request.user})

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "channels":
            kwargs["queryset"] = routable_channels(request.user)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def get_fieldsets(self, request, obj=None):
        kind = self.chosen_kind(request, obj)
        dashboard = [("On the dashboard", {"fields": ["dashboard_links", "open_alerts"]})]
        return (dashboard if obj is not None else []) + [
            (
                None,
                {
                    "fields": [
                        "name",
                        "model",
                        "kind",
                        "kind_description",
                        "severity",
                        "enabled",
                        "channels",
                    ]
                },
            ),
            (
                f"Configuration of a {kind} rule",
                {
                    "fields": config_field_names(kind),
                    "description": kind_summary(kind) + " Leave a field empty to use its default.",
                },
            ),
            (
                "Timing",
                {"fields": ["interval", "pending_for", "keep_firing_for", "repeat_interval"]},
            ),
            (
                "Schedule",
                {
                    "fields": [
                        "next_run_at",
                        "last_run_at",
                        "created_by",
                        "created_at",
                        "updated_at",
                    ],
                    "classes": ["collapse"],
                },
            ),
        ]

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []

    def add_view(self, request, form_url="", extra_context=None):
        if self.chosen_kind(request) is None:
            return TemplateResponse(
                request,
                "admin/alerts_app/alertrule/choose_kind.html",
                {
                    **self.admin_site.each_context(request),
                    "opts": self.model._meta,
                    "title": "Add alert rule: choose its kind",
                    "kinds": kind_choices(),
                },
            )
        return super().add_view(request, form_url, extra_context)

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        return initial | {"kind": self.chosen_kind(request)}

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        obj.kind = form.kind_name
        super().save_model(request, obj, form, change)
        for warning in form.warnings:  # saved anyway: the reference may come later
            self.message_user(request, warning, messages.WARNING)

    def get_urls(self):
        view = self.admin_site.admin_view(self.evaluate_view)
        preview = self.admin_site.admin_view(self.preview_view)
        return [
            path("<int:rule_id>/evaluate/", view, name="alerts_app_alertrule_evaluate"),
            path("preview/", preview, name="alerts_app_alertrule_preview"),
            *super().get_urls(),
        ]

    def preview_view(self, request):
        """POST the rule form as filled in (plus `preview_days`, and `rule_id` on a change
        form): the rule backtested without saving anything (`admin_preview`), as JSON."""
        if request.method != "POST":
            return JsonResponse({"errors": {"Form": ["POST the rule form."]}}, status=405)
        rule_id = request.POST.get("rule_id") or None
        obj = None
        if rule_id is not None:
            obj = get_object_or_404(AlertRule.objects.select_related("model"), pk=rule_id)
        allowed = (
            self.has_change_permission(request, obj) if obj else self.has_add_permission(request)
        )
        if not allowed:
            return JsonResponse({"errors": {"Form": ["You may not edit rules."]}}, status=403)
        if self.chosen_kind(request, obj) is None:
            return JsonResponse({"errors": {"Kind": ["Choose a kind first."]}}, status=400)
        form = self.get_form(request, obj, change=obj is not None)(request.POST, instance=obj)
        valid = form.is_valid()
        days, why = parse_days(request.POST.get("preview_days"), form.cleaned_data.get("interval"))
        errors = form_errors(form) | ({"Days": [why]} if why else {})
        if not valid or errors:
            return JsonResponse({"errors": errors}, status=400)
        return JsonResponse(preview(form.instance, days))

    def evaluate_view(self, request, rule_id: int):
        """GET: what Evaluate now will do, and a button; POST: evaluate and show it."""
        rule = get_object_or_404(AlertRule.objects.select_related("model"), id=rule_id)
        if request.method == "POST":
            return self.render_evaluations(request, [rule])
        return TemplateResponse(
            request,
            "admin/alerts_app/alertrule/evaluate_confirm.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": f"Evaluate {rule.name} now",
                "rule": rule,
                "meaning": EVALUATE_NOW_MEANING,
            },
        )

    def render_evaluations(self, request, rules):
        """Evaluate each rule now (`evaluate_now`: stored, applied to its alerts) and show
        the results; the message says what that meant."""
        rows = [evaluation_row(rule) for rule in rules]
        self.message_user(request, evaluation_message(rows), messages.INFO)
        return TemplateResponse(
            request,
            "admin/alerts_app/alertrule/evaluate.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": "Evaluate now",
                "rows": rows,
                "meaning": EVALUATE_NOW_MEANING,
            },
        )

    @admin.action(description="Evaluate now (store the result and apply it to the alerts)")
    def evaluate_now(self, request, queryset):
        return self.render_evaluations(request, list(queryset.select_related("model")[:50]))

    @admin.action(description="Enable the selected rules")
    def enable_rules(self, request, queryset):
        count = queryset.update(enabled=True, next_run_at=timezone.now())
        self.message_user(request, f"Enabled {count} rule(s).", messages.SUCCESS)

    @admin.action(description="Disable the selected rules")
    def disable_rules(self, request, queryset):
        count = queryset.update(enabled=False)
        self.message_user(request, f"Disabled {count} rule(s).", messages.SUCCESS)

    @admin.action(description="Silence the selected rules for 1 hour")
    def silence_for_an_hour(self, request, queryset):
        self.silence(request, queryset, timedelta(hours=1))

    @admin.action(description="Silence the selected rules for 24 hours")
    def silence_for_a_day(self, request, queryset):
        self.silence(request, queryset, timedelta(days=1))

    def silence(self, request, queryset, length: timedelta) -> None:
        now = timezone.now()
        Silence.objects.bulk_create(
            Silence(
                rule=rule,
                starts_at=now,
                ends_at=now + length,
                created_by=request.user,
                comment=f"Silenced from the rule list by {request.user}.",
            )
            for rule in queryset
        )
        self.message_user(
            request,
            f"Silenced {queryset.count()} rule(s) until "
            f"{timezone.localtime(now + length):%Y-%m-%d %H:%M}.",
        )


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    form = ChannelForm
    list_display = ["name", "kind", "target", "enabled", "shared_with_all_models", "created_at"]
    list_filter = ["kind", "enabled", "shared_with_all_models"]
    filter_horizontal = ["shared_models"]
    search_fields = ["name"]
    readonly_fields = ["used_by", "recent_deliveries"]
    actions = ["send_test", "enable_channels", "disable_channels"]

    def get_fieldsets(self, request, obj=None):
        main = [
            (
                None,
                {
                    "fields": [
                        "name",
                        "kind",
                        "target",
                        "enabled",
                        "shared_with_all_models",
                        "shared_models",
                    ]
                },
            )
        ]
        used = [("Where it is used", {"fields": ["used_by", "recent_deliveries"]})]
        return main + (used if obj is not None else [])

    @admin.display(description="address or URL")
    def target(self, channel: Channel) -> str:
        return channel.config.get("address") or channel.config.get("url") or ""

    @admin.display(description="rules sending here")
    def used_by(self, channel: Channel) -> str:
        return admin_links.channel_rule_links(channel) if channel.pk else "—"

    @admin.display(description="recent deliveries")
    def recent_deliveries(self, channel: Channel) -> str:
        return admin_links.delivery_links(channel) if channel.pk else "—"

    @admin.action(description="Send test notification")
    def send_test(self, request, queryset):
        for channel in queryset:
            try:
                send_test_notification(channel)
            except TransportError as exc:
                kind = "permanent" if exc.permanent else "transient"
                self.message_user(
                    request, f"{channel.name}: failed ({kind}): {exc.message}", messages.ERROR
                )
            else:
                self.message_user(
                    request, f"{channel.name}: test notification sent.", messages.SUCCESS
                )

    @admin.action(description="Enable the selected channels")
    def enable_channels(self, request, queryset):
        self.message_user(request, f"Enabled {queryset.update(enabled=True)} channel(s).")

    @admin.action(description="Disable the selected channels")
    def disable_channels(self, request, queryset):
        self.message_user(request, f"Disabled {queryset.update(enabled=False)} channel(s).")


@admin.register(Silence)
class SilenceAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "rule",
        "model",
        "starts_at",
        "ends_at",
        "active",
        "comment",
        "created_by",
    ]
    list_filter = ["model"]
    search_fields = ["comment", "rule__name", "model__name"]
    readonly_fields = ["created_by", "created_at"]
    fields = [
        "rule",
        "model",
        "matchers",
        "starts_at",
        "ends_at",
        "comment",
        "created_by",
        "created_at",
    ]
    form = SilenceForm

    @admin.display(boolean=True)
    def active(self, silence: Silence) -> bool:
        return silence.starts_at <= timezone.now() < silence.ends_at

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


class TransitionInline(ReadOnlyInline):
    model = AlertTransition
    fields = ["created_at", "event", "old", "new", "value", "threshold", "processed"]
    readonly_fields = fields


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin):
    list_display = [
        "fingerprint",
        "rule",
        "model_name",
        "feature",
        "state_badge",
        "value",
        "threshold",
        "started_at",
        "changed_at",
        "acknowledged_at",
    ]
    list_filter = ["state", "rule__severity", "rule__model"]
    list_select_related = ["rule__model", "version"]
    search_fields = ["fingerprint", "rule__name", "rule__model__name", "feature"]
    inlines = [TransitionInline]
    actions = ["acknowledge"]

    @admin.display(description="model")
    def model_name(self, alert: Alert) -> str:
        return alert.rule.model.name

    @admin.display(description="state", ordering="state")
    def state_badge(self, alert: Alert) -> str:
        return badge(alert.state)

    @admin.action(description="Acknowledge (stop reminders until resolved)")
    def acknowledge(self, request, queryset):
        now = timezone.now()
        done = [a for a in queryset if lifecycle.acknowledge(a.id, request.user, now)]
        self.message_user(
            request, f"Acknowledged {len(done)} alert(s); only pending or firing alerts can be."
        )


class DeliveryInline(ReadOnlyInline):
    model = Delivery
    fields = ["channel", "status", "attempts", "error", "sent_at", "next_attempt_at"]
    readonly_fields = fields


@admin.register(AlertTransition)
class AlertTransitionAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "alert", "event", "old", "new", "value", "threshold", "processed"]
    list_filter = ["event", "new"]
    list_select_related = ["alert"]
    search_fields = ["alert__fingerprint", "message"]
    inlines = [DeliveryInline]


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "transition", "channel", "status", "attempts", "error", "sent_at"]
    list_filter = ["status", "channel"]
    list_select_related = ["transition", "channel"]
    search_fields = ["error", "channel__name"]


@admin.register(CheckResult)
class CheckResultAdmin(ResultColumns, ReadOnlyAdmin):
    """A result as a per-feature table and its causes; the raw JSON folded below."""

    list_display = [
        "evaluated_at",
        "rule",
        "status",
        "shown_value",
        "shown_threshold",
        "version",
        "summary",
    ]
    list_filter = ["status", "rule__kind", "rule__model"]
    list_select_related = ["rule", "version"]
    search_fields = ["rule__name"]
    date_hierarchy = "evaluated_at"
    fields = [
        "rule_links",
        "version",
        "evaluated_at",
        "status_badge",
        "shown_value",
        "shown_threshold",
        "explanation",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("rule__model", "version")

    @admin.display(description="rule")
    def rule_links(self, result: CheckResult) -> str:
        edit = reverse("admin:alerts_app_alertrule_change", args=[result.rule_id])
        return format_html(
            '<a href="{}">{}</a> ({} on {}) · {}',
            edit,
            result.rule.name,
            result.rule.kind,
            result.rule.model.name,
            admin_links.rule_dashboard_links(result.rule),
        )

    @admin.display(description="result")
    def explanation(self, result: CheckResult) -> str:
        context = explain(
            result.status, result.value, result.threshold, result.details, result.rule.config
        )
        return render_to_string("admin/alerts_app/checkresult/_result.html", {"r": context})


from alerts_app import admin_routing  # noqa: E402,F401 - routing's admin (its own module)
