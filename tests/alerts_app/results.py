"""Build CheckResults by hand, so lifecycle and notification tests need no telemetry."""

from alerts_app.checks.base import feature_verdict
from alerts_app.models import CheckResult


def result(
    rule,
    status: str = "breached",
    value: float | None = 0.9,
    threshold: float | None = 0.5,
    version=None,
    **details,
) -> CheckResult:
    return CheckResult.objects.create(
        rule=rule,
        status=status,
        value=value,
        threshold=threshold,
        version=version,
        passed=status != "breached",
        details=details,
    )


def drift_result(rule, drifted: dict[str, bool], version=None) -> CheckResult:
    features = {
        name: {
            "method": "psi",
            "statistic": 0.4 if bad else 0.01,
            "p_value": None,
            "threshold": 0.2,
            "drifted": bad,
        }
        for name, bad in drifted.items()
    }
    verdicts = {
        name: feature_verdict(f["drifted"], f["statistic"], f["threshold"])
        for name, f in features.items()
    }
    status = "breached" if any(drifted.values()) else "ok"
    return result(
        rule,
        status,
        value=None,
        threshold=None,
        version=version,
        features=features,
        verdicts=verdicts,
        drift_share=sum(drifted.values()) / len(drifted),
    )
