"""manage.py ensure_admin: create the `admin` superuser once (used by `make run`).

The password comes from ADMIN_PASSWORD; without it one is generated and printed
once, and saved to DATA_DIR/admin_password so that later runs can show it again.
"""

import os
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create the admin superuser if it does not exist."

    def handle(self, **options):
        User = get_user_model()
        if User.objects.filter(username="admin").exists():
            self.stdout.write("admin user exists.")
            return
        password = os.environ.get("ADMIN_PASSWORD") or secrets.token_urlsafe(12)
        User.objects.create_superuser("admin", "admin@localhost", password)
        if not os.environ.get("ADMIN_PASSWORD"):
            path = settings.DATA_DIR / "admin_password"
            path.write_text(password + "\n")
            path.chmod(0o600)
            self.stdout.write(
                self.style.WARNING(
                    f"Created superuser admin with password: {password}  (saved in {path})"
                )
            )
        else:
            self.stdout.write("Created superuser admin (password from ADMIN_PASSWORD).")
