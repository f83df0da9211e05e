"""manage.py create_ingest_token MODEL [--name NAME] [--expires 30d]: print a new key once."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from access import tokens
from access.audit import audit_context
from models_app.models import Model


class Command(BaseCommand):
    help = (
        "Create a token that may only send telemetry to MODEL and print its key "
        "(shown this once; only a hash is stored)."
    )

    def add_arguments(self, parser):
        parser.add_argument("model", help="The model's name.")
        parser.add_argument("--name", default="ingest", help="What the token is for.")
        parser.add_argument(
            "--expires", default="", help='Lifetime such as "30d", "12h", "2w" (default: never).'
        )
        parser.add_argument("--created-by", default="", help="Username to record as creator.")

    def handle(self, model, name, expires, created_by, **options):
        target = Model.objects.filter(name=model).first()
        if target is None:
            raise CommandError(f'No model "{model}".')
        try:
            expires_at = tokens.parse_expiry(expires, timezone.now())
        except ValueError as exc:
            raise CommandError(f"--expires: {exc}") from None
        creator = self.creator(created_by)
        with audit_context("command", creator):
            token, key = tokens.create_token(target, name, creator, expires_at)
        until = f"until {expires_at:%Y-%m-%d %H:%M} UTC" if expires_at else "with no expiry"
        self.stderr.write(f'Ingest token "{name}" for model "{model}", {until}:')
        self.stdout.write(key)

    def creator(self, username: str):
        if not username:
            return None
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f'No user "{username}".')
        return user
