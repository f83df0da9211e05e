"""Past check outcomes played through the alert engine, so the demo's alerts are the engine's.

`replay(rule, checks)` stores each past check as the CheckResult a live evaluation would
store (on the version that evaluation reads: `target_version` of the rule's kind) and hands
it to `alerts_app.lifecycle.apply_result`, what the engine's worker calls after every
evaluation (the state machine, its guarded write, the transitions and their outbox), at
the check's time. Fingerprints, states and transitions are therefore exactly those live
evaluations of the same outcomes would leave, and a later live evaluation of the rule
carries on with the same alert instead of opening a second one.
"""

from dataclasses import dataclass, field
from datetime import datetime

from alerts_app.kinds import kind_of
from alerts_app.lifecycle import apply_result
from alerts_app.loaders.base import target_version
from alerts_app.models import AlertRule, CheckResult
from models_app.models import ModelVersion


@dataclass(frozen=True)
class PastCheck:
    """One past evaluation: `status` is ok, breached or insufficient_data."""

    at: datetime
    status: str
    value: float | None = None
    threshold: float | None = None
    details: dict = field(default_factory=dict)


def engine_version(rule: AlertRule) -> ModelVersion | None:
    """The version a live evaluation of `rule` reads (None: all versions)."""
    return target_version(rule.model, kind_of(rule.kind).version_bound, rule.config or {})


def replay(rule: AlertRule, checks: list[PastCheck]) -> int:
    """Store `checks` and apply them in time order; answers how many transitions they
    recorded.

    The checks before the first breach are stored but not applied: the engine keeps no
    alert for a rule that never broke (`apply_observation` returns before writing), so
    applying them would only cost queries.
    """
    version = engine_version(rule)
    results = [
        CheckResult(
            rule=rule,
            version=version,
            evaluated_at=c.at,
            status=c.status,
            value=c.value,
            threshold=c.threshold,
            passed=c.status != "breached",
            details=c.details,
        )
        for c in sorted(checks, key=lambda c: c.at)
    ]
    CheckResult.objects.bulk_create(results, batch_size=1000)
    first = next((i for i, r in enumerate(results) if r.status == "breached"), len(results))
    return sum(len(apply_result(rule, result, result.evaluated_at)) for result in results[first:])
