"""Celery tasks: thin wrappers over plain functions, nothing else."""

from celery import shared_task

from alerts_app.heartbeat import record_heartbeat


@shared_task(ignore_result=True)
def heartbeat_task() -> None:
    record_heartbeat()
