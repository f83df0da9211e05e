"""Store a batch once per `Idempotency-Key`, even when two copies race.

The key row is inserted first, inside the batch's transaction: a concurrent copy
blocks on the unique index until the first commits, then finds its answer. The row
keeps a digest of the request body: the same key with the same body answers the first
answer, the same key with another body is refused (422), never answered as if stored.

The digest is the sha256 of the *parsed* body in a canonical form, not of the raw
bytes: a multipart upload gets a fresh random boundary on every send (the SDK's retries
of a CSV reference would otherwise all be refused), and the same JSON with other
whitespace or key order is the same batch.
"""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import orjson
from django.db import IntegrityError, transaction
from rest_framework import status
from rest_framework.exceptions import APIException, ValidationError

from models_app.models import IdempotencyKey, Model

Answer = tuple[int, dict]
HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 200


class KeyReused(APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "idempotency_key_reused"


@dataclass(frozen=True)
class Claim:
    """The request's key and the digest of its body."""

    key: str
    body_sha256: str


def request_claim(request) -> Claim | None:
    """The request's `Idempotency-Key` with its body's digest; None without a key.

    Call it before anything reads an uploaded file: the digest reads files through.
    """
    key = request.headers.get(HEADER)
    if not key:
        return None
    if len(key) > MAX_KEY_LENGTH:
        raise ValidationError({HEADER: [f"Must be at most {MAX_KEY_LENGTH} characters."]})
    if not (key.isascii() and key.isprintable()):
        raise ValidationError({HEADER: ["Must be printable ASCII characters."]})
    return Claim(key, body_digest(request))


def body_digest(request) -> str:
    """sha256 of the parsed body: JSON with sorted keys; form fields, then files' bytes."""
    data, digest = request.data, hashlib.sha256()
    if not hasattr(data, "getlist"):
        digest.update(b"json\0" + orjson.dumps(data, option=orjson.OPT_SORT_KEYS))
        return digest.hexdigest()
    files = request.FILES
    fields = {name: data.getlist(name) for name in data if name not in files}
    digest.update(b"form\0" + orjson.dumps(fields, option=orjson.OPT_SORT_KEYS))
    for name in sorted(files):
        for upload in files.getlist(name):
            digest.update(b"\0file\0" + name.encode() + b"\0" + str(upload.size).encode())
            for chunk in upload.chunks():
                digest.update(chunk)
            upload.seek(0)
    return digest.hexdigest()


def _stored(model: Model, endpoint: str, claim: Claim) -> Answer | None:
    row = IdempotencyKey.objects.filter(model=model, endpoint=endpoint, key=claim.key).first()
    if row is None:
        return None
    if row.body_sha256 and row.body_sha256 != claim.body_sha256:
        raise KeyReused(
            {
                HEADER: [
                    "This key was already used with a different request body; "
                    "send each new batch with a new key."
                ]
            }
        )
    return row.status_code, row.response


def run_once(
    model: Model, endpoint: str, claim: Claim | None, write: Callable[[], Answer]
) -> Answer:
    """Run `write` in a transaction, at most once per (model, endpoint, key).

    Raises KeyReused (422) when the key was stored with another body's digest.
    """
    if claim is None:
        with transaction.atomic():
            return write()
    if (answer := _stored(model, endpoint, claim)) is not None:
        return answer
    with transaction.atomic():
        try:
            with transaction.atomic():
                row = IdempotencyKey.objects.create(
                    model=model,
                    endpoint=endpoint,
                    key=claim.key,
                    body_sha256=claim.body_sha256,
                    status_code=0,
                    response={},
                )
        except IntegrityError:
            row = None
        if row is not None:
            status_code, body = write()
            row.status_code, row.response = status_code, body
            row.save(update_fields=["status_code", "response"])
            return status_code, body
    return _stored(model, endpoint, claim)
