"""A strict, fast JSON parser with a body-size limit answered as 413."""

import orjson
from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import BaseParser

from monitor_site.json_checks import check_storable


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "Request body is too large."
    default_code = "payload_too_large"


def check_body_size(request) -> None:
    """Refuse a body over MODELWATCH_MAX_BODY_BYTES before reading it."""
    limit = settings.MODELWATCH_MAX_BODY_BYTES
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limit:
        raise PayloadTooLarge(f"Request body is over the limit of {limit} bytes.")


class OrjsonParser(BaseParser):
    """JSON via orjson: rejects NaN/Infinity literals, as strict JSON demands."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.MODELWATCH_MAX_BODY_BYTES
        if parser_context and parser_context.get("request") is not None:
            check_body_size(parser_context["request"])
        body = stream.read(limit + 1) if stream is not None else b""
        if len(body) > limit:
            raise PayloadTooLarge(f"Request body is over the limit of {limit} bytes.")
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
        check_storable(data, body)  # no NUL, not nested too deeply: 400 at the field
        return data
