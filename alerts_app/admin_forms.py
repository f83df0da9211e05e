"""Admin forms: a rule form per kind (one field per config key, with its help) and channels.

Both validate with the API's functions (`rule_config.validate_config`,
`rule_config.validate_rule_fields`, `transports.validate_channel_config`), so a bad value
gets the same message in the admin as over the API, shown next to the field at fault.
A rule form also carries `warnings` (`rule_warnings`, as the API's `"warnings"`): shown
above the form, they never refuse the save.
"""

import math

from django import forms
from django.core.exceptions import ValidationError
from django.utils.html import escape

from access.channels import unusable_channel_message, unusable_channels
from alerts_app import segments, silences
from alerts_app.kinds import BY_NAME, KINDS, kind_of
from alerts_app.models import AlertRule, Channel, Silence
from alerts_app.rule_config import (
    RULE_FIELDS,
    check_rule_limits,
    format_duration,
    validate_config,
    validate_rule_fields,
)
from alerts_app.rule_warnings import reference_note, rule_warnings
from alerts_app.transports import TRANSPORTS, secrets_set, validate_channel_config

CONFIG_PREFIX = "cfg_"


def kind_summary(kind: str | None) -> str:
    """One line on what rules of `kind` watch ("" for an unknown kind)."""
    return BY_NAME[kind].summary if kind in BY_NAME else ""


def field_help(spec) -> str:
    parts = [spec.help]
    if spec.required:
        parts.append("Required.")
    elif spec.default is not None:
        default = format_duration(spec.default) if spec.type == "duration" else spec.default
        parts.append(f"Default: {default}.")
    if spec.type == "duration":
        parts.append('Written "30s", "5m", "1h", "7d" or seconds.')
    if spec.type == "threshold":
        parts.append('A number or "auto".')
    if spec.type == "strings":
        parts.append("Comma-separated.")
    return escape(" ".join(str(p) for p in parts))  # admin renders help as HTML


def form_field(key: str, spec) -> forms.Field:
    """The form field of one config key: empty means "use the default"."""
    label = key.replace("_", " ").capitalize() + (" (required)" if spec.required else "")
    common = {"required": False, "help_text": field_help(spec), "label": label}
    if spec.type == "number":
        return forms.FloatField(**common)
    if spec.type == "integer":
        return forms.IntegerField(**common)
    if spec.type == "boolean":
        choices = [("", "Default"), ("true", "Yes"), ("false", "No")]
        return forms.TypedChoiceField(
            choices=choices, coerce=lambda v: v == "true", empty_value=None, **common
        )
    if spec.type == "choice":
        blank = [("", "Default" if spec.default is not None else "---------")]
        return forms.ChoiceField(choices=blank + [(c, c) for c in spec.choices], **common)
    return forms.CharField(**common)


def initial_value(spec, value):
    if value is None:
        return None
    if spec.type == "duration" and isinstance(value, int):
        return format_duration(value)
    if spec.type == "strings" and isinstance(value, list):
        return ", ".join(value)
    if spec.type == "boolean":
        return "true" if value else "false"
    return value


def raw_value(spec, value):
    """A cleaned form value as the config JSON wants it (None: leave the key out)."""
    if value in (None, ""):
        return None
    if spec.type == "strings":
        return [item.strip() for item in str(value).split(",") if item.strip()] or None
    if spec.type == "threshold":
        return number_or_text(str(value).strip())
    return value


def number_or_text(text: str):
    """A threshold typed in the form: a number, else the text ("auto", or a mistake the
    validation names)."""
    try:
        number = float(text)
    except ValueError:
        return text
    return number if math.isfinite(number) else text


class DurationFormField(forms.CharField):
    """A rule timing field: "5m" or seconds in, validated like the API."""

    def __init__(self, name: str, **kwargs):
        self.rule_field = name
        spec = RULE_FIELDS[name]
        help_text = f'{spec.help} Written "30s", "5m", "1h", "7d" or seconds.'
        super().__init__(help_text=help_text, **kwargs)

    def prepare_value(self, value):
        return format_duration(value) if isinstance(value, int) else value

    def clean(self, value):
        value = super().clean(value)
        try:
            return validate_rule_fields({self.rule_field: value})[self.rule_field]
        except ValidationError as exc:
            raise ValidationError(exc.message_dict[self.rule_field])


class RuleFormBase(forms.ModelForm):
    """The fixed part of a rule; `rule_form_for(kind)` adds one field per config key."""

    kind_name: str = ""
    # Set by `AlertRuleAdmin.get_form`: the admin's user, whose rule count is limited and
    # who must be allowed the chosen channels (a form built outside a request checks neither).
    request_user = None
    interval = DurationFormField("interval", initial="5m")
    pending_for = DurationFormField("pending_for", initial="0s")
    keep_firing_for = DurationFormField("keep_firing_for", initial="0s")
    repeat_interval = DurationFormField("repeat_interval", initial="4h")

    class Meta:
        model = AlertRule
        fields = [
            "name",
            "model",
            "kind",
            "severity",
            "enabled",
            "channels",
            "interval",
            "pending_for",
            "keep_firing_for",
            "repeat_interval",
        ]
        widgets = {"kind": forms.HiddenInput}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].initial = self.kind_name
        self.instance.kind = self.kind_name
        config = self.instance.config if self.instance.pk else {}
        for key, spec in kind_of(self.kind_name).fields.items():
            self.fields[CONFIG_PREFIX + key].initial = initial_value(spec, config.get(key))
        self.warnings = self.initial_warnings(config)

    def initial_warnings(self, config: dict) -> list[str]:
        """A stored rule's warnings; on a new rule of a kind that needs a reference, which
        models lack one (the model is not chosen yet)."""
        if self.instance.pk:
            return rule_warnings(self.kind_name, self.instance.model, config)
        note = reference_note(self.kind_name, self.fields["model"].queryset)
        return [note] if note else []

    def clean_kind(self):
        return self.kind_name  # the kind is chosen before the form; it does not change here

    def clean(self):
        cleaned = super().clean()
        config = {}
        for key, spec in kind_of(self.kind_name).fields.items():
            value = raw_value(spec, cleaned.get(CONFIG_PREFIX + key))
            if value is not None:
                config[key] = value
        try:
            self.instance.config = validate_config(self.kind_name, config)
        except ValidationError as exc:
            for key, messages in exc.message_dict.items():
                self.add_error(
                    CONFIG_PREFIX + key if key in kind_of(self.kind_name).fields else None, messages
                )
            return cleaned
        self.check_version(cleaned.get("model"), self.instance.config.get("version"))
        if error := segments.segment_error(
            cleaned.get("model"), self.kind_name, self.instance.config
        ):
            self.add_error(CONFIG_PREFIX + "segment_by", error)
        self.warnings = rule_warnings(self.kind_name, cleaned.get("model"), self.instance.config)
        self.check_channels(cleaned.get("model"), cleaned.get("channels"))
        try:
            check_rule_limits(
                cleaned.get("model"), self.request_user, self.instance if self.instance.pk else None
            )
        except ValidationError as exc:
            for key, messages in exc.message_dict.items():
                self.add_error(key if key in self.fields else None, messages)
        return cleaned

    def check_channels(self, model, channels) -> None:
        """The API's channel policy (`access.channels`) for the admin's user."""
        user = self.request_user
        if user is None or model is None or channels is None:
            return
        refused = unusable_channels(user, [model], channels)
        if refused:
            self.add_error("channels", unusable_channel_message(refused[0]))

    def check_version(self, model, version) -> None:
        if model and version and not model.versions.filter(version=version).exists():
            self.add_error(
                CONFIG_PREFIX + "version",
                f'Version "{version}" of model "{model.name}" does not exist.',
            )


def rule_form_for(kind: str) -> type[RuleFormBase]:
    """A ModelForm class for rules of `kind`, with its config keys as labelled fields."""
    if kind not in BY_NAME:
        raise ValueError(f"unknown kind {kind!r}")
    attrs = {
        CONFIG_PREFIX + key: form_field(key, spec) for key, spec in kind_of(kind).fields.items()
    }
    attrs |= {"kind_name": kind, "__module__": __name__}
    return type(f"{kind.title().replace('_', '')}RuleForm", (RuleFormBase,), attrs)


def config_field_names(kind: str) -> list[str]:
    return [CONFIG_PREFIX + key for key in kind_of(kind).fields]


def kind_choices() -> list[tuple[str, str, str]]:
    return [(kind.name, kind.label, kind.summary) for kind in KINDS]


class ChannelForm(forms.ModelForm):
    """A channel with its address or URL and, for the kinds that have one, its secret
    (write-only: never shown back; left empty, the stored one is kept)."""

    target = forms.CharField(
        label="Address or URL",
        max_length=2000,
        required=False,
        help_text="E-mail: one or more addresses, comma-separated. Webhook: the URL that "
        "receives a JSON POST. Slack / Microsoft Teams: the incoming-webhook URL. PagerDuty / "
        "Opsgenie: leave empty for the public endpoint, or give a proxy's URL. Loopback and "
        "private-network URLs are refused unless MODELWATCH_ALLOW_PRIVATE_WEBHOOKS=1.",
    )
    secret = forms.CharField(
        label="Secret or key",
        max_length=500,
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Webhook: the signing secret (optional, 16+ characters). PagerDuty: the "
        "integration's routing key. Opsgenie: the API key. Never shown again; leave empty "
        "to keep the stored one.",
    )

    class Meta:
        model = Channel
        fields = [
            "name",
            "kind",
            "target",
            "secret",
            "enabled",
            "shared_with_all_models",
            "shared_models",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        config = self.instance.config or {}
        self.fields["target"].initial = config.get("address") or config.get("url")
        if secrets_set(self.instance.kind, config):
            self.fields["secret"].help_text += " A value is stored."

    def clean(self):
        cleaned = super().clean()
        kind = cleaned.get("kind")
        if kind not in TRANSPORTS:
            return cleaned
        config = {target_key(kind): cleaned.get("target") or ""}
        secret_name = next(iter(sorted(TRANSPORTS[kind].secret_fields)), None)
        if secret_name and cleaned.get("secret"):
            config[secret_name] = cleaned["secret"]
        stored = self.instance.config if self.instance.kind == kind else None
        try:
            self.instance.config = validate_channel_config(kind, config, stored)
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                field = "secret" if name == secret_name else "target"
                self.add_error(field, messages)
        return cleaned


def target_key(kind: str) -> str:
    return "address" if kind == "email" else "url"


class SilenceForm(forms.ModelForm):
    """A silence's matchers checked as the API checks them (alerts_app/silences.py)."""

    class Meta:
        model = Silence
        fields = ["rule", "model", "matchers", "starts_at", "ends_at", "comment"]

    def clean_matchers(self):
        raw = self.cleaned_data.get("matchers") or {}
        if not raw:
            return {}
        try:
            return silences.clean_matchers(raw)
        except ValidationError as exc:
            raise ValidationError(
                [f"{key}: {m}" for key, ms in exc.message_dict.items() for m in ms]
            ) from exc
