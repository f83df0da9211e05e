"""Admin pages: role grants (also inline on each model), ingest tokens, the audit log."""

import json

from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from access import tokens
from access.models import AuditEntry, IngestToken, ModelRole


class GranterFormsetMixin:
    """Record who granted a role added through the inline."""

    def get_formset(self, request, obj=None, **kwargs):
        base = super().get_formset(request, obj, **kwargs)

        class RecordingFormset(base):
            def save_new(self, form, commit=True):
                form.instance.granted_by = request.user
                return super().save_new(form, commit)

        return RecordingFormset


class ModelRoleInline(GranterFormsetMixin, admin.TabularInline):
    """Roles on this model: viewer reads, editor writes telemetry and rules, admin manages."""

    model = ModelRole
    extra = 0
    fields = ["user", "group", "role", "granted_by", "created_at"]
    readonly_fields = ["granted_by", "created_at"]
    autocomplete_fields = ["user", "group"]
    verbose_name = "role"


@admin.register(ModelRole)
class ModelRoleAdmin(admin.ModelAdmin):
    list_display = ["model", "user", "group", "role", "granted_by", "created_at"]
    list_filter = ["role", "model"]
    search_fields = ["model__name", "user__username", "group__name"]
    autocomplete_fields = ["model", "user", "group"]
    readonly_fields = ["granted_by", "created_at"]
    list_select_related = ["model", "user", "group", "granted_by"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.granted_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(IngestToken)
class IngestTokenAdmin(admin.ModelAdmin):
    """Tokens that may only write one model's telemetry; the key is shown once, on creation."""

    list_display = [
        "name",
        "model",
        "prefix",
        "status",
        "expires_at",
        "last_used_at",
        "created_by",
        "created_at",
    ]
    list_filter = ["revoked", "model"]
    search_fields = ["name", "prefix", "model__name"]
    list_select_related = ["model", "created_by"]
    readonly_fields = ["prefix", "created_by", "created_at", "last_used_at"]
    autocomplete_fields = ["model"]
    actions = ["revoke_tokens"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["model", "name", "expires_at"]
        return [
            "model",
            "name",
            "prefix",
            "expires_at",
            "revoked",
            "created_by",
            "created_at",
            "last_used_at",
        ]

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields + (["model"] if obj else [])

    @admin.display(description="status")
    def status(self, token: IngestToken) -> str:
        if token.revoked:
            return "revoked"
        return "active" if token.is_usable(timezone.now()) else "expired"

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        key = tokens.new_key()
        tokens.set_key(obj, key)
        obj.created_by = request.user
        obj.save()
        request._modelwatch_ingest_key = key

    def response_add(self, request, obj, post_url_continue=None):
        return TemplateResponse(
            request,
            "access/token_created.html",
            {
                **self.admin_site.each_context(request),
                "title": "Ingest token created",
                "token": obj,
                "key": request._modelwatch_ingest_key,
                "opts": self.opts,
            },
        )

    @admin.action(description="Revoke the selected tokens")
    def revoke_tokens(self, request, queryset):
        count = 0
        for token in queryset.filter(revoked=False):
            tokens.revoke(token)
            count += 1
        messages.success(request, f"Revoked {count} token{'s' if count != 1 else ''}.")


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read-only: what changed, who changed it, when and from where."""

    list_display = [
        "created_at",
        "actor_repr",
        "source",
        "action",
        "object_type",
        "object_repr",
        "changed_fields",
    ]
    list_filter = ["action", "object_type", "source"]
    search_fields = ["object_repr", "object_id", "actor_repr"]
    date_hierarchy = "created_at"
    fields = [
        "created_at",
        "actor_repr",
        "actor",
        "source",
        "action",
        "object_type",
        "object_id",
        "object_repr",
        "changes_table",
    ]
    readonly_fields = fields

    @admin.display(description="fields")
    def changed_fields(self, entry: AuditEntry) -> str:
        return ", ".join(sorted(entry.changes))

    @admin.display(description="changes")
    def changes_table(self, entry: AuditEntry) -> str:
        if not entry.changes:
            return "—"
        rows = format_html_join(
            "",
            "<tr><th>{}</th><td><code>{}</code></td><td><code>{}</code></td></tr>",
            (
                (name, json.dumps(old, default=str), json.dumps(new, default=str))
                for name, (old, new) in sorted(entry.changes.items())
            ),
        )
        return format_html(
            "<table><tr><th>field</th><th>before</th><th>after</th></tr>{}</table>", rows
        )

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
