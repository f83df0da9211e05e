"""A rule deleted while it is evaluated: the delete succeeds, the evaluation ends quietly
and nothing is left behind for the deleted rule (no 500, no foreign-key error)."""

import threading
import time
from unittest import mock

import pytest
from django.db import connection, connections
from rest_framework.test import APIClient

from alerts_app import evaluate, schedule
from alerts_app.api import views
from alerts_app.models import Alert, AlertRule, CheckResult
from tests.factories import make_alert_rule, make_token, make_user

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def staff() -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {make_token(make_user('ops', staff=True))}")
    return client


def deleting_the_rule_midway(rule: AlertRule):
    """A run_check that deletes the rule (committed, as another request would) first."""
    real = evaluate.run_check

    def run_check(rule_, config, now):
        AlertRule.objects.filter(pk=rule.pk).delete()
        return real(rule_, config, now)

    return mock.patch.object(evaluate, "run_check", run_check)


def deleted_before_the_lock(rule: AlertRule):
    """An evaluate_now whose rule is deleted (committed, as another request would) after
    the view found it and before the evaluation locks it: once locked, a delete waits."""
    real = evaluate.evaluate_now

    def evaluate_now(rule_id, at=None):
        AlertRule.objects.filter(pk=rule.pk).delete()
        return real(rule_id, at)

    return mock.patch.object(views, "evaluate_now", evaluate_now)


def test_evaluate_and_store_of_a_rule_deleted_meanwhile_answers_404_and_stores_nothing(
    staff, model
):
    rule = make_alert_rule(model, kind="no_data")
    with deleted_before_the_lock(rule):
        response = staff.post(f"/api/v1/rules/{rule.id}/evaluate/", {}, format="json")
    assert response.status_code == 404, response.content
    assert response.json() == {"detail": "No AlertRule matches the given query."}
    assert not AlertRule.objects.exists() and not CheckResult.objects.exists()


def test_evaluate_without_storing_a_rule_deleted_meanwhile_still_answers(staff, model):
    rule = make_alert_rule(model, kind="no_data")
    with deleting_the_rule_midway(rule):
        response = staff.post(f"/api/v1/rules/{rule.id}/evaluate/", {"store": False}, format="json")
    assert response.status_code == 200 and response.json()["id"] is None
    assert not CheckResult.objects.exists()


EVALUATIONS = {
    "dispatched": lambda rule_id: schedule.evaluate_due_rule(rule_id),
    "evaluate now": lambda rule_id: evaluate.evaluate_now(rule_id).result,
}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: PostgreSQL only")
@pytest.mark.parametrize("how", list(EVALUATIONS))
def test_a_delete_during_an_evaluation_waits_for_it_and_removes_its_rows(staff, model, how):
    """The dispatcher (and Evaluate now) holds the rule's row lock while it evaluates; a
    DELETE arriving then must wait and cascade to the CheckResult and Alert it adds."""
    rule = make_alert_rule(model, kind="no_data")  # never seen data: breached, alert created
    evaluating, go = threading.Event(), threading.Event()
    real = evaluate.run_check
    outcome = {}

    def slow_check(rule_, config, now):
        evaluating.set()
        go.wait(10)
        return real(rule_, config, now)

    def evaluation():
        try:
            outcome["result"] = EVALUATIONS[how](rule.id)
        finally:
            connections.close_all()

    def deletion():
        try:
            outcome["delete"] = staff.delete(f"/api/v1/rules/{rule.id}/")
        finally:
            connections.close_all()

    with mock.patch.object(evaluate, "run_check", slow_check):
        worker = threading.Thread(target=evaluation)
        worker.start()
        assert evaluating.wait(10)
        deleter = threading.Thread(target=deletion)
        deleter.start()
        time.sleep(1)  # the DELETE is now waiting (fixed) or has collected and waits (bug)
        go.set()
        worker.join(20)
        deleter.join(20)
    assert outcome["result"] is not None and outcome["result"].status == "breached"
    assert outcome["delete"].status_code == 204, outcome["delete"].content
    assert not AlertRule.objects.exists()
    assert not CheckResult.objects.exists() and not Alert.objects.exists()
