"""The only telemetry writer: API, CSV upload, demo seeder and SDK tests all come here.

On PostgreSQL rows go in with `COPY ... FROM STDIN` (`models_app.pgcopy`); elsewhere
with `bulk_create`. Callers hold the transaction.
Predictions are written with their partial profiles (`models_app.profiles`) in the
same transaction, and joined with the labels that arrived before them.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

import orjson
from django.conf import settings
from django.db import IntegrityError, connection, models, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from models_app import profiles, validation
from models_app.models import (
    MetricPoint,
    Model,
    ModelVersion,
    ParameterStat,
    PendingLabel,
    Prediction,
)
from models_app.pgcopy import (
    NULL,
    copy_models,
    copy_rows,
    copy_text,
    escape,
    json_value,
    text_value,
    uses_copy,
)
from monitor_site.metrics import count_ingested

TOUCH_EVERY = timedelta(seconds=1)
# The late-label sweep: pending labels examined per model and sweep, and how long a
# label stays "new" (a racing prediction batch commits well within a request's timeout).
LABEL_SWEEP_BUDGET = 1000
LABEL_SWEEP_GRACE = timedelta(minutes=5)


def touch_model(model: Model, seen_at: datetime | None = None) -> None:
    """Record that telemetry arrived (one UPDATE per batch, never per row).

    Skipped when `last_seen_at` is under a second old: concurrent batches of one model
    would otherwise queue on that row's lock until each other's commit.
    """
    seen_at = seen_at or timezone.now()
    stale = models.Q(last_seen_at__isnull=True) | models.Q(last_seen_at__lt=seen_at - TOUCH_EVERY)
    Model.objects.filter(stale, pk=model.pk).update(last_seen_at=seen_at)


def record_metrics(version: ModelVersion, rows: list[dict]) -> int:
    """Store validated metric rows (name, value, timestamp, step, stage) for `version`."""
    model_id = version.model_id
    if uses_copy():
        copy_rows(
            MetricPoint._meta.db_table,
            ["model_id", "version_id", "name", "value", "timestamp", "step", "stage"],
            (
                (model_id, version.pk, r["name"], r["value"], r["timestamp"], r["step"], r["stage"])
                for r in rows
            ),
        )
    else:
        MetricPoint.objects.bulk_create(
            [MetricPoint(model_id=model_id, version_id=version.pk, **r) for r in rows],
            batch_size=2000,
        )
    touch_model(version.model)
    count_ingested(version.model.name, "metrics", len(rows))
    return len(rows)


PREDICTION_COLUMNS = [
    "model_id",
    "version_id",
    "client_id",
    "timestamp",
    "features",
    "prediction",
    "scores",
    "label",
    "labeled_at",
    "latency_ms",
    "error",
]


def prediction_lines(version: ModelVersion, rows: Sequence[dict]) -> Iterable[str]:
    prefix = f"{version.model_id}\t{version.pk}\t"
    dumps = orjson.dumps
    for r in rows:
        features = escape(dumps(r["features"]).decode())
        latency = r["latency_ms"]
        labeled_at = r.get("labeled_at")
        moment = r.get("timestamp_text") or r["timestamp"].isoformat()
        yield (
            f"{prefix}{text_value(r['id'])}\t{moment}\t{features}\t"
            f"{json_value(r['prediction'])}\t{json_value(r['scores'])}\t"
            f"{json_value(r['label'])}\t{labeled_at.isoformat() if labeled_at else NULL}\t"
            f"{NULL if latency is None else repr(latency)}\t{text_value(r['error'])}"
        )


def insert_predictions(version: ModelVersion, rows: Sequence[dict]) -> None:
    if uses_copy():
        copy_text(Prediction._meta.db_table, PREDICTION_COLUMNS, prediction_lines(version, rows))
        return
    Prediction.objects.bulk_create(
        [
            Prediction(
                model_id=version.model_id,
                version_id=version.pk,
                client_id=r["id"],
                timestamp=r["timestamp"],
                features=r["features"],
                prediction=r["prediction"],
                scores=r["scores"],
                label=r["label"],
                labeled_at=r.get("labeled_at"),
                latency_ms=r["latency_ms"],
                error=r["error"],
            )
            for r in rows
        ],
        batch_size=1000,
    )


def stamp_inline_labels(rows: Sequence[dict]) -> None:
    """A label sent with its prediction arrived now, like a late one."""
    now = None
    for row in rows:
        if row["label"] is not None and row.get("labeled_at") is None:
            now = now or timezone.now()
            row["labeled_at"] = now


def join_pending_labels(model: Model, rows: Sequence[dict]) -> None:
    """Give rows the labels that arrived before them (and forget those pending labels).

    A label committed while this batch is in flight is not visible here, nor is this
    batch to that label's request: `join_stale_labels` (run with the rollup) joins those.
    """
    ids = [r["id"] for r in rows if r["id"] is not None]
    if not ids or not PendingLabel.objects.filter(model=model).exists():
        return
    pending = dict(
        PendingLabel.objects.filter(model=model, client_id__in=ids).values_list(
            "client_id", "label"
        )
    )
    if not pending:
        return
    now = timezone.now()
    for row in rows:
        if row["id"] in pending:
            row["label"], row["labeled_at"] = pending[row["id"]], now
    PendingLabel.objects.filter(model=model, client_id__in=list(pending)).delete()


def duplicate_id_error(model: Model, rows: Sequence[dict]) -> ValidationError:
    ids = [r["id"] for r in rows if r["id"] is not None]
    taken = set(
        Prediction.objects.filter(model=model, client_id__in=ids).values_list(
            "client_id", flat=True
        )
    )
    return ValidationError(
        {
            "records": {
                str(i): {"id": ["A prediction with this id already exists."]}
                for i, r in enumerate(rows)
                if r["id"] in taken
            }
        }
    )


def check_prediction_batch(rows: list[dict]) -> None:
    """400 for a batch of valid records that repeats an id, or that would cost more than
    the limits (docs/telemetry.md, "Limits"): distinct feature keys over
    MODELWATCH_MAX_FEATURES, feature values over MODELWATCH_MAX_FEATURE_VALUES, profile
    rows (hour buckets x features) over MODELWATCH_MAX_PROFILE_ROWS. Checked before
    anything is written."""
    validation.unique_ids(rows)
    size = profiles.batch_size(rows)
    if size.keys > (most := settings.MODELWATCH_MAX_FEATURES):
        refuse_batch(f"Too many distinct feature keys: {size.keys}; at most {most} per batch.")
    if size.values > (most := settings.MODELWATCH_MAX_FEATURE_VALUES):
        refuse_batch(
            f"Too many feature values: {size.values} (records x their features); "
            f"at most {most} per batch."
        )
    if size.profile_rows > (most := settings.MODELWATCH_MAX_PROFILE_ROWS):
        refuse_batch(
            f"The batch would write {size.profile_rows} profile rows ({size.hours} "
            "hour buckets, each with its feature keys and 5 outputs); at most "
            f"{most}: send fewer hours or features per batch."
        )


def refuse_batch(message: str) -> None:
    raise ValidationError({"records": [message]})


def record_predictions(version: ModelVersion, rows: list[dict]) -> int:
    """Store validated prediction rows and their partial profiles (one transaction).

    Raises ValidationError naming the records whose `id` is already stored.
    """
    model = version.model
    stamp_inline_labels(rows)
    join_pending_labels(model, rows)
    try:
        with transaction.atomic():
            insert_predictions(version, rows)
    except IntegrityError:
        raise duplicate_id_error(model, rows) from None
    profiles.record_profiles(version, rows)
    profiles.record_segment_profiles(version, rows)  # only for features rules segment by
    touch_model(model)
    count_ingested(model.name, "predictions", len(rows))
    return len(rows)


def matched_predictions(model: Model, ids: list[str]) -> list[tuple]:
    """(pk, client_id, version_id, timestamp, had_label) of the predictions with `ids`."""
    found = []
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        found += list(
            Prediction.objects.filter(model=model, client_id__in=chunk).values_list(
                "pk", "client_id", "version_id", "timestamp", "label"
            )
        )
    return found


def update_labels(matches: list[tuple], labels: dict[str, object], now: datetime) -> None:
    if uses_copy():
        sql = (
            f"UPDATE {Prediction._meta.db_table} p SET label = v.label::jsonb, labeled_at = %s "
            "FROM unnest(%s::bigint[], %s::text[]) AS v(id, label) WHERE p.id = v.id"
        )
        with connection.cursor() as cursor:
            cursor.execute(
                sql,
                [
                    now,
                    [m[0] for m in matches],
                    [orjson.dumps(labels[m[1]]).decode() for m in matches],
                ],
            )
        return
    Prediction.objects.bulk_update(
        [Prediction(pk=m[0], label=labels[m[1]], labeled_at=now) for m in matches],
        ["label", "labeled_at"],
        batch_size=500,
    )


def keep_pending(model: Model, labels: dict[str, object], now: datetime) -> None:
    PendingLabel.objects.bulk_create(
        [
            PendingLabel(model=model, client_id=key, label=label, received_at=now)
            for key, label in labels.items()
        ],
        update_conflicts=True,
        unique_fields=["model", "client_id"],
        update_fields=["label", "received_at", "checked_at"],
        batch_size=1000,
    )


def record_labels(model: Model, rows: list[dict]) -> dict:
    """Join labels to predictions by client id; keep the others until their prediction.

    Answers `{"matched": n, "unmatched": [ids]}`. A label counts in the `__label__`
    profile of its prediction's bucket the first time that prediction gets one.
    """
    now = timezone.now()
    labels = {r["id"]: r["label"] for r in rows}
    matches = matched_predictions(model, list(labels))
    if matches:
        update_labels(matches, labels, now)
        # A label still pending for a matched id (it raced its prediction) is older
        # than this one: the sweep must not join it over this one later.
        PendingLabel.objects.filter(model=model, client_id__in=[m[1] for m in matches]).delete()
    fresh: dict[int, list] = defaultdict(list)
    for _, key, version_id, moment, old_label in matches:
        if old_label is None:
            fresh[version_id].append((moment, labels[key]))
    if fresh:
        profiles.record_label_profiles(fresh)
    matched_ids = {m[1] for m in matches}
    unmatched = {key: label for key, label in labels.items() if key not in matched_ids}
    if unmatched:
        keep_pending(model, unmatched, now)
    touch_model(model, now)
    count_ingested(model.name, "labels", len(rows))
    return {"matched": len(matches), "unmatched": list(unmatched)}


def join_stale_labels(budget: int | None = None, now: datetime | None = None) -> int:
    """Join pending labels whose prediction has arrived meanwhile (the race above).

    Every model with pending labels gets its own `budget` (default LABEL_SWEEP_BUDGET)
    of them per sweep, so that one model's thousands of labels for ids that never come
    cannot starve another's: a sweep costs at most `budget` labels per model, one model
    (and one transaction) at a time.
    """
    budget, now = budget or LABEL_SWEEP_BUDGET, now or timezone.now()
    waiting = Model.objects.filter(Exists(PendingLabel.objects.filter(model=OuterRef("pk"))))
    return sum(join_model_labels(model, budget, now) for model in waiting.order_by("pk"))


def join_model_labels(model: Model, budget: int, now: datetime) -> int:
    """Look for the predictions of `budget` of the model's pending labels; join those found.

    Labels never looked at come first (oldest first), then those looked at longest
    ago, so every label is reached. A label younger than LABEL_SWEEP_GRACE is not
    marked as looked at: the prediction batch it raced may not have committed yet.
    """
    with transaction.atomic():
        pending = list(
            PendingLabel.objects.filter(model=model)
            .order_by("checked_at", "id")
            .values_list("pk", "client_id", "label", "received_at")[:budget]
        )
        labels = {key: label for _, key, label, _ in pending}
        found = {m[1] for m in matched_predictions(model, list(labels))}
        if found:  # record_labels also deletes their pending rows
            record_labels(model, [{"id": key, "label": labels[key]} for key in found])
        settled = now - LABEL_SWEEP_GRACE
        looked_at = [
            pk for pk, key, _, received_at in pending if key not in found and received_at < settled
        ]
        PendingLabel.objects.filter(pk__in=looked_at).update(checked_at=now)
    return len(found)


def record_parameters(version: ModelVersion, rows: list[dict]) -> int:
    """Store validated weight statistics (one row per tensor and step)."""
    objects = [ParameterStat(model_id=version.model_id, version_id=version.pk, **r) for r in rows]
    if uses_copy():
        copy_models(ParameterStat, objects)
    else:
        ParameterStat.objects.bulk_create(objects, batch_size=1000)
    touch_model(version.model)
    count_ingested(version.model.name, "parameters", len(rows))
    return len(rows)
