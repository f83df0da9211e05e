"""Build a version's Reference from an uploaded CSV, JSON records or its own predictions.

Columns named `prediction`, `label`, `score` (the positive-class score), `scores` (an
object, JSON only) and `score_<class>` (CSV) are outputs; `id` and `timestamp` are
ignored; every other column is a feature (only the declared ones when the model declares
its features). CSV cells are text: declared numeric columns are parsed as numbers (a cell
that is not one is a type error), undeclared columns are numeric when every non-empty cell
is a number, and an empty cell is missing.
"""

import csv
import io
import math
from datetime import datetime

from django.conf import settings
from django.db import transaction

from models_app import profiles
from models_app.models import ModelVersion, Prediction, Reference, Task
from models_app.reference import summarize

RESERVED = frozenset({"prediction", "label", "score", "scores", "id", "timestamp"})
SCORE_PREFIX = "score_"
TRUE_WORDS, FALSE_WORDS = frozenset({"true", "1", "yes"}), frozenset({"false", "0", "no"})


class ReferenceInputError(ValueError):
    """The upload cannot be read: the message names the problem (row, column)."""


def read_csv(content: bytes) -> tuple[list[str], list[list[str]]]:
    """(header, rows) of a CSV file; ReferenceInputError for an unusable header or ragged row."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ReferenceInputError("The file must be UTF-8 encoded CSV text.") from None
    if "\x00" in text:  # csv reads it, but PostgreSQL cannot store it
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise ReferenceInputError(f"Line {line} contains a NUL character.")
    reader = csv.reader(io.StringIO(text), strict=True)  # strict: an unclosed quote is an error
    try:
        lines = [row for row in reader if row]
    except csv.Error as exc:
        raise ReferenceInputError(
            f"The file is not valid CSV (line {reader.line_num}): {exc}.") from None
    if not lines:
        raise ReferenceInputError("The file is empty: expected a header row and data rows.")
    header = [name.strip() for name in lines[0]]
    check_header(header)
    for number, row in enumerate(lines[1:], start=2):
        if len(row) != len(header):
            raise ReferenceInputError(
                f"Row {number} has {len(row)} fields; the header has {len(header)}.")
    if len(lines) < 2:
        raise ReferenceInputError("The file has a header but no data rows.")
    return header, lines[1:]


def check_header(header: list[str]) -> None:
    blank = [str(i + 1) for i, name in enumerate(header) if not name]
    if blank:
        raise ReferenceInputError(f"Header column(s) {', '.join(blank)} have no name.")
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise ReferenceInputError(f"Duplicate column names in the header: {', '.join(repeated)}.")


def parse_number(cell: str):
    try:
        number = float(cell)
    except ValueError:
        return cell
    return number if math.isfinite(number) else None


def parse_boolean(cell: str):
    word = cell.strip().lower()
    return True if word in TRUE_WORDS else False if word in FALSE_WORDS else cell


def typed_column(cells: list[str], declared: str | None) -> list:
    """Cells as values: '' is missing; numbers parsed as the declared type asks."""
    present = [c for c in cells if c != ""]
    if declared is None:
        parsed = [parse_number(c) for c in present]
        numeric = all(isinstance(v, float) or v is None for v in parsed)
        declared = "numeric" if numeric and present else "categorical"
    convert = {"numeric": parse_number, "boolean": parse_boolean}.get(declared, str)
    return [None if c == "" else convert(c) for c in cells]


def csv_columns(content: bytes, schema: dict[str, dict]) -> tuple[dict[str, list], int]:
    """({column: values}, n_rows) of an uploaded CSV, typed by the declared schema."""
    header, rows = read_csv(content)
    wanted = [name for name, f in schema.items() if f.get("type") != "image"]
    missing = [name for name in wanted if name not in header]
    if missing:
        raise ReferenceInputError(f"Missing columns for declared features: {', '.join(missing)}.")
    columns = {}
    for index, name in enumerate(header):
        cells = [row[index].strip() for row in rows]
        kind = "numeric" if name in ("score",) or name.startswith(SCORE_PREFIX) else None
        columns[name] = typed_column(cells, (schema.get(name) or {}).get("type") or kind)
    return columns, len(rows)


def record_columns(records: list[dict]) -> dict[str, list]:
    names: dict[str, None] = {}
    for record in records:
        names.update(dict.fromkeys(record))
    return {name: [record.get(name) for record in records] for name in names}


def score_column(columns: dict[str, list], n_rows: int) -> list:
    """The positive-class score per row: `score`, else `scores`, else `score_<class>`."""
    if "score" in columns:
        return columns["score"]
    if "scores" in columns:
        return [profiles.positive_score(s) for s in columns["scores"]]
    classes = {name[len(SCORE_PREFIX):]: values for name, values in columns.items()
               if name.startswith(SCORE_PREFIX)}
    if not classes:
        return [None] * n_rows
    return [profiles.positive_score({k: v[i] for k, v in classes.items() if v[i] is not None})
            for i in range(n_rows)]


def split_columns(columns: dict[str, list], schema: dict[str, dict]) -> dict[str, list]:
    if schema:
        return {name: columns[name] for name in schema if name in columns}
    return {name: values for name, values in columns.items()
            if name not in RESERVED and not name.startswith(SCORE_PREFIX)}


def build_summary(version: ModelVersion, columns: dict[str, list], n_rows: int) -> dict:
    model = version.model
    schema = model.feature_schema()
    features = split_columns(columns, schema)
    outputs = {
        "prediction": (columns.get("prediction") or [None] * n_rows,
                       profiles.output_kind(profiles.PREDICTION, model.task)),
        "label": (columns.get("label") or [None] * n_rows,
                  profiles.output_kind(profiles.LABEL, model.task)),
    }
    if model.task == Task.BINARY:
        outputs["scores"] = (score_column(columns, n_rows), "numeric")
    declared = {name: (schema.get(name) or {}).get("type") for name in features}
    return summarize(features, declared, outputs, n_rows)


@transaction.atomic
def save_reference(version: ModelVersion, columns: dict[str, list], n_rows: int,
                   source: str) -> Reference:
    """Summarise `columns` and store them as the version's newest reference."""
    summary = build_summary(version, columns, n_rows)
    return Reference.objects.create(version=version, source=source, n_rows=n_rows,
                                    summary=summary, specs=profiles.compact_specs(summary))


def reference_from_csv(version: ModelVersion, content: bytes) -> Reference:
    columns, n_rows = csv_columns(content, version.model.feature_schema())
    return save_reference(version, columns, n_rows, "upload")


def reference_from_records(version: ModelVersion, records: list[dict]) -> Reference:
    return save_reference(version, record_columns(records), len(records), "upload")


def window_limit() -> int:
    return settings.MODELWATCH_REFERENCE_MAX_ROWS


def reference_from_window(version: ModelVersion, start: datetime, end: datetime) -> Reference:
    """A reference from the version's own predictions in [start, end] (the first
    MODELWATCH_REFERENCE_MAX_ROWS of them, default 200,000, oldest first)."""
    rows = list(
        Prediction.objects.filter(version=version, timestamp__gte=start, timestamp__lte=end)
        .order_by("timestamp", "id")
        .values_list("features", "prediction", "scores", "label")[: window_limit()]
    )
    if not rows:
        raise ReferenceInputError(f'Version "{version.version}" has no predictions in this window.')
    records = [dict(features or {}) for features, *_ in rows]
    columns = {name: values for name, values in record_columns(records).items()
               if name not in RESERVED}
    columns.update({"prediction": [r[1] for r in rows], "scores": [r[2] for r in rows],
                    "label": [r[3] for r in rows]})
    return save_reference(version, columns, len(rows), "window")
