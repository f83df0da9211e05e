"""What the alert page shows: the causes, the windows, the history and silences.

Causes come from `details["causes"]` of the alert's newest breached result (most
important first). Results stored before causes existed are explained from their
per-feature drift statistics (`details["features"]`) or verdicts (`details["verdicts"]`),
ranked by the same comparable score: statistic ÷ threshold for distances,
−log10(p) ÷ −log10(threshold) for p-value tests.
"""

import math
from datetime import datetime, timedelta

from django.db.models import Prefetch

from access.channels import visible_channels
from access.roles import is_unrestricted
from alerts_app import kinds, silences
from alerts_app.models import Alert, AlertState, CheckResult, Delivery, Silence
from alerts_app.rule_fields import parse_duration
from frontend.ranges import TimeRange, around

MAX_CAUSES = 10
TOP_FEATURES = 3
P_FLOOR = 1e-300
DEFAULT_WINDOW = 3600
SILENCE_CHOICES = {"1h": timedelta(hours=1), "24h": timedelta(hours=24)}


def number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def fmt(value) -> str:
    number_ = number(value)
    return "n/a" if number_ is None else f"{number_:.4g}"


def drift_score(verdict: dict) -> float:
    """Comparable across methods: > 1 means past the threshold."""
    p_value, threshold = number(verdict.get("p_value")), number(verdict.get("threshold"))
    if p_value is not None and threshold and 0 < threshold < 1:
        return -math.log10(max(p_value, P_FLOOR)) / -math.log10(threshold)
    statistic = number(verdict.get("statistic"))
    if statistic is None or not threshold:
        return 0.0
    return statistic / threshold


def drift_summary(feature: str, verdict: dict) -> str:
    method = str(verdict.get("method") or "drift")
    p_value = number(verdict.get("p_value"))
    if p_value is not None:
        shown = "p < 1e-6" if p_value < 1e-6 else f"p = {p_value:.2g}"
        return (
            f"{feature}: {method} {fmt(verdict.get('statistic'))}, {shown} "
            f"(threshold p {fmt(verdict.get('threshold'))})"
        )
    return (
        f"{feature}: {method} {fmt(verdict.get('statistic'))} vs threshold "
        f"{fmt(verdict.get('threshold'))}"
    )


def feature_cause(feature: str, score: float, summary: str) -> dict:
    return {
        "kind": "feature",
        "feature": feature,
        "segment": None,
        "score": score,
        "summary": summary,
    }


def derived_causes(details: dict) -> list[dict]:
    """Causes of a result stored without them: drifted features, else breaching verdicts."""
    features = details.get("features")
    if isinstance(features, dict) and features:
        causes = [
            feature_cause(name, drift_score(v), drift_summary(name, v))
            for name, v in features.items()
            if isinstance(v, dict) and v.get("drifted")
        ]
    else:
        verdicts = details.get("verdicts") or {}
        causes = [
            feature_cause(
                name,
                verdict_score(v),
                f"{name}: {fmt(v.get('value'))} vs threshold {fmt(v.get('threshold'))}",
            )
            for name, v in verdicts.items()
            if isinstance(v, dict) and v.get("status") == "breached"
        ]
    return sorted(causes, key=lambda c: -c["score"])[:MAX_CAUSES]


def verdict_score(verdict: dict) -> float:
    value, threshold = number(verdict.get("value")), number(verdict.get("threshold"))
    return abs(value / threshold) if value is not None and threshold else 0.0


def causes_of(details: dict | None, feature: str = "") -> list[dict]:
    """The causes of one result, an alert's own feature (per-feature alerts) first."""
    details = details if isinstance(details, dict) else {}
    stored = details.get("causes")
    if isinstance(stored, list):
        causes = [c for c in stored if isinstance(c, dict)][:MAX_CAUSES]
    else:
        causes = derived_causes(details)
    if feature:
        causes.sort(key=lambda c: c.get("feature") != feature)
    return causes


def top_features(causes: list[dict], limit: int = TOP_FEATURES) -> list[str]:
    names: list[str] = []
    for cause in causes:
        name = cause.get("feature")
        if isinstance(name, str) and name and name not in names:
            names.append(name)
    return names[:limit]


def onset(alert: Alert) -> datetime | None:
    return alert.started_at or alert.pending_since or alert.last_breach_at


def evaluated_results(alert: Alert):
    results = CheckResult.objects.filter(rule_id=alert.rule_id)
    return results.filter(version_id=alert.version_id) if alert.version_id else results


def explaining_result(alert: Alert) -> CheckResult | None:
    """The newest breached result of the alert (up to its resolution), else the newest."""
    results = evaluated_results(alert)
    if alert.state == AlertState.RESOLVED and alert.resolved_at:
        results = results.filter(evaluated_at__lte=alert.resolved_at)
    newest = results.order_by("-evaluated_at", "-id")
    return newest.filter(status="breached").first() or newest.first()


def when_window(alert: Alert, now: datetime) -> TimeRange:
    """From before the onset to now (to the resolution and a margin when resolved)."""
    start = onset(alert) or alert.last_evaluated or now
    end = alert.resolved_at if alert.state == AlertState.RESOLVED else None
    return around(start, end, now)


def rule_window_seconds(rule) -> int:
    """The window the rule's check reads, ending at each evaluation."""
    value = (rule.config or {}).get("window")
    if value is None:
        try:
            field = kinds.kind_of(rule.kind).fields.get("window")
        except (KeyError, ValueError):
            field = None
        value = field.default if field is not None and field.default else DEFAULT_WINDOW
    try:
        return parse_duration(value)
    except ValueError:
        return DEFAULT_WINDOW


def evidence_window(alert: Alert, result: CheckResult | None, now: datetime) -> TimeRange:
    """The window the explaining result was computed over (the current side)."""
    end = result.evaluated_at if result is not None else (alert.last_evaluated or now)
    return TimeRange(end - timedelta(seconds=rule_window_seconds(alert.rule)), end, "custom")


def value_in_words(alert: Alert) -> str:
    """ "value 0.7 is below the threshold 0.8 (< 0.8 breaks the rule)"."""
    if alert.value is None:
        return "No value was measured at the last evaluation."
    if alert.threshold is None:
        return f"Value {fmt(alert.value)}."
    operator = str((alert.rule.config or {}).get("operator") or "")
    side = (
        "above"
        if alert.value > alert.threshold
        else "below"
        if alert.value < alert.threshold
        else "equal to"
    )
    rule = (
        f" (the rule breaks when the value is {operator} {fmt(alert.threshold)})"
        if operator
        else ""
    )
    return f"Value {fmt(alert.value)} is {side} the threshold {fmt(alert.threshold)}{rule}."


def history(alert: Alert, user) -> list:
    """Transitions, newest first, with the deliveries to channels `user` may see."""
    deliveries = Delivery.objects.select_related("channel").order_by("created_at", "id")
    if not is_unrestricted(user):
        deliveries = deliveries.filter(channel__in=visible_channels(user, alert.rule.model))
    return list(
        alert.transitions.order_by("-created_at", "-id").prefetch_related(
            Prefetch("deliveries", queryset=deliveries, to_attr="visible_deliveries")
        )[:200]
    )


def active_silences(alert: Alert, now: datetime) -> list[Silence]:
    """Silences whose matchers cover the alert now, the one ending first first."""
    found = silences.covering(silences.alert_labels(alert), silences.active_silences(now))
    return sorted(found, key=lambda silence: silence.ends_at)


def silence_end(choice: str, custom: str, now: datetime) -> datetime:
    """The end of a silence chosen as 1h, 24h or a custom end (ISO, UTC when naive).

    Raises ValueError with a message for the user.
    """
    if choice in SILENCE_CHOICES:
        return now + SILENCE_CHOICES[choice]
    try:
        end = datetime.fromisoformat(custom.strip())
    except ValueError:
        raise ValueError("Give the silence's end as a date and time.") from None
    if end.tzinfo is None:
        end = end.replace(tzinfo=now.tzinfo)
    if end <= now:
        raise ValueError("The silence's end must be in the future.")
    return end
