"""manage.py grant_role WHO ROLE (MODEL... | --all-models) [--group] [--revoke]."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError

from access import roles
from access.audit import audit_context
from access.models import Role
from models_app.models import Model


class Command(BaseCommand):
    help = (
        "Give a user (or, with --group, a group) a role on models: viewer reads, editor "
        "also writes telemetry and rules, admin also updates/deletes the model and grants "
        "roles. --all-models grants it on every model, present and future."
    )

    def add_arguments(self, parser):
        parser.add_argument("who", help="Username (or group name with --group).")
        parser.add_argument("role", choices=Role.values)
        parser.add_argument("models", nargs="*", help="Model names.")
        parser.add_argument(
            "--all-models", action="store_true", help='Add to the "all models: ROLE" group instead.'
        )
        parser.add_argument("--group", action="store_true", help="WHO is a group name.")
        parser.add_argument(
            "--revoke",
            action="store_true",
            help="Take the role (on these models, or the all-models one) away.",
        )

    def handle(self, who, role, models, all_models, group, revoke, **options):
        if bool(models) == bool(all_models):
            raise CommandError("Name the models, or pass --all-models (not both).")
        principal = self.principal(who, group)
        with audit_context("command"):
            if all_models:
                self.everywhere(principal, role, revoke)
            for name in models:
                self.on_model(principal, role, self.model(name), revoke)

    def principal(self, who: str, group: bool):
        if group:
            found = Group.objects.filter(name=who).first()
        else:
            found = get_user_model().objects.filter(username=who).first()
        if found is None:
            raise CommandError(f'No {"group" if group else "user"} "{who}".')
        return found

    def model(self, name: str) -> Model:
        found = Model.objects.filter(name=name).first()
        if found is None:
            raise CommandError(f'No model "{name}".')
        return found

    def on_model(self, principal, role: str, model: Model, revoke: bool) -> None:
        if revoke:
            done = roles.revoke(model, principal)
            self.stdout.write(
                f"{principal}: {'no longer has a role' if done else 'had no role'} on {model.name}"
            )
            return
        roles.grant(model, principal, role)
        self.stdout.write(f"{principal} is {role} of {model.name}")

    def everywhere(self, principal, role: str, revoke: bool) -> None:
        group = Group.objects.get(name=roles.global_group_name(role))
        if isinstance(principal, Group):
            raise CommandError("--all-models takes a user (groups get per-model roles).")
        (principal.groups.remove if revoke else principal.groups.add)(group)
        self.stdout.write(f'{principal} {"left" if revoke else "joined"} "{group.name}"')
