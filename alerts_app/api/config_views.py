"""Configuration as code over the API: the twins of export_config and apply_config.

`GET /api/v1/config/` answers the configuration (JSON, or YAML with
`Accept: application/yaml` or `?format=yaml`): staff get the whole server; other users
get the models they may view and those models' rules, without channels, policies or
silences (which only staff manage). `?model=NAME` (repeatable) narrows it to some models,
their rules and, for staff, the channels those rules use.
`POST /api/v1/config/apply/` (staff only) takes the same document as JSON or YAML
(`Content-Type: application/yaml`), `?dry_run=1`, `?prune=1`, and answers the diff
(docs/config-as-code.md).
"""

import os

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from access.permissions import IsStaff
from access.roles import is_unrestricted, visible_models
from alerts_app.config_io.base import ConfigError
from alerts_app.config_io.document import (
    SECTIONS,
    apply_document,
    diff_text,
    dump_yaml,
    export_document,
    load_yaml,
    some_models,
    summary,
    whole_server,
)
from models_app.api.parsers import OrjsonParser, read_body

YAML = "application/yaml"


class YamlRenderer(BaseRenderer):
    media_type = YAML
    format = "yaml"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        return dump_yaml(data).encode() if data is not None else b""


class YamlParser(BaseParser):
    """A YAML body (safe, without aliases), within MODELWATCH_MAX_BODY_BYTES."""

    media_type = YAML

    def parse(self, stream, media_type=None, parser_context=None):
        body = read_body(stream, parser_context)
        try:
            return load_yaml(body)
        except ConfigError as exc:
            raise ParseError(exc.errors["(file)"][0]) from None


ENTRIES = {"type": "array", "items": {"type": "object"}}
DOCUMENT = {
    "type": "object",
    "properties": {"version": {"type": "integer", "enum": [1]}}
    | {section.name: ENTRIES for section in SECTIONS},
    "additionalProperties": False,
}
MESSAGES = {"type": "array", "items": {"type": "string"}}
ERRORS = {
    "type": "object",
    "additionalProperties": {"anyOf": [MESSAGES, {"type": "object"}, {"type": "string"}]},
    "description": 'Messages by path in the document: {"rules[3].config.threshold": [...]} '
    "(nested by key for a body the parser refuses: a NUL character, too deep; "
    '{"detail": "JSON parse error - ..."} for a body that is not JSON or YAML).',
}
DETAIL = {"type": "object", "properties": {"detail": {"type": "string"}}}


class ChangeSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=["create", "update", "delete"])
    section = serializers.CharField()
    key = serializers.CharField(help_text='The object\'s name in the file: "model/rule name".')
    fields = serializers.DictField(
        help_text='{"path": {"old": ..., "new": ...}}; secrets "(secret)".'
    )


class ApplyAnswerSerializer(serializers.Serializer):
    applied = serializers.BooleanField(help_text="False on a dry run: nothing was changed.")
    prune = serializers.BooleanField()
    summary = serializers.DictField(child=serializers.IntegerField())
    changes = ChangeSerializer(many=True)
    diff = serializers.CharField(help_text="The diff as apply_config prints it.")


def flag(request, name: str) -> bool:
    value = request.query_params.get(name, "").strip().lower()
    if value in ("", "0", "false", "no"):
        return False
    if value in ("1", "true", "yes"):
        return True
    raise ValidationError({name: ["Expected 1/true/yes or 0/false/no."]})


class ConfigView(APIView):
    renderer_classes = [JSONRenderer, YamlRenderer]

    def handle_exception(self, exc):
        """Refusals are answered in JSON, whatever the format asked for."""
        response = super().handle_exception(exc)
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return response

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "model", OpenApiTypes.STR, many=True, description="Only these models (repeatable)."
            )
        ],
        responses={
            (200, "application/json"): OpenApiResponse(response=DOCUMENT),
            (200, YAML): OpenApiResponse(response=DOCUMENT),
            (400, "application/json"): OpenApiResponse(response=ERRORS),
            (404, "application/json"): OpenApiResponse(
                response=DETAIL, description="An unknown `format`."
            ),
        },
    )
    def get(self, request):
        """The configuration as apply_config reads it (staff: everything; others: the
        models they may view and their rules)."""
        return Response(export_document(self.scope(request)))

    def scope(self, request):
        names = request.query_params.getlist("model")
        staff = is_unrestricted(request.user)
        if not names and staff:
            return whole_server()
        models = visible_models(request.user)
        if names:
            # PostgreSQL takes no NUL in a query: such a name names no model
            models = models.filter(name__in=[n for n in names if "\x00" not in n])
            missing = sorted(set(names) - set(models.values_list("name", flat=True)))
            if missing:
                raise ValidationError({"model": [f"No such model: {', '.join(missing)}."]})
        return some_models(models, with_channels=staff)


class ConfigApplyView(APIView):
    permission_classes = [IsStaff]
    parser_classes = [OrjsonParser, YamlParser]

    @extend_schema(
        request={"application/json": DOCUMENT},
        parameters=[
            OpenApiParameter("dry_run", OpenApiTypes.BOOL, description="Answer the diff only."),
            OpenApiParameter("prune", OpenApiTypes.BOOL, description="Delete what is not named."),
        ],
        responses={200: ApplyAnswerSerializer, 400: OpenApiResponse(response=ERRORS)},
    )
    def post(self, request):
        """Make the server match the document (one transaction); answer the diff."""
        dry_run, prune = flag(request, "dry_run"), flag(request, "prune")
        try:
            changes = apply_document(
                request.data, request.user, os.environ, prune=prune, dry_run=dry_run
            )
        except ConfigError as exc:
            raise ValidationError(exc.errors) from None
        answer = {
            "applied": not dry_run,
            "prune": prune,
            "summary": summary(changes),
            "changes": [change.as_dict() for change in changes],
            "diff": diff_text(changes),
        }
        return Response(answer)
