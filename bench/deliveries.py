"""Deliveries per second of one worker process: webhook notifications to a local receiver.

A scratch PostgreSQL database gets one firing alert whose rule sends to a webhook channel
pointing at an HTTP receiver in this process (answers 200 at once); N deliveries of its
transition are written, then `alerts_app.outbox.deliver` sends them one after the other,
as one Celery worker process of the deliver queue does (claim, build the notification,
POST, record). Printed: deliveries/s, and the receiver's count (every one arrived once).

    .venv/bin/python bench/deliveries.py [--deliveries 500]
"""

import argparse
import copy
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.harness import bench_database  # noqa: E402

RECEIVED = []


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - the http.server hook's name
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        RECEIVED.append(self.path)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=500)
    args = parser.parse_args()
    _, env = bench_database("mw_bench_deliveries")
    os.environ.update(env | {"MODELWATCH_ALLOW_PRIVATE_WEBHOOKS": "1"})
    import django

    django.setup()
    from datetime import UTC, datetime

    from alerts_app import lifecycle, outbox
    from alerts_app.models import AlertRule, Channel, CheckResult, Delivery
    from models_app.models import Model, ModelVersion

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    model = Model.objects.create(name="bench", task="binary_classification")
    ModelVersion.objects.create(model=model, version="1")
    channel = Channel.objects.create(name="hook", kind="webhook", config={"url": url})
    rule = AlertRule.objects.create(
        model=model,
        kind="metric_threshold",
        name="loss",
        interval=60,
        config={
            "metric": "loss",
            "aggregation": "avg",
            "window": "10m",
            "operator": ">",
            "threshold": 0.5,
        },
    )
    rule.channels.set([channel])
    outbox.enqueue_delivery = lambda *a, **k: None  # sent below, not through a broker
    result = CheckResult.objects.create(
        rule=rule, status="breached", value=0.9, threshold=0.5, passed=False, details={}
    )
    transition = lifecycle.apply_result(rule, result, datetime.now(UTC))[0]
    Delivery.objects.all().delete()
    clones = []
    for _ in range(args.deliveries):  # one delivery per (transition, channel)
        clone = copy.copy(transition)
        clone.pk = None
        clones.append(clone)
    clones = type(transition).objects.bulk_create(clones)
    Delivery.objects.bulk_create([Delivery(transition=t, channel=channel) for t in clones])
    ids = list(Delivery.objects.values_list("id", flat=True))
    started = time.perf_counter()
    statuses = [outbox.deliver(delivery_id) for delivery_id in ids]
    seconds = time.perf_counter() - started
    server.shutdown()
    print(
        f"{len(ids)} webhook deliveries by one process in {seconds:.2f} s: "
        f"{len(ids) / seconds:.1f} deliveries/s; statuses {sorted(set(statuses))}, "
        f"received {len(RECEIVED)}"
    )


if __name__ == "__main__":
    main()
