"""manage.py apply_config FILE [--dry-run] [--prune]: make the server match a YAML file."""

import os
import sys

from django.core.management.base import BaseCommand, CommandError

from alerts_app.config_io.base import CommandLineUser, ConfigError
from alerts_app.config_io.document import apply_document, diff_text, load_yaml


class Command(BaseCommand):
    help = (
        "Create and update what FILE (YAML from export_config; - for stdin) describes, "
        "print the diff; --prune also deletes what it does not name. One transaction: "
        "nothing is changed when anything is refused (docs/config-as-code.md)."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument(
            "--dry-run", action="store_true", help="Print the diff, change nothing."
        )
        parser.add_argument(
            "--prune",
            action="store_true",
            help="Delete the objects of each section of the file that it does not name.",
        )

    def handle(self, *args, file, dry_run=False, prune=False, **options):
        try:
            document = load_yaml(self.read(file))
            changes = apply_document(
                document, CommandLineUser(), os.environ, prune=prune, dry_run=dry_run
            )
        except ConfigError as exc:
            source = "stdin" if file == "-" else file
            raise CommandError(f"{source} was not applied; nothing was changed:\n{exc}") from None
        self.stdout.write(diff_text(changes))
        if dry_run:
            self.stdout.write("Dry run: nothing was changed.")

    def read(self, file: str) -> str:
        if file == "-":
            return sys.stdin.read()
        try:
            with open(file, encoding="utf-8") as handle:
                return handle.read()
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror}.") from None
