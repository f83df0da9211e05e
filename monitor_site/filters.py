"""django-filter's DRF backend, except that it refuses what it would read silently.

django-filter reads `?enabled=flase` (or `null`, `yes`) as "no filter" and answers the
whole list, which looks like a filtered answer, and reads a single-valued parameter given
twice (`?rule=1&rule=2`) as its last value. Here both answer 400 naming the parameter,
like any other bad query parameter.
"""

from django import forms
from django.core.exceptions import ValidationError
from django_filters import BaseInFilter, BooleanFilter, MultipleChoiceFilter
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.exceptions import ValidationError as BadRequest

TRUE, FALSE = frozenset({"true", "1"}), frozenset({"false", "0"})
MULTIPLE = (MultipleChoiceFilter, BaseInFilter)  # filters that take a parameter many times


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
        for name, declared in getattr(filterset, "filters", {}).items():
            if isinstance(declared, BooleanFilter):
                make_strict(declared)
            given = request.query_params.getlist(name) if request is not None else []
            if len(given) > 1 and not isinstance(declared, MULTIPLE):
                raise BadRequest({name: ["Give this parameter once."]})
        return filterset
