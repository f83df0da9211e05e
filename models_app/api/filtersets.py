import django_filters
from django.db import connection
from django.db.models import Q
from django.db.models.expressions import RawSQL

from models_app.models import Model, Task


class ModelFilterSet(django_filters.FilterSet):
    task = django_filters.ChoiceFilter(choices=Task.choices)
    tag = django_filters.CharFilter(method="filter_tag", help_text="Models carrying this tag.")
    search = django_filters.CharFilter(
        method="filter_search", help_text="Name or description contains."
    )

    class Meta:
        model = Model
        fields = ["task", "tag", "search"]

    def filter_tag(self, queryset, name, value):
        if connection.vendor == "postgresql":
            return queryset.filter(tags__contains=[value])
        # SQLite has no JSON containment: look inside the array with json_each.
        ids = RawSQL(
            "SELECT m.id FROM models_app_model m, json_each(m.tags) t WHERE t.value = %s",
            (value,),
        )
        return queryset.filter(id__in=ids)

    def filter_search(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(description__icontains=value))
