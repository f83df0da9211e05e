"""What the alert page shows: the causes, the windows, the history and silences.

Causes come from `details["causes"]` of the alert's newest breached result (most
important first). Results stored before causes existed are explained from their
per-feature drift statistics (`details["features"]`) or verdicts (`details["verdicts"]`),
ranked by the same comparable score: statistic ÷ threshold for distances,
−log10(p) ÷ −log10(threshold) for p-value tests.
"""

import math
from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.db.models import Prefetch

from access.channels import visible_channels
from access.roles import is_unrestricted
from alerts_app import kinds, silences
from alerts_app.checks import causes as checks_causes
from alerts_app.models import Alert, AlertState, CheckResult, Delivery, Silence
from alerts_app.rule_fields import parse_duration
from frontend import charts, distributions
from frontend.ranges import TimeRange, around

MAX_CAUSES = 10
TOP_FEATURES = 3
DEFAULT_WINDOW = 3600
HISTORY_ROWS = 50  # newest transitions on the page; the API pages through all of them
ACTIVE_STATES = (AlertState.PENDING, AlertState.FIRING)
SILENCE_CHOICES = {"1h": timedelta(hours=1), "24h": timedelta(hours=24)}


def number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def fmt(value) -> str:
    number_ = number(value)
    return "n/a" if number_ is None else f"{number_:.4g}"


def drift_score(verdict: dict) -> float:
    """Comparable across methods: > 1 means past the threshold (`checks.causes`)."""
    statistic, threshold = number(verdict.get("statistic")), number(verdict.get("threshold"))
    if statistic is None or threshold is None:
        return 0.0
    p_value = number(verdict.get("p_value_adjusted", verdict.get("p_value")))
    return checks_causes.drift_score(str(verdict.get("method")), statistic, p_value, threshold)


def drift_summary(feature: str, verdict: dict) -> str:
    """`mean_radius (Wasserstein 0.36)`, `channel (χ² p < 1e-6)`, as the checks write it."""
    statistic = number(verdict.get("statistic"))
    p_value = number(verdict.get("p_value_adjusted", verdict.get("p_value")))
    method = str(verdict.get("method") or "drift")
    if statistic is None:
        return f"{checks_causes.shown_name(feature)} ({method})"
    return checks_causes.drift_summary(feature, method, statistic, p_value)


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
    return result_window(alert.rule, result, alert.last_evaluated or now)


def result_window(rule, result: CheckResult | None, fallback_end: datetime) -> TimeRange:
    """The window `result` read: the rule's `window` ending at its evaluation."""
    end = result.evaluated_at if result is not None else fallback_end
    return TimeRange(end - timedelta(seconds=rule_window_seconds(rule)), end, "custom")


def rule_explaining_result(rule) -> CheckResult | None:
    """What the rule page explains: the newest breached result while the rule has active
    alerts, else the newest result."""
    newest = CheckResult.objects.filter(rule_id=rule.pk).order_by("-evaluated_at", "-id")
    if Alert.objects.filter(rule_id=rule.pk, state__in=ACTIVE_STATES).exists():
        return newest.filter(status="breached").first() or newest.first()
    return newest.first()


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
        )[:HISTORY_ROWS]
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


def distribution_cards(url: str, causes: list[dict]) -> list[dict]:
    """The reference-vs-current figures of the top features, drawn on the page's load."""
    return [
        {
            "fid": f"distribution-{i}",
            "feature": name,
            "src": f"{url}?{urlencode({'feature': name})}",
        }
        for i, name in enumerate(top_features(causes), start=1)
    ]


def result_distribution(rule, version, result, feature: str, fallback_end):
    """`feature`'s reference vs the window `result` read (the alert page, the rule page)."""
    version = version or (result.version if result else None) or rule.model.latest_version()
    if version is None or not feature:
        return charts.empty_figure("No reference data yet.", title="Reference vs current")
    window = result_window(rule, result, fallback_end)
    verdict = ((result.details or {}).get("features") or {}).get(feature) if result else None
    frame = distributions.distribution_frame(rule.model, version, feature, window)
    return charts.distribution_figure(
        frame, feature, verdict if isinstance(verdict, dict) else None
    )


def legend_at_the_bottom(fig):
    """The legend at the figure's bottom edge, below the axis labels however long they
    are (rotated bin labels in a narrow card), instead of at a fixed share of the plot
    height where it overlaps them and spills out of the card."""
    if fig.layout.showlegend is False:
        return fig
    return fig.update_layout(
        legend={"yref": "container", "y": 0, "yanchor": "bottom"},
        xaxis={"automargin": True},
        margin={"b": 32},
    )
