"""Who may do what over the API (docs/security.md).

- Anonymous: nothing (401).
- An ingest token: POST telemetry (metrics, predictions, labels, reference, parameters)
  of its own model, nothing else (403).
- A user: reads what their roles let them view; a model they may not view answers 404,
  as if it did not exist; a write they lack the role for answers 403. Over the API a
  browser session of a non-staff user only reads: writes need an API token.
- Staff and superusers: everything.
"""

from rest_framework import serializers
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.permissions import SAFE_METHODS, BasePermission

from models_app.models import Model
from monitor_site.access.authentication import ingest_token_of
from monitor_site.access.roles import (
    CHANGE,
    DELETE,
    EDIT,
    ROLE_PERMS,
    VIEW,
    has_model_perm,
    is_unrestricted,
    model_perms,
    visible_models,
)

TELEMETRY_ACTIONS = frozenset({"metrics", "predictions", "labels", "reference", "parameters"})
ROLE_NEEDED = {perm: role for role, perms in reversed(ROLE_PERMS.items()) for perm in perms}


def is_token_request(request) -> bool:
    return isinstance(request.successful_authenticator, TokenAuthentication)


def view_model_class(view):
    queryset = getattr(view, "queryset", None)
    return queryset.model if queryset is not None else None


def required_perm(request, view) -> str:
    """The model permission a request needs: view to read, edit to write, change/delete to
    update/delete the model itself (or what the view declares in `required_model_perm`)."""
    declared = getattr(view, "required_model_perm", None)
    if declared:
        return declared
    if request.method in SAFE_METHODS:
        return VIEW
    if view_model_class(view) is Model:
        action = getattr(view, "action", None)
        if action in ("update", "partial_update"):
            return CHANGE
        if action == "destroy":
            return DELETE
    return EDIT


def model_named(request, name: str) -> Model | None:
    """The model of the URL, looked up once per request."""
    cache = request.__dict__.setdefault("_modelwatch_models", {})
    if name not in cache:
        cache[name] = Model.objects.filter(name=name).first()
    return cache[name]


def check_model_perm(user, perm: str, model: Model | None) -> None:
    """404 when the model is missing or hidden from `user`; 403 when visible but not allowed."""
    held = model_perms(user, model) if model is not None else set()
    if VIEW not in held:
        raise NotFound("Not found.")
    if perm not in held:
        raise PermissionDenied(
            f'You need the {ROLE_NEEDED[perm]} role on model "{model.name}" to do this.')


def model_of(obj) -> Model | None:
    """The model an object belongs to (a model, a rule, an alert, a result), if any."""
    if isinstance(obj, Model):
        return obj
    if isinstance(getattr(obj, "model", None), Model):
        return obj.model
    rule = getattr(obj, "rule", None)
    return getattr(rule, "model", None) if rule is not None else None


def check_ingest_token(request, view, token) -> bool:
    allowed = (request.method == "POST" and view_model_class(view) is Model
               and getattr(view, "action", None) in TELEMETRY_ACTIONS
               and view.kwargs.get("name") == token.model.name)
    if not allowed:
        raise PermissionDenied(
            f'This ingest token may only send telemetry to model "{token.model.name}".')
    return True


class EditableModelField(serializers.SlugRelatedField):
    """A model named in a request body (a rule's `model`), checked on the object it names.

    The name may come as a JSON string or integer (`2024` names the model "2024"); either
    way the resolved model is what is checked: one the requesting user may not view
    answers exactly as one that does not exist (400), one they view without the editor
    role answers 403 with the role needed. Booleans, floats, lists and objects are no
    names (400 "Invalid value.", whether or not a model would match).
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(slug_field="name", queryset=Model.objects.all(), **kwargs)

    def to_internal_value(self, data) -> Model:
        if isinstance(data, bool) or not isinstance(data, str | int):
            self.fail("invalid")
        name = str(data)
        model = Model.objects.filter(name=name).first()
        user = getattr(self.context.get("request"), "user", None)
        if model is None or not has_model_perm(user, VIEW, model):
            self.fail("does_not_exist", slug_name=self.slug_field, value=name)
        check_model_perm(user, EDIT, model)
        return model


class ModelAccess(BasePermission):
    """The API's default permission: per-model roles, ingest tokens, staff (see module doc)."""

    message = "Over the API, writes need an API token (a browser session only reads)."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if (token := ingest_token_of(request)) is not None:
            return check_ingest_token(request, view, token)
        if is_unrestricted(user):
            return True
        if request.method not in SAFE_METHODS and not is_token_request(request):
            return False
        if (name := view.kwargs.get("name")) is not None:
            check_model_perm(user, required_perm(request, view), model_named(request, name))
        return True

    def has_object_permission(self, request, view, obj) -> bool:
        if ingest_token_of(request) is not None:
            return False
        model = model_of(obj)
        if model is not None and not is_unrestricted(request.user):
            check_model_perm(request.user, required_perm(request, view), model)
        return True


class ReadAuthenticatedWriteToken(ModelAccess):
    """The former name of `ModelAccess`, kept for settings that still name it."""


class IsStaff(BasePermission):
    message = "Only staff users may do this."

    def has_permission(self, request, view) -> bool:
        if (token := ingest_token_of(request)) is not None:
            return check_ingest_token(request, view, token)
        return bool(request.user and request.user.is_authenticated and request.user.is_staff)


class ModelScopeFilter:
    """A filter backend: lists and lookups only hold objects of models the user may view.

    Works for querysets of models, of anything with a `model` foreign key (rules) and of
    anything with a `rule` (alerts, results); other querysets (channels: staff only) pass.
    """

    def filter_queryset(self, request, queryset, view):
        if is_unrestricted(request.user):
            return queryset
        path = scope_path(queryset.model)
        if path is None:
            return queryset
        return queryset.filter(**{f"{path}__in": visible_models(request.user).values("pk")})

    def get_schema_operation_parameters(self, view) -> list:
        return []


def scope_path(model_class) -> str | None:
    if model_class is Model:
        return "pk"
    names = {f.name: f for f in model_class._meta.get_fields()}
    if "model" in names and getattr(names["model"], "related_model", None) is Model:
        return "model"
    if "rule" in names and getattr(names["rule"], "related_model", None) is not None:
        return "rule__model" if scope_path(names["rule"].related_model) == "model" else None
    return None
