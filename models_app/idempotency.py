"""Store a batch once per `Idempotency-Key`, even when two copies race.

The key row is inserted first, inside the batch's transaction: a concurrent copy
blocks on the unique index until the first commits, then finds its answer.
"""

from collections.abc import Callable

from django.db import IntegrityError, transaction

from models_app.models import IdempotencyKey, Model

Answer = tuple[int, dict]


def _stored(model: Model, endpoint: str, key: str) -> Answer | None:
    row = IdempotencyKey.objects.filter(model=model, endpoint=endpoint, key=key).first()
    return (row.status_code, row.response) if row else None


def run_once(model: Model, endpoint: str, key: str | None, write: Callable[[], Answer]) -> Answer:
    """Run `write` in a transaction, at most once per (model, endpoint, key)."""
    if not key:
        with transaction.atomic():
            return write()
    if (answer := _stored(model, endpoint, key)) is not None:
        return answer
    with transaction.atomic():
        try:
            with transaction.atomic():
                claim = IdempotencyKey.objects.create(
                    model=model, endpoint=endpoint, key=key[:200], status_code=0, response={}
                )
        except IntegrityError:
            claim = None
        if claim is not None:
            status_code, body = write()
            claim.status_code, claim.response = status_code, body
            claim.save(update_fields=["status_code", "response"])
            return status_code, body
    return _stored(model, endpoint, key[:200])
