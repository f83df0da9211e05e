"""The audit log: who changed which rule, channel, token, role or model, when, and how.

Signals record every save and delete of the tracked models with the fields that changed
(`{"field": [before, after]}`), and the rule's channels. The actor comes from the
request being served (`AuditMiddleware`: admin, API or dashboards; DRF sets the user it
authenticated on the Django request) or from `audit_context()` in management commands;
changes made outside both (workers, shell) are recorded as "system". Bulk `update()`s
bypass signals: only bookkeeping columns (last run, last seen) are written that way.
"""

import contextlib
import contextvars
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from urllib.parse import urlsplit

from django.apps import apps
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save

from access.models import AuditAction, AuditEntry

# app_label.Model -> fields left out (bookkeeping, secrets' hashes).
TRACKED: dict[str, set[str]] = {
    "models_app.Model": {"created_at", "updated_at", "last_seen_at"},
    "alerts_app.AlertRule": {"created_at", "updated_at", "last_run_at"},
    "alerts_app.Channel": {"created_at"},
    "access.IngestToken": {"key_hash", "last_used_at", "created_at"},
    "access.ModelRole": {"created_at"},
}
REDACTED = {"alerts_app.Channel": {"config"}}
SECRET_WORDS = ("secret", "token", "password", "key")


@dataclass
class AuditContext:
    source: str
    request: object = None
    actor: object = None
    entries: dict = field(default_factory=dict)


_current: contextvars.ContextVar[AuditContext | None] = contextvars.ContextVar(
    "modelwatch_audit", default=None
)


@contextlib.contextmanager
def audit_context(source: str = "command", actor=None):
    """Attribute changes made inside the block to `actor` (a user or None) from `source`."""
    token = _current.set(AuditContext(source=source, actor=actor))
    try:
        yield
    finally:
        _current.reset(token)


def source_of(path: str) -> str:
    if path.startswith("/admin/"):
        return "admin"
    return "api" if path.startswith("/api/") else "web"


class AuditMiddleware:
    """Make the request being served the author of the changes it causes."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _current.set(AuditContext(source=source_of(request.path), request=request))
        try:
            return self.get_response(request)
        finally:
            _current.reset(token)


def current_actor() -> tuple[object, str, str]:
    """(user or None, how to name the actor, source) for the change being recorded."""
    context = _current.get()
    if context is None:
        return None, "system", "system"
    who = context.actor
    if context.request is not None:
        who = getattr(context.request, "user", None)
    if who is None or not who.is_authenticated:
        return None, "anonymous" if context.request is not None else "system", context.source
    if getattr(who, "pk", None) is None:  # an ingest token's principal: named, not a user
        return None, str(who), context.source
    return who, who.get_username(), context.source


def label_of(instance) -> str:
    return instance._meta.label


def plain(value):
    """A JSON-friendly rendering of a field value."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def redact(value):
    """Secrets out of a channel config: URLs keep only scheme and host."""
    if isinstance(value, dict):
        return {
            k: ("***" if any(w in k.lower() for w in SECRET_WORDS) else redact(v))
            for k, v in value.items()
        }
    if isinstance(value, str) and value.startswith(("http://", "https://")):
        parts = urlsplit(value)
        return f"{parts.scheme}://{parts.hostname or ''}/…"
    return value


def field_value(instance, model_field):
    if model_field.is_relation:
        related_id = getattr(instance, model_field.attname)
        if related_id is None:
            return None
        try:
            return str(getattr(instance, model_field.name))
        except model_field.related_model.DoesNotExist:
            return related_id
    return plain(model_field.value_from_object(instance))


def snapshot(instance) -> dict:
    excluded = TRACKED[label_of(instance)]
    return {
        f.name: field_value(instance, f)
        for f in instance._meta.concrete_fields
        if f.name not in excluded and not f.primary_key
    }


def diff(label: str, before: dict, after: dict) -> dict:
    changes = {}
    for name in after:
        old, new = before.get(name), after[name]
        if old == new:
            continue
        if name in REDACTED.get(label, ()):
            old, new = redact(old), redact(new)
            if old == new:
                old, new = "(hidden)", "(hidden, changed)"
        changes[name] = [old, new]
    return changes


def record(instance, action: str, changes: dict) -> AuditEntry:
    actor, actor_repr, source = current_actor()
    entry = AuditEntry.objects.create(
        actor=actor,
        actor_repr=actor_repr[:200],
        source=source,
        action=action,
        object_type=label_of(instance),
        object_id=str(instance.pk),
        object_repr=str(instance)[:300],
        changes=changes,
    )
    if (context := _current.get()) is not None:
        context.entries[(entry.object_type, entry.object_id)] = entry
    return entry


def is_bookkeeping(instance, update_fields) -> bool:
    return update_fields is not None and set(update_fields) <= TRACKED[label_of(instance)]


def before_save(sender, instance, raw=False, update_fields=None, **kwargs) -> None:
    if raw or instance.pk is None or is_bookkeeping(instance, update_fields):
        return
    old = sender._default_manager.filter(pk=instance.pk).first()
    instance._audit_before = snapshot(old) if old is not None else None


def after_save(sender, instance, created, raw=False, update_fields=None, **kwargs) -> None:
    if raw or is_bookkeeping(instance, update_fields):
        return
    before = getattr(instance, "_audit_before", None)
    instance._audit_before = None
    after = snapshot(instance)
    if created or before is None:
        record(instance, AuditAction.CREATE, one_sided(instance, after, created=True))
    elif changes := diff(label_of(instance), before, after):
        record(instance, AuditAction.UPDATE, changes)


def one_sided(instance, values: dict, created: bool) -> dict:
    """The fields of a created (None -> value) or deleted (value -> None) object."""
    hidden = REDACTED.get(label_of(instance), set())
    shown = {
        k: redact(v) if k in hidden else v for k, v in values.items() if v not in (None, "", [], {})
    }
    return {k: [None, v] if created else [v, None] for k, v in shown.items()}


def after_delete(sender, instance, **kwargs) -> None:
    record(instance, AuditAction.DELETE, one_sided(instance, snapshot(instance), created=False))


def related_names(instance, accessor: str) -> list[str]:
    return sorted(str(obj) for obj in getattr(instance, accessor).all())


def channels_changed(sender, instance, action, reverse, **kwargs) -> None:
    """A rule's channels, before and after, merged into this request's entry for the rule."""
    if reverse or action not in {
        "pre_add",
        "pre_remove",
        "pre_clear",
        "post_add",
        "post_remove",
        "post_clear",
    }:
        return
    if action.startswith("pre_"):
        instance._audit_channels = related_names(instance, "channels")
        return
    before, after = getattr(instance, "_audit_channels", []), related_names(instance, "channels")
    if before == after:
        return
    context, key = _current.get(), (label_of(instance), str(instance.pk))
    entry = context.entries.get(key) if context is not None else None
    if entry is None:
        record(instance, AuditAction.UPDATE, {"channels": [before, after]})
        return
    first_before = entry.changes.get("channels", [before])[0]
    entry.changes["channels"] = [first_before, after]
    entry.save(update_fields=["changes"])


def connect() -> None:
    for label in TRACKED:
        model_class = apps.get_model(label)
        uid = f"audit:{label}"
        pre_save.connect(before_save, sender=model_class, dispatch_uid=uid)
        post_save.connect(after_save, sender=model_class, dispatch_uid=uid)
        post_delete.connect(after_delete, sender=model_class, dispatch_uid=uid)
    rule = apps.get_model("alerts_app.AlertRule")
    m2m_changed.connect(
        channels_changed, sender=rule.channels.through, dispatch_uid="audit:rule-channels"
    )
