"""Silences: which alerts they match, and who may create or remove them.

A silence matches an alert when every matcher key it gives holds one of the alert's
labels (keys AND-ed, values OR-ed, as notification policies): `model` (names), `rule`
(ids), `severity` (levels) and `feature` (names; a dataset-level alert has none). The
`rule` and `model` a silence may name directly (per-rule silences from the alert page
and the admin) are one more `rule` / `model` matcher each. Matching is a pure function
of (labels, matchers); the few active silences are read once per evaluation.
"""

from collections.abc import Iterable
from datetime import datetime

from django.core.exceptions import ValidationError

from access.roles import editable_model_ids, is_unrestricted, visible_models
from alerts_app.models import AlertRule, Severity, Silence
from models_app.models import Model

MATCHER_KEYS = ("model", "rule", "severity", "feature")
MAX_VALUES = 100


def labels_of(rule: AlertRule, feature: str = "") -> dict:
    """What a silence can match on an alert of `rule` (and `feature`)."""
    return {
        "model": rule.model.name,
        "rule": rule.id,
        "severity": rule.severity,
        "feature": feature,
    }


def alert_labels(alert) -> dict:
    return labels_of(alert.rule, alert.feature)


def effective_matchers(silence: Silence) -> dict[str, list]:
    """The silence's matchers with its direct `rule` / `model` folded in."""
    matchers = {key: list(values) for key, values in (silence.matchers or {}).items() if values}
    if silence.rule_id is not None:
        matchers["rule"] = [silence.rule_id]
    if silence.model_id is not None:
        matchers["model"] = [silence.model.name]
    return matchers


def matches(matchers: dict[str, list], labels: dict) -> bool:
    """Whether every key of `matchers` holds the alert's label (no matcher: nothing)."""
    return bool(matchers) and all(labels.get(key) in values for key, values in matchers.items())


def active_silences(now: datetime) -> list[Silence]:
    """The silences in force at `now`, the one ending last first."""
    return list(
        Silence.objects.filter(starts_at__lte=now, ends_at__gt=now)
        .select_related("model")
        .order_by("-ends_at", "-id")
    )


def covering(labels: dict, silences: Iterable[Silence]) -> list[Silence]:
    return [s for s in silences if matches(effective_matchers(s), labels)]


def silence_for(labels: dict, now: datetime, silences: list[Silence] | None = None):
    """The active silence (ending last) that matches these labels, or None."""
    found = covering(labels, active_silences(now) if silences is None else silences)
    return found[0] if found else None


def clean_matchers(raw) -> dict[str, list]:
    """`{"model": [...], ...}` checked and normalised (lists, no duplicates);
    ValidationError({key: [message]}) naming each bad key. Names are not looked up here
    (see `check_targets`)."""
    if not isinstance(raw, dict):
        raise ValidationError({"matchers": ['Expected an object such as {"model": ["fraud"]}.']})
    errors, clean = {}, {}
    for key, values in raw.items():
        if key not in MATCHER_KEYS:
            errors[key] = [f"Unknown matcher. Known: {', '.join(sorted(MATCHER_KEYS))}."]
            continue
        if values in (None, []):
            continue
        values = values if isinstance(values, list) else [values]
        try:
            clean[key] = list(dict.fromkeys(clean_value(key, v) for v in values))
        except ValidationError as exc:
            errors[key] = exc.messages
            continue
        if len(clean[key]) > MAX_VALUES:
            errors[key] = [f"At most {MAX_VALUES} values."]
    if errors:
        raise ValidationError(errors)
    if not clean:
        raise ValidationError(
            {"matchers": ["Give at least one matcher: model, rule, severity or feature."]}
        )
    return clean


def clean_value(key: str, value):
    if key == "rule":
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**63:
            raise ValidationError(f"Rule ids are whole numbers; got {value!r}.")
        return value
    if not isinstance(value, str) or not value.strip() or len(value) > 200:
        raise ValidationError(f"Expected names of 1 to 200 characters; got {value!r}.")
    if key == "severity" and value not in Severity.values:
        raise ValidationError(f'"{value}" is not one of {", ".join(Severity.values)}.')
    return value.strip()


def scope_models(matchers: dict[str, list]) -> set[int]:
    """Ids of the models a silence is confined to: those named, and the rules' models
    (empty: it matches alerts of any model)."""
    ids = set(Model.objects.filter(name__in=matchers.get("model", [])).values_list("pk", flat=True))
    rules = AlertRule.objects.filter(pk__in=matchers.get("rule", []))
    return ids | set(rules.values_list("model_id", flat=True))


def check_targets(user, matchers: dict[str, list]) -> None:
    """The models and rules named exist and `user` may silence them (editor of every
    model concerned; staff anything). A hidden model or rule answers like a missing one."""
    if is_unrestricted(user):
        visible = Model.objects.all()
    else:
        visible = visible_models(user)
    errors = {}
    names = matchers.get("model", [])
    known = set(visible.filter(name__in=names).values_list("name", flat=True))
    if missing := [n for n in names if n not in known]:
        errors["model"] = [f'Model "{missing[0]}" does not exist.']
    ids = matchers.get("rule", [])
    found = set(
        AlertRule.objects.filter(pk__in=ids, model__in=visible).values_list("pk", flat=True)
    )
    if missing := [i for i in ids if i not in found]:
        errors["rule"] = [f"Rule {missing[0]} does not exist."]
    if errors:
        raise ValidationError(errors)
    if is_unrestricted(user):
        return
    scope = scope_models(matchers)
    if not scope:
        raise ValidationError(
            {
                "model": [
                    "Name the models or rules to silence: you may silence only models you edit."
                ]
            }
        )
    if refused := scope - editable_model_ids(user):
        name = Model.objects.get(pk=min(refused)).name
        raise ValidationError({"model": [f'You need the editor role on model "{name}".']})


def silence_scope(silence: Silence) -> set[int]:
    return scope_models(effective_matchers(silence))


def may_see(user, silence: Silence, visible_ids: set[int]) -> bool:
    """Staff see every silence; others those about a model they view, and those about
    every model (which mute their alerts too)."""
    scope = silence_scope(silence)
    return is_unrestricted(user) or not scope or bool(scope & visible_ids)


def may_remove(user, silence: Silence) -> bool:
    scope = silence_scope(silence)
    return is_unrestricted(user) or (bool(scope) and scope <= editable_model_ids(user))
