"""The `channels` section: where notifications go, written out without their secrets.

A channel's secret fields (a Slack or Teams webhook URL, a webhook's signing `secret`,
a PagerDuty routing key, an Opsgenie API key) never leave the server. The export names,
under `secret_env`, the environment variable an apply reads each one from
(`MODELWATCH_SECRET_<CHANNEL>_<FIELD>`; any name may be written instead). On apply a
secret comes from that variable when it is set; when it is not set (or the field is not
named at all) the channel keeps the value it has on the server; a new channel without
it is refused, like the API refuses a channel without its `url`.
"""

import re

from alerts_app.api.notification_serializers import ChannelSerializer
from alerts_app.config_io.base import ConfigError, Section, error_paths, names, sorted_mapping
from alerts_app.models import Channel
from alerts_app.transports import TRANSPORTS

# Config fields that are credentials, per channel kind (a transport may also declare its
# own in `secret_fields`).
SECRET_FIELDS = {
    "slack": ("url",),
    "msteams": ("url",),
    "webhook": ("secret",),
    "pagerduty": ("routing_key",),
    "opsgenie": ("api_key",),
}
DEFAULTS = {"enabled": True, "shared_with_all_models": False, "shared_models": []}


def secret_fields(kind: str) -> tuple[str, ...]:
    declared = getattr(TRANSPORTS.get(kind), "secret_fields", ())
    return tuple(sorted(set(SECRET_FIELDS.get(kind, ())) | set(declared)))


def secret_env_name(channel: str, field: str) -> str:
    """`MODELWATCH_SECRET_OPS_SLACK_URL` for the `url` of channel "ops-slack"."""
    words = re.sub(r"[^A-Za-z0-9]+", "_", f"{channel}_{field}").strip("_")
    return f"MODELWATCH_SECRET_{words.upper()}"


class ChannelSection(Section):
    name = "channels"
    fields = (
        "name",
        "kind",
        "enabled",
        "shared_with_all_models",
        "shared_models",
        "config",
        "secret_env",
    )
    secret_paths = ("secrets",)

    def queryset(self, scope):
        channels = Channel.objects.prefetch_related("shared_models").order_by("name")
        return channels if scope is None else channels.filter(pk__in=scope.channels)

    def key(self, entry: dict) -> str:
        return str(entry.get("name", ""))

    def key_of(self, obj: Channel) -> str:
        return obj.name

    def export(self, obj: Channel) -> dict:
        secret = secret_fields(obj.kind)
        entry = {
            "name": obj.name,
            "kind": obj.kind,
            "enabled": obj.enabled,
            "shared_with_all_models": obj.shared_with_all_models,
            "shared_models": names(obj.shared_models.all()),
            "config": sorted_mapping({k: v for k, v in obj.config.items() if k not in secret}),
        }
        held = [field for field in secret if obj.config.get(field)]
        if held:
            entry["secret_env"] = {field: secret_env_name(obj.name, field) for field in held}
        return entry

    def state(self, obj: Channel) -> dict:
        kept = {field: obj.config.get(field) for field in secret_fields(obj.kind)}
        return {**self.export(obj), "secrets": {k: v for k, v in kept.items() if v}}

    def unchanged(self, entry: dict, instance: Channel, context) -> bool:
        """As exported, and no secret to read from the environment."""
        wanted = entry.get("secret_env")
        variables = wanted.values() if isinstance(wanted, dict) else ()
        reads = any(isinstance(v, str) and context.environ.get(v) for v in variables)
        return not reads and super().unchanged(entry, instance, context)

    def save(self, entry: dict, instance: Channel | None, context) -> Channel:
        data = DEFAULTS | {k: v for k, v in entry.items() if k != "secret_env"}
        data["config"] = with_secrets(entry, instance, context.environ)
        serializer = ChannelSerializer(instance, data=data)
        if not serializer.is_valid():
            raise ConfigError(error_paths("", serializer.errors))
        return serializer.save()


def with_secrets(entry: dict, instance: Channel | None, environ) -> dict:
    """The entry's config with its secrets: from `secret_env`, else kept from the server."""
    config, wanted = entry.get("config", {}), entry.get("secret_env", {})
    if not isinstance(config, dict):
        return config  # the serializer refuses it under `config`
    if not isinstance(wanted, dict):
        raise ConfigError({"secret_env": ["Expected a mapping: {field: ENVIRONMENT_VARIABLE}."]})
    kind = entry.get("kind")
    secret, config, errors = secret_fields(kind), dict(config), {}
    for field, variable in sorted(wanted.items()):
        if field not in secret:
            errors[f"secret_env.{field}"] = [
                f'Not a secret field of kind "{kind}". Secret fields: {list(secret)}.'
            ]
        elif not isinstance(variable, str) or not variable:
            errors[f"secret_env.{field}"] = ["Expected the name of an environment variable."]
        elif environ.get(variable):
            config[field] = environ[variable]
    if errors:
        raise ConfigError(errors)
    held = instance.config if instance is not None and instance.kind == kind else {}
    for field in secret:
        if field not in config and held.get(field):
            config[field] = held[field]
        elif field not in config and field in wanted:
            errors[f"secret_env.{field}"] = [
                f"The environment variable {wanted[field]} is not set, and the channel has "
                f"no {field} on the server to keep."
            ]
    if errors:
        raise ConfigError(errors)
    return config


SECTION = ChannelSection()
