"""Load (and top up) the three demo stories through `demo.writer`.

Idempotent: models, references, rules and the training run are created once; hourly
traffic is generated from where it stopped up to `now` (ids and values are the same
for a given hour whenever it is generated), so a second run only adds what time added.
"""

from collections.abc import Callable, Iterable
from datetime import datetime

from django.db.models import Max, Min

from demo import camera, credit, training, writer
from demo.history import backfill_history
from demo.rules import ensure_rules
from demo.timeline import HOUR, Hour, hours, story_start
from models_app.models import MetricPoint, Model, ModelVersion, Prediction, Reference
from models_app.series import floor_time

CHUNK = 2000


def ensure_model(name: str, fields: dict) -> ModelVersion:
    model, _ = Model.objects.get_or_create(name=name, defaults=fields)
    version, _ = ModelVersion.objects.get_or_create(model=model, version="1")
    return version


def ensure_reference(version: ModelVersion, build: Callable[[], list[dict]]) -> bool:
    if Reference.objects.filter(version=version).exists():
        return False
    writer.write_reference(version, build())
    return True


def chunks(records: Iterable[dict], size: int = CHUNK) -> Iterable[list[dict]]:
    batch: list[dict] = []
    for record in records:
        batch.append(record)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def traffic_span(model: Model, now: datetime) -> tuple[datetime, datetime, set[str]]:
    """(story start, first hour to generate, ids already stored in that hour)."""
    stored = Prediction.objects.filter(model=model)
    bounds = stored.aggregate(first=Min("timestamp"), last=Max("timestamp"))
    if bounds["first"] is None:
        start = story_start(floor_time(now, 3600))
        return start, start, set()
    first = floor_time(bounds["last"], 3600)
    done = set(stored.filter(timestamp__gte=first).values_list("client_id", flat=True))
    return floor_time(bounds["first"], 3600), first, done


def due(record: dict, now: datetime) -> bool:
    return datetime.fromisoformat(record["timestamp"]) <= now


def new_records(records: list[dict], done: set[str], now: datetime) -> list[dict]:
    return [r for r in records if r["id"] not in done and due(r, now)]


def load_credit(now: datetime) -> int:
    version = ensure_model(credit.NAME, credit.model_fields())
    ensure_reference(version, credit.reference_records)
    start, first, done = traffic_span(version.model, now)
    last_metric = MetricPoint.objects.filter(model=version.model).aggregate(last=Max("timestamp"))[
        "last"
    ]
    predictions, metrics = [], []
    for hour in hours(start, first, now):
        records, _ = credit.hour_records(hour)
        predictions += new_records(records, done, now)
        gauge = credit.hour_metrics(hour, records)
        moment = datetime.fromisoformat(gauge[0]["timestamp"])
        if moment <= now and (last_metric is None or moment > last_metric):
            metrics += gauge
    written = sum(writer.write_predictions(version, batch) for batch in chunks(predictions))
    writer.write_metrics(version, metrics)
    return written + label_credit(version.model, start, now)


def label_credit(model: Model, start: datetime, now: datetime) -> int:
    """The labels whose delay has passed, for predictions that have none yet."""
    waiting = Prediction.objects.filter(
        model=model, label__isnull=True, error="", timestamp__lte=now - credit.LABEL_DELAY
    )
    ids = set(waiting.values_list("client_id", flat=True))
    indexes = sorted({int(ident.split("-")[1]) for ident in ids})
    labels = []
    for index in indexes:
        _, truth = credit.hour_records(Hour(index, start + index * HOUR))
        labels += [{"id": k, "label": v} for k, v in truth.items() if k in ids]
    return sum(writer.write_labels(model, batch) for batch in chunks(labels))


def load_camera(now: datetime) -> int:
    version = ensure_model(camera.NAME, camera.model_fields())
    ensure_reference(version, camera.reference_records)
    start, first, done = traffic_span(version.model, now)
    frames = (r for hour in hours(start, first, now) for r in camera.hour_records(hour))
    fresh = new_records(list(frames), done, now)
    return sum(writer.write_predictions(version, batch) for batch in chunks(fresh))


def load_training(now: datetime) -> int:
    version = ensure_model(training.NAME, training.model_fields())
    if MetricPoint.objects.filter(version=version).exists():
        return 0
    start = training.run_start(now)
    return writer.write_metrics(version, training.curve_records(start)) + writer.write_parameters(
        version, training.parameter_records(start)
    )


def seed(now: datetime, history: bool = True) -> dict[str, int]:
    """Load or top up everything; answers what was written.

    `history=False` leaves the past evaluations (they only draw the dashboards' past)
    for a later run.
    """
    written = {
        "credit-risk": load_credit(now),
        "digits-camera": load_camera(now),
        "digits-cnn-training": load_training(now),
    }
    models = {m.name: m for m in Model.objects.filter(name__in=written)}
    created = ensure_rules(models)
    if not history:
        return written | {"rules created": created}
    start, _, _ = traffic_span(models[credit.NAME], now)
    past = backfill_history([credit.NAME, camera.NAME], start, now)
    return written | {"rules created": created, "past evaluations": past}
