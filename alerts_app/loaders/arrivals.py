"""When telemetry last arrived: the silence a no-data rule watches."""

from datetime import datetime

from django.db.models import Max

from models_app.models import MetricPoint, Prediction
from models_app.series import scoped


def last_arrival(queryset, model, version, now: datetime) -> datetime | None:
    return (
        scoped(queryset, model, version)
        .filter(timestamp__lte=now)
        .aggregate(last=Max("timestamp"))["last"]
    )


def load_silence(model, version, config: dict, now: datetime) -> dict:
    """Seconds since the last record from `source` (None: nothing ever arrived)."""
    sources = {
        "predictions": [Prediction],
        "metrics": [MetricPoint],
        "any": [Prediction, MetricPoint],
    }[config["source"]]
    lasts = [
        t
        for t in (last_arrival(m.objects.all(), model, version, now) for m in sources)
        if t is not None
    ]
    if not lasts:
        return {"silence": None, "last_seen": None}
    last = max(lasts)
    return {"silence": (now - last).total_seconds(), "last_seen": last.isoformat()}
