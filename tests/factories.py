"""Plain factory functions for test data; override any field by keyword."""

from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token

from models_app.models import Model, ModelVersion


def make_user(username: str = "alice", staff: bool = False, **overrides):
    return get_user_model().objects.create_user(
        username=username, password="pw-12345-xyz", is_staff=staff, **overrides
    )


def grant_all_models(user, role: str = "admin"):
    """Put `user` in the "all models: ROLE" group: that role on every model (docs/security.md)."""
    from django.contrib.auth.models import Group

    user.groups.add(Group.objects.get(name=f"all models: {role}"))
    return user


def make_token(user) -> str:
    return Token.objects.get_or_create(user=user)[0].key


def make_model(name: str = "fraud", version: str = "1", **overrides) -> Model:
    fields = {"task": "binary_classification", "framework": "sklearn"} | overrides
    model = Model.objects.create(name=name, **fields)
    ModelVersion.objects.create(model=model, version=version)
    return model


def make_channel(name: str = "ops-hook", kind: str = "webhook", **overrides):
    from alerts_app.models import Channel

    config = {"email": {"address": "ops@example.com"}}.get(
        kind, {"url": "https://hooks.example.com/modelwatch"}
    )
    return Channel.objects.create(
        name=name, kind=kind, config=overrides.pop("config", config), **overrides
    )


def make_alert_rule(model, kind: str = "metric_threshold", channels=(), **overrides):
    """An enabled rule (default: avg of `loss` over 10m above 0.5) sending to `channels`."""
    from alerts_app.models import AlertRule

    config = (
        {"metric": "loss", "aggregation": "avg", "window": "10m", "operator": ">", "threshold": 0.5}
        if kind == "metric_threshold"
        else {}
    )
    fields = {"name": f"{kind} rule", "interval": 60, "config": config} | overrides
    rule = AlertRule.objects.create(model=model, kind=kind, **fields)
    rule.channels.set(channels)
    return rule


def partial_features(**filters) -> list[str]:
    """The feature of every partial profile stored (per-feature and packed rows)."""
    from django.db.models import Q

    from models_app.profiles.store import stored_partials

    return [profile.feature for _, profile in stored_partials(Q(**filters))]
