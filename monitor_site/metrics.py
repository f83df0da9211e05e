"""The process's own Prometheus instruments: what a web or worker process counts as it works.

Under gunicorn and Celery several processes count at once, so prometheus_client runs in
multiprocess mode: each process writes its samples to files in PROMETHEUS_MULTIPROC_DIR
(which must be set before prometheus_client is first imported: the gunicorn config
`monitor_site/gunicorn_conf.py` and `bin/run-embedded` set it) and `/metrics` adds the
files up (alerts_app/metrics.py). Without the variable (runserver, tests) they live in
this process. The instruments are registered in no registry of their own: `/metrics`
builds one per scrape. What the database knows (alerts by state, last telemetry, dispatch
lag) is read at scrape time instead (alerts_app/metrics.py).
"""

import os
import socket

from django.db import transaction
from prometheus_client import Counter, Histogram

INGESTED_RECORDS = Counter(
    "modelwatch_ingested_records",
    "Telemetry records stored, by model and kind (metrics, predictions, labels, parameters).",
    ["model", "kind"],
    registry=None,
)
RULE_EVALUATION_SECONDS = Histogram(
    "modelwatch_rule_evaluation_seconds",
    "Time to evaluate one rule (load its window, run its check, store the result), by kind.",
    ["kind"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0),
    registry=None,
)
INSTRUMENTS = (INGESTED_RECORDS, RULE_EVALUATION_SECONDS)


def use_host_directory() -> None:
    """With MODELWATCH_METRICS_PER_HOST=1, write under PROMETHEUS_MULTIPROC_DIR/<host name>
    and read the whole of PROMETHEUS_MULTIPROC_DIR: containers sharing one volume (each
    its own host name) then never share a file, even when their process ids coincide.
    Runs at import, before any sample opens a file (prometheus_client reads the variable
    then, and only needs it set, not final, when it is imported)."""
    root, host = os.environ.get("PROMETHEUS_MULTIPROC_DIR"), socket.gethostname()
    if root and os.environ.get("MODELWATCH_METRICS_PER_HOST") == "1":
        if os.path.basename(os.path.normpath(root)) != host:
            os.environ.setdefault("MODELWATCH_METRICS_DIR", root)
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = os.path.join(root, host)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # each process opens its files on its
        os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)  # first sample


use_host_directory()


def count_ingested(model_name: str, kind: str, records: int) -> None:
    """Count `records` stored for a model, once the transaction that stores them commits."""
    if records > 0:
        transaction.on_commit(
            lambda: INGESTED_RECORDS.labels(model_name, kind).inc(records), robust=True
        )
