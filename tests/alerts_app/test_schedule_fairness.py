"""One model's many due rules cannot delay another model's: the dispatcher round-robins
the models and enqueues at most MODELWATCH_DISPATCH_PER_MODEL rules of a model per cycle."""

from datetime import UTC, datetime, timedelta

import pytest

from alerts_app import schedule
from alerts_app.models import AlertRule
from tests.factories import make_model

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def many_rules(model, count: int, due_at: datetime) -> list[int]:
    rules = AlertRule.objects.bulk_create(
        AlertRule(
            model=model,
            name=f"r{i}",
            kind="metric_threshold",
            config={},
            next_run_at=due_at,
            interval=60,
        )
        for i in range(count)
    )
    return [rule.id for rule in rules]


def dispatched(now: datetime, capture) -> list:
    published = []
    with capture(execute=True):
        schedule.dispatch_due_rules(now, publish=published.append)
    return [claim for batch in published for claim in batch]


def test_the_other_models_rule_is_in_the_first_message(
    settings, django_capture_on_commit_callbacks
):
    settings.MODELWATCH_DISPATCH_BATCH = 5  # the first batch of rows is all the busy model's
    busy, quiet = make_model("busy"), make_model("quiet")
    many_rules(busy, 15, at(-600))  # due for longer than the quiet model's rule
    lone = many_rules(quiet, 1, at(-1))[0]
    claims = dispatched(T0, django_capture_on_commit_callbacks)
    first = schedule.chunks(claims, settings.MODELWATCH_DISPATCH_CHUNK)[0]
    assert lone in [rule_id for rule_id, _, _ in first]
    assert [rule_id for rule_id, _, _ in claims][:2][1] == lone  # round 1: busy, quiet


def test_models_are_interleaved_in_the_order_of_their_oldest_due_rule():
    first, second, third = (make_model(name) for name in ("a", "b", "c"))
    a = many_rules(first, 3, at(-30))
    b = many_rules(second, 2, at(-20))
    c = many_rules(third, 1, at(-10))
    claims = [rule_id for rule_id, _, _ in schedule.claim_due_rules(T0, limit=100)]
    assert claims == [a[0], b[0], c[0], a[1], b[1], a[2]]


def test_a_model_gets_at_most_its_share_per_cycle_and_the_rest_next_cycle(
    settings, django_capture_on_commit_callbacks
):
    settings.MODELWATCH_DISPATCH_PER_MODEL = 20
    settings.MODELWATCH_DISPATCH_BATCH = 7  # the share holds across the batches of a cycle
    busy, quiet = make_model("busy"), make_model("quiet")
    hundred = many_rules(busy, 100, at(-600))
    lone = many_rules(quiet, 1, at(-1))[0]
    cycle = [rule_id for rule_id, _, _ in dispatched(T0, django_capture_on_commit_callbacks)]
    assert len(cycle) == 21 and lone in cycle
    assert sorted(set(cycle) - {lone}) == hundred[:20]
    left = AlertRule.objects.filter(id__in=hundred[20:])
    assert set(left.values_list("next_run_at", flat=True)) == {at(-600)}  # still due
    AlertRule.objects.filter(id__in=cycle).update(last_run_at=at(10))  # evaluated
    following = dispatched(at(30), django_capture_on_commit_callbacks)
    assert sorted(rule_id for rule_id, _, _ in following) == hundred[20:40]


def test_rules_still_in_flight_count_against_the_models_share(
    settings, django_capture_on_commit_callbacks
):
    settings.MODELWATCH_DISPATCH_PER_MODEL = 5
    busy, quiet = make_model("busy"), make_model("quiet")
    rules = many_rules(busy, 10, at(-1))
    first = dispatched(T0, django_capture_on_commit_callbacks)
    assert [rule_id for rule_id, _, _ in first] == rules[:5]
    # Half a cycle later the five are still queued behind a backlog, not evaluated: they
    # fill the model's share, so none of its other five due rules is sent.
    lone = many_rules(quiet, 1, at(20))[0]
    assert [c[0] for c in dispatched(at(30), django_capture_on_commit_callbacks)] == [lone]
    # Two are evaluated: two places free up, for the oldest due rules.
    AlertRule.objects.filter(id__in=rules[:2]).update(last_run_at=at(31))
    again = dispatched(at(32), django_capture_on_commit_callbacks)
    assert sorted(rule_id for rule_id, _, _ in again) == rules[5:7]


def test_a_rule_whose_message_was_lost_is_sent_again_once_due(
    settings, django_capture_on_commit_callbacks
):
    settings.MODELWATCH_DISPATCH_PER_MODEL = 1
    rule = many_rules(make_model("busy"), 1, at(-1))[0]
    assert len(dispatched(T0, django_capture_on_commit_callbacks)) == 1  # never evaluated
    assert dispatched(at(30), django_capture_on_commit_callbacks) == []
    assert [c[0] for c in dispatched(at(61), django_capture_on_commit_callbacks)] == [rule]
