"""The `policies` section: the notification routing tree, each policy named, its parent
and channels by name (docs/alerting.md "Routing").

Written in tree order: each policy after its parent, siblings by creation (the order
routing tries them in), so an apply on an empty server creates them in the same order.
Saved through the API's PolicySerializer: matchers, `group_by` and mute timings are
checked by `alerts_app/routing.py`, with the API's messages. A policy's `parent` must be
a policy of the same file, written before it.
"""

from alerts_app.api.routing_serializers import PolicySerializer
from alerts_app.config_io.base import ConfigError, Section, error_paths, names, sorted_mapping
from alerts_app.config_io.rules import channel_ids
from alerts_app.models import NotificationPolicy
from alerts_app.rule_config import format_duration

TIMINGS = ("group_wait", "group_interval", "repeat_interval")
DEFAULTS = {
    "parent": None,
    "matchers": {},
    "channels": [],
    "group_by": None,
    **{name: None for name in TIMINGS},
    "continue": False,
    "mute_timings": [],
}


class PolicySection(Section):
    name = "policies"
    fields = (
        "name",
        "parent",
        "matchers",
        "channels",
        "group_by",
        *TIMINGS,
        "continue",
        "mute_timings",
    )

    def queryset(self, scope):
        policies = NotificationPolicy.objects.select_related("parent")
        return policies.prefetch_related("channels").order_by("id")

    def objects(self, scope) -> list:
        """Pre-order: a parent, then its subtrees, siblings by id."""
        children: dict = {}
        for policy in self.queryset(scope):
            children.setdefault(policy.parent_id, []).append(policy)
        ordered, stack = [], list(reversed(children.get(None, [])))
        while stack:
            policy = stack.pop()
            ordered.append(policy)
            stack.extend(reversed(children.get(policy.pk, [])))
        return ordered

    def key(self, entry: dict) -> str:
        return str(entry.get("name", ""))

    def key_of(self, obj: NotificationPolicy) -> str:
        return obj.name

    def export(self, obj: NotificationPolicy) -> dict:
        return {
            "name": obj.name,
            "parent": obj.parent.name if obj.parent_id else None,
            "matchers": sorted_mapping(obj.matchers or {}),
            "channels": names(obj.channels.all()),
            "group_by": obj.group_by,
            **{name: duration(getattr(obj, name)) for name in TIMINGS},
            "continue": obj.continue_matching,
            "mute_timings": sorted_mapping(obj.mute_timings or []),
        }

    def save(self, entry: dict, instance, context) -> NotificationPolicy:
        ids, errors = channel_ids(entry.get("channels", []))
        parent, parent_errors = parent_id(entry.get("parent"), context.keys.get(self.name, set()))
        data = DEFAULTS | entry | {"channels": ids, "parent": parent}
        serializer = PolicySerializer(instance, data=data, context={"request": context.request})
        if not serializer.is_valid() or errors or parent_errors:
            raise ConfigError(error_paths("", serializer.errors) | errors | parent_errors)
        extra = {"created_by": context.database_user} if instance is None else {}
        return serializer.save(**extra)


def duration(seconds: int | None) -> str | None:
    return None if seconds is None else format_duration(seconds)


def parent_id(name, in_file: set[str]) -> tuple[int | None, dict]:
    """The parent policy's id, and errors at `parent` when it is not a policy of the file
    already created (a parent is written before its children)."""
    if name is None:
        return None, {}
    if not isinstance(name, str) or name not in in_file:
        return None, {"parent": [f'Policy "{name}" is not in this file.']}
    found = NotificationPolicy.objects.filter(name=name).values_list("pk", flat=True).first()
    if found is None:
        return None, {"parent": [f'Policy "{name}" must come before its children in the file.']}
    return found, {}


SECTION = PolicySection()
