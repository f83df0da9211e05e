"""Telemetry endpoints besides metrics: predictions, labels, reference, parameters.

Each is a plain function of (request, model) that the ModelViewSet's actions call.
"""

from django.conf import settings
from django.utils import timezone
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from models_app import ingest, profiles, validation
from models_app.api.batch import ingest_batch, parse_envelope, resolve_version
from models_app.api.parsers import PayloadTooLarge, check_body_size
from models_app.idempotency import request_claim, run_once
from models_app.models import Model, Reference
from models_app.reference import without_samples
from models_app.reference_io import (
    ReferenceInputError,
    ReferenceTooLarge,
    reference_from_profiles,
    reference_from_records,
    reference_from_upload,
    reference_from_window,
)


def post_predictions(request, model: Model) -> Response:
    return ingest_batch(
        request,
        model,
        "predictions",
        validation.prediction_record,
        ingest.record_predictions,
        ingest.check_prediction_batch,
    )


def post_parameters(request, model: Model) -> Response:
    return ingest_batch(
        request, model, "parameters", validation.parameter_record, ingest.record_parameters
    )


def post_labels(request, model: Model) -> Response:
    """Join labels by prediction id: 200 `{"matched": n, "unmatched": [ids]}`."""
    claim = request_claim(request)
    _, records = parse_envelope(request.data)
    rows = validation.validate_records(records, validation.label_record)
    validation.unique_ids(rows)
    status_code, body = run_once(
        model, "labels", claim, lambda: (200, ingest.record_labels(model, rows))
    )
    return Response(body, status=status_code)


def reference_answer(reference: Reference) -> dict:
    return {
        "id": reference.pk,
        "version": reference.version.version,
        "created_at": reference.created_at.isoformat(),
        "source": reference.source,
        "n_rows": reference.n_rows,
        "summary": without_samples(reference.summary),
    }


def get_reference(request, model: Model) -> Response:
    version = resolve_version(model, request.query_params.get("version"))
    reference = profiles.current_reference(version)
    if reference is None:
        raise NotFound(f'Version "{version.version}" has no reference yet.')
    return Response(reference_answer(reference))


def version_field(data) -> str | None:
    version = data.get("version") if hasattr(data, "get") else None
    if version is not None and (not isinstance(version, str) or len(version) > 100):
        raise ValidationError({"version": ["Must be a string of at most 100 characters."]})
    return version or None


def window_field(window, field: str = "window") -> tuple:
    if not isinstance(window, dict):
        raise ValidationError({field: ['Expected {"start": ..., "end"?: ...}.']})
    now, errors = timezone.now(), {}
    start = validation.check(errors, "start", validation.utc_timestamp, window.get("start"), now)
    if window.get("start") is None:
        errors["start"] = "This field is required."
    end = validation.check(errors, "end", validation.utc_timestamp, window.get("end"), now)
    if not errors and start >= end:
        errors["start"] = "Must be before end."
    if errors:
        raise ValidationError({field: {k: [v] for k, v in errors.items()}})
    return start, end


def record_objects(records: list) -> list[dict]:
    bad = {
        str(i): {"non_field_errors": ["Expected an object."]}
        for i, record in enumerate(records)
        if not isinstance(record, dict)
    }
    if bad:
        raise ValidationError({"records": bad})
    return records


def reference_builder(request, version):
    """What to build the reference from: a `file` (CSV, gzip-compressed CSV or Parquet, as
    a multipart part or the whole body), a `window` of predictions, the `profiles` of a
    window, or `records`."""
    data = request.data
    if request.FILES or request.content_type.startswith("multipart/"):
        upload = request.FILES.get("file")
        if upload is None:
            raise ValidationError({"file": ["No file was submitted."]})
        gzip_encoded = request.headers.get("Content-Encoding", "").lower() == "gzip"
        return "file", lambda: reference_from_upload(version, upload, gzip_encoded)
    if isinstance(data, dict) and data.get("window") is not None:
        start, end = window_field(data["window"])
        return "window", lambda: reference_from_window(version, start, end)
    if isinstance(data, dict) and data.get("profiles") is not None:
        start, end = window_field(data["profiles"], "profiles")
        return "profiles", lambda: reference_from_profiles(version, start, end)
    _, records = parse_envelope(data)
    records = record_objects(records)
    return "records", lambda: reference_from_records(version, records)


def post_reference(request, model: Model) -> Response:
    """201 with the new reference's summary (bounded samples left out)."""
    check_body_size(request, settings.MODELWATCH_REFERENCE_MAX_BYTES)
    claim = request_claim(request)
    version = resolve_version(
        model, version_field(request.data) or request.query_params.get("version")
    )
    field, build = reference_builder(request, version)

    def write():
        try:
            return 201, reference_answer(build())
        except ReferenceTooLarge as exc:
            raise PayloadTooLarge(str(exc)) from None
        except ReferenceInputError as exc:
            raise ValidationError({field: [str(exc)]}) from None

    status_code, body = run_once(model, "reference", claim, write)
    return Response(body, status=status_code)


def get_profile_specs(request, model: Model) -> Response:
    """How the server profiles the version (`?version=`, else the latest): what the SDK
    mirrors to compute profiles the server would have written itself."""
    version = resolve_version(model, request.query_params.get("version"))
    return Response(profiles.profile_specs(version))


def post_profiles(request, model: Model) -> Response:
    """Client-computed partial profiles, one per hour bucket: 201 `{"accepted": n}`, n the
    predictions they describe. All or nothing; once per Idempotency-Key."""
    check_body_size(request)
    claim = request_claim(request)
    version_name, records = parse_envelope(request.data)
    rows = validation.validate_records(records, profiles.profile_record, now=timezone.now())
    duplicates = profiles.duplicate_buckets(rows)
    if duplicates:
        raise ValidationError({"records": duplicates})
    limit = settings.MODELWATCH_MAX_PROFILE_ROWS
    if (written := profiles.profile_row_count(rows)) > limit:
        message = f"The batch holds {written} profiles; at most {limit}: send fewer buckets."
        raise ValidationError({"records": [message]})
    version = resolve_version(model, version_name)

    def write():
        accepted, stored = profiles.record_posted(version, rows)
        ingest.touch_model(model)
        return 201, {"accepted": accepted, "profiles": stored}

    status_code, body = run_once(model, "profiles", claim, write)
    return Response(body, status=status_code)
