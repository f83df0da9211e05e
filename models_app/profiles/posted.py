"""Profiles computed by clients (the SDK, a Spark job): format 1, validated, stored as
partial rows beside the ones ingestion writes (docs/telemetry.md, "Profiles").

A posted record is one (version, UTC hour bucket): `{"format": 1, "bucket", "rows",
"features": {name: profile}, "outputs": {"prediction", "error"?, "latency_ms"?,
"score"?, "label"?}}`, each profile a serialised `FeatureProfile`. `profile_record`
checks one record and names the field at fault; `record_posted` writes the partial rows
(the rollup and every window read then treat them as rows ingestion wrote);
`profile_specs` answers what a client needs to profile as the server would.
"""

import math
import secrets
from datetime import datetime

import numpy as np
from django.conf import settings

from models_app.models import ModelVersion, Task
from models_app.profiles.sketch import (
    CATEGORICAL,
    DECLARED_KINDS,
    KEY_LIMIT,
    MAX_CATEGORIES,
    MAX_CATEGORY_LENGTH,
    NUMERIC,
    OTHER,
    SAMPLE_SIZE,
    FeatureProfile,
)
from models_app.profiles.specs import (
    ERROR,
    LABEL,
    LATENCY,
    OUTPUTS,
    PREDICTION,
    SCORE,
    WriteSpecs,
    output_kind,
    reference_feature,
    reference_for_profiles,
)
from models_app.profiles.store import hour_of
from models_app.profiles.write import write_partials
from models_app.validation import FieldError, timestamp

FORMAT = 1
OUTPUT_NAMES = {
    "prediction": PREDICTION,
    "score": SCORE,
    "latency_ms": LATENCY,
    "error": ERROR,
    "label": LABEL,
}
COUNT_FIELDS = ("count", "missing", "type_errors", "out_of_range", "unseen")
PROFILE_FIELDS = frozenset(
    (*COUNT_FIELDS, "kind", "min", "max", "sum", "sum_sq", "edges", "bin_counts")
    + ("categories", "sample", "sample_keys", "sketch")
)
RECORD_FIELDS = frozenset({"format", "bucket", "rows", "features", "outputs"})
MAX_EDGES = 1000
LARGEST_SKETCH_INDEX = 2**31


class ProfileError(Exception):
    """A bad value in a posted profile: `field` is its dotted path inside the record."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


# --- checking one profile ------------------------------------------------------------------


def count_of(value, field: str) -> int:
    if value is None:
        return 0
    if type(value) is not int or value < 0 or value >= 2**63:
        raise ProfileError(field, "Must be an integer, zero or more.")
    return value


def number_of(value, field: str, required: bool = False) -> float | None:
    if value is None:
        if required:
            raise ProfileError(field, "This field is required when `count` is above 0.")
        return None
    if type(value) not in (int, float) or not math.isfinite(value):
        raise ProfileError(field, "Must be a finite number.")
    return float(value)


def numbers_of(value, field: str) -> np.ndarray:
    if value is None:
        return np.empty(0)
    if not isinstance(value, list):
        raise ProfileError(field, "Must be a list of numbers.")
    try:  # converted in C: 5,000 values per numeric profile
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ProfileError(field, "Must be a list of numbers.") from None
    if array.ndim != 1:
        raise ProfileError(field, "Must be a list of numbers.")
    if not np.isfinite(array).all():  # null is NaN here
        raise ProfileError(field, "Must be a list of finite numbers.")
    return array


def check_counts(data: dict, path: str) -> dict[str, int]:
    counts = {name: count_of(data.get(name), f"{path}.{name}") for name in COUNT_FIELDS}
    for subset in ("out_of_range", "unseen"):
        if counts[subset] > counts["count"]:
            raise ProfileError(f"{path}.{subset}", "Must not exceed `count` (a subset of it).")
    return counts


def check_edges_and_bins(data: dict, path: str, count: int) -> tuple[list, list]:
    edges = numbers_of(data.get("edges"), f"{path}.edges")
    if len(edges) > MAX_EDGES:
        raise ProfileError(f"{path}.edges", f"At most {MAX_EDGES} edges.")
    if len(edges) > 1 and not np.all(np.diff(edges) > 0):
        raise ProfileError(f"{path}.edges", "Must be strictly increasing.")
    bins = data.get("bin_counts") or []
    if not len(edges):
        if bins:
            raise ProfileError(f"{path}.bin_counts", "Must be empty when `edges` is.")
        return [], []
    if not isinstance(bins, list) or len(bins) != len(edges) + 1:
        raise ProfileError(
            f"{path}.bin_counts", f"Must hold len(edges) + 1 = {len(edges) + 1} counts."
        )
    counts = [count_of(b, f"{path}.bin_counts") for b in bins]
    if sum(counts) != count:
        raise ProfileError(
            f"{path}.bin_counts", f"Must add up to `count` ({count}), not {sum(counts)}."
        )
    return edges.tolist(), counts


def key_array(keys: list, field: str) -> np.ndarray:
    """Reservoir keys as uint64, checked in C: integers in [0, 2**63)."""
    try:
        array = np.asarray(keys)
    except (TypeError, ValueError, OverflowError):
        array = np.asarray([], dtype=object)
    if len(keys) and (array.dtype.kind not in "iu" or array.min() < 0 or array.max() >= KEY_LIMIT):
        raise ProfileError(field, "Keys are integers in [0, 2**63).")
    return array.astype(np.uint64)


def check_sample(data: dict, path: str, profile: FeatureProfile) -> None:
    """`sample`: every valid value while count <= 5,000, else a bottom-k reservoir of 5,000
    with its `sample_keys` (uniform random integers below 2**63, one per value)."""
    values = numbers_of(data.get("sample"), f"{path}.sample")
    wanted = min(profile.count, SAMPLE_SIZE)
    if len(values) != wanted:
        raise ProfileError(
            f"{path}.sample",
            f"Must hold min(count, {SAMPLE_SIZE}) = {wanted} values, not {len(values)}.",
        )
    if len(values) and (values.min() < profile.min or values.max() > profile.max):
        raise ProfileError(f"{path}.sample", "Holds a value outside [min, max].")
    keys = data.get("sample_keys")
    if keys is None:
        if profile.count > SAMPLE_SIZE:
            raise ProfileError(f"{path}.sample_keys", f"Required when `count` > {SAMPLE_SIZE}.")
        profile.sample_seed = secrets.randbits(62)  # all the values: any keys will do
    else:
        if not isinstance(keys, list) or len(keys) != len(values):
            raise ProfileError(f"{path}.sample_keys", "Must hold one key per sample value.")
        profile.sample_keys = key_array(keys, f"{path}.sample_keys")
    profile.sample = values  # an array: encoded to bytes as it is


def check_sketch(data: dict, path: str, count: int, required: bool) -> dict[int, int]:
    sketch = data.get("sketch")
    if sketch is None and not (required and count):
        return {}
    if not isinstance(sketch, dict):
        raise ProfileError(f"{path}.sketch", "Must be an object {bucket index: count}.")
    found = {}
    for key, n in sketch.items():
        try:
            index = int(key)
        except ValueError:
            raise ProfileError(f"{path}.sketch", f'"{key}" is not an integer index.') from None
        if abs(index) > LARGEST_SKETCH_INDEX:
            raise ProfileError(f"{path}.sketch", f'"{key}" is out of range.')
        found[index] = count_of(n, f"{path}.sketch")
    if sum(found.values()) != count:
        raise ProfileError(f"{path}.sketch", f"Counts must add up to `count` ({count}).")
    return found


def check_numeric(data: dict, path: str, profile: FeatureProfile, name: str) -> None:
    count = profile.count
    profile.min = number_of(data.get("min"), f"{path}.min", required=count > 0)
    profile.max = number_of(data.get("max"), f"{path}.max", required=count > 0)
    if count and profile.min > profile.max:
        raise ProfileError(f"{path}.min", "Must not exceed `max`.")
    profile.sum = number_of(data.get("sum"), f"{path}.sum") or 0.0
    profile.sum_sq = number_of(data.get("sum_sq"), f"{path}.sum_sq") or 0.0
    if profile.sum_sq < 0:
        raise ProfileError(f"{path}.sum_sq", "Must be zero or more.")
    profile.edges, profile.bin_counts = check_edges_and_bins(data, path, count)
    if data.get("categories"):
        raise ProfileError(f"{path}.categories", "Must be empty for a numeric profile.")
    check_sample(data, path, profile)
    profile.sketch = check_sketch(data, path, count, required=name == LATENCY)


def check_categorical(data: dict, path: str, profile: FeatureProfile) -> None:
    for field in ("edges", "bin_counts", "sample", "sample_keys", "sketch"):
        if data.get(field):
            raise ProfileError(f"{path}.{field}", "Must be empty for a categorical profile.")
    categories = data.get("categories") or {}
    if not isinstance(categories, dict):
        raise ProfileError(f"{path}.categories", "Must be an object {value: count}.")
    if len(categories) > MAX_CATEGORIES + 1 or (
        len(categories) == MAX_CATEGORIES + 1 and OTHER not in categories
    ):
        raise ProfileError(
            f"{path}.categories", f'At most {MAX_CATEGORIES} values (plus "{OTHER}").'
        )
    for key, n in categories.items():
        if len(key) > MAX_CATEGORY_LENGTH:
            raise ProfileError(
                f"{path}.categories",
                f"A value has {len(key)} characters; at most {MAX_CATEGORY_LENGTH}.",
            )
        if count_of(n, f"{path}.categories") == 0:
            raise ProfileError(f"{path}.categories", f'"{key}" has a count of 0.')
    if sum(categories.values()) != profile.count:
        raise ProfileError(
            f"{path}.categories", f"Counts must add up to `count` ({profile.count})."
        )
    for field in ("min", "max"):
        if data.get(field) is not None:
            raise ProfileError(f"{path}.{field}", "Must be null for a categorical profile.")
    profile.categories = dict(categories)


def posted_profile(data, path: str, name: str) -> FeatureProfile:
    """A FeatureProfile from its format-1 JSON object, or ProfileError naming the field."""
    if not isinstance(data, dict):
        raise ProfileError(path, "Must be an object (a profile).")
    unknown = sorted(set(data) - PROFILE_FIELDS)
    if unknown:
        raise ProfileError(f"{path}.{unknown[0]}", "Unknown field.")
    kind = data.get("kind")
    if kind not in (NUMERIC, CATEGORICAL):
        raise ProfileError(f"{path}.kind", 'Must be "numeric" or "categorical".')
    profile = FeatureProfile(name, kind, **check_counts(data, path))
    if kind == NUMERIC:
        check_numeric(data, path, profile, name)
    else:
        if profile.out_of_range:
            raise ProfileError(f"{path}.out_of_range", "Must be 0 for a categorical profile.")
        check_categorical(data, path, profile)
    return profile


# --- checking one record (a version's hour bucket) -----------------------------------------


def bucket_of(value, now: datetime) -> datetime:
    if value is None:
        raise FieldError("This field is required.")
    moment = timestamp(value, now)
    if moment != hour_of(moment):
        raise FieldError("Must be the start of a UTC hour, e.g. 2026-03-01T12:00:00Z.")
    return moment


def named_profiles(record: dict) -> dict[str, tuple[str, object]]:
    """{stored name: (field path, JSON profile)} of the record's features and outputs."""
    features, outputs = record.get("features") or {}, record.get("outputs")
    if not isinstance(features, dict):
        raise ProfileError("features", "Must be an object {feature name: profile}.")
    if not isinstance(outputs, dict) or "prediction" not in outputs:
        raise ProfileError("outputs.prediction", "This field is required.")
    most = settings.MODELWATCH_MAX_FEATURES
    if len(features) > most:
        raise ProfileError("features", f"Too many features: {len(features)}; at most {most}.")
    found = {}
    for name, data in features.items():
        if name in OUTPUTS or len(name) > 200 or not name:
            raise ProfileError(
                f"features.{name[:60]}",
                "A feature name of 1-200 characters, not a reserved output name.",
            )
        found[name] = (f"features.{name}", data)
    for key, data in outputs.items():
        if key not in OUTPUT_NAMES:
            raise ProfileError(f"outputs.{key}", f"Unknown output; one of {sorted(OUTPUT_NAMES)}.")
        found[OUTPUT_NAMES[key]] = (f"outputs.{key}", data)
    return found


def check_rows(profiles: dict[str, FeatureProfile], paths: dict[str, str], rows: int) -> None:
    """Every profile but the label's describes the bucket's `rows` predictions."""
    for name, profile in profiles.items():
        if name == LABEL:
            if profile.rows > rows:
                raise ProfileError(f"{paths[name]}.count", f"More labels than `rows` ({rows}).")
        elif profile.rows != rows:
            raise ProfileError(
                f"{paths[name]}.count",
                f"count + missing + type_errors = {profile.rows}; must equal `rows` ({rows}).",
            )


def profile_record(record: dict, errors: dict, now: datetime) -> dict | None:
    """One posted record as {"bucket", "rows", "profiles": {name: FeatureProfile}};
    fills `errors` (field -> message) when something is wrong."""
    if record.get("format") != FORMAT:
        errors["format"] = f"Must be {FORMAT} (the only profile format this server reads)."
        return None
    unknown = sorted(set(record) - RECORD_FIELDS)
    if unknown:
        errors[unknown[0]] = "Unknown field."
        return None
    try:
        bucket = bucket_of(record.get("bucket"), now)
    except FieldError as exc:
        errors["bucket"] = str(exc)
        return None
    rows = record.get("rows")
    if type(rows) is not int or rows < 1:
        errors["rows"] = "Must be an integer, 1 or more (the predictions in the bucket)."
        return None
    try:
        named = named_profiles(record)
        profiles = {name: posted_profile(data, path, name) for name, (path, data) in named.items()}
        check_rows(profiles, {name: path for name, (path, _) in named.items()}, rows)
    except ProfileError as exc:
        errors[exc.field] = str(exc)
        return None
    return {"bucket": bucket, "rows": rows, "profiles": profiles}


def duplicate_buckets(rows: list[dict]) -> dict:
    """{index: errors} of records whose bucket repeats an earlier record's."""
    first: dict[datetime, int] = {}
    failures = {}
    for index, row in enumerate(rows):
        earlier = first.setdefault(row["bucket"], index)
        if earlier != index:
            failures[str(index)] = {
                "bucket": [f"Same bucket as record {earlier}: send one profile per hour bucket."]
            }
    return failures


def profile_row_count(rows: list[dict]) -> int:
    return sum(len(row["profiles"]) for row in rows)


# --- storing -------------------------------------------------------------------------------


def filled_outputs(specs: WriteSpecs, row: dict) -> dict[str, FeatureProfile]:
    """The record's profiles plus the outputs ingestion always writes (error, latency and,
    for binary models, score), as all-missing when the client left them out."""
    profiles = dict(row["profiles"])
    wanted = [ERROR, LATENCY] + ([SCORE] if specs.task == Task.BINARY else [])
    for name in wanted:
        if name not in profiles:
            spec = specs.spec(name)
            profiles[name] = FeatureProfile(
                name,
                spec.kind,
                missing=row["rows"],
                edges=list(spec.edges),
                bin_counts=[0] * (len(spec.edges) + 1) if spec.edges else [],
            )
    return profiles


def record_posted(version: ModelVersion, rows: list[dict]) -> tuple[int, int]:
    """Store validated records as partial profiles (the caller holds the transaction);
    answers (predictions they describe, profiles stored)."""
    reference = reference_for_profiles(version)
    specs = WriteSpecs(version, reference)
    written = [
        (row["bucket"], profile) for row in rows for profile in filled_outputs(specs, row).values()
    ]
    write_partials(version, reference, written)
    return sum(row["rows"] for row in rows), len(written)


# --- what a client needs to profile as the server would ------------------------------------


def known_kind(specs: WriteSpecs, name: str) -> bool:
    """Whether `name`'s kind is fixed (reference, declared type, output) or inferred."""
    if name in OUTPUTS:
        return (
            name != LATENCY
            and bool(reference_feature(specs.summary or {}, name))
            or bool(output_kind(name, specs.task))
        )
    declared = specs.declared.get(name) or {}
    return bool(reference_feature(specs.summary or {}, name)) or bool(
        DECLARED_KINDS.get(declared.get("type"))
    )


def spec_json(specs: WriteSpecs, name: str) -> dict:
    spec = specs.spec(name)
    return {
        "kind": spec.kind,
        "edges": list(spec.edges),
        "categories": sorted(spec.categories) if spec.categories is not None else None,
        "min": spec.low,
        "max": spec.high,
    }


def profile_specs(version: ModelVersion) -> dict:
    """How the server profiles `version`'s features and outputs under its current
    reference and declared schema: what `GET .../profiles/` answers."""
    reference = reference_for_profiles(version)
    specs = WriteSpecs(version, reference)
    names = [name for name in specs.declared if specs.profiled(name)]
    names += [n for n in (specs.summary or {}).get("features") or {} if n not in specs.declared]
    outputs = {
        key: spec_json(specs, name)
        for key, name in OUTPUT_NAMES.items()
        if known_kind(specs, name) or name == LATENCY
    }
    return {
        "format": FORMAT,
        "version": version.version,
        "task": specs.task,
        "reference": reference.pk if reference else None,
        "sample_size": SAMPLE_SIZE,
        "features": {name: spec_json(specs, name) for name in names if known_kind(specs, name)},
        "outputs": outputs,
        "skipped": sorted(name for name in specs.declared if not specs.profiled(name)),
    }
