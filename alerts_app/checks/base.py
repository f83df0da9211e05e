"""What every check answers, and the registry from rule kind to check function.

A check is a pure function `check(data, config) -> CheckResult`: the data loaded for
the rule's window (arrays, profiles, series) and its normalised config in, a result
out. No ORM, no settings, no clock.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

OK = "ok"
BREACHED = "breached"
INSUFFICIENT = "insufficient_data"
STATUSES = (OK, BREACHED, INSUFFICIENT)

REGISTRY: dict[str, Callable] = {}


@dataclass
class CheckResult:
    """`{"status": ok|breached|insufficient_data, "value", "threshold", "details"}`."""

    status: str
    value: float | None = None
    threshold: float | None = None
    details: dict = field(default_factory=dict)

    @property
    def breached(self) -> bool:
        return self.status == BREACHED

    def as_dict(self) -> dict:
        return {"status": self.status, "value": clean_number(self.value),
                "threshold": clean_number(self.threshold), "details": clean_json(self.details)}


def insufficient(reason: str, threshold: float | None = None, **details) -> CheckResult:
    return CheckResult(INSUFFICIENT, None, threshold, {"reason": reason, **details})


def verdict(breached: bool, value: float | None, threshold: float | None,
            **details) -> CheckResult:
    return CheckResult(BREACHED if breached else OK, value, threshold, details)


def register_check(kind: str) -> Callable:
    """Register `func` as the check of rule `kind` (one per kind)."""
    def decorate(func: Callable) -> Callable:
        if kind in REGISTRY:
            raise ValueError(f"A check is already registered for {kind!r}.")
        REGISTRY[kind] = func
        return func
    return decorate


def get_check(kind: str) -> Callable:
    import alerts_app.checks  # noqa: F401  (importing the package registers every family)

    return REGISTRY[kind]


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
