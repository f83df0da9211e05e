"""Rule configuration: durations, and the validation of every kind's fields.

One place validates what the admin form and the API accept, so both answer the same
message per bad field. `validate_config(kind, config)` returns the normalised config
(durations in seconds, defaults filled in) or raises
`django.core.exceptions.ValidationError({field: [message]})`. The fields of each kind,
its cross-field check and its threshold are declared in `alerts_app/kinds.py`.
"""

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from alerts_app.checks.base import breaks
from alerts_app.kinds import BY_NAME, Kind, Threshold, kind_of
from alerts_app.rule_fields import (  # noqa: F401  (parse_duration & co. are used from here)
    AUTO,
    MAX_DURATION,
    FieldError,
    format_duration,
    format_number,
    parse_duration,
    parse_field,
)


@dataclass(frozen=True)
class RuleField:
    help: str
    default: int
    min: int = 0


RULE_FIELDS = {
    # the least is MODELWATCH_RULE_MIN_INTERVAL (default 60 s), read when validating
    "interval": RuleField("How often the rule is evaluated.", 300, min=10),
    "pending_for": RuleField("How long the condition must hold before the alert fires.", 0),
    "repeat_interval": RuleField("Re-notify this often while firing (0: never).", 4 * 3600),
    "keep_firing_for": RuleField("Stay firing this long after the condition clears.", 0),
}


def minimum_of(name: str, spec: RuleField) -> int:
    """The smallest value of a rule field; `interval`'s is MODELWATCH_RULE_MIN_INTERVAL."""
    if name == "interval":
        return max(int(settings.MODELWATCH_RULE_MIN_INTERVAL), spec.min)
    return spec.min


def check_rule_limits(model, user=None, rule=None) -> None:
    """ValidationError when saving `rule` (None: a new one) on `model` would give the
    model more than MODELWATCH_MAX_RULES_PER_MODEL rules, or a new rule would give
    `user` more than MODELWATCH_MAX_RULES_PER_USER.

    Inside a transaction, the model's and the user's rows are locked first, so that two
    concurrent creates cannot both take the last place.
    """
    from alerts_app.models import AlertRule

    if model is None:
        return
    others = AlertRule.objects.exclude(pk=getattr(rule, "pk", None))
    lock(model._meta.model, model.pk)
    limit = int(settings.MODELWATCH_MAX_RULES_PER_MODEL)
    if others.filter(model=model).count() >= limit:
        raise ValidationError(
            {
                "model": [
                    f'Model "{model.name}" already has {limit} rules, the most allowed '
                    "(MODELWATCH_MAX_RULES_PER_MODEL)."
                ]
            }
        )
    if rule is not None or user is None or user.pk is None:
        return
    lock(user._meta.model, user.pk)  # request.user may be a lazy object
    limit = int(settings.MODELWATCH_MAX_RULES_PER_USER)
    if others.filter(created_by=user).count() >= limit:
        raise ValidationError(
            {
                "non_field_errors": [
                    f"You already have {limit} rules, the most allowed "
                    "(MODELWATCH_MAX_RULES_PER_USER)."
                ]
            }
        )


def lock(model_class, pk) -> None:
    if transaction.get_connection().in_atomic_block:
        list(model_class.objects.select_for_update().filter(pk=pk).values_list("pk"))


def _parse_all(kind: Kind, config: dict) -> tuple[dict, dict]:
    fields, clean, errors = kind.fields, {}, {}
    for name in sorted(set(config) - set(fields)):
        errors[name] = [f'Unknown field for kind "{kind.name}". Known: {sorted(fields)}.']
    for name, spec in fields.items():
        value = config.get(name)
        if value is None:
            if spec.required:
                errors[name] = ["This field is required."]
            clean[name] = None if (name in config and spec.nullable) else spec.default
            continue
        try:
            clean[name] = parse_field(value, spec)
        except FieldError as exc:
            errors[name] = [str(exc)]
    return clean, errors


def validate_config(kind: str, config) -> dict:
    """The normalised config of a rule of `kind`, or ValidationError({field: [message]})."""
    if kind not in BY_NAME:
        raise ValidationError(
            {"kind": [f'"{kind}" is not a valid choice. Choose one of {sorted(BY_NAME)}.']}
        )
    if config is None:
        config = {}
    if not isinstance(config, dict):
        raise ValidationError({"config": ["Expected a JSON object."]})
    clean, errors = _parse_all(kind_of(kind), config)
    if not errors:
        errors = cross_check(kind_of(kind), clean)
    if errors:
        raise ValidationError(errors)
    return clean


def validate_rule_fields(data: dict) -> dict:
    """interval / pending_for / repeat_interval / keep_firing_for of `data`, in seconds.

    Only the fields present in `data` are returned; ValidationError names each bad one.
    """
    clean, errors = {}, {}
    for name, spec in RULE_FIELDS.items():
        if name not in data:
            continue
        try:
            clean[name] = parse_duration(data[name])
            if clean[name] < minimum_of(name, spec):
                raise FieldError(f"Ensure this value is at least {minimum_of(name, spec)} seconds.")
            if clean[name] > MAX_DURATION:
                raise FieldError(f"Ensure this value is at most {MAX_DURATION} seconds.")
        except FieldError as exc:
            errors[name] = [str(exc)]
    if errors:
        raise ValidationError(errors)
    return clean


# -- cross-field checks ------------------------------------------------------------------


def cross_check(kind: Kind, config: dict) -> dict:
    """The kind's own cross-field check (which may fill defaults), then, for a threshold
    kind, where its clear_threshold lies (or what a calibrated threshold needs)."""
    errors = kind.cross_check(config)
    if not errors and kind.threshold is not None:
        operator, key = _operator_and_key(kind.threshold, config)
        if config.get(key) == AUTO:
            return _auto_needs(config, operator, key)
        errors = _clear_side(config, operator, key)
    return errors


def _auto_needs(config: dict, operator: str, key: str) -> dict:
    """A calibrated threshold ("auto") needs an ordering operator (it says which side of
    the band breaks), no fixed clear_threshold, and an aggregate that varies by chunk."""
    if operator not in (">", ">=", "<", "<="):
        return {key: ['"auto" needs an ordering operator (>, >=, <, <=).']}
    if config.get("aggregation") == "count":
        return {key: ['"auto" cannot calibrate count: every chunk holds the same count.']}
    if config.get("clear_threshold") is not None:
        return {"clear_threshold": ['Hysteresis needs a numeric threshold, not "auto".']}
    return {}


def _operator_and_key(threshold: Threshold, config: dict) -> tuple[str, str]:
    return threshold.operator or config["operator"], threshold.key


def _clear_side(config: dict, operator: str, threshold_field: str = "threshold") -> dict:
    clear, threshold = config.get("clear_threshold"), config[threshold_field]
    if clear is None or operator in ("==", "!="):
        return (
            {}
            if clear is None
            else {"clear_threshold": ["Hysteresis needs an ordering operator (>, >=, <, <=)."]}
        )
    if breaks(clear, operator, threshold):
        side = "below" if operator.startswith(">") else "above"
        return {
            "clear_threshold": [
                f"Must be {side} or equal to the threshold "
                f"({format_number(threshold)}): it is where the alert clears."
            ]
        }
    return {}


# -- what the admin form and the docs show ----------------------------------------------


def describe_kind(kind: str) -> dict[str, dict]:
    """{field: {type, help, required, default, choices?}} of one kind."""
    return {name: spec.describe() for name, spec in kind_of(kind).fields.items()}


def rule_threshold(kind: str, config: dict) -> tuple[str, float] | None:
    """(operator, threshold) of a threshold kind: how its value breaks the rule."""
    threshold = kind_of(kind).threshold
    return None if threshold is None else threshold.of(config)


def is_cleared(
    kind: str, config: dict, value: float | None, calibrated: float | None = None
) -> bool:
    """Whether `value` is past the clear threshold (hysteresis) of a threshold kind.

    Without a clear_threshold (or for other kinds) a value clears when it no longer
    breaks the rule; `None` never clears. A calibrated threshold (`"threshold": "auto"`)
    is the evaluation's, `calibrated` (None: the result has none, nothing clears).
    """
    rule = rule_threshold(kind, config)
    if value is None or rule is None:
        return value is not None
    operator, threshold = rule
    if threshold == AUTO:
        if calibrated is None:
            return False
        threshold = calibrated
    clear = config.get("clear_threshold")
    if clear is None:
        return not breaks(value, operator, threshold)
    strict = {">": "<", ">=": "<", "<": ">", "<=": ">"}[operator]
    return breaks(value, strict, clear) or value == clear
