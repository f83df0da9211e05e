"""manage.py export_config [-o FILE] [--model NAME ...]: the server's configuration as YAML."""

from django.core.management.base import BaseCommand, CommandError

from alerts_app.config_io.document import dump_yaml, export_document, some_models, whole_server
from models_app.models import Model


class Command(BaseCommand):
    help = (
        "Write the models, channels (without secrets), rules and the other alerting "
        "settings as YAML, for manage.py apply_config (docs/config-as-code.md)."
    )

    def add_arguments(self, parser):
        parser.add_argument("-o", "--output", help="Write to this file (default: stdout).")
        parser.add_argument(
            "--model",
            action="append",
            default=[],
            metavar="NAME",
            help="Only this model, its rules and the channels they use (repeatable).",
        )

    def handle(self, *args, output=None, model=(), **options):
        text = dump_yaml(export_document(self.scope(model)))
        if output:
            with open(output, "w", encoding="utf-8") as handle:
                handle.write(text)
        else:
            self.stdout.write(text, ending="")

    def scope(self, names: list[str]):
        if not names:
            return whole_server()
        models = Model.objects.filter(name__in=names)
        missing = sorted(set(names) - set(models.values_list("name", flat=True)))
        if missing:
            raise CommandError(f"No such model: {', '.join(missing)}.")
        return some_models(models)
