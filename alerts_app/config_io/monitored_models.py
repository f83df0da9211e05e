"""The `models` section: each monitored model with its task, tags, features and versions.

Saved through the API's ModelSerializer. Versions listed in the file are created when
missing (the first one with the model); versions are never deleted by an apply, since
they hold the model's telemetry.
"""

from rest_framework import serializers

from alerts_app.config_io.base import ConfigError, Section, error_paths, refuse
from models_app.api.serializers import FeatureSerializer, ModelSerializer, ModelVersionSerializer
from models_app.models import Model, ModelVersion

DEFAULTS = {"framework": "", "description": "", "tags": [], "features": []}


class ModelSection(Section):
    name = "models"
    fields = ("name", "task", "framework", "description", "tags", "features", "versions")

    def queryset(self, scope):
        models = Model.objects.prefetch_related("versions").order_by("name")
        return models if scope is None else models.filter(pk__in=scope.models)

    def key(self, entry: dict) -> str:
        return str(entry.get("name", ""))

    def key_of(self, obj: Model) -> str:
        return obj.name

    def export(self, obj: Model) -> dict:
        return {
            "name": obj.name,
            "task": obj.task,
            "framework": obj.framework,
            "description": obj.description,
            "tags": list(obj.tags or []),
            "features": [dict(FeatureSerializer(f).data) for f in obj.features or []],
            "versions": [v.version for v in obj.versions.all()],
        }

    def save(self, entry: dict, instance: Model | None, context) -> Model:
        versions = version_names(entry.get("versions", []))
        data = DEFAULTS | {k: v for k, v in entry.items() if k != "versions"}
        if instance is None:
            data["version"] = versions[0] if versions else "1"
        serializer = ModelSerializer(instance, data=data)
        if not serializer.is_valid():
            errors = dict(serializer.errors)
            if "version" in errors:  # the first version, created with the model
                errors["versions[0]"] = errors.pop("version")
            raise ConfigError(error_paths("", errors))
        extra = {"owner": context.database_user} if instance is None else {}
        model = serializer.save(**extra)
        add_versions(model, versions)
        return model


def version_names(value) -> list:
    """The listed version names; an integer is read as its name (`1` is "1"), a float is
    refused: YAML reads an unquoted 1.10 as the number 1.1."""
    if not isinstance(value, list):
        refuse("versions", 'Expected a list of version names, e.g. ["1", "2"].')
    floats = {
        f"versions[{i}]": [f"Write this version name in quotes: {v!r} was read as a number."]
        for i, v in enumerate(value)
        if isinstance(v, float)
    }
    if floats:
        raise ConfigError(floats)
    return [str(v) if isinstance(v, int) and not isinstance(v, bool) else v for v in value]


def add_versions(model: Model, versions: list) -> None:
    """Create the listed versions the model does not have yet, in the file's order."""
    have = set(ModelVersion.objects.filter(model=model).values_list("version", flat=True))
    errors = {}
    for index, version in enumerate(versions):
        if isinstance(version, str) and version in have:
            continue
        serializer = ModelVersionSerializer(data={"version": version}, context={"model": model})
        try:
            serializer.is_valid(raise_exception=True)
        except serializers.ValidationError as exc:
            errors.update(error_paths(f"versions[{index}]", exc.detail.get("version", exc.detail)))
            continue
        serializer.save(model=model)
        have.add(version)
    if errors:
        raise ConfigError(errors)


SECTION = ModelSection()
