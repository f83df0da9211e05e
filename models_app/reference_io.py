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
from collections import Counter
from datetime import datetime

import numpy as np
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


class ReferenceTooLarge(ReferenceInputError):
    """More rows than MODELWATCH_REFERENCE_MAX_ROWS: answered 413, nothing stored."""


DELIMITERS = ",;\t|"
SNIFF_BYTES = 65536  # of the header line: enough to tell the delimiter apart
NAME_MAX = 200  # Profile.feature: a longer feature name could never be profiled
CHUNK_ROWS = 10000


def row_limit() -> int:
    return settings.MODELWATCH_REFERENCE_MAX_ROWS


def column_limit() -> int:
    return settings.MODELWATCH_REFERENCE_MAX_COLUMNS


def decode_csv(content: bytes) -> str:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ReferenceInputError("The file must be UTF-8 encoded CSV text.") from None
    if "\x00" in text:  # csv reads it, but PostgreSQL cannot store it
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise ReferenceInputError(f"Line {line} contains a NUL character.")
    return text


def sniff_delimiter(text: str) -> str:
    """The delimiter of the header line among `, ; tab |`; a comma when it has none."""
    header = text.lstrip("\r\n")[:SNIFF_BYTES].split("\n", 1)[0]
    try:
        return csv.Sniffer().sniff(header, delimiters=DELIMITERS).delimiter
    except csv.Error:
        return ","


def read_csv(content: bytes) -> tuple[list[str], list[list[str]], int]:
    """(header, raw cells per column, n_rows) of a CSV file, read one chunk of rows at a
    time: no row lists are kept, and reading stops past MODELWATCH_REFERENCE_MAX_ROWS.

    ReferenceInputError for an unusable header or a ragged row; ReferenceTooLarge past
    the row limit.
    """
    text = decode_csv(content)
    reader = csv.reader(io.StringIO(text), delimiter=sniff_delimiter(text), strict=True)
    del text  # the reader holds its own reference; this one would outlive the parse
    try:
        header, columns, n_rows = read_rows(reader)
    except csv.Error as exc:
        raise ReferenceInputError(
            f"The file is not valid CSV (line {reader.line_num}): {exc}."
        ) from None
    if n_rows == 0:
        raise ReferenceInputError("The file has a header but no data rows.")
    return header, columns, n_rows


def read_rows(reader) -> tuple[list[str], list[list[str]], int]:
    header = next((row for row in reader if row), None)
    if header is None:
        raise ReferenceInputError("The file is empty: expected a header row and data rows.")
    header = [name.strip() for name in header]
    check_header(header)
    columns, width, limit = [[] for _ in header], len(header), row_limit()
    n_rows, chunk = 0, []
    for row in reader:
        if not row:
            continue
        n_rows += 1
        if len(row) != width:
            raise ReferenceInputError(
                f"Row {n_rows + 1} has {len(row)} fields; the header has {width}."
            )
        if n_rows > limit:
            raise ReferenceTooLarge(
                f"The file has more than {limit} data rows "
                f"(MODELWATCH_REFERENCE_MAX_ROWS); send a sample of at most {limit}."
            )
        chunk.append(row)
        if len(chunk) == CHUNK_ROWS:
            extend_columns(columns, chunk)
            chunk = []
    extend_columns(columns, chunk)
    return header, columns, n_rows


def extend_columns(columns: list[list[str]], rows: list[list[str]]) -> None:
    if rows:  # every row has the header's width: checked as it was read
        for column, cells in zip(columns, zip(*rows, strict=True), strict=True):
            column.extend(cells)


def check_header(header: list[str]) -> None:
    check_names(header, "The header has")
    blank = [str(i + 1) for i, name in enumerate(header) if not name]
    if blank:
        raise ReferenceInputError(f"Header column(s) {', '.join(blank)} have no name.")
    counts = Counter(header)
    repeated = sorted(name for name, n in counts.items() if n > 1)
    if repeated:
        raise ReferenceInputError(f"Duplicate column names in the header: {', '.join(repeated)}.")


def check_names(names, where: str) -> None:
    """At most MODELWATCH_REFERENCE_MAX_COLUMNS columns, each name of at most 200
    characters (a feature's name is stored with each of its profiles)."""
    limit = column_limit()
    if len(names) > limit:
        raise ReferenceInputError(
            f"{where} {len(names)} columns; at most {limit} are allowed "
            "(MODELWATCH_REFERENCE_MAX_COLUMNS)."
        )
    for index, name in enumerate(names, start=1):
        if len(name) > NAME_MAX:
            raise ReferenceInputError(
                f'Column {index} ("{name[:40]}…") has a name of {len(name)} characters; '
                f"at most {NAME_MAX} are allowed."
            )


def parse_number(cell: str):
    try:
        number = float(cell)
    except ValueError:
        return cell
    return number if math.isfinite(number) else None


def parse_boolean(cell: str):
    word = cell.strip().lower()
    return True if word in TRUE_WORDS else False if word in FALSE_WORDS else cell


def all_numbers(cells: list[str]) -> list | None:
    """The cells as floats ('' and non-finite numbers as None), parsed by numpy in one
    call; None when some cell is not a number."""
    try:
        array = np.array([c or "nan" for c in cells] if "" in cells else cells, dtype=float)
    except ValueError:
        return None
    if np.isfinite(array).all():
        return array.tolist()
    return [v if math.isfinite(v) else None for v in array.tolist()]


def typed_column(cells: list[str], declared: str | None) -> list:
    """Cells as values: '' is missing; numbers parsed as the declared type asks."""
    if declared in (None, "numeric") and (numbers := all_numbers(cells)) is not None:
        return numbers
    if declared is None:  # some non-empty cell is not a number
        declared = "categorical"
    convert = {"numeric": parse_number, "boolean": parse_boolean}.get(declared, str)
    return [None if c == "" else convert(c) for c in cells]


def csv_columns(content: bytes, schema: dict[str, dict]) -> tuple[dict[str, list], int]:
    """({column: values}, n_rows) of an uploaded CSV, typed by the declared schema."""
    header, raw, n_rows = read_csv(content)
    wanted = [name for name, f in schema.items() if f.get("type") != "image"]
    missing = [name for name in wanted if name not in header]
    if missing:
        raise ReferenceInputError(f"Missing columns for declared features: {', '.join(missing)}.")
    columns = {}
    for index, name in enumerate(header):
        cells, raw[index] = [c.strip() for c in raw[index]], None  # free as we go
        kind = "numeric" if name in ("score",) or name.startswith(SCORE_PREFIX) else None
        columns[name] = typed_column(cells, (schema.get(name) or {}).get("type") or kind)
    return columns, n_rows


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
    classes = {
        name[len(SCORE_PREFIX) :]: values
        for name, values in columns.items()
        if name.startswith(SCORE_PREFIX)
    }
    if not classes:
        return [None] * n_rows
    return [
        profiles.positive_score({k: v[i] for k, v in classes.items() if v[i] is not None})
        for i in range(n_rows)
    ]


def split_columns(columns: dict[str, list], schema: dict[str, dict]) -> dict[str, list]:
    if schema:
        return {name: columns[name] for name in schema if name in columns}
    return {
        name: values
        for name, values in columns.items()
        if name not in RESERVED and not name.startswith(SCORE_PREFIX)
    }


def build_summary(version: ModelVersion, columns: dict[str, list], n_rows: int) -> dict:
    model = version.model
    schema = model.feature_schema()
    features = split_columns(columns, schema)
    outputs = {
        "prediction": (
            columns.get("prediction") or [None] * n_rows,
            profiles.output_kind(profiles.PREDICTION, model.task),
        ),
        "label": (
            columns.get("label") or [None] * n_rows,
            profiles.output_kind(profiles.LABEL, model.task),
        ),
    }
    if model.task == Task.BINARY:
        outputs["scores"] = (score_column(columns, n_rows), "numeric")
    declared = {name: (schema.get(name) or {}).get("type") for name in features}
    return summarize(features, declared, outputs, n_rows)


@transaction.atomic
def save_reference(
    version: ModelVersion, columns: dict[str, list], n_rows: int, source: str
) -> Reference:
    """Summarise `columns` and store them as the version's newest reference."""
    summary = build_summary(version, columns, n_rows)
    return Reference.objects.create(
        version=version,
        source=source,
        n_rows=n_rows,
        summary=summary,
        specs=profiles.compact_specs(summary),
    )


def reference_from_csv(version: ModelVersion, content: bytes) -> Reference:
    columns, n_rows = csv_columns(content, version.model.feature_schema())
    return save_reference(version, columns, n_rows, "upload")


def reference_from_records(version: ModelVersion, records: list[dict]) -> Reference:
    columns = record_columns(records)
    check_names(list(columns), "The records have")
    return save_reference(version, columns, len(records), "upload")


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
    columns = {
        name: values for name, values in record_columns(records).items() if name not in RESERVED
    }
    columns.update(
        {
            "prediction": [r[1] for r in rows],
            "scores": [r[2] for r in rows],
            "label": [r[3] for r in rows],
        }
    )
    return save_reference(version, columns, len(rows), "window")
