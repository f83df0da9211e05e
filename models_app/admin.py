from django.contrib import admin

from access.admin import ModelRoleInline
from models_app.models import MetricPoint, Model, ModelVersion, Reference


class ModelVersionInline(admin.TabularInline):
    model = ModelVersion
    extra = 0
    fields = ["version", "created_at", "notes"]


@admin.register(Model)
class ModelAdmin(admin.ModelAdmin):
    list_display = ["name", "task", "framework", "owner", "last_seen_at", "created_at"]
    list_filter = ["task", "framework", "created_at"]
    search_fields = ["name", "description", "framework"]
    readonly_fields = ["created_at", "updated_at", "last_seen_at"]
    inlines = [ModelVersionInline, ModelRoleInline]


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ["model", "version", "created_at"]
    list_filter = ["model"]
    search_fields = ["model__name", "version", "notes"]


@admin.register(MetricPoint)
class MetricPointAdmin(admin.ModelAdmin):
    list_display = ["model", "version", "name", "stage", "value", "step", "timestamp"]
    list_filter = ["stage", "model"]
    search_fields = ["name"]
    list_select_related = ["model", "version"]
    show_full_result_count = False


@admin.register(Reference)
class ReferenceAdmin(admin.ModelAdmin):
    list_display = ["version", "source", "n_rows", "created_at"]
    list_select_related = ["version__model"]
