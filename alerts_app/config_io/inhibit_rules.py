"""The `inhibit_rules` section: while a firing alert matches `source_matchers`, alerts
matching `target_matchers` that share the `equal` labels are not notified
(docs/alerting.md "Inhibition"). Saved through the API's InhibitRuleSerializer."""

from alerts_app.api.routing_serializers import InhibitRuleSerializer
from alerts_app.config_io.base import ConfigError, Section, error_paths, sorted_mapping
from alerts_app.models import InhibitRule

DEFAULTS = {"enabled": True, "source_matchers": {}, "target_matchers": {}, "equal": []}


class InhibitRuleSection(Section):
    name = "inhibit_rules"
    fields = ("name", "enabled", "source_matchers", "target_matchers", "equal")

    def queryset(self, scope):
        return InhibitRule.objects.order_by("name", "id")

    def key(self, entry: dict) -> str:
        return str(entry.get("name", ""))

    def key_of(self, obj: InhibitRule) -> str:
        return obj.name

    def export(self, obj: InhibitRule) -> dict:
        return {
            "name": obj.name,
            "enabled": obj.enabled,
            "source_matchers": sorted_mapping(obj.source_matchers or {}),
            "target_matchers": sorted_mapping(obj.target_matchers or {}),
            "equal": list(obj.equal or []),
        }

    def save(self, entry: dict, instance, context) -> InhibitRule:
        serializer = InhibitRuleSerializer(instance, data=DEFAULTS | entry)
        if not serializer.is_valid():
            raise ConfigError(error_paths("", serializer.errors))
        return serializer.save()


SECTION = InhibitRuleSection()
