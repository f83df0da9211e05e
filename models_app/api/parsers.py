"""A strict, fast JSON parser with a body-size limit answered as 413."""

import orjson
from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError, ValidationError
from rest_framework.parsers import BaseParser


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


NUL_MESSAGE = "The NUL character (\\u0000) cannot be stored."


def nul_path(value) -> tuple | None:
    """Where the first string (or key) holding a NUL character is, if any (iterative:
    orjson allows nesting deeper than Python's recursion limit)."""
    stack = [((), value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return path
            continue
        pairs = item.items() if isinstance(item, dict) else (
            enumerate(item) if isinstance(item, list) else ())
        for key, child in pairs:
            if isinstance(key, str) and "\x00" in key:
                return (*path, key)
            stack.append(((*path, str(key)), child))
    return None


def refuse_nul(data, body: bytes) -> None:
    """PostgreSQL stores no NUL in text or jsonb: answer 400 at the field, not a 500.
    The byte search is the fast path; JSON can only carry a NUL as `\\u0000`."""
    if b"\\u0000" not in body or (path := nul_path(data)) is None:
        return
    detail: object = [NUL_MESSAGE]
    for key in reversed(path):
        detail = {key: detail}
    raise ValidationError(detail if path else {"non_field_errors": [NUL_MESSAGE]})


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
        refuse_nul(data, body)
        return data
