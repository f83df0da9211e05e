"""Celery tasks of the telemetry: thin wrappers over plain functions."""

from celery import shared_task
from django.utils import timezone

from models_app.ingest import join_stale_labels
from models_app.profiles import rollup_pending, rollup_segment_profiles
from models_app.retention import prune_telemetry


@shared_task(ignore_result=True, acks_late=True)
def rollup_profiles_task() -> None:
    join_stale_labels()
    rollup_pending()
    rollup_segment_profiles()


@shared_task(ignore_result=True, acks_late=True)
def prune_telemetry_task() -> None:
    prune_telemetry(now=timezone.now())
