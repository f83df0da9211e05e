"""manage.py seed_demo: a small, reproducible demo (idempotent: re-running changes nothing).

One binary classifier with a week of hourly production accuracy and latency that dip
on day five, written through `models_app.ingest` like any telemetry.
"""

from datetime import timedelta

import numpy as np
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from models_app import ingest
from models_app.models import MetricPoint, Model, ModelVersion
from models_app.series import floor_time

DEMO_MODEL = "credit-risk"


def demo_metric_rows(end, days: int = 7, seed: int = 7) -> list[dict]:
    """Hourly accuracy around 0.91 with a dip to ~0.78 during day five."""
    rng = np.random.default_rng(seed)
    start = end - timedelta(days=days)
    rows = []
    for hour in range(days * 24):
        moment = start + timedelta(hours=hour)
        dip = 0.13 if 4 * 24 <= hour < 5 * 24 else 0.0
        accuracy = 0.91 - dip + rng.normal(0, 0.008)
        rows.append({"name": "accuracy", "value": float(accuracy), "timestamp": moment,
                     "step": None, "stage": "production"})
        latency = 42 + (25 if dip else 0) + rng.normal(0, 3)
        rows.append({"name": "latency_ms", "value": float(latency), "timestamp": moment,
                     "step": None, "stage": "production"})
    return rows


class Command(BaseCommand):
    help = "Load the demo models and their telemetry (idempotent)."

    @transaction.atomic
    def handle(self, **options):
        model, created = Model.objects.get_or_create(
            name=DEMO_MODEL,
            defaults={
                "task": "binary_classification", "framework": "scikit-learn",
                "description": "Demo: credit default classifier.", "tags": ["demo", "credit"],
            },
        )
        version, _ = ModelVersion.objects.get_or_create(model=model, version="1")
        if MetricPoint.objects.filter(model=model).exists():
            self.stdout.write("Demo already loaded.")
            return
        end = floor_time(timezone.now(), 3600)
        count = ingest.record_metrics(version, demo_metric_rows(end))
        self.stdout.write(f"Demo loaded: {DEMO_MODEL} with {count} metric points.")
