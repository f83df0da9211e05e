"""django-filter's DRF backend, except that a boolean filter refuses what it cannot read.

django-filter reads `?enabled=flase` (or `null`, `yes`) as "no filter" and answers the
whole list, which looks like a filtered answer. Here such a value answers 400 naming
the parameter, like any other bad query parameter.
"""

from django import forms
from django.core.exceptions import ValidationError
from django_filters import BooleanFilter
from django_filters.rest_framework import DjangoFilterBackend

TRUE, FALSE = frozenset({"true", "1"}), frozenset({"false", "0"})


class StrictBooleanField(forms.Field):
    widget = forms.TextInput

    def to_python(self, value) -> bool | None:
        if value in self.empty_values:
            return None
        text = str(value).strip().lower()
        if text in TRUE or text in FALSE:
            return text in TRUE
        raise ValidationError('Must be "true" or "false".', code="invalid")


def make_strict(boolean: BooleanFilter) -> None:
    boolean.field_class = StrictBooleanField
    boolean.extra.pop("widget", None)
    boolean.__dict__.pop("_field", None)  # a field built before (e.g. by the schema)


class StrictFilterBackend(DjangoFilterBackend):
    def get_filterset(self, request, queryset, view):
        filterset = super().get_filterset(request, queryset, view)
        for boolean in getattr(filterset, "filters", {}).values():
            if isinstance(boolean, BooleanFilter):
                make_strict(boolean)
        return filterset
