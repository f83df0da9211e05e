"""manage.py dashboard_demo: fill the database with realistic dashboard data.

For developing the pages and taking screenshots; `--reset` rebuilds it. See
`frontend.demo_data` for what the data holds.
"""

from django.core.management.base import BaseCommand
from django.utils import timezone

from frontend import demo_data
from models_app.models import Model

FLEET = ["churn-predictor", "fraud-scoring", "demand-forecast", "image-qc"]


class Command(BaseCommand):
    help = "Load a 30-day demo model (drift, incident, alerts) and a small fleet."

    def add_arguments(self, parser):
        parser.add_argument("--name", default="cancer-screening")
        parser.add_argument("--reset", action="store_true", help="delete and rebuild the demo")

    def handle(self, *args, name: str, reset: bool, **options):
        existing = Model.objects.filter(name__in=[name, *FLEET])
        if existing.exists() and not reset:
            self.stdout.write("Dashboard demo already loaded (use --reset to rebuild).")
            return
        existing.delete()
        now = timezone.now()
        model = demo_data.build_demo(now, name=name)
        demo_data.build_fleet(now)
        self.stdout.write(f"Dashboard demo loaded: /models/{model.name}/ and {len(FLEET)} more.")
