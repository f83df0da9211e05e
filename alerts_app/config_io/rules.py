"""The `rules` section: every alert rule, named `model/name`, its channels by name.

Saved through the API's RuleSerializer (the config validated by
`alerts_app.rule_config`, the same messages as the API and the admin) and within the
per-model and per-user rule limits. Durations are written as "5m", "4h", in the rule's
fields and in its `config` alike; the config is otherwise written as the server stores
it (defaults filled in).
"""

from django.core.exceptions import ValidationError as DjangoValidationError

from alerts_app.api.serializers import RuleSerializer
from alerts_app.config_io.base import ConfigError, Section, error_paths, names, sorted_mapping
from alerts_app.kinds import BY_NAME
from alerts_app.lifecycle import delete_rule
from alerts_app.models import AlertRule, Channel
from alerts_app.rule_config import RULE_FIELDS, check_rule_limits, format_duration

DEFAULTS = {
    "severity": "warning",
    "enabled": True,
    **{name: spec.default for name, spec in RULE_FIELDS.items()},
    "channels": [],
    "config": {},
}


class RuleSection(Section):
    name = "rules"
    fields = (
        "model",
        "name",
        "kind",
        "severity",
        "enabled",
        *RULE_FIELDS,
        "channels",
        "config",
    )

    def queryset(self, scope):
        rules = AlertRule.objects.select_related("model").prefetch_related("channels")
        rules = rules.order_by("model__name", "name", "id")
        return rules if scope is None else rules.filter(model__in=scope.models)

    def key(self, entry: dict) -> str:
        return f"{entry.get('model', '')}/{entry.get('name', '')}"

    def key_of(self, obj: AlertRule) -> str:
        return f"{obj.model.name}/{obj.name}"

    def export(self, obj: AlertRule) -> dict:
        return {
            "model": obj.model.name,
            "name": obj.name,
            "kind": obj.kind,
            "severity": obj.severity,
            "enabled": obj.enabled,
            **{name: format_duration(getattr(obj, name)) for name in RULE_FIELDS},
            "channels": names(obj.channels.all()),
            "config": sorted_mapping(readable_config(obj.kind, obj.config)),
        }

    def save(self, entry: dict, instance: AlertRule | None, context) -> AlertRule:
        ids, errors = channel_ids(entry.get("channels", []))
        data = DEFAULTS | entry | {"channels": ids}
        serializer = RuleSerializer(instance, data=data, context={"request": context.request})
        if not serializer.is_valid() or errors:
            raise ConfigError(error_paths("", serializer.errors) | errors)
        try:
            check_rule_limits(serializer.validated_data["model"], context.database_user, instance)
        except DjangoValidationError as exc:
            raise ConfigError(error_paths("", exc)) from None
        extra = {"created_by": context.database_user} if instance is None else {}
        return serializer.save(**extra)

    def delete(self, obj: AlertRule) -> None:
        delete_rule(obj)


def readable_config(kind: str, config: dict) -> dict:
    """The stored config with its durations written as "1d", "5m" (as the API reads them)."""
    fields = BY_NAME[kind].fields if kind in BY_NAME else {}
    return {
        name: format_duration(value)
        if name in fields and fields[name].type == "duration" and is_seconds(value)
        else value
        for name, value in (config or {}).items()
    }


def is_seconds(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def channel_ids(value) -> tuple[list[int], dict]:
    """The ids of the channels a rule names, and errors at `channels[i]` for unknown ones."""
    if not isinstance(value, list):
        return [], {"channels": ["Expected a list of channel names."]}
    found = dict(Channel.objects.filter(name__in=[str(v) for v in value]).values_list("name", "pk"))
    errors = {
        f"channels[{index}]": [f'Channel "{name}" does not exist.']
        for index, name in enumerate(value)
        if str(name) not in found or not isinstance(name, str)
    }
    return [found[name] for name in value if isinstance(name, str) and name in found], errors


SECTION = RuleSection()
