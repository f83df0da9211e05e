"""manage.py dashboard_demo: the demo's quick, fixed dataset for developing the pages.

One model with 30 days of telemetry and an alert history played through the alert engine,
plus a small fleet (`demo.screening`); `--reset` rebuilds it. The live demo with its
three stories is `manage.py seed_demo`.
"""

from django.core.management.base import BaseCommand
from django.utils import timezone

from demo import screening
from models_app.models import Model


class Command(BaseCommand):
    help = "Load a 30-day demo model (drift, incident, alerts) and a small fleet."

    def add_arguments(self, parser):
        parser.add_argument("--name", default="cancer-screening")
        parser.add_argument("--reset", action="store_true", help="delete and rebuild the demo")

    def handle(self, *args, name: str, reset: bool, **options):
        existing = Model.objects.filter(name__in=[name, *screening.FLEET])
        if existing.exists() and not reset:
            self.stdout.write("Dashboard demo already loaded (use --reset to rebuild).")
            return
        existing.delete()
        now = timezone.now()
        model = screening.build_demo(now, name=name)
        screening.build_fleet(now)
        self.stdout.write(
            f"Dashboard demo loaded: /models/{model.name}/ and {len(screening.FLEET)} more."
        )
