"""Build a version's Reference from an uploaded CSV (plain or gzip-compressed), a Parquet
file, JSON records, its own predictions or its stored profiles.

Columns named `prediction`, `label`, `score` (the positive-class score), `scores` (an
object, JSON only) and `score_<class>` (CSV) are outputs; `id` and `timestamp` are
ignored; every other column is a feature (only the declared ones when the model declares
its features). CSV cells are text: declared numeric columns are parsed as numbers (a cell
that is not one is a type error), undeclared columns are numeric when every non-empty cell
is a number, and an empty cell is missing.

Uploads of rows (not a reference from profiles) also store a joint sample of whole rows
(`ReferenceSample`, for multivariate drift), picked as each column is read.

Uploads are read as streams: a CSV (gzip or not) line by line, a Parquet file one column
at a time (so a 10-million-row reference needs the memory of one column, not the file).
"""

import csv
import gzip
import io
import itertools
import math
import zlib
from collections import Counter
from collections.abc import Iterator, Mapping
from datetime import datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from django.conf import settings
from django.db import transaction

from models_app import profiles
from models_app.models import ModelVersion, Prediction, Reference, ReferenceSample, Task
from models_app.reference import (
    joint_rows,
    joint_sample,
    joint_size,
    pick,
    plain_values,
    profile_summary,
    summarize,
)

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


def text_lines(binary) -> Iterator[str]:
    """The lines of a UTF-8 text stream (a BOM dropped); ReferenceInputError on bytes that
    are not UTF-8, a NUL (csv reads it, but PostgreSQL cannot store it) or broken gzip."""
    stream = io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")
    try:
        for number, line in enumerate(stream, start=1):
            if "\x00" in line:
                raise ReferenceInputError(f"Line {number} contains a NUL character.")
            yield line
    except UnicodeDecodeError:
        raise ReferenceInputError("The file must be UTF-8 encoded CSV text.") from None
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise ReferenceInputError(f"The file is not valid gzip data: {exc}.") from None


def sniff_delimiter(header: str) -> str:
    """The delimiter of the header line among `, ; tab |`; a comma when it has none."""
    try:
        return csv.Sniffer().sniff(header[:SNIFF_BYTES], delimiters=DELIMITERS).delimiter
    except csv.Error:
        return ","


def read_csv(source) -> tuple[list[str], list[list[str]], int]:
    """(header, raw cells per column, n_rows) of a CSV file (bytes or a binary stream),
    read one line at a time and one chunk of rows at a time: neither the file's text nor
    row lists are kept, and reading stops past MODELWATCH_REFERENCE_MAX_ROWS.

    ReferenceInputError for an unusable header or a ragged row; ReferenceTooLarge past
    the row limit.
    """
    lines = text_lines(io.BytesIO(source) if isinstance(source, bytes) else source)
    first = next((line for line in lines if line.strip("\r\n")), None)
    delimiter = sniff_delimiter(first.rstrip("\r\n")) if first else ","
    source = itertools.chain([first], lines) if first else iter(())
    reader = csv.reader(source, delimiter=delimiter, strict=True)
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


def csv_columns(source, schema: dict[str, dict]) -> tuple[dict[str, list], int]:
    """({column: values}, n_rows) of an uploaded CSV (bytes or a binary stream), typed by
    the declared schema."""
    header, raw, n_rows = read_csv(source)
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
        name[len(SCORE_PREFIX) :]: plain(columns[name])
        for name in columns
        if name.startswith(SCORE_PREFIX)
    }
    if not classes:
        return [None] * n_rows
    return [
        profiles.positive_score({k: v[i] for k, v in classes.items() if v[i] is not None})
        for i in range(n_rows)
    ]


def plain(values):
    return plain_values(values) if isinstance(values, np.ndarray) else values


class ColumnView(Mapping):
    """Some columns of `source`, each read from it when asked for (never kept here)."""

    def __init__(self, source: Mapping, names) -> None:
        self.source, self.names = source, list(names)

    def __getitem__(self, name: str):
        if name not in self.names:
            raise KeyError(name)
        return self.source[name]

    def __contains__(self, name) -> bool:
        return name in self.names

    def __iter__(self):
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)


def split_columns(columns: Mapping, schema: dict[str, dict]) -> Mapping:
    if schema:
        return ColumnView(columns, [name for name in schema if name in columns])
    return ColumnView(
        columns,
        [name for name in columns if name not in RESERVED and not name.startswith(SCORE_PREFIX)],
    )


def column_or_none(columns: Mapping, name: str, n_rows: int):
    values = columns.get(name) if name in columns else None
    return [None] * n_rows if values is None else values


class RowPicker(Mapping):
    """The feature columns `summarize` reads, each read once: as a column is read, its
    values on the joint sample's `rows` are kept in `picked` (a Parquet column is not read
    a second time for them)."""

    def __init__(self, source: Mapping, rows: np.ndarray) -> None:
        self.source, self.rows, self.picked = source, rows, {}

    def __getitem__(self, name: str):
        values = self.source[name]
        self.picked[name] = pick(values, self.rows)
        return values

    def __contains__(self, name) -> bool:
        return name in self.source

    def __iter__(self):
        return iter(self.source)

    def __len__(self) -> int:
        return len(self.source)


def build_summary(
    version: ModelVersion, columns: dict[str, list], n_rows: int
) -> tuple[dict, dict]:
    """(the reference summary, its joint sample: `{"size", "types", "columns"}`)."""
    model = version.model
    schema = model.feature_schema()
    features = split_columns(columns, schema)
    rows = joint_rows(n_rows, joint_size(len(features)))
    picker = RowPicker(features, rows)
    outputs = {
        "prediction": (
            column_or_none(columns, "prediction", n_rows),
            profiles.output_kind(profiles.PREDICTION, model.task),
        ),
        "label": (
            column_or_none(columns, "label", n_rows),
            profiles.output_kind(profiles.LABEL, model.task),
        ),
    }
    if model.task == Task.BINARY:
        outputs["scores"] = (score_column(columns, n_rows), "numeric")
    declared = {name: (schema.get(name) or {}).get("type") for name in features}
    summary = summarize(picker, declared, outputs, n_rows)
    types = {name: part["type"] for name, part in summary["features"].items()}
    return summary, joint_sample(picker.picked, types, len(rows))


@transaction.atomic
def save_reference(
    version: ModelVersion, columns: dict[str, list], n_rows: int, source: str
) -> Reference:
    """Summarise `columns` and store them as the version's newest reference, with its
    joint row sample (a `ReferenceSample`) when it has features."""
    summary, joint = build_summary(version, columns, n_rows)
    reference = Reference.objects.create(
        version=version,
        source=source,
        n_rows=n_rows,
        summary=summary,
        specs=profiles.compact_specs(summary),
    )
    if joint["columns"]:
        ReferenceSample.objects.create(reference=reference, **joint)
    return reference


def reference_from_csv(version: ModelVersion, content) -> Reference:
    """From CSV bytes or a binary stream of CSV text."""
    columns, n_rows = csv_columns(content, version.model.feature_schema())
    return save_reference(version, columns, n_rows, "upload")


GZIP_MAGIC, PARQUET_MAGIC = b"\x1f\x8b", b"PAR1"
PARQUET_SUFFIXES = (".parquet", ".pq")


def upload_format(upload, gzip_encoded: bool = False) -> str:
    """ "parquet", "gzip" (gzip-compressed CSV) or "csv": from the file's first bytes, its
    name, or the request's `Content-Encoding: gzip`."""
    head = upload.read(4)
    upload.seek(0)
    name = (upload.name or "").lower()
    if head == PARQUET_MAGIC or name.endswith(PARQUET_SUFFIXES):
        return "parquet"
    if gzip_encoded or head[:2] == GZIP_MAGIC or name.endswith(".gz"):
        return "gzip"
    return "csv"


def reference_from_upload(version: ModelVersion, upload, gzip_encoded: bool = False) -> Reference:
    """From an uploaded file (Django's UploadedFile): CSV, gzip-compressed CSV or Parquet,
    read as a stream."""
    schema = version.model.feature_schema()
    kind = upload_format(upload, gzip_encoded)
    if kind == "parquet":
        columns, n_rows = parquet_columns(upload, schema)
    else:
        stream = gzip.GzipFile(fileobj=upload.file, mode="rb") if kind == "gzip" else upload.file
        columns, n_rows = csv_columns(stream, schema)
    return save_reference(version, columns, n_rows, "upload")


def parquet_row_limit() -> int:
    return settings.MODELWATCH_REFERENCE_MAX_PARQUET_ROWS


class ParquetColumns(Mapping):
    """The columns of a Parquet file, each read (whole, as values) when asked for."""

    def __init__(self, parquet, names: list[str], schema: dict[str, dict]) -> None:
        self.parquet, self.names, self.schema = parquet, names, schema

    def __getitem__(self, name: str):
        if name not in self.names:
            raise KeyError(name)
        try:
            column = self.parquet.read(columns=[name]).column(0)
        except (pa.ArrowException, OSError) as exc:
            raise ReferenceInputError(f'Column "{name}" cannot be read: {exc}.') from None
        return arrow_values(column, (self.schema.get(name) or {}).get("type"))

    def __contains__(self, name) -> bool:
        return name in self.names

    def __iter__(self):
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)


def readable_type(kind) -> bool:
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    return (
        pa.types.is_integer(kind)
        or pa.types.is_floating(kind)
        or pa.types.is_decimal(kind)
        or pa.types.is_string(kind)
        or pa.types.is_large_string(kind)
        or pa.types.is_boolean(kind)
        or pa.types.is_null(kind)
    )


def arrow_values(column, declared: str | None):
    """A column's values as the CSV reader gives them: numbers as a float array (NaN
    missing), strings and booleans as a list (None missing)."""
    kind = column.type
    if pa.types.is_dictionary(kind):
        column, kind = pc.cast(column, kind.value_type), kind.value_type
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        return pc.cast(column, pa.float64()).to_numpy()
    if pa.types.is_null(kind):
        return [None] * len(column)
    values = column.to_pylist()
    if declared == "numeric":
        return [None if v is None else parse_number(str(v)) for v in values]
    return values


def parquet_columns(upload, schema: dict[str, dict]) -> tuple[Mapping, int]:
    """(columns read on demand, n_rows) of an uploaded Parquet file; its schema checked
    first (names, the declared features, types), so a bad file stores nothing."""
    path = getattr(upload, "temporary_file_path", None)
    try:
        parquet = pq.ParquetFile(path() if path else upload.file)
    except (pa.ArrowException, OSError) as exc:
        raise ReferenceInputError(f"The file is not valid Parquet: {exc}.") from None
    names = list(parquet.schema_arrow.names)
    check_header(names)
    n_rows, limit = parquet.metadata.num_rows, parquet_row_limit()
    if n_rows == 0:
        raise ReferenceInputError("The file has no data rows.")
    if n_rows > limit:
        raise ReferenceTooLarge(
            f"The file has {n_rows} data rows; at most {limit} are allowed "
            "(MODELWATCH_REFERENCE_MAX_PARQUET_ROWS)."
        )
    wanted = [name for name, f in schema.items() if f.get("type") != "image"]
    missing = [name for name in wanted if name not in names]
    if missing:
        raise ReferenceInputError(f"Missing columns for declared features: {', '.join(missing)}.")
    for field in parquet.schema_arrow:
        if field.name not in ("id", "timestamp") and not readable_type(field.type):
            raise ReferenceInputError(
                f'Column "{field.name}" has type {field.type}; expected numbers, strings '
                "or booleans."
            )
    return ParquetColumns(parquet, names, schema), n_rows


OUTPUT_NAMES = {
    profiles.PREDICTION: "prediction",
    profiles.SCORE: "scores",
    profiles.LABEL: "label",
}


@transaction.atomic
def reference_from_profiles(version: ModelVersion, start: datetime, end: datetime) -> Reference:
    """A reference from the version's stored profiles (posted or written at ingestion)
    over the hour buckets of [start, end]: no raw row is read (docs/telemetry.md says
    which statistics are exact and which come from the profiles' samples)."""
    window = profiles.window_profiles(version, start, end)
    prediction = window.get(profiles.PREDICTION)
    n_rows = prediction.rows if prediction is not None else 0
    if not n_rows:
        raise ReferenceInputError(f'Version "{version.version}" has no profiles in this window.')
    schema = version.model.feature_schema()
    summary = {"n_rows": n_rows, "features": {}}
    for name, profile in window.items():
        if name in OUTPUT_NAMES:
            if profile.count:
                summary[OUTPUT_NAMES[name]] = profile_summary(profile)
        elif name not in profiles.OUTPUTS and (not schema or name in schema):
            declared = (schema.get(name) or {}).get("type")
            summary["features"][name] = profile_summary(profile) | {"declared_type": declared}
    return Reference.objects.create(
        version=version,
        source="profiles",
        n_rows=n_rows,
        summary=summary,
        specs=profiles.compact_specs(summary),
    )


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
