"""gunicorn settings (`--config python:monitor_site.gunicorn_conf`): Prometheus multiprocess.

Every gunicorn worker counts into files in PROMETHEUS_MULTIPROC_DIR, read by `/metrics`
(monitor_site/metrics.py). When the variable is already set (`bin/run-embedded`, which
shares one directory with the Celery worker, or docker-compose) it is used as it is, and
whoever set it empties it before the processes start. Otherwise this config makes a
fresh directory for this server and removes it when the server exits. The variable is
set here, in the master, before any worker imports prometheus_client.
"""

import os
import shutil
import tempfile

OWN_DIR = ""
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    OWN_DIR = tempfile.mkdtemp(prefix="modelwatch-prometheus-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = OWN_DIR


def child_exit(server, worker) -> None:
    """A worker that stopped no longer counts in the live gauges (counters stay)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server) -> None:
    if OWN_DIR:
        shutil.rmtree(OWN_DIR, ignore_errors=True)
