"""Who may do what over the API (docs/security.md).

- Anonymous: nothing (401).
- An ingest token: POST telemetry (metrics, predictions, labels, reference, parameters,
  profiles) of its own model, and GET the profile specs that the SDK profiles with;
  nothing else (403).
- A user: reads what their roles let them view; a model they may not view answers 404,
  as if it did not exist; a write they lack the role for answers 403. Over the API a
  browser session of a non-staff user only reads: writes need an API token.
- Staff and superusers: everything.
"""

from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.permissions import SAFE_METHODS, BasePermission

from access.authentication import ingest_token_of
from access.roles import CHANGE, DELETE, EDIT, ROLE_PERMS, VIEW, is_unrestricted, model_perms
from access.scoping import model_of, scoped
from models_app.models import Model

TELEMETRY_ACTIONS = frozenset(
    {"metrics", "predictions", "labels", "reference", "parameters", "profiles"}
)
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
            f'You need the {ROLE_NEEDED[perm]} role on model "{model.name}" to do this.'
        )


def check_ingest_token(request, view, token) -> bool:
    action = getattr(view, "action", None)
    allowed = (
        (request.method == "POST" and action in TELEMETRY_ACTIONS or action == "profiles")
        and view_model_class(view) is Model
        and view.kwargs.get("name") == token.model.name
    )
    if not allowed:
        raise PermissionDenied(
            f'This ingest token may only send telemetry to model "{token.model.name}".'
        )
    return True


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


class IsStaff(BasePermission):
    message = "Only staff users may do this."

    def has_permission(self, request, view) -> bool:
        if (token := ingest_token_of(request)) is not None:
            return check_ingest_token(request, view, token)
        return bool(request.user and request.user.is_authenticated and request.user.is_staff)


class ModelScopeFilter:
    """A filter backend: lists and lookups only hold objects of models the user may view
    (`access.scoping.scoped`)."""

    def filter_queryset(self, request, queryset, view):
        return scoped(queryset, request.user)

    def get_schema_operation_parameters(self, view) -> list:
        return []
