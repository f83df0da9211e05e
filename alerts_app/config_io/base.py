"""What every section of a configuration file shares (docs/config-as-code.md).

A section (models, channels, rules, ...) is one list in the file. It says how an entry
is named (its key), how a server object is written out, and how an entry is saved
through the API's own serializers, so that a bad entry is refused with the API's message
under its path in the file: `rules[3].config.threshold: This field is required.`
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from types import SimpleNamespace

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework.exceptions import ValidationError as DrfValidationError

NON_FIELD = ("non_field_errors", "__all__")


class ConfigError(Exception):
    """Refusals by path in the file: {"rules[3].config.threshold": ["message"]}."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("\n".join(f"{path}: {m}" for path, ms in errors.items() for m in ms))
        self.errors = errors


def error_paths(prefix: str, detail) -> dict[str, list[str]]:
    """A DRF or Django error structure flattened to {path: [messages]} under `prefix`.

    `{"config": {"threshold": ["..."]}}` under `rules[3]` is `rules[3].config.threshold`;
    a list of per-item errors (`features`, many=True) is indexed: `features[2].type`.
    """
    if isinstance(detail, DjangoValidationError):
        detail = detail.message_dict if hasattr(detail, "error_dict") else detail.messages
    if isinstance(detail, DrfValidationError):
        detail = detail.detail
    if isinstance(detail, dict):
        found: dict[str, list[str]] = {}
        for key, value in detail.items():
            if key in NON_FIELD:
                path = prefix
            elif isinstance(key, int):  # a ListField's errors by index
                path = f"{prefix}[{key}]"
            else:
                path = join(prefix, str(key))
            for inner, messages in error_paths(path, value).items():
                found.setdefault(inner, []).extend(messages)
        return found
    if isinstance(detail, list) and any(isinstance(item, dict | list) for item in detail):
        found = {}
        for index, item in enumerate(detail):
            found.update(error_paths(f"{prefix}[{index}]", item) if item else {})
        return found
    messages = detail if isinstance(detail, list) else [detail]
    return {prefix or "(file)": [str(message) for message in messages]}


def join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def refuse(path: str, message: str) -> None:
    raise ConfigError({path: [message]})


@dataclass
class Change:
    """One object the apply creates, updates or deletes, with its changed fields."""

    action: str  # create | update | delete
    section: str  # the file's list: "rules"
    key: str  # its name there: "credit-risk/Score drift"
    fields: dict[str, tuple] = field(default_factory=dict)  # path -> (old, new)

    def as_dict(self) -> dict:
        return {
            "action": self.action,
            "section": self.section,
            "key": self.key,
            "fields": {path: {"old": old, "new": new} for path, (old, new) in self.fields.items()},
        }

    def lines(self) -> list[str]:
        sign = {"create": "+", "update": "~", "delete": "-"}[self.action]
        head = f"{sign} {self.action} {self.section} {self.key}"
        return [head] + [
            f"    {path}: {old!r} -> {new!r}" for path, (old, new) in self.fields.items()
        ]


SECRET_SHOWN = "(secret)"


def field_changes(before: dict | None, after: dict | None, secret_paths=()) -> dict:
    """{path: (old, new)} of what differs between two states, nested mappings walked
    (`config.threshold`); secret values are shown as "(secret)", never in clear."""
    before, after = before or {}, after or {}
    changes = {}
    for key in [*before, *(k for k in after if k not in before)]:
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if isinstance(old, dict) and isinstance(new, dict):
            inner = field_changes(old, new, ())
            changes.update({f"{key}.{path}": value for path, value in inner.items()})
        else:
            changes[key] = (old, new)
    return {
        path: (
            (SECRET_SHOWN if old is not None else None),
            (SECRET_SHOWN if new is not None else None),
        )
        if any(path == s or path.startswith(s + ".") for s in secret_paths)
        else (old, new)
        for path, (old, new) in changes.items()
    }


class CommandLineUser(SimpleNamespace):
    """Who `manage.py apply_config` acts as: whoever runs it holds the database anyway, so
    it may do what staff may (access.roles.is_unrestricted). Not a database user: rules it
    creates have no `created_by` and count against no user's rule limit."""

    is_authenticated = is_active = is_staff = is_superuser = True
    pk = id = -1  # access.roles.model_perms asks for a truthy pk before anything else
    username = "manage.py"


def is_command_line(user) -> bool:
    return isinstance(user, CommandLineUser)


@dataclass
class Context:
    """What saving an entry needs: the user it acts for and the environment secrets are
    read from."""

    user: object
    environ: dict
    keys: dict = field(default_factory=dict)  # section name -> the keys the file names

    @property
    def request(self) -> SimpleNamespace:
        return SimpleNamespace(user=self.user)  # what the serializers read from the context

    @property
    def database_user(self):
        return None if is_command_line(self.user) else self.user


class Section:
    """One list of the file. Subclasses say how entries are named, exported and saved."""

    name = ""  # the key in the file
    fields: tuple[str, ...] = ()  # what an entry may hold, in the order it is written
    secret_paths: tuple[str, ...] = ()  # paths of the state never shown in a diff

    def queryset(self, scope):
        """The server's objects in the file's order (`scope`: document.Scope)."""
        raise NotImplementedError

    def objects(self, scope) -> list:
        """What an export writes, in order (a tree may need more than a sort)."""
        return list(self.queryset(scope))

    def key(self, entry: dict) -> str:
        raise NotImplementedError

    def key_of(self, obj) -> str:
        raise NotImplementedError

    def export(self, obj) -> dict:
        raise NotImplementedError

    def state(self, obj) -> dict:
        """What an apply compares (the export, plus what it leaves out, e.g. secrets)."""
        return self.export(obj)

    def unchanged(self, entry: dict, instance, context: Context) -> bool:
        """Whether `entry` is exactly what an export writes for `instance`."""
        return entry == self.export(instance)

    def save(self, entry: dict, instance, context: Context):
        """Create or update from a file entry; raise ConfigError with paths inside the
        entry (`config.threshold`), which the caller prefixes with the entry's path."""
        raise NotImplementedError

    def delete(self, obj) -> None:
        obj.delete()

    def reload(self, obj):
        return self.queryset(None).get(pk=obj.pk)


def sorted_mapping(value):
    """Mappings with their keys sorted, all the way down: PostgreSQL's jsonb does not keep
    the order keys were written in, and a stable file diffs well."""
    if isinstance(value, dict):
        return {key: sorted_mapping(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [sorted_mapping(item) for item in value]
    return value


def names(items: Iterable) -> list[str]:
    return sorted(str(getattr(item, "name", item)) for item in items)
