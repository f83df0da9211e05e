"""Data retention: prune old telemetry in bounded batches (each its own transaction).

Raw predictions and pending labels are kept `MODELWATCH_RETENTION_DAYS` (default 90);
profiles, daily profiles, metrics and weight statistics
`MODELWATCH_PROFILE_RETENTION_DAYS` (default 730), so long-range charts and drift
windows outlive the raw rows. Idempotency keys are kept `IDEMPOTENCY_DAYS`.
On PostgreSQL the prediction scan uses the BRIN index on `timestamp` (docs/storage.md).
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import QuerySet

from models_app.models import (
    DailyProfile,
    IdempotencyKey,
    MetricPoint,
    ParameterStat,
    PendingLabel,
    Prediction,
    Profile,
    SegmentProfile,
)

IDEMPOTENCY_DAYS = 7


def prune(queryset: QuerySet, batch_size: int, max_batches: int) -> int:
    """Delete `queryset`'s rows `batch_size` at a time (at most `max_batches` batches)."""
    deleted = 0
    for _ in range(max_batches):
        ids = list(queryset.order_by().values_list("pk", flat=True)[:batch_size])
        if not ids:
            break
        queryset.model.objects.filter(pk__in=ids).delete()
        deleted += len(ids)
    return deleted


def expired(now: datetime) -> dict[str, QuerySet]:
    raw = now - timedelta(days=settings.MODELWATCH_RETENTION_DAYS)
    kept = now - timedelta(days=settings.MODELWATCH_PROFILE_RETENTION_DAYS)
    return {
        "predictions": Prediction.objects.filter(timestamp__lt=raw),
        "pending_labels": PendingLabel.objects.filter(received_at__lt=raw),
        "profiles": Profile.objects.filter(bucket_start__lt=kept),
        "daily_profiles": DailyProfile.objects.filter(bucket_start__lt=kept),
        "segment_profiles": SegmentProfile.objects.filter(bucket_start__lt=kept),
        "metrics": MetricPoint.objects.filter(timestamp__lt=kept),
        "parameters": ParameterStat.objects.filter(timestamp__lt=kept),
        "idempotency_keys": IdempotencyKey.objects.filter(
            created_at__lt=now - timedelta(days=IDEMPOTENCY_DAYS)
        ),
    }


def prune_telemetry(now: datetime, batch_size: int = 10000, max_batches: int = 1000) -> dict:
    """Prune everything past its retention at `now`: {kind: rows deleted}."""
    return {
        name: prune(queryset, batch_size, max_batches) for name, queryset in expired(now).items()
    }
