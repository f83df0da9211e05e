"""Document the error answers every API operation can give (a drf-spectacular hook).

drf-spectacular lists only the success answer of an operation; the fuzz tests
(tests/reliability/test_api_fuzz.py) check that every answer is in the schema, so the
codes below are added where they can happen:

- 401, 403, 429 (rate limits, access/throttling.py) and 503 (with
  Retry-After, monitor_site/errors.py) on every operation;
- 400 with the field errors on operations that take a body or query parameters
  (`page_size` included: models_app/api/pagination.py refuses a bad one);
- 404 on operations with path parameters (no such object) or pages (no such page);
- 413 and 415 on operations that take a body (over the size limit, not JSON/multipart).

It also keeps the form encodings (which DRF's FormParser and MultiPartParser accept
everywhere) only where a file is uploaded: batches and configs are nested JSON that a
form cannot carry, so advertising them there would be a lie.
"""

ERROR = {"$ref": "#/components/schemas/Error"}
FIELD_ERRORS = {"$ref": "#/components/schemas/FieldErrors"}
COMPONENTS = {
    "Error": {
        "type": "object",
        "properties": {"detail": {"type": "string"}},
        "required": ["detail"],
        "description": "What went wrong, in one sentence.",
    },
    "FieldErrors": {
        "type": "object",
        "additionalProperties": True,
        "description": "Messages by field; batch records by index, e.g. "
        '`{"records": {"3": {"value": ["Must be a finite number."]}}}`.',
    },
}
DESCRIPTIONS = {
    "400": "Invalid input: every field at fault, with its messages.",
    "401": "No credentials, or an unknown token.",
    "403": "The credentials do not allow this.",
    "404": "No such object (or page).",
    "413": "The request body is over MODELWATCH_MAX_BODY_BYTES.",
    "415": "The body is not in a supported media type.",
    "429": "Over the rate limit (MODELWATCH_THROTTLE_*); retry after the Retry-After delay.",
    "503": "The database is unavailable; retry after the Retry-After delay.",
}
RETRY_AFTER = {
    "Retry-After": {
        "schema": {"type": "integer"},
        "description": "Seconds to wait before retrying.",
    }
}


def error_answer(code: str) -> dict:
    schema = FIELD_ERRORS if code == "400" else ERROR
    answer = {
        "description": DESCRIPTIONS[code],
        "content": {"application/json": {"schema": schema}},
    }
    if code in ("429", "503"):
        answer["headers"] = RETRY_AFTER
    return answer


def error_codes(path: str, operation: dict) -> list[str]:
    """The error codes `operation` (at `path`) can answer."""
    query = [p for p in operation.get("parameters", []) if p.get("in") == "query"]
    codes = ["401", "403", "429", "503"]
    if "requestBody" in operation or query:
        codes.append("400")
    if "{" in path or any(p["name"] == "page" for p in query):
        codes.append("404")
    if "requestBody" in operation:
        codes += ["413", "415"]
    return codes


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def resolve(schema: dict, components: dict) -> dict:
    ref = schema.get("$ref", "")
    return components.get(ref.rsplit("/", 1)[-1], {}) if ref else schema


def uploads_a_file(schema: dict, components: dict) -> bool:
    properties = resolve(schema, components).get("properties", {})
    return any(p.get("format") == "binary" for p in properties.values())


def json_only_unless_upload(operation: dict, components: dict) -> None:
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" not in content:
        return
    for media_type in FORM_TYPES:
        if media_type in content and not uploads_a_file(content[media_type]["schema"], components):
            del content[media_type]


def positive_pages(operation: dict) -> None:
    """`page` and `page_size` start at 1 (0 answers 404 and 400)."""
    for parameter in operation.get("parameters", []):
        if parameter.get("in") == "query" and parameter["name"] in ("page", "page_size"):
            parameter["schema"]["minimum"] = 1


def add_error_responses(result: dict, generator, request, public) -> dict:
    """POSTPROCESSING_HOOKS entry: add the error answers, keep any an operation declares
    (giving a body schema to those declared without one)."""
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components.update(COMPONENTS)
    for path, operations in result.get("paths", {}).items():
        for operation in operations.values():
            json_only_unless_upload(operation, components)
            positive_pages(operation)
            responses = operation.setdefault("responses", {})
            for code in error_codes(path, operation):
                declared = responses.get(code)
                if declared is None:
                    responses[code] = error_answer(code)
                elif "content" not in declared:
                    declared["content"] = error_answer(code)["content"]
    return result
