"""The cast of the permission tests: two models, a user per role, ingest tokens, an alert."""

from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from access import roles, tokens
from alerts_app.models import Alert, AlertState
from models_app.models import Model
from tests.factories import make_alert_rule, make_channel, make_model, make_token, make_user

USERS = ("outsider", "viewer", "editor", "model-admin", "staff")
INGEST = ("ingest", "ingest-other", "ingest-expired", "ingest-revoked")
PRINCIPALS = ("anonymous", *USERS, *INGEST)


@dataclass
class Cast:
    fraud: Model
    other: Model
    rule: object
    alert: Alert
    channel: object
    users: dict = field(default_factory=dict)
    keys: dict = field(default_factory=dict)

    def api(self, principal: str, **kwargs) -> APIClient:
        client = APIClient(**kwargs)
        if principal in self.users:
            client.credentials(HTTP_AUTHORIZATION=f"Token {make_token(self.users[principal])}")
        elif principal in self.keys:
            client.credentials(HTTP_AUTHORIZATION=f"Token {self.keys[principal]}")
        return client

    def browser(self, principal: str) -> Client:
        """A logged-in browser for users; ingest tokens only send their header."""
        if principal in self.keys:
            return Client(HTTP_AUTHORIZATION=f"Token {self.keys[principal]}")
        client = Client()
        if principal in self.users:
            client.force_login(self.users[principal])
        return client


def make_cast() -> Cast:
    fraud, other = make_model("fraud"), make_model("other")
    rule = make_alert_rule(fraud, name="loss too high")
    alert = Alert.objects.create(
        rule=rule,
        fingerprint=f"{rule.pk}:1:",
        state=AlertState.FIRING,
        version=fraud.latest_version(),
        started_at=timezone.now(),
    )
    cast = Cast(fraud, other, rule, alert, make_channel())
    cast.users = {name: make_user(name, staff=name == "staff") for name in USERS}
    for name, role in (("viewer", "viewer"), ("editor", "editor"), ("model-admin", "admin")):
        roles.grant(fraud, cast.users[name], role)
    roles.grant(other, cast.users["outsider"], "admin")  # a role elsewhere changes nothing
    now = timezone.now()
    cast.keys = {
        "ingest": tokens.create_token(fraud, "serving")[1],
        "ingest-other": tokens.create_token(other, "serving")[1],
        "ingest-expired": tokens.create_token(fraud, "old", expires_at=now - timedelta(1))[1],
    }
    revoked, cast.keys["ingest-revoked"] = tokens.create_token(fraud, "leaked")
    tokens.revoke(revoked)
    return cast


@pytest.fixture
def cast(db) -> Cast:
    return make_cast()
