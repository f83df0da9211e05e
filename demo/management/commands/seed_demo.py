"""manage.py seed_demo: load the three demo stories, their rules and channels.

Idempotent: a second run adds only the traffic of the hours that passed since the
last one (and the labels that came due). `--follow 60` keeps topping up every minute,
so the demo stays alive while `make run` is up (where that process also does the first
load, while the server starts). `--no-history` skips the past evaluations (the
dashboards' history of the windowed rules), which a later run stores.
"""

import time

from django.core.management.base import BaseCommand
from django.utils import timezone

from demo.load import seed


class Command(BaseCommand):
    help = "Load (or top up) the demo models, their telemetry, rules and channels."

    def add_arguments(self, parser):
        parser.add_argument(
            "--follow",
            type=float,
            default=0,
            metavar="SECONDS",
            help="Keep topping up the demo traffic every SECONDS.",
        )
        parser.add_argument(
            "--no-history",
            dest="history",
            action="store_false",
            help="Skip the past evaluations of the rules (a later run stores them).",
        )

    def handle(self, *args, follow: float = 0, history: bool = True, **options):
        self.report(seed(timezone.now(), history=history))
        while follow > 0:
            time.sleep(follow)
            self.report(seed(timezone.now()))

    def report(self, written: dict[str, int]) -> None:
        parts = ", ".join(f"{name}: {count}" for name, count in written.items())
        self.stdout.write(f"Demo loaded ({parts}).")
