"""Alert rules, their evaluations, alerts and their transitions, channels and deliveries."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from alerts_app.kinds import KINDS, kind_choices
from models_app.models import Model, ModelVersion

# Declared in alerts_app/kinds.py: the field's choices are read from there when used, so a
# new kind needs no migration.
RuleKind = models.TextChoices(
    "RuleKind", [(kind.name.upper(), (kind.name, kind.label)) for kind in KINDS]
)


class Severity(models.TextChoices):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class Channel(models.Model):
    """Where notifications go: e-mail, a webhook, Slack, Teams, PagerDuty or Opsgenie
    (`config` per kind: alerts_app/transports.py)."""

    class Kind(models.TextChoices):
        EMAIL = "email"
        WEBHOOK = "webhook"
        SLACK = "slack"
        MSTEAMS = "msteams", "Microsoft Teams"
        PAGERDUTY = "pagerduty", "PagerDuty"
        OPSGENIE = "opsgenie", "Opsgenie"

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    config = models.JSONField(default=dict)
    enabled = models.BooleanField(default=True)
    # Who may route to it and read its deliveries besides staff (access/channels).
    shared_with_all_models = models.BooleanField(
        default=False, help_text="Editors of any model may send their rules here."
    )
    shared_models = models.ManyToManyField(
        Model,
        blank=True,
        related_name="shared_channels",
        help_text="Editors of these models may send their rules here.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"


class AlertRule(models.Model):
    """A check of one model, evaluated every `interval` seconds by the dispatcher.

    Durations are stored in seconds; the API and admin accept `30s`, `5m`, `1h`, `7d`.
    """

    name = models.CharField(max_length=200)
    model = models.ForeignKey(Model, related_name="rules", on_delete=models.CASCADE)
    kind = models.CharField(max_length=32, choices=kind_choices)
    config = models.JSONField(default=dict, blank=True)
    severity = models.CharField(max_length=16, choices=Severity.choices, default=Severity.WARNING)
    interval = models.PositiveIntegerField(default=300)
    pending_for = models.PositiveIntegerField(default=0)
    repeat_interval = models.PositiveIntegerField(default=4 * 3600)
    keep_firing_for = models.PositiveIntegerField(default=0)
    channels = models.ManyToManyField(Channel, blank=True, related_name="rules")
    enabled = models.BooleanField(default=True)
    next_run_at = models.DateTimeField(default=timezone.now, db_index=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    # The schedule slot (a past next_run_at) the dispatcher last had evaluated: a
    # redelivered evaluation message for that slot is skipped.
    last_slot = models.DateTimeField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["model__name", "name"]

    def __str__(self) -> str:
        return f"{self.name} [{self.kind}]"


class CheckResult(models.Model):
    """One evaluation of a rule: the history the dashboards plot."""

    class Status(models.TextChoices):
        OK = "ok"
        BREACHED = "breached"
        INSUFFICIENT_DATA = "insufficient_data"
        ERROR = "error"

    rule = models.ForeignKey(AlertRule, related_name="results", on_delete=models.CASCADE)
    version = models.ForeignKey(ModelVersion, null=True, blank=True, on_delete=models.SET_NULL)
    evaluated_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=20, choices=Status.choices)
    value = models.FloatField(null=True, blank=True)
    threshold = models.FloatField(null=True, blank=True)
    passed = models.BooleanField()
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-evaluated_at", "-id"]
        indexes = [models.Index(fields=["rule", "evaluated_at"], name="result_history")]

    def __str__(self) -> str:
        return f"{self.rule_id} @ {self.evaluated_at:%Y-%m-%d %H:%M:%S}: {self.status}"


class AlertState(models.TextChoices):
    OK = "ok"
    PENDING = "pending"
    FIRING = "firing"
    RESOLVED = "resolved"


class Alert(models.Model):
    """The one alert of a fingerprint (rule + version + feature) and its current state."""

    rule = models.ForeignKey(AlertRule, related_name="alerts", on_delete=models.CASCADE)
    version = models.ForeignKey(ModelVersion, null=True, blank=True, on_delete=models.SET_NULL)
    feature = models.CharField(max_length=200, blank=True, default="")
    # A segmented rule's segment, `<feature>=<value>` (alerts_app/segments.py); "" for none.
    segment = models.CharField(max_length=401, blank=True, default="")
    fingerprint = models.CharField(max_length=1000, unique=True)
    state = models.CharField(max_length=16, choices=AlertState.choices, default=AlertState.OK)
    value = models.FloatField(null=True, blank=True)
    threshold = models.FloatField(null=True, blank=True)
    message = models.TextField(blank=True, default="")
    pending_since = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    last_breach_at = models.DateTimeField(null=True, blank=True)
    last_evaluated = models.DateTimeField(null=True, blank=True)
    last_notified_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    acknowledged_note = models.TextField(blank=True, default="")  # why / who is on it
    # The last firing/repeat announcement was held back by a silence: made up when it ends.
    muted = models.BooleanField(default=False)
    # Bumped by every guarded write: two writers holding the same snapshot cannot both win.
    revision = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    changed_at = models.DateTimeField(default=timezone.now, db_index=True)  # last transition

    class Meta:
        ordering = ["-changed_at", "-id"]
        indexes = [models.Index(fields=["state"], name="alert_state")]

    def __str__(self) -> str:
        return self.fingerprint

    @property
    def is_acknowledged(self) -> bool:
        return self.acknowledged_at is not None


class AlertTransition(models.Model):
    """A state change (or a repeat reminder): the history and the notification outbox."""

    class Event(models.TextChoices):
        PENDING = "pending"
        FIRING = "firing"
        RESOLVED = "resolved"
        REPEAT = "repeat"
        CLEARED = "cleared"  # pending -> ok before it fired: history only, never notified
        # Someone acknowledged it: state unchanged; sent to the pagers (PagerDuty, Opsgenie).
        ACKNOWLEDGED = "acknowledged"

    alert = models.ForeignKey(Alert, related_name="transitions", on_delete=models.CASCADE)
    old = models.CharField(max_length=16, choices=AlertState.choices)
    new = models.CharField(max_length=16, choices=AlertState.choices)
    event = models.CharField(max_length=16, choices=Event.choices)
    value = models.FloatField(null=True, blank=True)
    threshold = models.FloatField(null=True, blank=True)
    message = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    processed = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.alert_id}: {self.old} -> {self.new} ({self.event})"


class Delivery(models.Model):
    """One transition sent to one channel: written before sending, at most once each."""

    class Status(models.TextChoices):
        PENDING = "pending"
        SENDING = "sending"
        SENT = "sent"
        FAILED = "failed"
        MUTED = "muted"

    transition = models.ForeignKey(
        AlertTransition, related_name="deliveries", on_delete=models.CASCADE
    )
    channel = models.ForeignKey(Channel, related_name="deliveries", on_delete=models.CASCADE)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    # One entry per attempt: {"at", "ok", "error", "permanent"}.
    log = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(fields=["transition", "channel"], name="uniq_delivery")
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="delivery_due")]

    def __str__(self) -> str:
        return f"{self.transition_id} -> {self.channel_id}: {self.status}"


class Silence(models.Model):
    """Mutes notifications of the alerts it matches between two times; state goes on.

    What it matches (alerts_app/silences.py): `matchers`, `{"model": [names], "rule":
    [ids], "severity": [levels], "feature": [names]}` (keys AND-ed, values OR-ed), and
    the `rule` and `model` it may name directly (the alert page and the admin's
    per-rule silences), which count as one more `rule` / `model` matcher each.
    """

    rule = models.ForeignKey(AlertRule, null=True, blank=True, on_delete=models.CASCADE)
    model = models.ForeignKey(Model, null=True, blank=True, on_delete=models.CASCADE)
    matchers = models.JSONField(
        default=dict,
        blank=True,
        help_text='{"model": [names], "rule": [ids], "severity": [levels], "feature": [names]}: '
        "keys AND-ed, values OR-ed.",
    )
    starts_at = models.DateTimeField(default=timezone.now)
    ends_at = models.DateTimeField()
    comment = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-starts_at"]
        indexes = [models.Index(fields=["ends_at"], name="silence_ends")]

    def __str__(self) -> str:
        target = " / ".join(str(x) for x in (self.rule, self.model) if x is not None)
        named = ", ".join(f"{key}={values}" for key, values in (self.matchers or {}).items())
        target = " / ".join(part for part in (target, named) if part)
        return f"{target or 'everything'} until {self.ends_at:%Y-%m-%d %H:%M}"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if self.rule_id is None and self.model_id is None and not any(self.matchers or {}):
            raise ValidationError("Choose a rule, a model or both. Or give matchers.")
        if self.ends_at and self.starts_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": ["Must be after the start."]})


class WorkerHeartbeat(models.Model):
    """The last time a worker executed the beat-driven heartbeat task."""

    name = models.CharField(max_length=100, unique=True)
    last_seen = models.DateTimeField()

    def __str__(self) -> str:
        return self.name


# Routing, incidents and inhibition (docs/alerting.md "Routing", "Incidents", "Inhibition").


class NotificationPolicy(models.Model):
    """A node of the routing tree: alerts its matchers select go to its channels, grouped.

    Unset (null) timings, `group_by` and empty `channels` are inherited from the parent
    (the top level inherits the built-in defaults: group by model, 30s, 5m, 4h).
    """

    name = models.CharField(max_length=200, unique=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, related_name="children", on_delete=models.CASCADE
    )
    # {"model"?: [names], "tags"?: [tags], "severity"?: [levels], "kind"?: [kinds]}
    matchers = models.JSONField(default=dict, blank=True)
    channels = models.ManyToManyField(Channel, blank=True, related_name="policies")
    group_by = models.JSONField(null=True, blank=True)  # label names; null: inherited
    group_wait = models.PositiveIntegerField(null=True, blank=True)
    group_interval = models.PositiveIntegerField(null=True, blank=True)
    repeat_interval = models.PositiveIntegerField(null=True, blank=True)
    # Alertmanager's `continue`: keep trying the next sibling after this one matched.
    continue_matching = models.BooleanField(default=False)
    # Weekly windows with no notifications: [{"weekdays", "start", "end", "timezone"}].
    mute_timings = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "notification policies"

    def __str__(self) -> str:
        return self.name


class Incident(models.Model):
    """The firing alerts of one group key: notified together, updated as they change."""

    class State(models.TextChoices):
        FIRING = "firing"
        RESOLVED = "resolved"

    policy = models.ForeignKey(
        NotificationPolicy,
        null=True,
        blank=True,
        related_name="incidents",
        on_delete=models.SET_NULL,
    )
    # The model every alert of the incident belongs to (null when grouped across models):
    # who may see the incident follows from it (access/scoping.py).
    model = models.ForeignKey(
        Model, null=True, blank=True, related_name="incidents", on_delete=models.CASCADE
    )
    group_key = models.CharField(max_length=400)
    labels = models.JSONField(default=dict, blank=True)  # the group_by labels
    # The route as it was when the incident opened: channel ids and timings, in seconds.
    channels = models.JSONField(default=list, blank=True)
    group_wait = models.PositiveIntegerField(default=30)
    group_interval = models.PositiveIntegerField(default=300)
    repeat_interval = models.PositiveIntegerField(default=4 * 3600)
    mute_timings = models.JSONField(default=list, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.FIRING)
    alerts = models.ManyToManyField(Alert, through="IncidentAlert", related_name="incidents")
    started_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    # When the next notification may be due (group_wait, group_interval, repeat); null:
    # nothing to do until an alert joins or leaves.
    next_flush_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_notified_at = models.DateTimeField(null=True, blank=True)
    # What the last notification said: {"firing": [alert ids], "resolved": [alert ids]}.
    notified = models.JSONField(default=dict, blank=True)
    sequence = models.PositiveIntegerField(default=0)  # notifications recorded so far
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    acknowledged_note = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            # One open incident per group: two workers opening it at once, one wins.
            models.UniqueConstraint(
                fields=["group_key"],
                condition=models.Q(state="firing"),
                name="one_open_incident_per_group",
            )
        ]

    def __str__(self) -> str:
        return f"Incident #{self.pk} ({self.group_key})"


class IncidentAlert(models.Model):
    """An alert's membership of an incident: when it joined and when it resolved."""

    incident = models.ForeignKey(Incident, related_name="members", on_delete=models.CASCADE)
    alert = models.ForeignKey(Alert, related_name="memberships", on_delete=models.CASCADE)
    joined_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["joined_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "alert"], name="uniq_incident_alert")
        ]

    def __str__(self) -> str:
        return f"{self.incident_id} <- {self.alert_id}"


class IncidentNotification(models.Model):
    """One notification of an incident (the outbox row): what it said, built once."""

    class Event(models.TextChoices):
        FIRING = "firing"
        UPDATE = "update"
        REPEAT = "repeat"
        RESOLVED = "resolved"

    incident = models.ForeignKey(Incident, related_name="notifications", on_delete=models.CASCADE)
    sequence = models.PositiveIntegerField()
    event = models.CharField(max_length=16, choices=Event.choices)
    body = models.JSONField(default=dict)  # incident_messages.notification_body(...)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "sequence"], name="uniq_incident_notification"
            )
        ]

    def __str__(self) -> str:
        return f"{self.incident_id} #{self.sequence} ({self.event})"


class IncidentDelivery(models.Model):
    """One incident notification sent to one channel: as `Delivery`, at most once each."""

    Status = Delivery.Status

    notification = models.ForeignKey(
        IncidentNotification, related_name="deliveries", on_delete=models.CASCADE
    )
    channel = models.ForeignKey(
        Channel, related_name="incident_deliveries", on_delete=models.CASCADE
    )
    status = models.CharField(
        max_length=16, choices=Delivery.Status.choices, default=Delivery.Status.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    log = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "incident deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["notification", "channel"], name="uniq_incident_delivery"
            )
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="incident_delivery_due")]

    def __str__(self) -> str:
        return f"{self.notification_id} -> {self.channel_id}: {self.status}"


class InhibitRule(models.Model):
    """While a firing alert matches `source_matchers`, alerts matching `target_matchers`
    that share the `equal` labels with it are not notified (they still change state)."""

    name = models.CharField(max_length=200, unique=True)
    source_matchers = models.JSONField(default=dict, blank=True)
    target_matchers = models.JSONField(default=dict, blank=True)
    equal = models.JSONField(default=list, blank=True)  # label names, e.g. ["model"]
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
