"""ORM -> DataFrames for the dashboards, every long series downsampled in the database.

Metric trends reuse `models_app.series.downsample` (min/avg/max per bucket); serving
and performance bucket predictions with the same `BucketIndex`. On PostgreSQL the
latency percentiles are `percentile_cont` in SQL; elsewhere (the embedded SQLite demo)
the same frame is computed with pandas from the window's rows.
"""

from contextlib import contextmanager
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from django.db import connection, transaction
from django.db.models import Avg, Count, F, FloatField, Max, Min, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.functions import Floor

from frontend.ranges import TimeRange
from models_app import profiles
from models_app.models import MetricPoint, Model, ModelVersion, ParameterStat, Prediction
from models_app.series import BucketIndex, Percentile, bucket_width, downsample, scoped

MAX_POINTS = 1000  # per trace: about one per pixel column of a wide chart
SERVING_BUCKETS = 240
MAX_EDGE_SPANS = 100
KEY_METRICS = (
    "accuracy",
    "f1",
    "roc_auc",
    "auc",
    "precision",
    "recall",
    "r2",
    "rmse",
    "mae",
    "loss",
)
METRIC_COLUMNS = ["name", "stage", "timestamp", "value", "min", "max", "count"]
PROFILE_MIN_SPAN = timedelta(days=7)  # longer windows read serving stats from profiles
SERVING_COLUMNS = [
    "timestamp",
    "count",
    "errors",
    "error_rate",
    "p50",
    "p95",
    "labelled",
    "label_coverage",
    "accuracy",
    "mae",
]


@contextmanager
def roomy_sorts():
    """On PostgreSQL, let this transaction's grouping sort in memory (a year of points
    spills the default 4 MB work_mem to disk and runs ~1.6x slower)."""
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL work_mem = '64MB'")
        yield


# --- metrics -----------------------------------------------------------------------------


def metric_names(model: Model, version: ModelVersion | None = None) -> pd.DataFrame:
    """The (name, stage) series the model has, sorted; a skip scan on PostgreSQL."""
    if connection.vendor == "postgresql" and version is None:
        rows = skip_scan_series(model.pk)
    else:
        rows = list(
            scoped(MetricPoint.objects, model, version)
            .values_list("name", "stage")
            .distinct()
            .order_by("name", "stage")
        )
    return pd.DataFrame(rows, columns=["name", "stage"])


def skip_scan_series(model_id: int) -> list[tuple[str, str]]:
    """Distinct (name, stage) by walking the `metric_series` index: O(series), not O(rows)."""
    table = MetricPoint._meta.db_table
    sql = f"""
        WITH RECURSIVE walk AS (
            (SELECT name, stage FROM {table} WHERE model_id = %s
             ORDER BY name, stage LIMIT 1)
            UNION ALL
            SELECT nxt.name, nxt.stage FROM walk, LATERAL (
                SELECT name, stage FROM {table}
                WHERE model_id = %s AND (name, stage) > (walk.name, walk.stage)
                ORDER BY name, stage LIMIT 1) nxt
        ) SELECT name, stage FROM walk"""
    with connection.cursor() as cursor:
        cursor.execute(sql, [model_id, model_id])
        return cursor.fetchall()


def key_metric(names: pd.DataFrame) -> tuple[str, str] | None:
    """The metric a model is summed up by: a production quality metric if it has one."""
    if names.empty:
        return None
    ordered = names.assign(
        rank_stage=(names["stage"] != "production").astype(int),
        rank_name=names["name"].map(lambda n: KEY_METRICS.index(n) if n in KEY_METRICS else 99),
    ).sort_values(["rank_stage", "rank_name", "name"])
    first = ordered.iloc[0]
    return str(first["name"]), str(first["stage"])


def metric_frame(
    model: Model,
    version: ModelVersion | None,
    window: TimeRange,
    series: list[tuple[str, str]],
    edges: list[tuple[datetime, datetime]] = (),
    max_points: int = MAX_POINTS,
) -> pd.DataFrame:
    """Downsampled metric series, plus the exact points at each alert span's edges."""
    frames = []
    with roomy_sorts():
        for name, stage in series:
            points = scoped(MetricPoint.objects, model, version).filter(name=name, stage=stage)
            frames.append(
                one_metric(points, window, edges, max_points).assign(name=name, stage=stage)
            )
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame(columns=METRIC_COLUMNS)
    return pd.concat(frames, ignore_index=True)[METRIC_COLUMNS]


def one_metric(points: QuerySet, window: TimeRange, edges, max_points: int) -> pd.DataFrame:
    buckets = downsample(points, window.start, window.end, max_points)
    extra = edge_points(points, edges)
    frame = pd.DataFrame(buckets + extra, columns=["timestamp", "value", "min", "max", "count"])
    if frame.empty:
        return frame
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    return frame.sort_values("timestamp", kind="stable").drop_duplicates("timestamp", keep="last")


def edge_points(points: QuerySet, edges) -> list[dict]:
    """The first and last raw point inside each span, so downsampling never hides them."""
    edges = list(edges)[:MAX_EDGE_SPANS]
    if not edges:
        return []
    if connection.vendor == "postgresql":
        rows = lateral_edges(points, edges)
    else:
        rows = []
        for start, end in edges:
            inside = points.filter(timestamp__gte=start, timestamp__lte=end)
            rows += inside.order_by("timestamp", "pk").values_list("timestamp", "value")[:1]
            rows += inside.order_by("-timestamp", "-pk").values_list("timestamp", "value")[:1]
    return [{"timestamp": t, "value": v, "min": v, "max": v, "count": 1} for t, v in rows]


def lateral_edges(points: QuerySet, edges) -> list[tuple]:
    """Both edge points of every span in one statement: two index probes per span."""
    inner_sql, inner_params = points.values("timestamp").query.sql_with_params()
    where = inner_sql.split(" WHERE ", 1)[1] if " WHERE " in inner_sql else "TRUE"
    table = MetricPoint._meta.db_table
    probe = (
        f'SELECT "timestamp", "value" FROM "{table}" WHERE {where} AND "timestamp" >= e.lo'
        f' AND "timestamp" <= e.hi ORDER BY "timestamp" {{order}} LIMIT 1'
    )
    values = ", ".join(["(%s::timestamptz, %s::timestamptz)"] * len(edges))
    sql = (
        f"SELECT p.ts, p.value FROM (VALUES {values}) AS e(lo, hi) CROSS JOIN LATERAL "
        f"(({probe.format(order='ASC')}) UNION ALL ({probe.format(order='DESC')})) "
        "AS p(ts, value)"
    )
    params = [moment for edge in edges for moment in edge] + list(inner_params) * 2
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


# --- training curves and weights, by step -------------------------------------------------


def by_step(queryset: QuerySet, fields: dict, max_points: int) -> list[dict]:
    """Per step bucket: the first step and the average of each field (a step axis)."""
    bounds = queryset.aggregate(lo=Min("step"), hi=Max("step"))
    if bounds["lo"] is None:
        return []
    width = max((bounds["hi"] - bounds["lo"] + 1) / max_points, 1.0)
    return list(
        queryset.annotate(bucket=Floor((F("step") - bounds["lo"]) / width))
        .values("bucket")
        .annotate(first_step=Min("step"), **fields)
        .order_by("bucket")
    )


def training_frame(version: ModelVersion, max_points: int = MAX_POINTS) -> pd.DataFrame:
    """Train/validation/test metrics of one version by step: name, stage, step, value."""
    base = MetricPoint.objects.filter(version=version, step__isnull=False).exclude(
        stage="production"
    )
    frames = []
    for name, stage in base.values_list("name", "stage").distinct().order_by("name", "stage"):
        rows = by_step(base.filter(name=name, stage=stage), {"avg": Avg("value")}, max_points)
        frames.append(
            pd.DataFrame(
                {
                    "name": name,
                    "stage": stage,
                    "step": [r["first_step"] for r in rows],
                    "value": [r["avg"] for r in rows],
                }
            )
        )
    if not frames:
        return pd.DataFrame(columns=["name", "stage", "step", "value"])
    return pd.concat(frames, ignore_index=True)


WEIGHT_FIELDS = ("l2_norm", "grad_norm", "mean", "std", "update_ratio")


def weights_frame(
    version: ModelVersion, max_tensors: int = 30, max_points: int = 500
) -> pd.DataFrame:
    """Per tensor and step bucket: weight norm, gradient norm, mean, std, NaN/Inf counts."""
    base = ParameterStat.objects.filter(version=version, step__isnull=False)
    tensors = list(base.values_list("tensor", flat=True).distinct().order_by("tensor"))
    fields = {f: Avg(f) for f in WEIGHT_FIELDS} | {"nan": Max("nan_count"), "inf": Max("inf_count")}
    rows = []
    for tensor in tensors[:max_tensors]:
        for row in by_step(base.filter(tensor=tensor), fields, max_points):
            rows.append(
                {
                    "tensor": tensor,
                    "step": row["first_step"],
                    **{f: row[f] for f in (*WEIGHT_FIELDS, "nan", "inf")},
                }
            )
    return pd.DataFrame(rows, columns=["tensor", "step", *WEIGHT_FIELDS, "nan", "inf"])


# --- serving: volume, latency, errors, realised performance ------------------------------


def serving_frame(
    model: Model, version: ModelVersion | None, window: TimeRange, buckets: int = SERVING_BUCKETS
) -> pd.DataFrame:
    """Per time bucket: predictions, errors, latency p50/p95, labels and realised quality."""
    if window.end - window.start > PROFILE_MIN_SPAN:
        frame = profile_serving(model, version, window)
        if frame is not None:
            return finish_serving(frame)
    rows = scoped(Prediction.objects, model, version).filter(
        timestamp__gte=window.start, timestamp__lte=window.end
    )
    width = bucket_width(window.start, window.end, buckets)
    if connection.vendor == "postgresql":
        with roomy_sorts():
            frame = serving_sql(rows, window, width)
    else:
        frame = serving_pandas(rows, window, width)
    return finish_serving(frame)


def profile_serving(
    model: Model, version: ModelVersion | None, window: TimeRange
) -> pd.DataFrame | None:
    """Serving per hour (per day on long windows) from the stored profiles
    (`models_app.profiles.serving_buckets`), reading O(buckets) rows instead of every
    prediction; None when the window has no profiles. Latency percentiles come from the
    merged sketches (1% relative error); realised accuracy needs the rows themselves, so
    it is left empty here."""
    buckets = profiles.serving_buckets(version or model, window.start, window.end)
    if not buckets:
        return None
    quantile = profiles.sketch_quantile
    return pd.DataFrame(
        [
            {
                "timestamp": b["timestamp"],
                "count": b["predictions"],
                "errors": b["errors"],
                "p50": quantile(b["sketch"], 0.5),
                "p95": quantile(b["sketch"], 0.95),
                "labelled": b["labels"],
                "accuracy": None,
                "mae": None,
            }
            for b in buckets
        ]
    )


def serving_sql(rows: QuerySet, window: TimeRange, width: float) -> pd.DataFrame:
    correct = RawSQL(
        "CASE WHEN label IS NULL THEN NULL WHEN prediction = label THEN 1.0 ELSE 0.0 END",
        [],
        output_field=FloatField(),
    )
    abs_error = RawSQL(
        "CASE WHEN jsonb_typeof(prediction) = 'number' AND jsonb_typeof(label)"
        " = 'number' THEN abs((prediction #>> '{}')::float - "
        "(label #>> '{}')::float) END",
        [],
        output_field=FloatField(),
    )
    grouped = (
        rows.annotate(bucket=BucketIndex(F("timestamp"), window.start.timestamp(), width))
        .values("bucket")
        .annotate(
            first=Min("timestamp"),
            n=Count("pk"),
            errors=Count("pk", filter=~Q(error="")),
            p50=Percentile("latency_ms", 0.5),
            p95=Percentile("latency_ms", 0.95),
            labelled=Count("label"),
            accuracy=Avg(correct),
            mae=Avg(abs_error),
        )
        .order_by("bucket")
    )
    frame = pd.DataFrame(list(grouped))
    return frame.rename(columns={"first": "timestamp", "n": "count"}).reindex(
        columns=["bucket", *SERVING_COLUMNS]
    )


def serving_pandas(rows: QuerySet, window: TimeRange, width: float) -> pd.DataFrame:
    """The same frame as `serving_sql`, from the window's rows (portable path)."""
    raw = pd.DataFrame(
        list(rows.values_list("timestamp", "latency_ms", "error", "label", "prediction")),
        columns=["timestamp", "latency", "error", "label", "prediction"],
    )
    if raw.empty:
        return pd.DataFrame(columns=["bucket", *SERVING_COLUMNS])
    raw["timestamp"] = pd.to_datetime(raw["timestamp"], utc=True)
    epoch = raw["timestamp"].map(lambda t: t.timestamp())
    raw["bucket"] = np.floor((epoch - window.start.timestamp()) / width)
    raw["erred"] = raw["error"].fillna("").ne("")
    raw["correct"] = [compare(p, y) for p, y in zip(raw["prediction"], raw["label"], strict=True)]
    raw["abs_error"] = [
        numeric_gap(p, y) for p, y in zip(raw["prediction"], raw["label"], strict=True)
    ]
    grouped = raw.groupby("bucket").agg(
        timestamp=("timestamp", "min"),
        count=("timestamp", "size"),
        errors=("erred", "sum"),
        p50=("latency", lambda s: s.quantile(0.5)),
        p95=("latency", lambda s: s.quantile(0.95)),
        labelled=("label", lambda s: int(s.notna().sum())),
        accuracy=("correct", "mean"),
        mae=("abs_error", "mean"),
    )
    return grouped.reset_index()


def compare(prediction, label) -> float:
    """1.0 when the label matches, NaN without a label (pandas may hold it as NaN)."""
    if label is None or (isinstance(label, float) and np.isnan(label)):
        return np.nan
    return float(prediction == label)


def numeric_gap(prediction, label) -> float:
    numeric = (int, float)
    if (
        isinstance(prediction, numeric)
        and isinstance(label, numeric)
        and not isinstance(prediction, bool)
        and not isinstance(label, bool)
    ):
        return abs(float(prediction) - float(label))
    return np.nan


def finish_serving(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.drop(columns=["bucket"], errors="ignore").copy()
    for column in ("count", "errors", "labelled"):
        frame[column] = pd.to_numeric(frame[column]).astype("int64")
    for column in ("p50", "p95", "accuracy", "mae"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    total = frame["count"].where(frame["count"] > 0)
    frame["error_rate"] = frame["errors"] / total
    frame["label_coverage"] = frame["labelled"] / total
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    return frame[SERVING_COLUMNS].reset_index(drop=True)


def prediction_count(model: Model, since: datetime) -> int:
    return Prediction.objects.filter(model=model, timestamp__gte=since).count()


def version_frame(model: Model, window: TimeRange, metric: tuple[str, str] | None) -> pd.DataFrame:
    """One row per version: predictions, error rate, mean latency and key metric in range."""
    stats = version_serving(model, window)
    metric_avgs = version_metric_avgs(model, window, metric)
    rows = []
    for version in model.versions.order_by("created_at", "id"):
        row = stats.get(version.pk, {})
        count = row.get("predictions", 0)
        rows.append(
            {
                "version": version.version,
                "created_at": version.created_at,
                "predictions": count,
                "error_rate": row.get("errors", 0) / count if count else None,
                "latency_ms": row.get("latency"),
                "metric": metric_avgs.get(version.pk),
            }
        )
    return pd.DataFrame(
        rows, columns=["version", "created_at", "predictions", "error_rate", "latency_ms", "metric"]
    )


def version_serving(model: Model, window: TimeRange) -> dict[int, dict]:
    """{version id: predictions, errors, mean latency}: from profiles on long windows."""
    if window.end - window.start > PROFILE_MIN_SPAN:
        stats = profiles.serving_by_version(model, window.start, window.end)
        if stats:
            return stats
    rows = (
        Prediction.objects.filter(
            model=model, timestamp__gte=window.start, timestamp__lte=window.end
        )
        .values("version_id")
        .annotate(
            predictions=Count("pk"),
            errors=Count("pk", filter=~Q(error="")),
            latency=Avg("latency_ms"),
        )
    )
    return {row["version_id"]: row for row in rows}


def version_metric_avgs(model: Model, window: TimeRange, metric) -> dict[int, float]:
    if metric is None:
        return {}
    rows = (
        MetricPoint.objects.filter(
            model=model,
            name=metric[0],
            stage=metric[1],
            timestamp__gte=window.start,
            timestamp__lte=window.end,
        )
        .values("version_id")
        .annotate(avg=Avg("value"))
    )
    return {row["version_id"]: row["avg"] for row in rows}


# --- the overview: every model's key series in a few statements ---------------------------


def series_by_model(model_ids: list[int]) -> dict[int, list[tuple[str, str]]]:
    """{model id: its (name, stage) metric series}: one statement for all the models (a
    skip scan of the `metric_series` index on PostgreSQL: O(series), not O(points))."""
    if not model_ids:
        return {}
    if connection.vendor == "postgresql":
        rows = skip_scan_all_series(model_ids)
    else:
        rows = (
            MetricPoint.objects.filter(model_id__in=model_ids)
            .values_list("model_id", "name", "stage")
            .distinct()
        )
    found: dict[int, list[tuple[str, str]]] = {}
    for model_id, name, stage in sorted(rows):
        found.setdefault(model_id, []).append((name, stage))
    return found


def skip_scan_all_series(model_ids: list[int]) -> list[tuple[int, str, str]]:
    """Walk the `metric_series` index from one (model, name, stage) to the next: each
    step is one index seek on the whole key (a row comparison the index serves; with
    `model_id = ANY(...)` beside it PostgreSQL scans instead), so O(series) in all."""
    table = MetricPoint._meta.db_table
    sql = f"""
        WITH RECURSIVE walk AS (
            (SELECT model_id, name, stage FROM {table}
             WHERE model_id >= %s ORDER BY model_id, name, stage LIMIT 1)
            UNION ALL
            SELECT nxt.model_id, nxt.name, nxt.stage FROM walk, LATERAL (
                SELECT model_id, name, stage FROM {table}
                WHERE (model_id, name, stage) > (walk.model_id, walk.name, walk.stage)
                  AND model_id <= %s
                ORDER BY model_id, name, stage LIMIT 1) nxt
        ) SELECT model_id, name, stage FROM walk WHERE model_id = ANY(%s)"""
    with connection.cursor() as cursor:
        cursor.execute(sql, [min(model_ids), max(model_ids), list(model_ids)])
        return cursor.fetchall()


def recent_metric_values(
    series: dict[int, tuple[str, str]], ends: dict[int, datetime], span: timedelta, points: int
) -> dict[int, list[float]]:
    """{model id: bucket averages of its series over `span` before its end}, oldest first;
    one statement for all the models (buckets aligned on the epoch, `span / points` wide)."""
    if not series:
        return {}
    match = Q()
    for model_id, (name, stage) in series.items():
        end = ends[model_id]
        match |= Q(
            model_id=model_id,
            name=name,
            stage=stage,
            timestamp__gte=end - span,
            timestamp__lte=end,
        )
    rows = (
        MetricPoint.objects.filter(match)
        .annotate(bucket=BucketIndex(F("timestamp"), 0.0, span.total_seconds() / points))
        .values("model_id", "bucket")
        .annotate(avg=Avg("value"))
        .order_by("model_id", "bucket")
    )
    values: dict[int, list[float]] = {}
    for row in rows:
        values.setdefault(row["model_id"], []).append(row["avg"])
    return values


def prediction_volumes(
    model_ids: list[int], end: datetime, span: timedelta, points: int
) -> dict[int, list[int]]:
    """{model id: predictions per bucket over `span` before `end`}, oldest first, empty
    buckets as 0; one statement for all the models."""
    if not model_ids:
        return {}
    width = span.total_seconds() / points
    start = end - span
    rows = (
        Prediction.objects.filter(model_id__in=model_ids, timestamp__gte=start, timestamp__lte=end)
        .annotate(bucket=BucketIndex(F("timestamp"), start.timestamp(), width))
        .values("model_id", "bucket")
        .annotate(n=Count("pk"))
    )
    volumes = {model_id: [0] * points for model_id in model_ids}
    for row in rows:
        volumes[row["model_id"]][min(int(row["bucket"]), points - 1)] += row["n"]
    return volumes


def prediction_counts(model_ids: list[int], since: datetime) -> dict[int, int]:
    """{model id: predictions since `since`} in one statement."""
    rows = (
        Prediction.objects.filter(model_id__in=model_ids, timestamp__gte=since)
        .values("model_id")
        .annotate(n=Count("pk"))
    )
    return {row["model_id"]: row["n"] for row in rows}
