"""Check history for the demo's past: the windowed rules evaluated once a day of the story.

Real evaluations (`alerts_app.evaluate.evaluate_rule`, stored CheckResults) at past
times, so the dashboards' drift heatmap and performance charts show the story from day
one: drift from day 20, the CBPE estimate falling at once and the realised F1 only when
the labels have come. They move no alert: alerts start from the live evaluations.
Done once per rule (a rule with results is left alone).
"""

from datetime import datetime, timedelta

from alerts_app import kinds
from alerts_app.evaluate import evaluate_rule
from alerts_app.models import AlertRule, CheckResult

STEP = timedelta(days=1)


def history_times(start: datetime, now: datetime) -> list[datetime]:
    """Every day of the story after the first, before `now`."""
    moments, moment = [], start + STEP
    while moment < now - timedelta(minutes=1):
        moments.append(moment)
        moment += STEP
    return moments


def backfill_history(model_names: list[str], start: datetime, now: datetime) -> int:
    """Store the past evaluations of the models' windowed rules that have none yet."""
    rules = AlertRule.objects.filter(
        model__name__in=model_names, kind__in=kinds.named(hint="history")
    )
    fresh = rules.exclude(id__in=CheckResult.objects.values("rule_id")).select_related("model")
    stored = 0
    for rule in fresh:
        for moment in history_times(start, now):
            evaluate_rule(rule, moment, store=True)
            stored += 1
    return stored
