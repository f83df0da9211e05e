"""Two beats (two dispatchers) and two workers over 200 due rules: one evaluation per cycle."""

from collections import Counter

import pytest
from django.db.models import Count
from django.utils import timezone

from alerts_app.models import AlertRule, CheckResult
from tests.alerts_app.conftest import wait_until
from tests.factories import make_model

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]
RULES = 200


def evaluations_per_rule() -> Counter:
    counts = CheckResult.objects.values("rule").annotate(n=Count("id")).values_list("rule", "n")
    return Counter(dict(counts))


def start_cycle() -> None:
    AlertRule.objects.update(next_run_at=timezone.now())


def test_each_due_rule_is_evaluated_exactly_once_per_cycle(alerting):
    model = make_model()
    AlertRule.objects.bulk_create(
        AlertRule(
            model=model,
            name=f"rule {i}",
            kind="no_data",
            interval=3600,
            config={"window": "10m"},
            next_run_at=timezone.now(),
        )
        for i in range(RULES)
    )
    ids = set(AlertRule.objects.values_list("id", flat=True))
    for cycle in (1, 2):
        if cycle == 2:
            start_cycle()
        assert wait_until(lambda c=cycle: CheckResult.objects.count() >= RULES * c, timeout=90)
        # a few more dispatcher ticks from both beats: a double claim would show up now
        wait_until(lambda: False, timeout=3)
        counts = evaluations_per_rule()
        assert set(counts) == ids
        assert set(counts.values()) == {cycle}, Counter(counts.values())
    assert not CheckResult.objects.filter(status="error").exists()
