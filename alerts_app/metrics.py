"""`/metrics`: ModelWatch's state for Prometheus, behind a bearer token (docs/alerting.md).

Off (404) unless MODELWATCH_METRICS_TOKEN is set; then a scrape must send
`Authorization: Bearer <token>` (401 otherwise). The answer holds
- what processes counted (monitor_site/metrics.py): `modelwatch_ingested_records_total`
  and `modelwatch_rule_evaluation_seconds`, added up over every process's files in
  multiprocess mode (every `*.db` under MODELWATCH_METRICS_DIR, default
  PROMETHEUS_MULTIPROC_DIR, so containers may each write to a subdirectory of a shared
  volume: no two processes then share a file even with the same pid);
- what the database says at scrape time (`DatabaseCollector`): `modelwatch_alerts`,
  `modelwatch_model_last_seen_timestamp_seconds` and `modelwatch_dispatch_lag_seconds`.
"""

import hmac
import os
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.db.models import Count, F, Min, Q
from django.http import Http404, HttpResponse
from django.utils import timezone
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

from alerts_app.models import Alert, AlertRule
from alerts_app.schedule import period
from models_app.models import Model
from monitor_site.metrics import INSTRUMENTS


def dispatch_lag(now: datetime) -> float:
    """Seconds since the oldest slot no worker has evaluated yet (0 when none is late):
    a due rule nobody claimed (its `next_run_at` has passed), or a claimed one whose
    evaluation has not run (`last_run_at` before its slot, `next_run_at - interval`)."""
    enabled = AlertRule.objects.filter(enabled=True)
    unclaimed = enabled.filter(next_run_at__lte=now).aggregate(oldest=Min("next_run_at"))
    claimed = (
        enabled.filter(next_run_at__gt=now)
        .annotate(slot=F("next_run_at") - period())
        .filter(Q(last_run_at__isnull=True) | Q(last_run_at__lt=F("slot")), slot__lte=now)
        .aggregate(oldest=Min("slot"))
    )
    oldest = [t for t in (unclaimed["oldest"], claimed["oldest"]) if t is not None]
    return max((now - min(oldest)).total_seconds(), 0.0) if oldest else 0.0


class DatabaseCollector:
    """Gauges read from the database at each scrape (no process has to keep them)."""

    def collect(self):
        yield self.alerts()
        yield self.last_seen()
        lag = GaugeMetricFamily(
            "modelwatch_dispatch_lag_seconds",
            "Seconds since the oldest rule evaluation that is due and not done yet (0: none).",
        )
        lag.add_metric([], dispatch_lag(timezone.now()))
        yield lag

    def alerts(self) -> GaugeMetricFamily:
        family = GaugeMetricFamily(
            "modelwatch_alerts",
            "Alerts by model, rule, severity and state.",
            labels=["model", "rule", "severity", "state"],
        )
        rows = (
            Alert.objects.values_list("rule__model__name", "rule__name", "rule__severity", "state")
            .annotate(n=Count("id"))
            .order_by("rule__model__name", "rule__name", "state")
        )
        for model, rule, severity, state, n in rows:
            family.add_metric([model, rule, severity, state], n)
        return family

    def last_seen(self) -> GaugeMetricFamily:
        family = GaugeMetricFamily(
            "modelwatch_model_last_seen_timestamp_seconds",
            "When the model's telemetry last arrived (Unix time).",
            labels=["model"],
        )
        seen = Model.objects.exclude(last_seen_at=None).order_by("name")
        for name, at in seen.values_list("name", "last_seen_at"):
            family.add_metric([name], at.timestamp())
        return family


def metrics_dir() -> str:
    return os.environ.get("MODELWATCH_METRICS_DIR") or os.environ.get(
        "PROMETHEUS_MULTIPROC_DIR", ""
    )


class FilesCollector:
    """Every process's samples: the `*.db` files under the directory, merged."""

    def __init__(self, root: str):
        self.root = root

    def collect(self):
        files = sorted(str(path) for path in Path(self.root).rglob("*.db"))
        return MultiProcessCollector.merge(files, accumulate=True)


def registry() -> CollectorRegistry:
    """One scrape's registry: the processes' instruments, then the database's gauges."""
    scrape = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        scrape.register(FilesCollector(metrics_dir()))
    else:
        for instrument in INSTRUMENTS:
            scrape.register(instrument)
    scrape.register(DatabaseCollector())
    return scrape


def authorized(request, token: str) -> bool:
    sent = request.META.get("HTTP_AUTHORIZATION", "")
    return hmac.compare_digest(sent.encode(), f"Bearer {token}".encode())


def metrics_view(request) -> HttpResponse:
    token = getattr(settings, "MODELWATCH_METRICS_TOKEN", "")
    if not token:
        raise Http404("Metrics are off: set MODELWATCH_METRICS_TOKEN.")
    if not authorized(request, token):
        response = HttpResponse("A bearer token is required.\n", status=401)
        response["WWW-Authenticate"] = 'Bearer realm="modelwatch-metrics"'
        return response
    return HttpResponse(generate_latest(registry()), content_type=CONTENT_TYPE_PLAIN_0_0_4)
