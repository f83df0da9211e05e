"""Rule config values: durations, and the typed fields a rule kind's config is made of.

`parse_duration` reads "30s", "5m", "1h", "7d" or integer seconds; a `Field` says how one
config value is parsed and bounded (`parse_field`), with the help text the admin shows.
"""

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
DURATION_PART = re.compile(r"(\d+)\s*([smhdw])", re.ASCII)
DURATION_FULL = re.compile(r"^\s*(?:\d+\s*[smhdw]\s*)+$", re.ASCII)
MAX_DIGITS = 12  # beyond every bound (366 days is 8 digits of seconds), below int()'s limit
DURATION_HELP = 'Expected a duration such as "30s", "5m", "1h", "7d" or a number of seconds.'
MAX_DURATION = 366 * 86400
STAGES = ("train", "validation", "test", "production")
OPERATOR_ALIASES = {
    "gt": ">",
    "gte": ">=",
    "ge": ">=",
    "lt": "<",
    "lte": "<=",
    "le": "<=",
    "eq": "==",
    "ne": "!=",
}
OPERATORS = (">", ">=", "<", "<=", "==", "!=")
AGGREGATIONS = ("avg", "min", "max", "last", "sum", "count", "p50", "p95", "p99")
DRIFT_METHODS = ("auto", "psi", "ks", "js", "wasserstein", "chi2", "z")
CORRECTIONS = ("none", "bonferroni", "fdr")
PERFORMANCE_METRICS = (
    "accuracy",
    "precision",
    "recall",
    "f1",
    "roc_auc",
    "log_loss",
    "mae",
    "rmse",
    "mape",
    "r2",
)
LOWER_IS_BETTER = frozenset({"log_loss", "mae", "rmse", "mape"})
ESTIMATED_METRICS = ("accuracy", "precision", "recall", "f1")


AUTO = "auto"  # a calibrated threshold (alerts_app/checks/calibration.py)


class FieldError(ValueError):
    """A bad value of one config field."""


def parse_duration(value) -> int:
    """Seconds in `value`: "30s", "5m", "1h", "7d", "2w", "1h30m", or integer seconds.

    Raises ValueError with a message a user can act on for anything else
    (negative numbers, floats with a fraction, unknown units, booleans).
    """
    if isinstance(value, bool):
        raise FieldError(DURATION_HELP)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        if value < 0:
            raise FieldError("A duration cannot be negative.")
        return value
    if not isinstance(value, str):
        raise FieldError(DURATION_HELP)
    text = value.strip().lower()
    if text.isascii() and text.isdigit():
        return _count(text)
    if not DURATION_FULL.match(text):
        raise FieldError(f'"{value[:50]}" is not a duration. {DURATION_HELP}')
    return sum(_count(n) * DURATION_UNITS[unit] for n, unit in DURATION_PART.findall(text))


def _count(digits: str) -> int:
    """The number `digits` spell, refused past MAX_DIGITS (thousands of digits would cost
    int() seconds, or exceed its limit) as longer than any duration may be."""
    digits = digits.lstrip("0") or "0"
    if len(digits) > MAX_DIGITS:
        raise FieldError(f"A duration is at most {MAX_DURATION} seconds (366 days).")
    return int(digits)


def format_duration(seconds: int) -> str:
    """The shortest exact spelling of `seconds`: 300 -> "5m", 90 -> "90s"."""
    for unit in ("w", "d", "h", "m"):
        if seconds and seconds % DURATION_UNITS[unit] == 0:
            return f"{seconds // DURATION_UNITS[unit]}{unit}"
    return f"{seconds}s"


@dataclass(frozen=True)
class Field:
    """One config field: how it is parsed, whether it is required, its default, its help."""

    # duration | number | threshold (a number or "auto") | integer | string | choice |
    # strings | boolean
    type: str
    help: str
    required: bool = False
    default: object = None
    choices: tuple = ()
    min: float | None = None
    max: float | None = None
    nullable: bool = False

    def describe(self) -> dict:
        """What the admin form and the docs show for this field."""
        out = {
            "type": self.type,
            "help": self.help,
            "required": self.required,
            "default": self.default,
        }
        if self.choices:
            out["choices"] = list(self.choices)
        return out


def _number(value, spec: Field) -> float:
    if isinstance(value, str) and value.strip().lower() == AUTO:
        raise FieldError('Must be a number: "auto" is not available for this field.')
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise FieldError("Must be a number.")
    if not math.isfinite(value):
        raise FieldError("Must be a finite number.")
    return float(value)


def _threshold(value, spec: Field) -> float | str:
    """A number, or "auto": calibrated on the reference (alerts_app/checks/calibration.py)."""
    if isinstance(value, str) and value.strip().lower() == AUTO:
        return AUTO
    try:
        return _number(value, spec)
    except FieldError:
        raise FieldError('Must be a number or "auto".') from None


def _integer(value, spec: Field) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldError("Must be an integer.")
    return value


def _string(value, spec: Field) -> str:
    if not isinstance(value, str) or not value.strip():
        raise FieldError("Must be a non-empty string.")
    if len(value) > 200:
        raise FieldError("Ensure this field has no more than 200 characters.")
    return value.strip()


def _choice(value, spec: Field) -> str:
    if isinstance(value, str):
        value = OPERATOR_ALIASES.get(value.strip().lower(), value.strip())
    if value not in spec.choices:
        raise FieldError(f'"{value}" is not a valid choice. Choose one of {list(spec.choices)}.')
    return value


def _strings(value, spec: Field) -> list[str]:
    if not isinstance(value, list) or not value:
        raise FieldError("Must be a non-empty list of names.")
    names = [_string(item, spec) for item in value]
    if len(set(names)) != len(names):
        raise FieldError("Names must not repeat.")
    return names


def _boolean(value, spec: Field) -> bool:
    if not isinstance(value, bool):
        raise FieldError("Must be true or false.")
    return value


def _duration(value, spec: Field) -> int:
    return parse_duration(value)


PARSERS: dict[str, Callable] = {
    "duration": _duration,
    "number": _number,
    "threshold": _threshold,
    "integer": _integer,
    "string": _string,
    "choice": _choice,
    "strings": _strings,
    "boolean": _boolean,
}


def parse_field(value, spec: Field):
    """The clean value of one field, bounds included; FieldError with the message if bad."""
    clean = PARSERS[spec.type](value, spec)
    if clean == AUTO and spec.type == "threshold":
        return clean
    unit = "s" if spec.type == "duration" else ""
    if spec.min is not None and clean < spec.min:
        bound = format_number(spec.min)
        raise FieldError(f"Ensure this value is greater than or equal to {bound}{unit}.")
    if spec.max is not None and clean > spec.max:
        bound = format_number(spec.max)
        raise FieldError(f"Ensure this value is less than or equal to {bound}{unit}.")
    return clean


def format_number(number: float | None, digits: int | None = None) -> str:
    """A number as people read it: "n/a" for None, `digits` significant digits when given
    (notifications), else exact; a whole number without ".0" either way."""
    if number is None:
        return "n/a"
    if digits is not None:
        return f"{number:.{digits}g}"
    return str(int(number)) if float(number).is_integer() else str(number)
