"""Per-model roles on top of django-guardian object permissions.

A role is a set of permissions on `models_app.Model`: viewer reads (dashboards and API),
editor also writes telemetry and rules, admin also updates and deletes the model and
grants roles. A role is held on one model (a `ModelRole` row, mirrored into guardian's
object permissions) or on every model (membership of an "all models: ROLE" group, whose
global permissions guardian's queries accept). Staff and superusers may do everything.
"""

from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import QuerySet
from django.db.models.signals import post_delete, post_migrate, post_save, pre_save
from django.dispatch import receiver
from guardian.core import ObjectPermissionChecker
from guardian.models import GroupObjectPermission, UserObjectPermission
from guardian.shortcuts import assign_perm, get_objects_for_user, remove_perm

from access.models import ModelRole, Role
from models_app.models import Model

VIEW, EDIT, CHANGE, DELETE = "view_model", "edit_model", "change_model", "delete_model"
EDIT_PERMISSION_NAME = "Can write telemetry and rules of model"
ROLE_PERMS: dict[str, tuple[str, ...]] = {
    Role.VIEWER: (VIEW,),
    Role.EDITOR: (VIEW, EDIT),
    Role.ADMIN: (VIEW, EDIT, CHANGE, DELETE),
}
ALL_PERMS = ROLE_PERMS[Role.ADMIN]


def global_group_name(role: str) -> str:
    return f"all models: {role}"


def is_unrestricted(user) -> bool:
    return bool(user and user.is_authenticated and (user.is_staff or user.is_superuser))


def model_perms(user, model: Model) -> set[str]:
    """The codenames `user` holds on `model`: global grants (groups included, cached on
    the user by Django) and guardian object grants (user's and groups', one checker)."""
    if not (user and user.is_authenticated and user.is_active and user.pk):
        return set()
    if is_unrestricted(user):
        return set(ALL_PERMS)
    held = {p.split(".", 1)[1] for p in user.get_all_permissions() if p.startswith("models_app.")}
    return held | set(ObjectPermissionChecker(user).get_perms(model))


def has_model_perm(user, codename: str, model: Model) -> bool:
    """Whether `user` holds `codename` on `model`: staff, a global grant or an object grant."""
    return codename in model_perms(user, model)


def visible_models(user) -> QuerySet:
    """The models `user` may view (all of them for staff; none for anonymous)."""
    if is_unrestricted(user):
        return Model.objects.all()
    if not (user and user.is_authenticated and user.is_active and user.pk):
        return Model.objects.none()
    return get_objects_for_user(user, f"models_app.{VIEW}", Model)


def editable_model_ids(user) -> set[int]:
    """Ids of the models whose telemetry, rules and alerts `user` may change (editor+)."""
    if is_unrestricted(user):
        return set(Model.objects.values_list("pk", flat=True))
    if not (user and user.is_authenticated and user.is_active and user.pk):
        return set()
    editable = get_objects_for_user(user, [f"models_app.{VIEW}", f"models_app.{EDIT}"], Model)
    return set(editable.values_list("pk", flat=True))


def role_of(user, model: Model) -> str | None:
    """The strongest role `user` has on `model` (None: not even viewer)."""
    held = model_perms(user, model)
    for role in (Role.ADMIN, Role.EDITOR, Role.VIEWER):
        if held.issuperset(ROLE_PERMS[role]):
            return role
    return None


def grant(model: Model, principal, role: str, granted_by=None) -> ModelRole:
    """Give a user or group `role` on `model` (replacing the role it had there)."""
    key = {"group": principal} if isinstance(principal, Group) else {"user": principal}
    grant_row, created = ModelRole.objects.get_or_create(
        model=model, **key, defaults={"role": role, "granted_by": granted_by}
    )
    if not created and grant_row.role != role:
        grant_row.role, grant_row.granted_by = role, granted_by
        grant_row.save()
    return grant_row


def revoke(model: Model, principal) -> bool:
    key = {"group": principal} if isinstance(principal, Group) else {"user": principal}
    grant_row = ModelRole.objects.filter(model=model, **key).first()
    if grant_row is not None:
        grant_row.delete()
    return grant_row is not None


def _strip(principal, model: Model) -> None:
    for perm in ALL_PERMS:
        remove_perm(perm, principal, model)


@receiver(pre_save, sender=ModelRole)
def _forget_previous_grant(sender, instance: ModelRole, **kwargs) -> None:
    """An edited grant (other principal, model or role) first loses what it gave."""
    if instance.pk and (old := ModelRole.objects.filter(pk=instance.pk).first()):
        _strip(old.principal, old.model)


@receiver(post_save, sender=ModelRole)
def _mirror_grant(sender, instance: ModelRole, **kwargs) -> None:
    _strip(instance.principal, instance.model)
    for perm in ROLE_PERMS[instance.role]:
        assign_perm(perm, instance.principal, instance.model)


@receiver(post_delete, sender=ModelRole)
def _drop_grant(sender, instance: ModelRole, **kwargs) -> None:
    try:
        _strip(instance.principal, instance.model)
    except (Model.DoesNotExist, ObjectDoesNotExist):  # cascading from a deleted principal
        pass


@receiver(post_save, sender=Model)
def _owner_is_admin(sender, instance: Model, created: bool, **kwargs) -> None:
    """Whoever registers a model becomes its admin."""
    if created and instance.owner_id and not kwargs.get("raw"):
        grant(instance, instance.owner, Role.ADMIN, granted_by=instance.owner)


@receiver(post_delete, sender=Model)
def _drop_object_permissions(sender, instance: Model, **kwargs) -> None:
    """No permission outlives its model (a reused id must not inherit them)."""
    content_type = ContentType.objects.get_for_model(Model)
    for table in (UserObjectPermission, GroupObjectPermission):
        table.objects.filter(content_type=content_type, object_pk=str(instance.pk)).delete()


def ensure_roles(**kwargs) -> None:
    """The custom permission and the three "all models" groups (after migrate and flush)."""
    content_type = ContentType.objects.get_for_model(Model)
    Permission.objects.get_or_create(
        content_type=content_type, codename=EDIT, defaults={"name": EDIT_PERMISSION_NAME}
    )
    for role, codenames in ROLE_PERMS.items():
        group, _ = Group.objects.get_or_create(name=global_group_name(role))
        group.permissions.add(
            *Permission.objects.filter(content_type=content_type, codename__in=codenames)
        )


def connect_post_migrate(app_config) -> None:
    post_migrate.connect(ensure_roles, sender=app_config, dispatch_uid="access.ensure_roles")
