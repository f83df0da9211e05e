from django.apps import AppConfig


class AccessConfig(AppConfig):
    """Least privilege: per-model roles, ingest tokens, the audit log."""

    name = "access"
    label = "access"
    verbose_name = "Access and audit"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from access import (  # noqa: F401  (signals, OpenAPI)
            audit,
            login_limits,
            roles,
            schema,
        )

        roles.connect_post_migrate(self)
        audit.connect()
