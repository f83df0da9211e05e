"""Warnings about a valid rule that cannot give a verdict yet: saved anyway, but said.

A kind that compares with the version's reference (`Kind.needs_reference`: data_drift,
prediction_drift, estimated_performance, multivariate_drift) on a model version without
one answers insufficient_data at every evaluation until a reference is uploaded. The admin
form shows the warning above the form and after saving; the API's rule answers carry it in
`"warnings"` (docs/alerting.md "Warnings").
"""

from django.db.models import Exists, OuterRef, QuerySet, Subquery

from alerts_app.kinds import BY_NAME
from alerts_app.loaders.base import NoData, target_version
from models_app.models import Model, ModelVersion, Reference

NAMED_MODELS = 10

HOW_TO_UPLOAD = (
    "Upload one with POST /api/v1/models/{name}/reference/ (a CSV file or JSON records), "
    "the SDK's set_reference(df), or from a window of its own predictions "
    '(docs/telemetry.md "Reference data").'
)


def rule_warnings(kind: str | None, model: Model | None, config: dict | None) -> list[str]:
    """What keeps a rule of `kind` on `model` with this (validated) config from a verdict."""
    if model is None or kind not in BY_NAME or not BY_NAME[kind].needs_reference:
        return []
    try:
        version = target_version(model, True, config or {})
    except NoData:
        if (config or {}).get("version"):
            return []  # a named version that does not exist: the form's own error
        version = None  # the model has no version yet
    if version is not None and Reference.objects.filter(version=version).exists():
        return []
    return [no_reference_warning(kind, model, version)]


def no_reference_warning(kind: str, model: Model, version) -> str:
    where = (
        f'version "{version.version}" of model "{model.name}" has no reference'
        if version is not None
        else f'model "{model.name}" has no version and no reference yet'
    )
    return (
        f"No reference: {where}, so this {kind} rule will answer insufficient_data until "
        f"one is uploaded. {HOW_TO_UPLOAD.format(name=model.name)}"
    )


def models_without_reference(models: QuerySet) -> list[str]:
    """Names of `models` whose latest version has no reference (or no version)."""
    latest = ModelVersion.objects.filter(model=OuterRef("pk")).order_by("-created_at", "-id")
    rows = (
        models.annotate(latest=Subquery(latest.values("id")[:1]))
        .annotate(referenced=Exists(Reference.objects.filter(version_id=OuterRef("latest"))))
        .filter(referenced=False)
        .order_by("name")
    )
    return list(rows.values_list("name", flat=True))


def reference_note(kind: str | None, models: QuerySet) -> str:
    """For a new rule of a kind that needs a reference (no model chosen yet): which of
    `models` have none on their latest version, and how to upload one ("" if all have)."""
    if kind not in BY_NAME or not BY_NAME[kind].needs_reference:
        return ""
    missing = models_without_reference(models)
    if not missing:
        return ""
    more = len(missing) - NAMED_MODELS
    names = ", ".join(missing[:NAMED_MODELS]) + (f" and {more} more" if more > 0 else "")
    return (
        f"No reference yet for the latest version of: {names}. A {kind} rule on such a model "
        "answers insufficient_data until one is uploaded (saving it is allowed). "
        + HOW_TO_UPLOAD.format(name="<name>")
    )
