"""Profiling a Spark DataFrame: ModelWatch's `log_dataframe` path vs whylogs' pyspark.

    .venv/bin/python bench/spark_profiles.py [--rows 10000000] [--whylogs /work/venvs/whylogs]

Builds ROWS x 25 features (20 numeric, 5 categorical) plus prediction, score and
timestamp (24 hours) once, writes it to Parquet, then on local[2], in the same run:
- ModelWatch: `profile_dataframe` (what `log_dataframe` does before its POST: mapInPandas
  per partition, merge on the driver), with reference bins for every numeric feature;
- whylogs: `collect_dataset_profile_view` of the same Parquet, in its own venv
  (bench/requirements-whylogs.txt).
Prints rows/s of each and the ratio; the machine may be shared, so both run in one
process tree one after the other and the ratio is what to read (the load average is
printed before and after each side). Each side also prints the CPU seconds its process
tree used (driver, JVM, Python workers): under load, other processes take turns on the
cores, and rows per CPU second is the figure they change least.

Both sides get DRIVER_MEMORY: on local[2] the driver is the executor too, and at 10
million rows each of ModelWatch's ~16 partitions sends the driver ~100 MB of records (24
hour buckets with their 5,000-value samples), which a 2g heap could not fetch
(OutOfMemoryError in the block transfer, then TaskResultLost).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "modelwatch"))

NUMERIC, CATEGORICAL = 20, 5
DRIVER_MEMORY = "6g"  # see the docstring; the same for the whylogs worker


def load() -> str:
    """The 1, 5 and 15 minute load averages, to print beside each side's figure."""
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def tree_cpu_seconds(root: int | None = None) -> float:
    """CPU seconds used so far by process `root` (default: this one) and all its
    descendants, read from /proc (Linux): user + system, plus those of reaped children
    (pyspark's daemon reaps the workers it forks)."""
    root = root or os.getpid()
    children: dict[int, list[int]] = {}
    ticks: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:  # the process ended meanwhile
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
        ppid, used = int(fields[1]), sum(int(x) for x in fields[11:15])
        children.setdefault(ppid, []).append(int(entry))
        ticks[int(entry)] = used
    total, pending = 0, [root]
    while pending:
        pid = pending.pop()
        total += ticks.get(pid, 0)
        pending.extend(children.get(pid, []))
    return total / os.sysconf("SC_CLK_TCK")


def session():
    from pyspark.sql import SparkSession

    os.environ["PYSPARK_PYTHON"] = sys.executable
    spark = (
        SparkSession.builder.master("local[2]")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.memory", DRIVER_MEMORY)
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )
    archive = shutil.make_archive(
        tempfile.mkdtemp() + "/modelwatch", "zip", ROOT / "modelwatch", "modelwatch"
    )
    spark.sparkContext.addPyFile(archive)
    return spark


def build(spark, rows: int, path: str) -> None:
    from pyspark.sql import functions as F

    frame = spark.range(rows, numPartitions=8)
    columns = [
        F.from_unixtime(F.lit(1_772_000_000) + F.col("id") % 86400)
        .cast("timestamp")
        .alias("timestamp")
    ]
    for i in range(NUMERIC):
        columns.append((F.randn(seed=i) * (i + 1) + i).alias(f"num_{i}"))
    for i in range(CATEGORICAL):
        values = F.array(*[F.lit(f"c{i}_{k}") for k in range(5 + 5 * i)])
        index = (F.rand(seed=100 + i) * (5 + 5 * i)).cast("int")
        columns.append(F.element_at(values, index + 1).alias(f"cat_{i}"))
    columns.append((F.rand(seed=200) > 0.5).cast("int").alias("prediction"))
    columns.append(F.rand(seed=201).alias("score_1"))
    frame.select(*columns).write.mode("overwrite").parquet(path)


def specs_for(spark, path: str) -> dict:
    """What GET .../profiles/ answers for a model whose reference holds these columns."""
    sample = spark.read.parquet(path).limit(20000).toPandas()
    import numpy as np

    features = {}
    for i in range(NUMERIC):
        edges = np.unique(np.quantile(sample[f"num_{i}"], np.linspace(0.1, 0.9, 9))).tolist()
        features[f"num_{i}"] = {
            "kind": "numeric",
            "edges": edges,
            "categories": None,
            "min": None,
            "max": None,
        }
    for i in range(CATEGORICAL):
        known = sorted(sample[f"cat_{i}"].unique().tolist())
        features[f"cat_{i}"] = {
            "kind": "categorical",
            "edges": [],
            "categories": known,
            "min": None,
            "max": None,
        }
    plain = {"kind": "numeric", "edges": [], "categories": None, "min": None, "max": None}
    return {
        "format": 1,
        "task": "binary_classification",
        "features": features,
        "outputs": {
            "prediction": {**plain, "kind": "categorical"},
            "score": plain,
            "latency_ms": plain,
            "error": {**plain, "kind": "categorical"},
            "label": {**plain, "kind": "categorical"},
        },
        "skipped": [],
    }


def modelwatch_seconds(spark, path: str) -> tuple[float, float, list]:
    """Wall seconds, CPU seconds (this process tree) and the records of profiling."""
    from modelwatch.integrations.spark import profile_dataframe

    specs = specs_for(spark, path)
    frame = spark.read.parquet(path)
    frame.count()
    cpu, started = tree_cpu_seconds(), time.perf_counter()
    records = profile_dataframe(frame, specs, timestamp_col="timestamp")
    return time.perf_counter() - started, tree_cpu_seconds() - cpu, records


def whylogs_seconds(venv: str, path: str) -> dict:
    worker = ROOT / "bench" / "spark_whylogs_worker.py"
    found = subprocess.run(
        [f"{venv}/bin/python", str(worker), path, DRIVER_MEMORY],
        stdout=subprocess.PIPE,
        text=True,
        check=True,
    )
    return json.loads(found.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--whylogs", default="/work/venvs/whylogs")
    parser.add_argument("--data", default=None, help="Parquet path (default: a temporary one)")
    args = parser.parse_args()
    path = args.data or tempfile.mkdtemp(prefix="mw-spark-bench-") + "/data.parquet"
    spark = session()
    if not Path(path).exists():
        started = time.perf_counter()
        build(spark, args.rows, path)
        print(f"built {args.rows:,} rows x 25 features in {time.perf_counter() - started:.1f} s")
    print(f"modelwatch: starting, {load()}")
    seconds, cpu, records = modelwatch_seconds(spark, path)
    spark.stop()
    described = sum(r["rows"] for r in records)
    size = sum(len(json.dumps(r)) for r in records)
    print(
        f"modelwatch: {described:,} rows in {seconds:.1f} s = {described / seconds:,.0f} rows/s; "
        f"{cpu:.1f} CPU s = {described / cpu:,.0f} rows per CPU s; "
        f"{len(records)} hour buckets, {size / 1e6:.1f} MB of profiles to post; {load()}"
    )
    print(f"whylogs:    starting, {load()}")
    theirs = whylogs_seconds(args.whylogs, path)
    rate, per_cpu = theirs["rows"] / theirs["seconds"], theirs["rows"] / theirs["cpu_seconds"]
    print(
        f"whylogs:    {theirs['rows']:,} rows in {theirs['seconds']:.1f} s = {rate:,.0f} rows/s; "
        f"{theirs['cpu_seconds']:.1f} CPU s = {per_cpu:,.0f} rows per CPU s; {load()}"
    )
    print(f"ratio (modelwatch / whylogs rows/s): {described / seconds / rate:.2f}")
    print(f"ratio (modelwatch / whylogs rows per CPU s): {described / cpu / per_cpu:.2f}")


if __name__ == "__main__":
    main()
