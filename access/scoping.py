"""Which objects a user may see: those of the models they may view (docs/security.md).

One rule for every list and lookup, over the API (`access.permissions.ModelScopeFilter`)
and on the dashboards: a queryset of models, of anything with a `model` foreign key
(rules) or of anything with a `rule` (alerts, results) holds only the objects of models
the user may view; other querysets (channels: staff only) are left as they are.
"""

from django.db.models import QuerySet

from access.roles import is_unrestricted, visible_models
from models_app.models import Model


def scope_path(model_class) -> str | None:
    """The lookup from `model_class` to the `Model` it belongs to ("pk", "model",
    "rule__model"), or None when it belongs to no model."""
    if model_class is Model:
        return "pk"
    names = {f.name: f for f in model_class._meta.get_fields()}
    if "model" in names and getattr(names["model"], "related_model", None) is Model:
        return "model"
    if "rule" in names and getattr(names["rule"], "related_model", None) is not None:
        return "rule__model" if scope_path(names["rule"].related_model) == "model" else None
    return None


def scoped(queryset: QuerySet, user) -> QuerySet:
    """`queryset` without the objects of models `user` may not view (unchanged for staff)."""
    if is_unrestricted(user):
        return queryset
    path = scope_path(queryset.model)
    if path is None:
        return queryset
    return queryset.filter(**{f"{path}__in": visible_models(user).values("pk")})


def model_of(obj) -> Model | None:
    """The model an object belongs to (a model, a rule, an alert, a result), if any."""
    if isinstance(obj, Model):
        return obj
    if isinstance(getattr(obj, "model", None), Model):
        return obj.model
    rule = getattr(obj, "rule", None)
    return getattr(rule, "model", None) if rule is not None else None
