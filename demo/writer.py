"""Store demo records exactly as the API would: bulk validation, then `models_app.ingest`."""

from collections.abc import Callable

from django.db import transaction
from django.utils import timezone

from models_app import ingest, reference_io, validation
from models_app.models import Model, ModelVersion, Reference


def clean(records: list[dict], validate_one: Callable) -> list[dict]:
    return validation.validate_records(records, validate_one, now=timezone.now())


def write_metrics(version: ModelVersion, records: list[dict]) -> int:
    rows = clean(records, validation.metric_record)
    with transaction.atomic():
        return ingest.record_metrics(version, rows) if rows else 0


def write_predictions(version: ModelVersion, records: list[dict]) -> int:
    rows = clean(records, validation.prediction_record)
    validation.unique_ids(rows)
    with transaction.atomic():
        return ingest.record_predictions(version, rows) if rows else 0


def write_labels(model: Model, records: list[dict]) -> int:
    rows = clean(records, validation.label_record)
    with transaction.atomic():
        return ingest.record_labels(model, rows)["matched"] if rows else 0


def write_parameters(version: ModelVersion, records: list[dict]) -> int:
    rows = clean(records, validation.parameter_record)
    with transaction.atomic():
        return ingest.record_parameters(version, rows) if rows else 0


def write_reference(version: ModelVersion, records: list[dict]) -> Reference:
    with transaction.atomic():
        return reference_io.reference_from_records(version, records)
