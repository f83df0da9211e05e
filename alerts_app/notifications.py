"""What a notification says, as plain data and plain text: the `Notification` of one alert
event and the lines every channel builds on (title, what broke and its top causes).

No I/O: alerts_app/payloads.py turns a Notification into each service's body and
alerts_app/transports.py sends it.
"""

from dataclasses import dataclass, field
from datetime import datetime

from alerts_app.rule_fields import format_number

DIGITS = 4  # significant digits of a value or threshold in a notification


EVENT_TITLES = {
    "firing": "FIRING",
    "resolved": "RESOLVED",
    "repeat": "STILL FIRING",
    "update": "UPDATED",
    "acknowledged": "ACKNOWLEDGED",
    "test": "TEST",
}


@dataclass(frozen=True)
class Notification:
    """Everything a message says about one alert event, as plain data."""

    event: str
    alert_id: int | None
    rule: str
    model: str
    severity: str
    state: str
    version: str | None = None
    feature: str = ""
    kind: str = ""
    value: float | None = None
    threshold: float | None = None
    message: str = ""
    started_at: datetime | None = None
    url: str = ""
    dashboard_url: str = ""
    details: dict = field(default_factory=dict)
    # Why it fires: the breaking result's causes (most important first) and what broke
    # in words ("input drift in 4 of 11 features"); empty when it does not break.
    causes: tuple = ()
    headline: str = ""
    # The alert's fingerprint: PagerDuty's dedup_key, Opsgenie's alias ("" for a test).
    fingerprint: str = ""


TOP_CAUSES = 3


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def title_line(n: Notification) -> str:
    """`[FIRING] rule [feature] on model`, on one line."""
    feature = f" [{n.feature}]" if n.feature else ""
    return one_line(
        f"[{EVENT_TITLES.get(n.event, n.event.upper())}] {n.rule}{feature} on {n.model}"
    )


def top_causes(n: Notification) -> list[str]:
    """The summaries of the top 3 causes, each on one line."""
    return [one_line(c.get("summary", "")) for c in n.causes[:TOP_CAUSES] if isinstance(c, dict)]


def why_line(n: Notification) -> str:
    """`input drift in 4 of 11 features — a (KS 0.33), b (χ² p < 1e-6), …`; "" when the
    notification has neither a headline nor causes."""
    named = ", ".join(top_causes(n)) + (", …" if len(n.causes) > TOP_CAUSES else "")
    return one_line(" — ".join(part for part in (n.headline, named) if part))


def subject_line(n: Notification) -> str:
    """One line whatever the rule or a feature is named (a newline in a mail header is
    refused): the title, then what broke and its top causes."""
    why = why_line(n)
    return f"{title_line(n)}: {why}" if why else title_line(n)


def cause_headline(
    kind: str, details: dict, value: float | None = None, threshold: float | None = None
) -> str:
    """What broke, in words, from a breaking result's details ("" for other kinds)."""
    features = details.get("features")
    if kind in ("data_drift", "prediction_drift") and isinstance(features, dict):
        drifted = sum(1 for f in features.values() if isinstance(f, dict) and f.get("drifted"))
        what = "input drift" if kind == "data_drift" else "output drift"
        noun = "features" if kind == "data_drift" else "outputs"
        return f"{what} in {drifted} of {len(features)} {noun}"
    if kind == "data_quality" and isinstance(features, dict):
        return (
            f"data quality breaks in {len(details.get('failing') or [])} of "
            f"{len(features)} features"
        )
    if kind == "multivariate_drift" and details.get("method") == "domain_classifier":
        return (
            f"rows told from the reference: AUC {format_number(value, DIGITS)} "
            f"(threshold {format_number(threshold, DIGITS)})"
        )
    if kind == "multivariate_drift" and isinstance(band := details.get("band"), dict):
        return (
            f"PCA reconstruction error {format_number(value, DIGITS)} outside "
            f"{format_number(band.get('lower'), DIGITS)} to "
            f"{format_number(band.get('upper'), DIGITS)}"
        )
    if kind in ("performance", "estimated_performance") and details.get("metric"):
        estimated = "estimated " if kind == "estimated_performance" else ""
        return (
            f"{estimated}{details['metric']} {format_number(value, DIGITS)} "
            f"(threshold {format_number(threshold, DIGITS)})"
        )
    return ""


def summary_line(n: Notification) -> str:
    return (
        f"{n.severity} alert on {n.model}"
        f"{' version ' + n.version if n.version else ''}"
        f": value {format_number(n.value, DIGITS)}"
        f" vs threshold {format_number(n.threshold, DIGITS)}"
    )
