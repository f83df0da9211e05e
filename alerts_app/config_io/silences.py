"""The `silences` section: the silences in force or to come (docs/alerting.md
"Silences"), written as their matchers, start, end and comment.

A rule is named as in the `rules` section, `model/rule name`, never by its id, so the
file means the same on another server; a silence made on the alert page for one rule (its
`rule` column) is written as the `rule` matcher it amounts to. Silences have no name:
an entry is known by its matchers and its times (`key`), so changing an end in the file
makes a new silence (with `--prune`, the old one goes). Silences that have ended are
history, not configuration: they are neither written nor pruned. Saved through the API's
SilenceSerializer, with its messages.
"""

import json
from datetime import UTC

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from alerts_app import silences
from alerts_app.api.silence_serializers import SilenceSerializer
from alerts_app.config_io.base import ConfigError, Section, error_paths, sorted_mapping
from alerts_app.models import AlertRule, Silence


class SilenceSection(Section):
    name = "silences"
    fields = ("matchers", "starts_at", "ends_at", "comment")

    def queryset(self, scope):
        current = Silence.objects.filter(ends_at__gt=timezone.now())
        return current.select_related("rule__model", "model").order_by("starts_at", "id")

    def key(self, entry: dict) -> str:
        matchers = entry.get("matchers")
        shown = json.dumps(sorted_mapping(matchers), ensure_ascii=False, default=str)
        return f"{shown} {moment(entry.get('starts_at'))}..{moment(entry.get('ends_at'))}"

    def key_of(self, obj: Silence) -> str:
        return self.key(self.export(obj))

    def export(self, obj: Silence) -> dict:
        matchers = silences.effective_matchers(obj)
        if matchers.get("rule"):
            matchers["rule"] = rule_names(matchers["rule"])
        return {
            "matchers": sorted_mapping({k: sorted(v) for k, v in matchers.items()}),
            "starts_at": moment(obj.starts_at),
            "ends_at": moment(obj.ends_at),
            "comment": obj.comment,
        }

    def save(self, entry: dict, instance, context) -> Silence:
        matchers = entry.get("matchers")
        errors: dict = {}
        if isinstance(matchers, dict) and "rule" in matchers:
            ids, errors = rule_ids(matchers["rule"])
            matchers = {**matchers, "rule": ids}
        data = {"comment": "", **entry, "matchers": matchers}
        serializer = SilenceSerializer(instance, data=data, context={"request": context.request})
        if not serializer.is_valid() or errors:
            raise ConfigError(error_paths("", serializer.errors) | errors)
        extra = {"created_by": context.database_user} if instance is None else {}
        return serializer.save(**extra)


def moment(value) -> str | None:
    """An ISO 8601 UTC time to the second (`2026-12-01T08:00:00Z`), from a datetime or
    the text a file holds; other values are kept for the serializer to refuse."""
    if isinstance(value, str):
        value = parse_datetime(value) or value
    if not hasattr(value, "astimezone"):
        return value
    if timezone.is_naive(value):
        value = timezone.make_aware(value, UTC)
    return value.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def rule_names(ids: list) -> list[str]:
    found = AlertRule.objects.filter(pk__in=ids).select_related("model")
    return sorted(f"{rule.model.name}/{rule.name}" for rule in found)


def rule_ids(value) -> tuple[list[int], dict]:
    """The ids of the rules a silence names as `model/rule name`, and errors at
    `matchers.rule[i]` for names that are no rule."""
    if not isinstance(value, list):
        return [], {"matchers.rule": ['Expected a list of rules named "model/rule name".']}
    ids, errors = [], {}
    for index, name in enumerate(value):
        model, _, rule = str(name).partition("/")
        found = AlertRule.objects.filter(model__name=model, name=rule).values_list("pk", flat=True)
        if isinstance(name, str) and (pk := found.first()) is not None:
            ids.append(pk)
        else:
            errors[f"matchers.rule[{index}]"] = [f'Rule "{name}" does not exist.']
    return ids, errors


SECTION = SilenceSection()
