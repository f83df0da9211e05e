"""Run inside the whylogs venv by bench/spark_profiles.py: profile a Parquet file with
whylogs' own pyspark integration on local[2] and print the seconds it took (wall, and
CPU of this process tree as spark_profiles.py counts its own) as JSON.

    spark_whylogs_worker.py PARQUET [DRIVER_MEMORY]

DRIVER_MEMORY is the one spark_profiles.py gives its own session, so both sides run alike."""

import json
import os
import sys
import time

from pyspark.sql import SparkSession
from whylogs.api.pyspark.experimental import collect_dataset_profile_view

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from spark_profiles import tree_cpu_seconds  # noqa: E402 (stdlib only at import)

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
cpu, started = tree_cpu_seconds(), time.perf_counter()
view = collect_dataset_profile_view(input_df=frame)
seconds, cpu = time.perf_counter() - started, tree_cpu_seconds() - cpu
columns = len(view.get_columns())
spark.stop()
print(json.dumps({"rows": rows, "seconds": seconds, "cpu_seconds": cpu, "columns": columns}))
