"""SQL helpers over telemetry: one model's (and version's) rows, percentiles, and
time-series downsampling in the database (min/max/avg/count per time bucket).

Buckets are computed by SQL (`extract(epoch ...)` on PostgreSQL, `julianday` on
SQLite), so a series of any length comes back as at most `max_points` rows.
"""

import math
from datetime import datetime, timedelta

from django.db.models import Avg, Count, F, FloatField, Func, Max, Min, QuerySet, Value
from django.db.models.aggregates import Aggregate

from models_app.models import Model, ModelVersion


def scoped(queryset: QuerySet, model: Model, version: ModelVersion | None) -> QuerySet:
    """The rows of `model`, and of `version` when one is given (else every version)."""
    queryset = queryset.filter(model=model)
    return queryset.filter(version=version) if version is not None else queryset


class Percentile(Aggregate):
    """PostgreSQL's `percentile_cont(f) WITHIN GROUP (ORDER BY x)`: linear interpolation,
    as `numpy.percentile`."""

    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression, fraction: float, **extra):
        super().__init__(expression, fraction=repr(float(fraction)), **extra)


class BucketIndex(Func):
    """floor((epoch(timestamp) - origin) / width): the bucket a row falls in."""

    output_field = FloatField()

    def __init__(self, expression, origin: float, width: float):
        super().__init__(expression, Value(origin), Value(width))

    def as_postgresql(self, compiler, connection, **extra):
        # date_part gives float8; extract() gives numeric since PostgreSQL 14, whose
        # arithmetic and grouping cost ~1.5x more per row on long ranges.
        return self._sql(compiler, connection, "date_part('epoch', {ts})")

    def as_sqlite(self, compiler, connection, **extra):
        return self._sql(compiler, connection, "((julianday({ts}) - 2440587.5) * 86400.0)")

    def _sql(self, compiler, connection, epoch_template: str):
        ts_sql, ts_params = compiler.compile(self.source_expressions[0])
        origin_sql, origin_params = compiler.compile(self.source_expressions[1])
        width_sql, width_params = compiler.compile(self.source_expressions[2])
        epoch = epoch_template.format(ts=ts_sql)
        sql = f"floor(({epoch} - {origin_sql}) / {width_sql})"
        return sql, (*ts_params, *origin_params, *width_params)


def bucket_width(start: datetime, end: datetime, max_points: int) -> float:
    """Seconds per bucket so that [start, end] holds at most `max_points` buckets."""
    span = (end - start).total_seconds()
    return max(span / max_points, 1e-3) * (1 + 1e-9) if span > 0 else 1.0


def downsample(
    queryset: QuerySet,
    start: datetime,
    end: datetime,
    max_points: int,
    time_field: str = "timestamp",
    value_field: str = "value",
) -> list[dict]:
    """Bucketed {timestamp, value (avg), min, max, count}, oldest first.

    `timestamp` is the first time inside the bucket, so a bucket holding a single
    point gives back that point exactly.
    """
    width = bucket_width(start, end, max_points)
    rows = (
        queryset.filter(**{f"{time_field}__gte": start, f"{time_field}__lte": end})
        .annotate(bucket=BucketIndex(F(time_field), start.timestamp(), width))
        .values("bucket")
        .annotate(
            first=Min(time_field),
            avg=Avg(value_field),
            lo=Min(value_field),
            hi=Max(value_field),
            n=Count("pk"),
        )
        .order_by("bucket")
    )
    return [
        {
            "timestamp": r["first"],
            "value": r["avg"],
            "min": r["lo"],
            "max": r["hi"],
            "count": r["n"],
        }
        for r in rows
    ]


def time_bounds(queryset: QuerySet, time_field: str = "timestamp") -> tuple | None:
    """First and last time in `queryset`, or None when it is empty."""
    bounds = queryset.aggregate(lo=Min(time_field), hi=Max(time_field))
    if bounds["lo"] is None:
        return None
    return bounds["lo"], bounds["hi"]


def floor_time(moment: datetime, seconds: int) -> datetime:
    """`moment` rounded down to a multiple of `seconds` since the epoch."""
    epoch = moment.timestamp()
    return moment - timedelta(seconds=epoch - math.floor(epoch / seconds) * seconds)
