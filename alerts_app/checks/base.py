"""What every check answers.

A check is a pure function `check(data, config) -> Outcome`: the data loaded for
the rule's window (arrays, profiles, series) and its normalised config in, a result
out. No ORM, no settings, no clock. Which check serves which rule kind is declared in
`alerts_app/kinds.py`.

A check that judges features one by one (a per-feature rule gets one alert per
feature) says so in `details["verdicts"]`: `{feature: {"status", "value", "threshold"}}`
(`feature_verdict`), so that the alert lifecycle needs no knowledge of the statistics.
"""

import math
from dataclasses import dataclass, field

import numpy as np

OK = "ok"
BREACHED = "breached"
INSUFFICIENT = "insufficient_data"
STATUSES = (OK, BREACHED, INSUFFICIENT)


@dataclass
class Outcome:
    """`{"status": ok|breached|insufficient_data, "value", "threshold", "details"}`."""

    status: str
    value: float | None = None
    threshold: float | None = None
    details: dict = field(default_factory=dict)

    @property
    def breached(self) -> bool:
        return self.status == BREACHED

    def as_dict(self) -> dict:
        return {
            "status": self.status,
            "value": clean_number(self.value),
            "threshold": clean_number(self.threshold),
            "details": clean_json(self.details),
        }


def insufficient(reason: str, threshold: float | None = None, **details) -> Outcome:
    return Outcome(INSUFFICIENT, None, threshold, {"reason": reason, **details})


def verdict(breached: bool, value: float | None, threshold: float | None, **details) -> Outcome:
    return Outcome(BREACHED if breached else OK, value, threshold, details)


def feature_verdict(
    breached: bool | None, value: float | None = None, threshold: float | None = None
) -> dict:
    """One feature's verdict for `details["verdicts"]`: None means it could not be judged."""
    if breached is None:
        return {"status": INSUFFICIENT, "value": None, "threshold": None}
    return {"status": BREACHED if breached else OK, "value": value, "threshold": threshold}


def breaks(value: float, operator: str, threshold: float) -> bool:
    """Whether `value <operator> threshold` holds."""
    return {
        ">": value > threshold,
        ">=": value >= threshold,
        "<": value < threshold,
        "<=": value <= threshold,
        "==": value == threshold,
        "!=": value != threshold,
    }[operator]


def clean_number(value) -> float | None:
    """A JSON-safe float: numpy scalars unwrapped, NaN and ±Inf as None."""
    if value is None or isinstance(value, bool):
        return value
    number = float(value)
    return number if math.isfinite(number) else None


def clean_json(value):
    """`value` with numpy types unwrapped and non-finite floats as None, recursively."""
    if isinstance(value, dict):
        return {str(k): clean_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [clean_json(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return clean_number(value)
    return value
