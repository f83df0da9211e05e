"""What a parsed JSON body must satisfy to be storable, checked once at the parser.

PostgreSQL stores no NUL character in text or jsonb, and orjson writes at most 254
levels of nested arrays and objects: a body breaking either would fail at the write
with a 500. Here it answers 400 naming the field where it happens, e.g.
`{"records": {"3": {"features": {"x": ["Nested too deeply ..."]}}}}`.

Both checks start with a C-speed look at the raw bytes, so that an ordinary body (no
`\\u0000` escape; few brackets or a successful orjson round trip) costs almost nothing.
"""

import orjson
from rest_framework.exceptions import ValidationError

MAX_DEPTH = 254  # orjson.dumps refuses deeper nesting ("Recursion limit reached")
SHOWN_PATH = 4  # how many keys of a field's path an error names
NUL_MESSAGE = "The NUL character (\\u0000) cannot be stored."
DEPTH_MESSAGE = f"Nested too deeply: at most {MAX_DEPTH} levels of arrays and objects."


def children(item) -> list:
    if isinstance(item, dict):
        return [(str(key), value) for key, value in item.items()]
    return (
        [(str(index), value) for index, value in enumerate(item)] if isinstance(item, list) else []
    )


def nul_path(value) -> tuple | None:
    """Where the first string (or key) holding a NUL character is, if any (iterative:
    orjson parses nesting deeper than Python's recursion limit)."""
    stack = [((), value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str) and "\x00" in item:
            return path
        for key, child in children(item):
            if "\x00" in key:
                return (*path, key)
            stack.append(((*path, key), child))
    return None


def deep_path(value, limit: int = MAX_DEPTH) -> tuple | None:
    """Where nesting first goes past `limit` levels of arrays and objects, if anywhere."""
    stack = [((), value, 1)]
    while stack:
        path, item, depth = stack.pop()
        if isinstance(item, (dict, list)) and depth > limit:
            return path
        stack.extend(((*path, key), child, depth + 1) for key, child in children(item))
    return None


def refuse_at(path: tuple, message: str) -> None:
    detail: object = [message]
    for key in reversed(path[:SHOWN_PATH]):
        detail = {key: detail}
    raise ValidationError(detail if path else {"non_field_errors": [message]})


def maybe_too_deep(data, body: bytes) -> bool:
    if body.count(b"[") + body.count(b"{") <= MAX_DEPTH:
        return False
    try:
        orjson.dumps(data)
    except orjson.JSONEncodeError:
        return True
    return False


def check_storable(data, body: bytes) -> None:
    """Raise a ValidationError at the field holding a NUL or nested too deeply."""
    if b"\\u0000" in body and (path := nul_path(data)) is not None:
        refuse_at(path, NUL_MESSAGE)
    if maybe_too_deep(data, body) and (path := deep_path(data)) is not None:
        refuse_at(path, DEPTH_MESSAGE)
