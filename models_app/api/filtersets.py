import django_filters
from django.db import connection
from django.db.models import Q
from django.db.models.expressions import RawSQL

from models_app.models import Model, Task

MULTIPLE = (django_filters.MultipleChoiceFilter, django_filters.BaseInFilter)


class StrictFilterSet(django_filters.FilterSet):
    """A filter set that refuses a single-valued parameter given more than once
    (`?rule=1&rule=2` is a 400 naming `rule`), instead of silently reading the last one."""

    def is_valid(self) -> bool:
        valid = super().is_valid()
        getlist = getattr(self.data, "getlist", None)
        for name, declared in self.filters.items():
            if getlist is not None and not isinstance(declared, MULTIPLE):
                if len(getlist(name)) > 1:
                    self.form.add_error(
                        None if name not in self.form.fields else name, "Give this parameter once."
                    )
                    valid = False
        return valid


class ModelFilterSet(StrictFilterSet):
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
