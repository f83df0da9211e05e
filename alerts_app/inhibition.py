"""Inhibition: a firing alert holds back the notifications of related alerts.

The built-in rule: a firing `no_data` alert of a model holds back that model's drift,
quality and performance notifications (the data is missing, not bad; turn it off with
`MODELWATCH_INHIBIT_NO_DATA=0`). More rules live in `InhibitRule` (admin and API):
source matchers -> target matchers, with `equal` labels that source and target share.

The decision is pure (`find_inhibitor`); `inhibitor_of(alert)` reads the firing alerts
that could be sources. An inhibited alert still changes state and shows on the pages
(`inhibitor_of` tells them by which alert); only its notifications are held back:
muted deliveries for a rule's own channels, left out of its incident's notifications.
"""

from dataclasses import dataclass

from django.conf import settings

from alerts_app.routing import alert_labels, matches

DATA_KINDS = (
    "data_drift",
    "prediction_drift",
    "multivariate_drift",
    "data_quality",
    "performance",
    "estimated_performance",
)


@dataclass(frozen=True)
class Inhibition:
    """One inhibit rule as plain data."""

    name: str
    source: dict
    target: dict
    equal: tuple = ()


NO_DATA_INHIBITION = Inhibition(
    name="no data holds back drift, quality and performance",
    source={"kind": ["no_data"]},
    target={"kind": list(DATA_KINDS)},
    equal=("model",),
)


def find_inhibitor(target: dict, sources: list, rules: list[Inhibition]):
    """The first `(key, labels)` of `sources` that inhibits `target` under `rules`, or
    None. An alert never inhibits itself (sources with the target's key are skipped by
    the caller) and the `equal` labels must be the same on both."""
    for rule in rules:
        if not matches(rule.target, target):
            continue
        for key, labels in sources:
            if matches(rule.source, labels) and all(
                labels.get(name) == target.get(name) for name in rule.equal
            ):
                return key, rule
    return None


# The database side ---------------------------------------------------------------------


def inhibitions() -> list[Inhibition]:
    """The built-in rule (unless turned off) and every enabled InhibitRule."""
    from alerts_app.models import InhibitRule

    rules = [NO_DATA_INHIBITION] if getattr(settings, "MODELWATCH_INHIBIT_NO_DATA", True) else []
    for row in InhibitRule.objects.filter(enabled=True):
        rules.append(
            Inhibition(
                row.name,
                row.source_matchers or {},
                row.target_matchers or {},
                tuple(row.equal or ()),
            )
        )
    return rules


def labels_of(alert) -> dict:
    """The routing labels of an alert (its rule and model loaded)."""
    rule = alert.rule
    return alert_labels(
        model=rule.model.name,
        tags=rule.model.tags or (),
        severity=rule.severity,
        kind=rule.kind,
        rule=rule.id,
        version=alert.version.version if alert.version_id else None,
        feature=alert.feature,
    )


def candidate_sources(target_labels: dict, rules: list[Inhibition], exclude_id: int):
    """The firing alerts that could inhibit the target, narrowed in SQL by what the
    rules' source matchers and `equal: [model]` pin down."""
    from alerts_app.models import Alert, AlertState

    found = []
    for rule in rules:
        if not matches(rule.target, target_labels):
            continue
        query = Alert.objects.filter(state=AlertState.FIRING).exclude(id=exclude_id)
        if rule.source.get("kind"):
            query = query.filter(rule__kind__in=rule.source["kind"])
        if rule.source.get("model"):
            query = query.filter(rule__model__name__in=rule.source["model"])
        if rule.source.get("severity"):
            query = query.filter(rule__severity__in=rule.source["severity"])
        if "model" in rule.equal:
            query = query.filter(rule__model__name=target_labels["model"])
        found += list(query.select_related("rule__model", "version")[:200])
    return found


def inhibitor_of(alert, rules: list[Inhibition] | None = None):
    """The firing alert that holds back `alert`'s notifications now, or None. Pages call
    this to mark an inhibited alert ("held back by …")."""
    rules = inhibitions() if rules is None else rules
    target = labels_of(alert)
    sources = candidate_sources(target, rules, alert.id)
    if not sources:
        return None
    by_id = {source.id: source for source in sources}
    found = find_inhibitor(target, [(s.id, labels_of(s)) for s in sources], rules)
    return by_id[found[0]] if found else None


def inhibition_text(inhibitor) -> str:
    """`inhibited by alert #7 (No data on fraud)`: the mark pages and deliveries show."""
    return (
        f"inhibited by alert #{inhibitor.id} ({inhibitor.rule.name} on {inhibitor.rule.model.name})"
    )
