"""A strict, fast JSON parser with a body-size limit answered as 413; raw CSV and
Parquet bodies of a reference upload, streamed to a file."""

import orjson
from django.conf import settings
from django.http import QueryDict
from django.utils.datastructures import MultiValueDict
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import BaseParser, DataAndFiles, FileUploadParser

from monitor_site.json_checks import check_storable


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "Request body is too large."
    default_code = "payload_too_large"


def check_body_size(request, limit: int | None = None) -> None:
    """Refuse a body over `limit` (MODELWATCH_MAX_BODY_BYTES) before reading it."""
    limit = limit or settings.MODELWATCH_MAX_BODY_BYTES
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limit:
        raise PayloadTooLarge(f"Request body is over the limit of {limit} bytes.")


def read_body(stream, parser_context) -> bytes:
    """A parser's whole body, refused as 413 past MODELWATCH_MAX_BODY_BYTES (by its declared
    length before reading, else by what it read)."""
    limit = settings.MODELWATCH_MAX_BODY_BYTES
    if parser_context and parser_context.get("request") is not None:
        check_body_size(parser_context["request"])
    body = stream.read(limit + 1) if stream is not None else b""
    if len(body) > limit:
        raise PayloadTooLarge(f"Request body is over the limit of {limit} bytes.")
    return body


class OrjsonParser(BaseParser):
    """JSON via orjson: rejects NaN/Infinity literals, as strict JSON demands."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        body = read_body(stream, parser_context)
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
        check_storable(data, body)  # no NUL, not nested too deeply: 400 at the field
        return data


class ReferenceFileParser(FileUploadParser):
    """A raw CSV body (`text/csv`, plain or with `Content-Encoding: gzip`), streamed to an
    uploaded file as a multipart part would be, and offered as the form field `file`."""

    media_type = "text/csv"
    default_name = "reference.csv"

    def get_filename(self, stream, media_type, parser_context):
        return super().get_filename(stream, media_type, parser_context) or self.default_name

    def parse(self, stream, media_type=None, parser_context=None):
        parsed = super().parse(stream, media_type, parser_context)
        return DataAndFiles(
            QueryDict(mutable=True), MultiValueDict({"file": [parsed.files["file"]]})
        )


class ParquetFileParser(ReferenceFileParser):
    """A raw Parquet body (`application/vnd.apache.parquet`), streamed to an uploaded file."""

    media_type = "application/vnd.apache.parquet"
    default_name = "reference.parquet"
