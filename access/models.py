"""Who may do what to which model: role grants, ingest tokens, and the audit log."""

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from django.utils import timezone

from models_app.models import Model


class Role(models.TextChoices):
    VIEWER = "viewer"
    EDITOR = "editor"
    ADMIN = "admin"


class ModelRole(models.Model):
    """A role on one model, held by a user or by a group (exactly one of the two).

    Saving or deleting a grant rewrites the principal's django-guardian object
    permissions on the model (access/roles.py), which the API and the
    dashboards check.
    """

    model = models.ForeignKey(Model, related_name="roles", on_delete=models.CASCADE)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="model_roles",
    )
    group = models.ForeignKey(
        Group, null=True, blank=True, on_delete=models.CASCADE, related_name="model_roles"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["model", "role", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(user__isnull=True) ^ models.Q(group__isnull=True),
                name="role_user_xor_group",
                violation_error_message="Choose either a user or a group, not both.",
            ),
            models.UniqueConstraint(fields=["model", "user"], name="uniq_model_role_user"),
            models.UniqueConstraint(fields=["model", "group"], name="uniq_model_role_group"),
        ]

    def __str__(self) -> str:
        return f"{self.principal} is {self.role} of {self.model}"

    @property
    def principal(self):
        return self.user if self.user_id else self.group


class IngestToken(models.Model):
    """A key that may only write the telemetry of one model, until it expires or is revoked.

    Only a SHA-256 hash of the key is stored; the key is shown once, when created.
    """

    model = models.ForeignKey(Model, related_name="ingest_tokens", on_delete=models.CASCADE)
    name = models.CharField(max_length=100, help_text="What the key is for, e.g. 'serving'.")
    prefix = models.CharField(
        max_length=16, editable=False, help_text="The start of the key, to recognise it."
    )
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(
        null=True, blank=True, help_text="Empty: the token never expires."
    )
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked = models.BooleanField(default=False)

    class Meta:
        ordering = ["model", "-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…) for {self.model}"

    def is_usable(self, now) -> bool:
        return not self.revoked and (self.expires_at is None or self.expires_at > now)


class AuditAction(models.TextChoices):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


class AuditEntry(models.Model):
    """One change to a rule, channel, token, role or model: who, when, what (before/after)."""

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_repr = models.CharField("actor", max_length=200, blank=True)
    source = models.CharField(max_length=16, help_text="api, admin, web or command.")
    action = models.CharField(max_length=16, choices=AuditAction.choices)
    object_type = models.CharField(max_length=100, db_index=True)
    object_id = models.CharField(max_length=64)
    object_repr = models.CharField(max_length=300)
    changes = models.JSONField(default=dict, help_text='{"field": [before, after]}')

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "audit entries"
        indexes = [models.Index(fields=["object_type", "object_id"], name="audit_object")]

    def __str__(self) -> str:
        return f"{self.actor_repr or 'system'} {self.action} {self.object_type} {self.object_repr}"
