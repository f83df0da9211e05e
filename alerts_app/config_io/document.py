"""The whole configuration file: export it, check it, apply it (docs/config-as-code.md).

SECTIONS are applied in their order (what an entry names must exist first: models, then
channels, then the rules and policies that use both, then inhibit rules and silences)
and pruned in the reverse order. One apply
is one transaction: it saves every entry that differs from the server (an entry equal
to its object writes nothing, so a second apply is a no-op), collects every refusal
with its path, and commits only when there are none; a dry run rolls back at the end,
so its diff is exactly what the apply would do.
"""

from dataclasses import dataclass

import yaml
from django.db import transaction

from alerts_app.config_io import (
    channels,
    inhibit_rules,
    monitored_models,
    policies,
    rules,
    silences,
)
from alerts_app.config_io.base import Change, ConfigError, Context, Section, field_changes
from alerts_app.models import Channel
from models_app.models import Model

FORMAT = 1
SECTIONS: tuple[Section, ...] = (
    monitored_models.SECTION,
    channels.SECTION,
    rules.SECTION,
    policies.SECTION,
    inhibit_rules.SECTION,
    silences.SECTION,
)
HEADER = "# ModelWatch configuration: manage.py apply_config FILE (docs/config-as-code.md)\n"


@dataclass
class Scope:
    """What an export holds: `models` (querysets of ids) and their rules; `channels`
    (None: no channels section); `full`: also the sections that belong to no one model
    (policies, inhibit rules, silences)."""

    models: object
    channels: object
    full: bool


def whole_server() -> Scope:
    return Scope(
        models=Model.objects.values("pk"), channels=Channel.objects.values("pk"), full=True
    )


def some_models(models, with_channels: bool = True) -> Scope:
    """Those models, their rules and (`with_channels`) the channels their rules use."""
    used = Channel.objects.filter(rules__model__in=models).values("pk")
    return Scope(models=models.values("pk"), channels=used if with_channels else None, full=False)


def sections_of(scope: Scope) -> list[Section]:
    if scope.full:
        return list(SECTIONS)
    local = {"models", "rules"} | ({"channels"} if scope.channels is not None else set())
    return [section for section in SECTIONS if section.name in local]


def export_document(scope: Scope) -> dict:
    """{"version": 1, "models": [...], "channels": [...], "rules": [...], ...}."""
    document: dict = {"version": FORMAT}
    for section in sections_of(scope):
        document[section.name] = [section.export(obj) for obj in section.objects(scope)]
    return document


# libyaml's C loader and dumper when PyYAML was built with it (10-20x faster), else Python's.
FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
FAST_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def dump_yaml(document: dict) -> str:
    """Stable YAML: keys in the order the sections write them, block style, no wrapping."""
    body = yaml.dump(
        document,
        Dumper=FAST_DUMPER,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=10**6,
    )
    return HEADER + body


def load_yaml(text: str | bytes) -> dict:
    """The parsed file (safe YAML, no aliases), or ConfigError("(file)": the parser's message).

    Aliases (`*name`) are refused: an aliased document can expand to far more than it
    weighs. They are looked for in the event stream first, then the file is loaded.
    """
    try:
        for event in yaml.parse(text, Loader=FAST_LOADER):
            if isinstance(event, yaml.AliasEvent):
                mark = event.start_mark
                raise ConfigError(
                    {"(file)": [f"Aliases (*name) are not accepted (line {mark.line + 1})."]}
                )
        return yaml.load(text, Loader=FAST_LOADER)  # noqa: S506 (a safe loader)
    except yaml.YAMLError as exc:
        raise ConfigError({"(file)": [f"Not valid YAML: {exc}"]}) from None
    except RecursionError:
        raise ConfigError({"(file)": ["Nested too deeply."]}) from None


def check_structure(document) -> None:
    """A mapping of known sections, each a list of mappings with known fields, holding
    only JSON values (a YAML date or `.nan` is refused where it stands)."""
    if not isinstance(document, dict):
        raise ConfigError({"(file)": ["Expected a mapping of sections, e.g. {models: [...]}."]})
    known = {"version"} | {s.name for s in SECTIONS}
    errors = {
        str(key): [f"Unknown section. Known: {sorted(known)}."]
        for key in document
        if key not in known
    }
    if document.get("version", FORMAT) != FORMAT:
        errors["version"] = [f"Unsupported format version; this server reads version {FORMAT}."]
    for section in SECTIONS:
        errors.update(entry_problems(section, document.get(section.name, [])))
    errors.update(json_problems("", {k: v for k, v in document.items() if k != "version"}))
    if errors:
        raise ConfigError(errors)


def entry_problems(section: Section, entries) -> dict[str, list[str]]:
    if not isinstance(entries, list):
        return {section.name: ["Expected a list."]}
    errors = {}
    for index, entry in enumerate(entries):
        path = f"{section.name}[{index}]"
        if not isinstance(entry, dict):
            errors[path] = ["Expected a mapping."]
            continue
        for key in entry:
            if key not in section.fields:
                errors[f"{path}.{key}"] = [f"Unknown field. Known: {list(section.fields)}."]
    return errors


def json_problems(path: str, value) -> dict[str, list[str]]:
    """Values a JSON body could not hold (PostgreSQL's jsonb neither), by path."""
    stack, errors = [(path, value)], {}
    while stack:
        here, item = stack.pop()
        if isinstance(item, dict):
            for key, child in item.items():
                if not isinstance(key, str):
                    errors[here or "(file)"] = [f"Keys must be strings; {key!r} is not."]
                else:
                    stack.append((f"{here}.{key}" if here else key, child))
        elif isinstance(item, list):
            stack.extend((f"{here}[{i}]", child) for i, child in enumerate(item))
        elif isinstance(item, float) and item != item or item in (float("inf"), float("-inf")):
            errors[here] = ["Not a finite number."]
        elif isinstance(item, str) and "\x00" in item:
            errors[here] = ["The NUL character (\\u0000) cannot be stored."]
        elif item is not None and not isinstance(item, str | int | float | bool):
            errors[here] = [f"Not a JSON value ({type(item).__name__}): write it in quotes."]
    return errors


def apply_document(document, user, environ, prune: bool = False, dry_run: bool = False):
    """Make the server match `document`; answers the changes, or raises ConfigError.

    Only the sections the file holds are applied (and, with `prune`, pruned: a section
    left out of the file is left alone).
    """
    check_structure(document)
    context, changes, errors = Context(user=user, environ=environ), [], {}
    present = [s for s in SECTIONS if s.name in document]
    context.keys = {s.name: {s.key(e) for e in document[s.name]} for s in present}
    with transaction.atomic():
        named = {}
        for section in present:
            named[section.name] = upsert(section, document[section.name], context, changes, errors)
        if errors:
            raise ConfigError(errors)
        if prune:
            for section in reversed(present):
                changes += remove_unnamed(section, named[section.name])
            check_nothing_named_was_lost(present, named)
        if dry_run:
            transaction.set_rollback(True)
    return changes


def check_nothing_named_was_lost(present: list[Section], named: dict) -> None:
    """ConfigError when pruning took an object the file names along with what it belongs
    to (a rule with its model, a policy with its parent) that the file does not name."""
    errors = {}
    for section in present:
        lost = sorted(named[section.name] - set(existing_objects(section)))
        if lost:
            errors[section.name] = [
                f'"{key}" is in the file, but --prune deletes it with what it belongs to '
                "(its model, its parent policy), which the file does not name."
                for key in lost
            ]
    if errors:
        raise ConfigError(errors)


def existing_objects(section: Section) -> dict[str, list]:
    found: dict[str, list] = {}
    for obj in section.queryset(None):
        found.setdefault(section.key_of(obj), []).append(obj)
    return found


def upsert(section: Section, entries: list, context, changes: list, errors: dict) -> set[str]:
    """Save each entry of one section (a savepoint each); answers the keys it names."""
    existing, seen = existing_objects(section), {}
    for index, entry in enumerate(entries):
        path, key = f"{section.name}[{index}]", section.key(entry)
        if key in seen:
            errors[path] = [f'Names the same object ("{key}") as {section.name}[{seen[key]}].']
            continue
        seen[key] = index
        found = existing.get(key, [])
        if len(found) > 1:
            errors[path] = [f'{len(found)} objects on the server are named "{key}": rename one.']
            continue
        try:
            change = save_entry(section, entry, found[0] if found else None, context)
        except ConfigError as exc:
            errors.update(prefixed(path, exc.errors))
            continue
        if change is not None:
            changes.append(change)
    return set(seen)


def save_entry(section: Section, entry: dict, instance, context) -> Change | None:
    """Save one entry in a savepoint, kept only if the object's state changed.

    An entry that is already what the server exports for its object (a file exported and
    applied again) is not saved at all, and not validated again.
    """
    if instance is not None and section.unchanged(entry, instance, context):
        return None
    before = section.state(instance) if instance is not None else None  # saving changes it
    savepoint = transaction.savepoint()
    try:
        saved = section.save(entry, instance, context)
        if before is None:  # a create is a change, whatever it holds
            transaction.savepoint_commit(savepoint)
            return Change("create", section.name, section.key_of(saved))
        after = section.state(section.reload(saved))
    except Exception:
        transaction.savepoint_rollback(savepoint)
        raise
    if after == before:
        transaction.savepoint_rollback(savepoint)  # nothing to write: updated_at stays
        return None
    transaction.savepoint_commit(savepoint)
    return Change("update", section.name, section.key(entry), changed(section, before, after))


def changed(section: Section, before: dict | None, after: dict) -> dict:
    return field_changes(before, after, section.secret_paths)


def remove_unnamed(section: Section, named: set[str]) -> list[Change]:
    changes = []
    for key, objects in existing_objects(section).items():
        if key in named:
            continue
        for obj in objects:
            section.delete(obj)
            changes.append(Change("delete", section.name, key))
    return changes


def prefixed(path: str, errors: dict) -> dict:
    return {(f"{path}.{inner}" if inner != "(file)" else path): m for inner, m in errors.items()}


def summary(changes: list[Change]) -> dict[str, int]:
    return {
        action: sum(c.action == action for c in changes)
        for action in ("create", "update", "delete")
    }


def diff_text(changes: list[Change]) -> str:
    """The diff a person reads: one line per object, one more per changed field."""
    if not changes:
        return "No changes."
    counts = summary(changes)
    lines = [line for change in changes for line in change.lines()]
    return "\n".join(lines + [", ".join(f"{n} to {a}" for a, n in counts.items())])
