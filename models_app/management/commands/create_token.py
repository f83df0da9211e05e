"""manage.py create_token USER: print the API token of USER (created when missing)."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from rest_framework.authtoken.models import Token


class Command(BaseCommand):
    help = "Print the API token of a user, creating the token (and with --create, the user)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--create", action="store_true", help="Create the user if missing.")
        parser.add_argument("--staff", action="store_true", help="Make a created user staff.")

    def handle(self, username, create, staff, **options):
        User = get_user_model()
        user = User.objects.filter(username=username).first()
        if user is None:
            if not create:
                raise CommandError(f'No user "{username}" (use --create to make one).')
            user = User.objects.create_user(username=username, is_staff=staff)
        token, _ = Token.objects.get_or_create(user=user)
        self.stdout.write(token.key)
