"""Plain factory functions for test data; override any field by keyword."""

from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token

from models_app.models import Model, ModelVersion


def make_user(username: str = "alice", staff: bool = False, **overrides):
    return get_user_model().objects.create_user(
        username=username, password="pw-12345-xyz", is_staff=staff, **overrides
    )


def make_token(user) -> str:
    return Token.objects.get_or_create(user=user)[0].key


def make_model(name: str = "fraud", version: str = "1", **overrides) -> Model:
    fields = {"task": "binary_classification", "framework": "sklearn"} | overrides
    model = Model.objects.create(name=name, **fields)
    ModelVersion.objects.create(model=model, version=version)
    return model
