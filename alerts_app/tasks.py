"""Celery tasks: thin wrappers over plain functions, nothing else.

`acks_late` (with the project-wide `task_reject_on_worker_lost`) puts a message back
when the worker dies mid-task; each function below is safe to run again.
"""

from celery import shared_task

from alerts_app.heartbeat import record_heartbeat
from alerts_app.incidents import deliver_incident, flush_incident
from alerts_app.incidents import sweep as sweep_incidents
from alerts_app.outbox import deliver, sweep_deliveries
from alerts_app.schedule import dispatch_due_rules, evaluate_rules


@shared_task(ignore_result=True)
def heartbeat_task() -> None:
    record_heartbeat()


@shared_task(ignore_result=True, acks_late=True)
def dispatch_task() -> None:
    dispatch_due_rules()


@shared_task(ignore_result=True, acks_late=True)
def evaluate_rules_task(items: list) -> None:
    evaluate_rules(items)


@shared_task(ignore_result=True, acks_late=True)
def deliver_task(delivery_id: int) -> None:
    deliver(delivery_id)


@shared_task(ignore_result=True, acks_late=True)
def sweep_deliveries_task() -> None:
    sweep_deliveries()


@shared_task(ignore_result=True, acks_late=True)
def flush_incident_task(incident_id: int) -> None:
    flush_incident(incident_id)


@shared_task(ignore_result=True, acks_late=True)
def deliver_incident_task(delivery_id: int) -> None:
    deliver_incident(delivery_id)


@shared_task(ignore_result=True, acks_late=True)
def sweep_incidents_task() -> None:
    sweep_incidents()
