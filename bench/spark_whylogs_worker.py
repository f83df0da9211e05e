"""Run inside the whylogs venv by bench/spark_profiles.py: profile a Parquet file with
whylogs' own pyspark integration on local[2] and print the seconds it took as JSON.

    spark_whylogs_worker.py PARQUET [DRIVER_MEMORY]

DRIVER_MEMORY is the one spark_profiles.py gives its own session, so both sides run alike."""

import json
import os
import sys
import time

from pyspark.sql import SparkSession
from whylogs.api.pyspark.experimental import collect_dataset_profile_view

os.environ["PYSPARK_PYTHON"] = sys.executable
spark = (
    SparkSession.builder.master("local[2]")
    .config("spark.ui.enabled", "false")
    .config("spark.driver.memory", sys.argv[2] if len(sys.argv) > 2 else "6g")
    .config("spark.sql.execution.arrow.pyspark.enabled", "true")
    .getOrCreate()
)
frame = spark.read.parquet(sys.argv[1])
rows = frame.count()
started = time.perf_counter()
view = collect_dataset_profile_view(input_df=frame)
seconds = time.perf_counter() - started
columns = len(view.get_columns())
spark.stop()
print(json.dumps({"rows": rows, "seconds": seconds, "columns": columns}))
