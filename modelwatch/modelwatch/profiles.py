"""Profiles computed where the data is: the server's mergeable format 1, from pandas.

    from modelwatch import Client
    from modelwatch.profiles import profile_frame

    fraud = Client().model("fraud")
    records = profile_frame(df, fraud.profile_specs())   # [{"format": 1, "bucket", ...}]
    fraud.post_profiles(records)                          # or: fraud.log_profiles(df)

One record per UTC hour bucket of the frame's `timestamp` column, with a profile per
feature column and per output (`prediction`, `error`, `latency_ms`, `score` for binary
models, `label`), computed column-wise with numpy the way the server profiles the same
rows (docs/telemetry.md, "Profiles"): the same counts, bins, categories, sums and
sample. `merge_records` merges records of the same buckets (Spark partitions).
Needs numpy and pandas (`pip install modelwatch[pandas]`).
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
import secrets
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

FORMAT = 1
SAMPLE_SIZE = 5000
MAX_CATEGORIES = 1000
MAX_CATEGORY_LENGTH = 200
OTHER = "__other__"
KEY_LIMIT = 2**63
SKETCH_GAMMA = (1 + 0.01) / (1 - 0.01)
SKETCH_ZERO = -(2**31)
NUMERIC, CATEGORICAL = "numeric", "categorical"
RESERVED = ("id", "timestamp", "prediction", "scores", "label", "latency_ms", "error")
POSITIVE = ("1", "true", "True", "yes", "positive", "pos", "1.0")
NEGATIVE = ("0", "false", "no", "negative", "neg")
TYPE_ERROR = "\0type-error"  # the code of values of the wrong type (never a real key)


@dataclass(frozen=True)
class Spec:
    """How one column is profiled: kind, reference bins, allowed values or range."""

    kind: str | None = None  # None: inferred from the values, bucket by bucket
    edges: tuple[float, ...] = ()
    categories: frozenset[str] | None = None
    low: float | None = None
    high: float | None = None
    sketch: bool = False


def spec_of(answer: Mapping | None, sketch: bool = False) -> Spec:
    if not answer:
        return Spec(sketch=sketch)
    categories = answer.get("categories")
    return Spec(
        answer.get("kind"),
        tuple(float(e) for e in answer.get("edges") or ()),
        frozenset(categories) if categories is not None else None,
        answer.get("min"),
        answer.get("max"),
        sketch,
    )


# --- columns: values as numpy arrays, converted once per frame ----------------------------


def category_key(value: Any) -> Any:
    """The server's canonical category: 1, 1.0 and "1" -> "1"; True -> "true"; None for
    missing; TYPE_ERROR for lists, objects and other types."""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, str):
        return value[:MAX_CATEGORY_LENGTH]
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        value = float(value)
        if not math.isfinite(value):
            return None  # NaN and infinities are sent as null
        return str(int(value)) if value.is_integer() else repr(value)
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    return TYPE_ERROR


class Column:
    """One column of a frame, read once: numbers (NaN when missing or not a number),
    which values are of the wrong type for a numeric feature, and categorical codes."""

    def __init__(self, series: pd.Series) -> None:
        self.series = series
        dtype = series.dtype
        self.plain = dtype.kind in "iuf" and not isinstance(dtype, pd.api.extensions.ExtensionDtype)
        self.boolean = dtype.kind == "b"
        self._numbers: np.ndarray | None = None
        self._codes: tuple[np.ndarray, list] | None = None
        self._classes: tuple[np.ndarray, np.ndarray] | None = None

    def numbers(self) -> tuple[np.ndarray, np.ndarray]:
        """(float values, NaN where not a valid number; mask of wrong types)."""
        if self._numbers is None:
            if self.plain:
                self._numbers = self.series.to_numpy(dtype=float, copy=False)
                self._bad = np.zeros(len(self._numbers), dtype=bool)
            else:
                number, _, other = self.classes()
                values = self.series.to_numpy(dtype=object)
                out = np.full(len(values), np.nan)
                out[number] = [float(v) for v in values[number]]
                self._numbers, self._bad = out, other
        return self._numbers, self._bad

    def classes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Masks (number, missing, other) of the JSON values the server would receive."""
        if self._classes is None:
            if self.plain:
                values = self.series.to_numpy(dtype=float, copy=False)
                number = np.isfinite(values)
                self._classes = (number, ~number, np.zeros(len(values), dtype=bool))
            elif self.boolean:
                n = len(self.series)
                self._classes = (np.zeros(n, bool), np.zeros(n, bool), np.ones(n, bool))
            elif strings_only(self.series):
                missing = self.series.isna().to_numpy()
                self._classes = (np.zeros(len(missing), bool), missing, ~missing)
            else:
                values = self.series.to_numpy(dtype=object)
                kinds = [number_class(v) for v in values]
                kinds = np.asarray(kinds, dtype=np.int8)
                self._classes = (kinds == 0, kinds == 1, kinds == 2)
        return self._classes

    def codes(self) -> tuple[np.ndarray, list]:
        """(code per row, canonical key per code): keys are category strings, None
        (missing) or TYPE_ERROR."""
        if self._codes is None:
            series = self.series
            if self.boolean:
                series = series.map({True: "true", False: "false"})
            elif not self.plain and not strings_only(series):
                series = pd.Series([category_key(v) for v in series.to_numpy(dtype=object)])
            codes, uniques = pd.factorize(series, use_na_sentinel=True)
            keys = [category_key(u) if u != TYPE_ERROR else TYPE_ERROR for u in uniques]
            codes = np.where(codes < 0, len(keys), codes)
            self._codes = (codes, [*keys, None])
        return self._codes


def number_class(value: Any) -> int:
    """0: a number the server reads as one; 1: missing (null, NaN); 2: anything else."""
    if value is None or value is pd.NA or value is pd.NaT:
        return 1
    if isinstance(value, (bool, np.bool_)):
        return 2
    if isinstance(value, numbers.Real):
        return 0 if math.isfinite(float(value)) else 1
    return 2


def strings_only(series: pd.Series) -> bool:
    """Only strings and missing values (so hashing them cannot merge True with 1)."""
    kinds = set(map(type, series.dropna().to_numpy(dtype=object)))
    return kinds <= {str}


def infer_kind(column: Column, index: np.ndarray) -> str:
    """The server's rule: numeric when numbers are at least half the non-missing values."""
    if column.plain:
        return NUMERIC
    number, _, other = column.classes()
    return NUMERIC if number[index].sum() >= other[index].sum() else CATEGORICAL


# --- one profile ---------------------------------------------------------------------------


@dataclass
class Profile:
    """A profile being built or merged; `keys` are the reservoir keys of `sample`."""

    kind: str
    count: int = 0
    missing: int = 0
    type_errors: int = 0
    out_of_range: int = 0
    unseen: int = 0
    min: float | None = None
    max: float | None = None
    sums: list[float] = field(default_factory=list)
    sums_sq: list[float] = field(default_factory=list)
    edges: tuple[float, ...] = ()
    bin_counts: np.ndarray | None = None
    categories: dict[str, int] = field(default_factory=dict)
    sample: np.ndarray = field(default_factory=lambda: np.empty(0))
    keys: np.ndarray | None = None
    sketch: Counter = field(default_factory=Counter)

    @property
    def rows(self) -> int:
        return self.count + self.missing + self.type_errors


def reservoir_keys(seed: int, size: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, KEY_LIMIT, size=size, dtype=np.uint64)


def bottom_k(keys: np.ndarray, values: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The `k` (key, value) pairs with the smallest keys (ties at the cut by value), in no
    particular order (the server orders a sample when it stores it)."""
    if len(keys) <= k:
        return keys, values
    chosen = np.argpartition(keys, k - 1)[:k]
    kth = keys[chosen].max()
    if np.count_nonzero(keys == kth) == 1:  # no tie at the cut: the k are determined
        return keys[chosen], values[chosen]
    order = np.lexsort((values, keys))[:k]
    return keys[order], values[order]


def sketch_of(values: np.ndarray) -> Counter:
    positive = values[values > 0]
    index = np.ceil(np.log(positive) / math.log(SKETCH_GAMMA)).astype(np.int64)
    found, counts = np.unique(index, return_counts=True)
    sketch = Counter(dict(zip(found.tolist(), counts.tolist(), strict=True)))
    if zeros := int(len(values) - len(positive)):
        sketch[SKETCH_ZERO] = zeros
    return sketch


def numeric_profile(column: Column, index: np.ndarray, spec: Spec) -> Profile:
    numbers_, bad = column.numbers()
    part = numbers_[index]
    type_errors = int(bad[index].sum())
    finite = np.isfinite(part)
    array = part[finite]
    profile = Profile(NUMERIC, count=len(array), type_errors=type_errors, edges=spec.edges)
    profile.missing = len(part) - len(array) - type_errors
    if spec.edges:
        found = np.searchsorted(np.asarray(spec.edges), array, side="right")
        profile.bin_counts = np.bincount(found, minlength=len(spec.edges) + 1)
    if len(array):
        profile.min, profile.max = float(array.min()), float(array.max())
        profile.sums, profile.sums_sq = [float(array.sum())], [float(np.dot(array, array))]
        outside = np.zeros(len(array), dtype=bool)
        if spec.low is not None:
            outside |= array < spec.low
        if spec.high is not None:
            outside |= array > spec.high
        profile.out_of_range = int(outside.sum())
    if spec.sketch:
        profile.sketch = sketch_of(array)
    keys = reservoir_keys(secrets.randbits(62), len(array))
    if len(array) > SAMPLE_SIZE:
        keys, array = bottom_k(keys, array, SAMPLE_SIZE)
    profile.keys, profile.sample = keys, array
    return profile


def categorical_profile(column: Column, index: np.ndarray, spec: Spec) -> Profile:
    codes, keys = column.codes()
    counts = np.bincount(codes[index], minlength=len(keys))
    found: Counter = Counter()
    for code in np.flatnonzero(counts):
        found[keys[code]] += int(counts[code])
    missing, type_errors = found.pop(None, 0), found.pop(TYPE_ERROR, 0)
    profile = Profile(CATEGORICAL, count=sum(found.values()), missing=missing)
    profile.type_errors = type_errors
    if spec.categories is not None:
        profile.unseen = sum(n for key, n in found.items() if key not in spec.categories)
    profile.categories = fold_categories(found)
    return profile


def fold_categories(counts: Mapping[str, int], limit: int = MAX_CATEGORIES) -> dict[str, int]:
    if len(counts) <= limit:
        return dict(counts)
    ranked = sorted(counts.items(), key=lambda item: (item[0] == OTHER, -item[1], item[0]))
    kept = dict(ranked[:limit])
    kept[OTHER] = kept.get(OTHER, 0) + sum(n for _, n in ranked[limit:])
    return kept


def profile_column(column: Column, index: np.ndarray, spec: Spec) -> Profile:
    kind = spec.kind or infer_kind(column, index)
    if kind == CATEGORICAL:
        return categorical_profile(column, index, spec)
    return numeric_profile(column, index, spec)


# --- merging -------------------------------------------------------------------------------


def merge_profiles(profiles: Sequence[Profile]) -> Profile:
    """The profile of the union of the rows (same kind and edges): the server's merge."""
    kinds = {p.kind for p in profiles if p.count}
    if len(kinds) > 1:
        raise ValueError("Profiles of one column with different kinds: declare its type.")
    kind = kinds.pop() if kinds else profiles[0].kind
    merged = Profile(kind, edges=next((p.edges for p in profiles if p.edges), ()))
    for p in profiles:
        merged.count += p.count
        merged.missing += p.missing
        merged.type_errors += p.type_errors
        merged.out_of_range += p.out_of_range
        merged.unseen += p.unseen
        merged.sums += p.sums
        merged.sums_sq += p.sums_sq
        merged.sketch.update(p.sketch)
        merged.categories = dict(Counter(merged.categories) + Counter(p.categories))
        if p.bin_counts is not None and p.count:
            base = merged.bin_counts if merged.bin_counts is not None else 0
            merged.bin_counts = base + p.bin_counts
    present = [p for p in profiles if p.min is not None]
    if present:
        merged.min = min(p.min for p in present)
        merged.max = max(p.max for p in present)
    merged.categories = fold_categories(merged.categories)
    if kind == NUMERIC:
        parts = [p for p in profiles if len(p.sample)]
        if parts:
            keys = np.concatenate([p.keys for p in parts])
            values = np.concatenate([p.sample for p in parts])
            merged.keys, merged.sample = bottom_k(keys, values, SAMPLE_SIZE)
    if merged.bin_counts is None and merged.edges:
        merged.bin_counts = np.zeros(len(merged.edges) + 1, dtype=np.int64)
    return merged


# --- the wire format -----------------------------------------------------------------------


def profile_json(profile: Profile) -> dict:
    """A profile in format 1 (docs/telemetry.md, "Profiles")."""
    data: dict[str, Any] = {
        "kind": profile.kind,
        "count": profile.count,
        "missing": profile.missing,
        "type_errors": profile.type_errors,
        "unseen": profile.unseen,
    }
    if profile.kind == CATEGORICAL:
        data["categories"] = profile.categories
        return data
    data["out_of_range"] = profile.out_of_range
    data["min"], data["max"] = profile.min, profile.max
    data["sum"] = profile.sums[0] if len(profile.sums) == 1 else math.fsum(profile.sums)
    data["sum_sq"] = profile.sums_sq[0] if len(profile.sums_sq) == 1 else math.fsum(profile.sums_sq)
    data["edges"] = list(profile.edges)
    data["bin_counts"] = profile.bin_counts.tolist() if profile.bin_counts is not None else []
    data["sample"] = profile.sample.tolist()
    if profile.count > SAMPLE_SIZE:  # a reservoir: the keys make later merges exact
        data["sample_keys"] = profile.keys.tolist()
    if profile.sketch:
        data["sketch"] = {str(k): v for k, v in profile.sketch.items()}
    return data


def profile_from_json(data: Mapping) -> Profile:
    """A Profile from format 1 (the inverse of `profile_json`; keys drawn when implied)."""
    sample = np.asarray(data.get("sample") or [], dtype=float)
    keys = data.get("sample_keys")
    keys = (
        np.asarray(keys, dtype=np.uint64)
        if keys is not None
        else reservoir_keys(secrets.randbits(62), len(sample))
    )
    bins = data.get("bin_counts")
    return Profile(
        data["kind"],
        count=data.get("count", 0),
        missing=data.get("missing", 0),
        type_errors=data.get("type_errors", 0),
        out_of_range=data.get("out_of_range", 0),
        unseen=data.get("unseen", 0),
        min=data.get("min"),
        max=data.get("max"),
        sums=[data["sum"]] if data.get("sum") is not None else [],
        sums_sq=[data["sum_sq"]] if data.get("sum_sq") is not None else [],
        edges=tuple(data.get("edges") or ()),
        bin_counts=np.asarray(bins, dtype=np.int64) if bins else None,
        categories=dict(data.get("categories") or {}),
        sample=sample,
        keys=keys,
        sketch=Counter({int(k): v for k, v in (data.get("sketch") or {}).items()}),
    )


def merge_records(records: Iterable[Mapping]) -> list[dict]:
    """Records of the same hour buckets (e.g. one per Spark partition) merged into one
    record per bucket, sorted by bucket."""
    by_bucket: dict[str, list[Mapping]] = {}
    for record in records:
        by_bucket.setdefault(record["bucket"], []).append(record)
    merged = []
    for bucket in sorted(by_bucket):
        parts = by_bucket[bucket]
        record = {"format": FORMAT, "bucket": bucket, "rows": sum(r["rows"] for r in parts)}
        for section in ("features", "outputs"):
            names: dict[str, list] = {}
            for part in parts:
                for name, data in part.get(section, {}).items():
                    names.setdefault(name, []).append(profile_from_json(data))
            record[section] = {
                name: profile_json(merge_profiles(found)) for name, found in names.items()
            }
        merged.append(record)
    return merged


# --- a frame -> records --------------------------------------------------------------------


def hour_codes(frame: pd.DataFrame, timestamp_col: str | None) -> np.ndarray:
    """Epoch seconds of each row's UTC hour (now when the frame has no timestamps)."""
    if timestamp_col is None or timestamp_col not in frame.columns:
        now = dt.datetime.now(dt.timezone.utc).timestamp()  # noqa: UP017 (Python 3.10)
        return np.full(len(frame), int(now // 3600 * 3600), dtype=np.int64)
    column = frame[timestamp_col]
    if column.dtype.kind in "iuf":
        seconds = column.to_numpy(dtype=float)
    else:
        moments = pd.to_datetime(column, utc=True).dt.tz_localize(None)
        seconds = moments.to_numpy(dtype="datetime64[us]").astype(np.int64) / 1e6
    if np.isnan(seconds).any():
        raise ValueError(f"Column {timestamp_col!r} has missing timestamps.")
    return (np.floor(seconds / 3600) * 3600).astype(np.int64)


def bucket_text(seconds: int) -> str:
    moment = dt.datetime.fromtimestamp(int(seconds), tz=dt.timezone.utc)  # noqa: UP017
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def positive_column(names: Sequence[str]) -> str | None:
    """The positive class among score columns' classes, as the server picks it."""
    for key in POSITIVE:
        if key in names:
            return key
    others = [k for k in names if k.lower() not in NEGATIVE]
    return others[0] if len(others) == 1 else None


def output_series(frame: pd.DataFrame, score_prefix: str, binary: bool) -> dict[str, pd.Series]:
    """The outputs as the server reads them from the same rows sent to /predictions/."""
    n = len(frame)
    empty = pd.Series([None] * n, dtype=object, index=frame.index)
    outputs = {
        "prediction": frame["prediction"] if "prediction" in frame else empty,
        "latency_ms": frame["latency_ms"] if "latency_ms" in frame else empty,
    }
    if "error" in frame:
        error = frame["error"].astype(object)
        outputs["error"] = error.where(error.notna() & (error != ""), None)
    else:
        outputs["error"] = empty
    if binary:
        classes = {c[len(score_prefix) :]: c for c in frame.columns if c.startswith(score_prefix)}
        chosen = positive_column(list(classes)) if classes else None
        outputs["score"] = frame[classes[chosen]] if chosen is not None else empty
    if "label" in frame:
        outputs["label"] = frame["label"]
    return outputs


def frame_specs(specs: Any) -> Mapping:
    """A specs answer (`GET .../profiles/`), a ModelHandle (its cached specs) or None."""
    if specs is None:
        return {}
    if hasattr(specs, "profile_specs"):
        return specs.profile_specs()
    return specs


def feature_names(
    frame: pd.DataFrame, features: Iterable[str] | None, extra: Iterable[str], score_prefix: str
) -> list[str]:
    if features is not None:
        return list(features)
    skip = {*RESERVED, *extra}
    return [
        str(c)
        for c in frame.columns
        if str(c) not in skip and not (score_prefix and str(c).startswith(score_prefix))
    ]


def profile_frame(
    frame: pd.DataFrame,
    specs: Any = None,
    *,
    timestamp_col: str | None = "timestamp",
    features: Iterable[str] | None = None,
    score_prefix: str = "score_",
) -> list[dict]:
    """Format-1 profile records of a frame of predictions, one per UTC hour bucket.

    `frame` has the columns `log_predictions` reads (features, `prediction`,
    `score_<class>`, `label`, `latency_ms`, `error`) and a `timestamp_col` (datetimes,
    ISO-8601 text or epoch seconds; absent: now). `specs` is the server's answer to
    `GET .../profiles/` or a ModelHandle (`handle.profile_specs()`, cached); without
    it every kind is inferred and nothing is binned. Equal to what the server would
    have stored from the same rows sent to `/predictions/`, but for the random sample
    keys (docs/telemetry.md, "Profiles").
    """
    specs = frame_specs(specs)
    frame = frame.reset_index(drop=True)
    hours = hour_codes(frame, timestamp_col)
    order = np.argsort(hours, kind="stable")
    starts = np.flatnonzero(np.r_[True, hours[order][1:] != hours[order][:-1]])
    bounds = list(zip(starts, [*starts[1:], len(order)], strict=True))
    skipped = set(specs.get("skipped") or ())
    names = [
        n
        for n in feature_names(frame, features, [timestamp_col or ""], score_prefix)
        if n not in skipped
    ]
    known = specs.get("features") or {}
    outputs = output_series(frame, score_prefix, specs.get("task") == "binary_classification")
    output_specs = specs.get("outputs") or {}
    columns = {("features", n): (Column(frame[n]), spec_of(known.get(n))) for n in names}
    for key, series in outputs.items():
        sketch = key == "latency_ms"
        columns[("outputs", key)] = (Column(series), spec_of(output_specs.get(key), sketch))
    records = []
    for start, end in bounds:
        index = order[start:end]
        record = {
            "format": FORMAT,
            "bucket": bucket_text(hours[index[0]]),
            "rows": int(end - start),
            "features": {},
            "outputs": {},
        }
        for (section, name), (column, spec) in columns.items():
            part = index
            if name == "label":  # labels count only where given
                part = index[column.series.iloc[index].notna().to_numpy()]
                if not len(part):
                    continue
            record[section][name] = profile_json(profile_column(column, part, spec))
        records.append(record)
    return records
