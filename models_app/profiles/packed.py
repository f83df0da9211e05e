"""Packed partial profiles: every feature of one batch in one hour bucket, in one row (pure).

Ingestion used to write one partial row per (batch, hour bucket, feature): a backfill of
5,000-row batches spread over 6 days left ~140,000 of them in each day, and a window
read at full rollup lag fetched and parsed every one (docs/scaling.md). A packed row holds
the partial profiles of all the features (and prediction, score) of one (batch, hour):

- its `Layout` (stored once in `ProfileLayout`, shared by every row written with the
  same features and reference bins): feature names, kinds and bin edges, in order;
- `stats`: little-endian 8-byte words, for F features: counts int64 [F, 5] (`COUNTS`),
  then float64 [F, 4] (`FLOATS`; NaN for a missing min or max), then the sample lengths
  int64 [F], then every feature's bin counts int64 (len(edges) + 1 each, none without
  edges). Its size is fixed by the layout, so the rows of one layout decode as one matrix;
- `extra`: JSON `{"c": {index: categories}, "s": {index: sketch}}`, the non-empty ones;
- `sample_values` / `sample_keys`: each feature's sample (float64) and its reservoir keys
  (uint64), ascending by (key, value), concatenated in layout order. Keys are stored, not
  implied by a seed: computing the PCG64 keys of ~100,000 seeded samples was the largest
  part of a lagging 1-day read (keys.py).

`Block` merges the rows of one layout column by column: `merged(i)` equals `merge_stored`
(bulk.py) over the per-feature rows the same profiles made (counts and bins summed, one
`math.fsum` per sum, the bottom-k of all samples;
tests/models_app/test_profile_packed.py), and `profile(row, i)` is one row's profile of
feature i, for the rows whose kind or bins must be conformed one by one.
"""

import hashlib
import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import orjson

from models_app.profiles.keys import implied_keys_many
from models_app.profiles.sketch import (
    NUMERIC,
    SAMPLE_SIZE,
    FeatureProfile,
    ascending,
    bottom_k,
    fold_categories,
)

COUNTS = ("count", "missing", "type_errors", "out_of_range", "unseen")
FLOATS = ("min", "max", "sum", "sum_sq")
NO_KEYS = np.empty(0, dtype=np.uint64)


@dataclass(frozen=True)
class Layout:
    """The features of a packed row, in order, with their kinds and bin edges."""

    names: tuple[str, ...]
    kinds: tuple[str, ...]
    edges: tuple[tuple[float, ...], ...]

    @classmethod
    def of(cls, profiles: Sequence[FeatureProfile]) -> "Layout":
        return cls(
            tuple(p.feature for p in profiles),
            tuple(p.kind for p in profiles),
            tuple(tuple(float(e) for e in p.edges or ()) for p in profiles),
        )

    @classmethod
    def from_spec(cls, spec: dict) -> "Layout":
        return cls(
            tuple(spec["names"]),
            tuple(spec["kinds"]),
            tuple(tuple(float(e) for e in edges) for edges in spec["edges"]),
        )

    def spec(self) -> dict:
        return {
            "names": list(self.names),
            "kinds": list(self.kinds),
            "edges": [list(e) for e in self.edges],
        }

    def digest(self) -> str:
        return hashlib.sha256(orjson.dumps(self.spec())).hexdigest()

    @property
    def width(self) -> int:
        return len(self.names)

    @cached_property
    def bins(self) -> np.ndarray:
        """Bin counts held per feature: len(edges) + 1, or 0 without edges."""
        return np.array([len(e) + 1 if e else 0 for e in self.edges], dtype=np.int64)

    @cached_property
    def bin_offsets(self) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(self.bins)]).astype(np.int64)

    @property
    def words(self) -> int:
        """8-byte words in one row's `stats`."""
        return self.width * (len(COUNTS) + len(FLOATS) + 1) + int(self.bins.sum())


def sample_keys_of(profiles: Sequence[FeatureProfile]) -> list[np.ndarray]:
    """The reservoir keys of each profile's sample: explicit ones as they are, the keys
    implied by seeds computed together (`keys.implied_keys_many`)."""
    keys: list[np.ndarray] = [NO_KEYS] * len(profiles)
    seeded = []
    for index, profile in enumerate(profiles):
        if not len(profile.sample):
            continue
        if len(profile.sample_keys) or profile.sample_seed is None:
            keys[index] = np.asarray(profile.sample_keys, dtype=np.uint64)
        else:
            seeded.append(index)
    if seeded:
        lengths = np.array([len(profiles[i].sample) for i in seeded], dtype=np.int64)
        seeds = np.array([profiles[i].sample_seed for i in seeded], dtype=np.uint64)
        found = implied_keys_many(seeds, lengths)
        for index, part in zip(seeded, np.split(found, np.cumsum(lengths)[:-1]), strict=True):
            keys[index] = part
    return keys


@dataclass(frozen=True)
class Packed:
    """The column values of one packed row."""

    stats: bytes
    extra: bytes | None
    sample_values: bytes | None
    sample_keys: bytes | None


def pack(layout: Layout, profiles: Sequence[FeatureProfile], keys: Sequence[np.ndarray]) -> Packed:
    """The packed row of `profiles` (in `layout`'s order; `keys`: `sample_keys_of`)."""
    width = layout.width
    counts = np.array([[getattr(p, name) or 0 for name in COUNTS] for p in profiles], "<i8")
    floats = np.array(
        [[math.nan if getattr(p, n) is None else getattr(p, n) for n in FLOATS] for p in profiles],
        "<f8",
    )
    bins = np.zeros(int(layout.bins.sum()), dtype="<i8")
    extra: dict[str, dict] = {}
    values_parts, keys_parts, lengths = [], [], np.zeros(width, dtype="<i8")
    for index, profile in enumerate(profiles):
        size = int(layout.bins[index])
        if size and profile.bin_counts:
            first = int(layout.bin_offsets[index])
            bins[first : first + size] = profile.bin_counts
        if profile.categories:
            extra.setdefault("c", {})[str(index)] = dict(profile.categories)
        if profile.sketch:
            extra.setdefault("s", {})[str(index)] = {str(k): v for k, v in profile.sketch.items()}
        if profile.kind == NUMERIC and len(profile.sample):
            values = np.asarray(profile.sample, dtype="<f8")
            order = ascending(keys[index], values)
            values_parts.append(values[order])
            keys_parts.append(np.asarray(keys[index], dtype="<u8")[order])
            lengths[index] = len(values)
    stats = b"".join(
        (counts.reshape(width * len(COUNTS)).tobytes(), floats.tobytes(), lengths.tobytes())
    )
    return Packed(
        stats + bins.tobytes(),
        orjson.dumps(extra) if extra else None,
        np.concatenate(values_parts).tobytes() if values_parts else None,
        np.concatenate(keys_parts).tobytes() if keys_parts else None,
    )


class Block:
    """The packed rows of one layout, decoded as matrices (row dicts with `stats`,
    `extra`, `sample_values`, `sample_keys` as bytes-like objects)."""

    def __init__(self, layout: Layout, rows: Sequence[dict]) -> None:
        self.layout, self.rows = layout, rows
        width, n = layout.width, len(rows)
        words = np.frombuffer(b"".join(row["stats"] for row in rows), dtype="<i8")
        words = words.reshape(n, layout.words)
        first = width * len(COUNTS)
        self.counts = words[:, :first].reshape(n, width, len(COUNTS))
        self.floats = words[:, first : first + width * len(FLOATS)].view("<f8")
        self.floats = self.floats.reshape(n, width, len(FLOATS))
        first += width * len(FLOATS)
        self.lengths = words[:, first : first + width]
        self.bins = words[:, first + width :]
        self.extras = [orjson.loads(row["extra"]) if row["extra"] else {} for row in rows]

    @cached_property
    def _samples(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(all values, all keys, start of each (row, feature) segment in them)."""
        values = np.frombuffer(
            b"".join(row["sample_values"] or b"" for row in self.rows), dtype="<f8"
        )
        keys = np.frombuffer(b"".join(row["sample_keys"] or b"" for row in self.rows), "<u8")
        ends = np.cumsum(self.lengths.reshape(-1)).reshape(self.lengths.shape)
        return values, keys, ends - self.lengths

    @cached_property
    def _by_feature(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(values, keys) of every row regrouped feature by feature (one stable radix
        sort of the feature indexes), and where each feature's run starts."""
        values, keys, _ = self._samples
        width = self.layout.width
        owner = np.repeat(
            np.tile(np.arange(width, dtype=np.int16), len(self.rows)), self.lengths.reshape(-1)
        )
        order = np.argsort(owner, kind="stable")
        starts = np.concatenate([[0], np.cumsum(self.lengths.sum(axis=0))])
        return values[order], keys[order], starts

    def _segments(self, index: int, rows: np.ndarray | slice) -> tuple[np.ndarray, np.ndarray]:
        """The (values, keys) of feature `index` in the chosen rows (every row: a slice of
        `_by_feature`)."""
        if isinstance(rows, slice):
            values, keys, starts = self._by_feature
            return values[starts[index] : starts[index + 1]], keys[
                starts[index] : starts[index + 1]
            ]
        values, keys, starts = self._samples
        lengths, starts = self.lengths[rows, index], starts[rows, index]
        total = int(lengths.sum())
        if not total:
            return np.empty(0), NO_KEYS
        before = np.cumsum(lengths) - lengths
        positions = np.repeat(starts - before, lengths) + np.arange(total)
        return values[positions], keys[positions]

    @cached_property
    def _extras_by_feature(self) -> dict[tuple[str, int], list[dict]]:
        """{("c" or "s", feature index): its non-empty categories or sketches}, row order."""
        found: dict[tuple[str, int], list[dict]] = defaultdict(list)
        for extra in self.extras:
            for part, by_index in extra.items():
                for index, counts in by_index.items():
                    found[(part, int(index))].append(counts)
        return found

    @staticmethod
    def _summed(parts: list[dict]) -> Counter:
        """The counts of `parts` added up: parts naming the same keys in the same order
        (most rows of a batch) are summed as one integer matrix."""
        by_keys: dict[tuple, list[tuple]] = defaultdict(list)
        for part in parts:
            by_keys[tuple(part)].append(tuple(part.values()))
        counts: Counter = Counter()
        for names, rows in by_keys.items():
            totals = np.asarray(rows, dtype=np.int64).sum(axis=0).tolist()
            counts.update(dict(zip(names, totals, strict=True)))
        return counts

    def _extra(self, part: str, index: int, extras) -> list[dict]:
        if extras is self.extras:
            return self._extras_by_feature.get((part, index), [])
        return [found for e in extras if (found := e.get(part, {}).get(str(index)))]

    def _profile(self, index: int, rows, extras, k: int) -> FeatureProfile:
        counts = self.counts[rows, index].reshape(-1, len(COUNTS))
        floats = self.floats[rows, index].reshape(-1, len(FLOATS))
        lows, highs = floats[:, 0], floats[:, 1]
        edges = list(self.layout.edges[index])
        size, first = int(self.layout.bins[index]), int(self.layout.bin_offsets[index])
        bins = (
            self.bins[rows, first : first + size].reshape(-1, size).sum(axis=0).tolist()
            if size
            else []
        )
        kind = self.layout.kinds[index]
        sample, keys = [], NO_KEYS
        if kind == NUMERIC:
            values, all_keys = self._segments(index, rows)
            if len(values):
                keys, chosen = bottom_k(all_keys, values, k)
                sample = chosen.tolist()
        return FeatureProfile(
            feature=self.layout.names[index],
            kind=kind,
            **{name: int(total) for name, total in zip(COUNTS, counts.sum(axis=0), strict=True)},
            min=float(lows[~np.isnan(lows)].min()) if not np.isnan(lows).all() else None,
            max=float(highs[~np.isnan(highs)].max()) if not np.isnan(highs).all() else None,
            sum=math.fsum(floats[:, 2].tolist()),
            sum_sq=math.fsum(floats[:, 3].tolist()),
            edges=edges,
            bin_counts=bins,
            categories=fold_categories(self._summed(self._extra("c", index, extras))),
            sample=sample,
            sample_keys=keys,
            sketch={int(k): n for k, n in self._summed(self._extra("s", index, extras)).items()},
        )

    def merged(self, index: int, k: int = SAMPLE_SIZE) -> FeatureProfile:
        """Feature `index` merged over every row of the block."""
        return self._profile(index, slice(None), self.extras, k)

    def profile(self, row: int, index: int) -> FeatureProfile:
        """Row `row`'s own profile of feature `index` (its whole sample)."""
        return self._profile(index, np.array([row]), [self.extras[row]], SAMPLE_SIZE)
