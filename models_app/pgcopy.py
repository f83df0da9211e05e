"""PostgreSQL `COPY ... FROM STDIN` in its text format: the bulk writer of telemetry.

About 6x faster than `bulk_create` for the row counts ingestion writes. Every value goes
through `escape` (the one escaping rule of the text format) or is `NULL`; the writers
below only choose how a Python value becomes text. Callers hold the transaction and
check `uses_copy()` first (other databases use `bulk_create`).
"""

import io
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

import orjson
from django.db import connection, models

NULL = "\\N"
TEXT_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def uses_copy() -> bool:
    return connection.vendor == "postgresql"


def escape(text: str) -> str:
    """`text` in COPY's text format: backslash, tab, newline and carriage return escaped."""
    if "\\" not in text and text.isprintable():  # the common case: nothing to escape
        return text
    return text.translate(TEXT_ESCAPES)


def text_value(value: str | None) -> str:
    """A text column; None is NULL."""
    return NULL if value is None else escape(value)


def json_value(value) -> str:
    """A JSON column; None is SQL NULL (as Django stores it)."""
    return NULL if value is None else escape(orjson.dumps(value).decode())


def bytes_value(value) -> str:
    """A bytea column in hex (`\\x...`); None is NULL. Hex digits need no escaping, only
    the leading backslash does (`escape` of a 80 kB sample costs ~8 ms in translate)."""
    return NULL if value is None else "\\\\x" + bytes(value).hex()


def bool_value(value) -> str:
    return NULL if value is None else ("t" if value else "f")


def moment_value(value: datetime | None) -> str:
    return NULL if value is None else value.isoformat()


def plain_value(value) -> str:
    """Numbers and strings (repr keeps every digit of a float); None is NULL."""
    if value is None:
        return NULL
    return escape(value if isinstance(value, str) else repr(value))


def any_value(value) -> str:
    """A value of any of the types above, chosen by its Python type."""
    if isinstance(value, (dict, list)):
        return json_value(value)
    if isinstance(value, (bytes, memoryview)):
        return bytes_value(value)
    if isinstance(value, bool):
        return bool_value(value)
    if isinstance(value, datetime):
        return moment_value(value)
    return plain_value(value)


def copy_writer(field: models.Field) -> Callable[[object], str]:
    """The formatter of one model column, chosen once per column."""
    if isinstance(field, models.JSONField):
        return json_value
    if isinstance(field, models.BinaryField):
        return bytes_value
    if isinstance(field, models.BooleanField):
        return bool_value
    if isinstance(field, models.DateTimeField):
        return moment_value
    return plain_value


def copy_text(table: str, columns: Sequence[str], lines: Iterable[str]) -> None:
    """COPY already formatted lines (tab separated, no newline) into `table`."""
    buffer = io.StringIO()
    buffer.writelines(f"{line}\n" for line in lines)
    buffer.seek(0)
    # copy_expert is not wrapped by Django: translate psycopg2 errors (IntegrityError...).
    with connection.cursor() as cursor, connection.wrap_database_errors:
        cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", buffer)


def copy_rows(table: str, columns: Sequence[str], rows: Iterable[Sequence]) -> None:
    """COPY `rows` (tuples of Python values, see `any_value`) into `table`."""
    copy_text(table, columns, ("\t".join(map(any_value, row)) for row in rows))


def _concrete(model_class: type[models.Model]) -> list[models.Field]:
    return [f for f in model_class._meta.concrete_fields if not f.primary_key]


def copy_dicts(model_class: type[models.Model], rows: Iterable[dict]) -> None:
    """COPY rows given as {attname: value}, which must name every concrete field but the
    primary key: no model instance is built (it costs more than the row's own work)."""
    fields = _concrete(model_class)
    writers = [(f.attname, copy_writer(f)) for f in fields]
    lines = ("\t".join([write(row[name]) for name, write in writers]) for row in rows)
    copy_text(model_class._meta.db_table, [f.column for f in fields], lines)


def copy_models(model_class: type[models.Model], instances: Sequence[models.Model]) -> None:
    """COPY unsaved model instances (every concrete field but the primary key)."""
    fields = _concrete(model_class)
    writers = [(f.attname, copy_writer(f)) for f in fields]
    lines = ("\t".join(write(getattr(obj, name)) for name, write in writers) for obj in instances)
    copy_text(model_class._meta.db_table, [f.column for f in fields], lines)
