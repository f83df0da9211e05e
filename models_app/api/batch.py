"""Shared plumbing of every telemetry endpoint: envelope, version, idempotency, answer."""

from collections.abc import Callable

from django.conf import settings
from django.utils import timezone
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from models_app.idempotency import request_claim, run_once
from models_app.models import Model, ModelVersion
from models_app.validation import validate_records


def parse_envelope(data) -> tuple[str | None, list]:
    """Check `{"version"?, "records": [...]}` without touching the records themselves."""
    if not isinstance(data, dict):
        raise ValidationError({"non_field_errors": ["Expected a JSON object."]})
    version, records = data.get("version"), data.get("records")
    if version is not None and (not isinstance(version, str) or len(version) > 100):
        raise ValidationError({"version": ["Must be a string of at most 100 characters."]})
    if records is None:
        raise ValidationError({"records": ["This field is required."]})
    if not isinstance(records, list):
        raise ValidationError({"records": ["Expected a list of records."]})
    if not records:
        raise ValidationError({"records": ["This list may not be empty."]})
    limit = settings.MODELWATCH_MAX_BATCH
    if len(records) > limit:
        message = f"Ensure this field has no more than {limit} elements."
        raise ValidationError({"records": [message]})
    return version, records


def resolve_version(model: Model, version: str | None) -> ModelVersion:
    """The named version (400 when unknown), else the latest, created as "1" if none."""
    if version is not None:
        found = ModelVersion.objects.filter(model=model, version=version).first()
        if found is None:
            raise ValidationError({"version": [f'Version "{version}" does not exist.']})
        return found
    latest = model.latest_version()
    if latest is None:
        latest, _ = ModelVersion.objects.get_or_create(model=model, version="1")
    return latest


def ingest_batch(
    request,
    model: Model,
    endpoint: str,
    validate_one: Callable,
    record: Callable[[ModelVersion, list[dict]], int],
    check_rows: Callable[[list[dict]], None] | None = None,
) -> Response:
    """Validate the whole batch, then store it atomically, once per Idempotency-Key.

    `check_rows(rows)` may raise a ValidationError about the batch as a whole (e.g. an
    id repeated across records) once every record is valid on its own.
    """
    claim = request_claim(request)
    version_name, records = parse_envelope(request.data)
    rows = validate_records(records, validate_one, now=timezone.now())
    if check_rows is not None:
        check_rows(rows)
    version = resolve_version(model, version_name)
    status_code, body = run_once(
        model, endpoint, claim, lambda: (201, {"accepted": record(version, rows)})
    )
    return Response(body, status=status_code)
