"""Profile a Spark DataFrame where it lives and send only the profiles.

    from modelwatch import Client
    from modelwatch.integrations.spark import log_dataframe

    fraud = Client().model("fraud")
    log_dataframe(fraud, spark.table("scored"), timestamp_col="scored_at")

Each partition is profiled with `mapInPandas` (`modelwatch.profiles.profile_frame`,
numpy), one record per UTC hour bucket; the driver merges the partitions' records per
bucket (`merge_records`) and posts them. The server's specs (bins, kinds) are fetched
once on the driver and shipped to the executors. Needs pyspark, pandas and pyarrow.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from modelwatch.profiles import merge_records, profile_frame

ROWS_PER_PROFILE = 250_000  # pandas batches are gathered up to this many rows, then profiled


def partition_profiler(specs: dict, timestamp_col: str, options: dict):
    """The function mapInPandas runs on each partition: its records as JSON strings."""

    def profile_partition(batches: Iterator[Any]) -> Iterator[Any]:
        import pandas as pd

        records, pending, size = [], [], 0
        for batch in batches:
            pending.append(batch)
            size += len(batch)
            if size >= ROWS_PER_PROFILE:
                frame = pd.concat(pending, ignore_index=True)
                records = merge_records(records + profile_frame(frame, specs, **options))
                pending, size = [], 0
        if pending:
            frame = pd.concat(pending, ignore_index=True)
            records = merge_records(records + profile_frame(frame, specs, **options))
        yield pd.DataFrame({"record": [json.dumps(r) for r in records]})

    return profile_partition


def epoch_seconds(spark_df: Any, column: str) -> Any:
    """Timestamps as epoch seconds (doubles): pandas gets them free of session time zones."""
    from pyspark.sql import functions
    from pyspark.sql.types import DateType, TimestampNTZType, TimestampType

    kind = spark_df.schema[column].dataType
    if isinstance(kind, (TimestampType, TimestampNTZType, DateType)):
        moment = functions.col(column)
        if isinstance(kind, TimestampNTZType):  # naive means UTC, as on the server
            moment = functions.to_utc_timestamp(moment, "UTC")
        return spark_df.withColumn(column, functions.unix_micros(moment.cast("timestamp")) / 1e6)
    return spark_df


def profile_dataframe(
    spark_df: Any,
    specs: dict,
    *,
    timestamp_col: str = "timestamp",
    features: Iterable[str] | None = None,
    score_prefix: str = "score_",
) -> list[dict]:
    """Format-1 records of a Spark DataFrame, one per hour bucket (merged on the driver)."""
    if timestamp_col not in spark_df.columns:
        raise ValueError(f"No column {timestamp_col!r}: name the prediction time column.")
    options = {
        "timestamp_col": timestamp_col,
        "features": list(features) if features is not None else None,
        "score_prefix": score_prefix,
    }
    frame = epoch_seconds(spark_df, timestamp_col)
    profiled = frame.mapInPandas(partition_profiler(specs, timestamp_col, options), "record string")
    # toLocalIterator runs one job per partition; prefetching starts the next partition's
    # job while the driver merges the current one (without it, one core of local[2] idled)
    rows = profiled.toLocalIterator(prefetchPartitions=True)
    return merge_records(json.loads(row.record) for row in rows)


def log_dataframe(
    handle: Any,
    spark_df: Any,
    *,
    timestamp_col: str = "timestamp",
    features: Iterable[str] | None = None,
    score_prefix: str = "score_",
) -> int:
    """Profile `spark_df` (predictions: features, `prediction`, `score_<class>`, `label`,
    `latency_ms`, `error` and `timestamp_col`) on the executors and post the profiles to
    `handle`'s model; answers how many predictions they describe."""
    records = profile_dataframe(
        spark_df,
        handle.profile_specs(),
        timestamp_col=timestamp_col,
        features=features,
        score_prefix=score_prefix,
    )
    return handle.post_profiles(records)
