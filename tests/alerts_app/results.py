"""Build CheckResults by hand, so lifecycle and notification tests need no telemetry;
read the admin's per-feature table of one."""

import re
from html import unescape

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


def feature_table(page: str) -> list[list[str]]:
    """The cells of an admin page's per-feature result table, row by row, as shown."""
    table = re.search(r'<table class="mw-features">(.*?)</table>', page, re.S).group(1)
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", table.split("<tbody>")[1], re.S)
    return [[unescape(cell) for cell in re.findall(r"<td>(.*?)</td>", row, re.S)] for row in rows]
