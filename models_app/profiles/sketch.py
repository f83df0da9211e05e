"""Mergeable sufficient statistics of one feature over a set of rows (pure).

A `FeatureProfile` summarises the values one feature (or output) took in some rows:
counts of valid / missing / wrongly typed / out-of-range / unseen values, min, max,
sum, sum of squares, counts in the reference's bins, category counts and a bounded
uniform sample. `merge_all` combines profiles of disjoint rows into the profile of
their union; it is associative and commutative, so a window's profile does not depend
on how its rows were batched, rolled up or read.

The sample is a *bottom-k* reservoir: every valid value gets a random 63-bit key and a
profile keeps the `SAMPLE_SIZE` values with the smallest keys (ties broken by value).
The bottom-k of a union is the bottom-k of the bottom-k's, which makes the merge exact
and deterministic, and the sample holds every value while there are ≤ `SAMPLE_SIZE`.

Also the bins every side shares: `decile_edges` (a reference's numeric bins),
`bin_counts` (counts in them) and `proportions`. No ORM, no settings, no clock:
numbers and lists in, a dataclass out.
"""

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

NUMERIC, CATEGORICAL = "numeric", "categorical"
SAMPLE_SIZE = 5000
MAX_CATEGORIES = 1000
MAX_CATEGORY_LENGTH = 200  # a longer category is counted under its first 200 characters
OTHER = "__other__"
KEY_LIMIT = 2**63
SKETCH_ALPHA = 0.01
SKETCH_GAMMA = (1 + SKETCH_ALPHA) / (1 - SKETCH_ALPHA)
SKETCH_ZERO = -(2**31)  # the sketch bucket of values <= 0
DECILES = np.linspace(0.1, 0.9, 9)
DECLARED_KINDS = {
    "numeric": NUMERIC,
    "categorical": CATEGORICAL,
    "boolean": CATEGORICAL,
    "text": CATEGORICAL,
}
_TYPE_ERROR = object()


@dataclass
class FeatureProfile:
    """Statistics of one feature over some rows; see the module docstring.

    `count` is the number of valid (non-missing, correctly typed) values; `missing`,
    `type_errors` are the other rows, so `rows == count + missing + type_errors`.
    `out_of_range` (numeric) and `unseen` (categorical) are subsets of `count`.
    Numeric: `min`/`max`/`sum`/`sum_sq` over valid values; `bin_counts` has
    `len(edges) + 1` counts, bin `numpy.searchsorted(edges, x, side="right")`, outer bins
    open ([] when no reference gave edges). Categorical: `categories` maps the canonical
    value (`category_key`) to its count, the rarest folded into `"__other__"` past
    `MAX_CATEGORIES`; `sample` stays [] (the counts are exact). `sample` is a uniform
    sample of the valid values (all of them when `count <= SAMPLE_SIZE`) and
    `sample_keys` its reservoir keys (empty while `sample_seed` implies them, see
    `keys_of`). `sketch` (latency only) maps log-bucket index to
    count: quantiles within `SKETCH_ALPHA` relative error (`sketch_quantile`).
    """

    feature: str
    kind: str = NUMERIC
    count: int = 0
    missing: int = 0
    type_errors: int = 0
    out_of_range: int = 0
    unseen: int = 0
    min: float | None = None
    max: float | None = None
    sum: float = 0.0
    sum_sq: float = 0.0
    edges: list[float] = field(default_factory=list)
    bin_counts: list[int] = field(default_factory=list)
    categories: dict[str, int] = field(default_factory=dict)
    sample: list = field(default_factory=list)
    sample_keys: Sequence[int] = field(default_factory=list)  # a uint64 array after merges
    sketch: dict[int, int] = field(default_factory=dict)
    sample_seed: int | None = None

    @property
    def rows(self) -> int:
        """Every row seen: valid, missing or wrongly typed."""
        return self.count + self.missing + self.type_errors

    @property
    def mean(self) -> float | None:
        return self.sum / self.count if self.count else None

    @property
    def std(self) -> float | None:
        """Population standard deviation (numpy.std, ddof=0) from the sums."""
        if not self.count:
            return None
        mean = self.sum / self.count
        return math.sqrt(max(self.sum_sq / self.count - mean * mean, 0.0))

    def rate(self, name: str) -> float | None:
        """`missing`, `type_errors` (over rows) or `out_of_range`, `unseen` (over valid)."""
        total = self.rows if name in ("missing", "type_errors") else self.count
        return getattr(self, name) / total if total else None


@dataclass(frozen=True)
class FeatureSpec:
    """How to profile one feature: its kind, the reference bins and the allowed values.

    `categories` (categorical) are the known values: others count as unseen; `low` and
    `high` (numeric) bound the allowed range; `sketch` asks for a latency sketch.
    """

    kind: str = NUMERIC
    edges: tuple[float, ...] = ()
    categories: frozenset[str] | None = None
    low: float | None = None
    high: float | None = None
    sketch: bool = False


def category_key(value) -> str | None:
    """The canonical string of a categorical value: 1, 1.0 and "1" all become "1".

    None means missing; lists and objects are type errors (`_TYPE_ERROR`). Strings are
    cut to `MAX_CATEGORY_LENGTH` characters, so that a profile, a reference and the
    figures drawn from them stay small whatever was sent.
    """
    kind = type(value)
    if kind is str:
        return value if len(value) <= MAX_CATEGORY_LENGTH else value[:MAX_CATEGORY_LENGTH]
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    if kind is float:
        if value != value:
            return None
        return str(int(value)) if value.is_integer() else repr(value)
    if value is None:
        return None
    return _TYPE_ERROR


def reservoir_keys(seed: int, size: int) -> np.ndarray:
    """`size` random reservoir keys (uint64 below 2**63), reproducible from `seed`."""
    return np.random.default_rng(seed).integers(0, KEY_LIMIT, size=size, dtype=np.uint64)


def ascending(keys: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The order of (key, value) pairs ascending by key, then value (ties are rare)."""
    order = np.argsort(keys, kind="stable")
    ranked = keys[order]
    if len(ranked) > 1 and np.any(ranked[1:] == ranked[:-1]):
        order = np.lexsort((values, keys))
    return order


def bottom_k(keys: np.ndarray, values: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The `k` (key, value) pairs with the smallest keys (ties by value), ascending."""
    if len(keys) > k:
        chosen = np.argpartition(keys, k - 1)[:k]
        kth = keys[chosen].max()
        if np.count_nonzero(keys == kth) == 1:  # no tie at the cut: the k are determined
            order = chosen[ascending(keys[chosen], values[chosen])]
            return keys[order], values[order]
    order = ascending(keys, values)[:k]
    return keys[order], values[order]


NUMBER_TYPES = frozenset({int, float})
NUMBER_OR_NONE = frozenset({int, float, type(None)})


def split_numeric(values: Sequence) -> tuple[np.ndarray, int, int]:
    """(valid numbers, missing, type errors) of raw JSON values; NaN counts as missing."""
    kinds = set(map(type, values))
    if kinds <= NUMBER_OR_NONE:  # the common case, converted in C (None becomes NaN)
        array, type_errors = np.array(values, dtype=float), 0
        missing = 0
    else:
        numbers = [v for v in values if type(v) is float or type(v) is int]
        missing = sum(1 for v in values if v is None)
        type_errors = len(values) - len(numbers) - missing
        array = np.array(numbers, dtype=float)
    finite = np.isfinite(array)
    if not finite.all():
        missing += int((~finite).sum())
        array = array[finite]
    return array, missing, type_errors


def decile_edges(values: Sequence[float]) -> list[float]:
    """`numpy.quantile(values, [0.1, …, 0.9])` with duplicates dropped ([] when empty):
    the bin edges of a reference's numeric feature."""
    if not len(values):
        return []
    return np.unique(np.quantile(np.asarray(values, dtype=float), DECILES)).tolist()


def bin_counts(values: Sequence[float], edges: Sequence[float]) -> np.ndarray:
    """Counts of `values` in the `len(edges) + 1` bins of `edges`, outer bins open, a
    value equal to an edge counted in the bin above (`searchsorted(..., side="right")`)."""
    index = np.searchsorted(
        np.asarray(edges, dtype=float), np.asarray(values, dtype=float), side="right"
    )
    return np.bincount(index, minlength=len(edges) + 1)


def proportions(counts: Sequence[float], floor: float = 0.0) -> np.ndarray:
    """`counts` as shares of their sum (all zeros stay zeros), floored at `floor` if given."""
    counts = np.asarray(counts, dtype=float)
    total = counts.sum()
    share = counts / total if total > 0 else counts
    return np.maximum(share, floor) if floor else share


def sketch_of(values: np.ndarray) -> dict[int, int]:
    """Log-bucket counts: bucket i holds (gamma**(i-1), gamma**i]; <= 0 goes to ZERO."""
    positive = values[values > 0]
    index = np.ceil(np.log(positive) / math.log(SKETCH_GAMMA)).astype(np.int64)
    found, counts = np.unique(index, return_counts=True)
    sketch = dict(zip(found.tolist(), counts.tolist(), strict=True))
    if zeros := int(len(values) - len(positive)):
        sketch[SKETCH_ZERO] = zeros
    return sketch


def sketch_quantile(sketch: dict[int, int], q: float) -> float | None:
    """The q-quantile (0..1) from a sketch, within SKETCH_ALPHA relative error of
    `numpy.percentile(values, 100 * q, method="lower")`; None when empty."""
    total = sum(sketch.values())
    if not total:
        return None
    rank, seen = math.floor(q * (total - 1)), 0
    for index in sorted(sketch):
        seen += sketch[index]
        if seen > rank:
            break
    if index == SKETCH_ZERO:
        return 0.0
    return 2 * SKETCH_GAMMA**index / (SKETCH_GAMMA + 1)


def profile_numeric(
    feature: str, values: Sequence, spec: FeatureSpec, seed: int, sample_size: int = SAMPLE_SIZE
) -> FeatureProfile:
    """The profile of raw JSON `values` of a numeric feature."""
    array, missing, type_errors = split_numeric(values)
    profile = FeatureProfile(
        feature,
        NUMERIC,
        count=len(array),
        missing=missing,
        type_errors=type_errors,
        edges=list(spec.edges),
    )
    profile.bin_counts = bin_counts(array, spec.edges).tolist() if spec.edges else []
    if len(array):
        profile.min, profile.max = float(array.min()), float(array.max())
        profile.sum, profile.sum_sq = float(array.sum()), float(np.dot(array, array))
        profile.out_of_range = out_of_range(array, spec.low, spec.high)
    if spec.sketch:
        profile.sketch = sketch_of(array)
    if len(array) > sample_size:
        keys, array = bottom_k(reservoir_keys(seed, len(array)), array, sample_size)
        profile.sample_keys = keys.tolist()
    else:  # keys stay implied by the seed (`keys_of`) until a merge needs them
        profile.sample_seed = seed
    profile.sample = array.tolist()
    return profile


def keys_of(profile: FeatureProfile) -> np.ndarray:
    """The reservoir keys of `profile.sample`, explicit or implied by `sample_seed`."""
    if len(profile.sample_keys) or profile.sample_seed is None:
        return np.asarray(profile.sample_keys, dtype=np.uint64)
    return reservoir_keys(profile.sample_seed, len(profile.sample))


def out_of_range(array: np.ndarray, low: float | None, high: float | None) -> int:
    outside = np.zeros(len(array), dtype=bool)
    if low is not None:
        outside |= array < low
    if high is not None:
        outside |= array > high
    return int(outside.sum())


STRING_OR_NONE = frozenset({str, type(None)})


def profile_categorical(feature: str, values: Sequence, spec: FeatureSpec) -> FeatureProfile:
    """The profile of raw JSON `values` of a categorical feature."""
    if set(map(type, values)) <= STRING_OR_NONE:  # canonical but maybe long: count in C
        counts = Counter(values)
        if any(len(key) > MAX_CATEGORY_LENGTH for key in counts if key is not None):
            counts = Counter(map(category_key, values))
    else:
        counts = Counter(map(category_key, values))
    missing, type_errors = counts.pop(None, 0), counts.pop(_TYPE_ERROR, 0)
    profile = FeatureProfile(
        feature, CATEGORICAL, count=sum(counts.values()), missing=missing, type_errors=type_errors
    )
    if spec.categories is not None:
        profile.unseen = sum(n for key, n in counts.items() if key not in spec.categories)
    profile.categories = fold_categories(counts)
    return profile


def profile_values(
    feature: str, values: Sequence, spec: FeatureSpec, seed: int = 0, sample_size: int = SAMPLE_SIZE
) -> FeatureProfile:
    """The profile of one feature's raw values (JSON scalars, None for missing)."""
    if spec.kind == CATEGORICAL:
        return profile_categorical(feature, values, spec)
    return profile_numeric(feature, values, spec, seed, sample_size)


def infer_kind(values: Iterable) -> str:
    """Numeric when numbers are at least half of the non-missing values, else categorical."""
    kinds = set(map(type, values))
    if kinds <= NUMBER_OR_NONE or kinds <= STRING_OR_NONE:
        return NUMERIC if kinds & NUMBER_TYPES or not kinds - {type(None)} else CATEGORICAL
    numbers = others = 0
    for value in values:
        if type(value) is float or type(value) is int:
            numbers += 1
        elif value is not None:
            others += 1
    return NUMERIC if numbers >= others else CATEGORICAL


def fold_categories(counts: dict[str, int], limit: int = MAX_CATEGORIES) -> dict[str, int]:
    """Keep the `limit` most frequent categories (ties by name); fold the rest into OTHER."""
    if len(counts) <= limit:
        return dict(counts)
    ranked = sorted(counts.items(), key=lambda item: (item[0] == OTHER, -item[1], item[0]))
    kept = dict(ranked[:limit])
    kept[OTHER] = kept.get(OTHER, 0) + sum(n for _, n in ranked[limit:])
    return kept


def _merged_edges(profiles: Sequence[FeatureProfile]) -> list[float]:
    binned = {tuple(p.edges) for p in profiles if p.count and p.kind == NUMERIC}
    if len(binned) > 1:
        raise ValueError("Profiles binned on different edges: conform() them first.")
    if binned:
        return list(binned.pop())
    return list(profiles[0].edges)


def _merged_sample(profiles: Sequence[FeatureProfile], k: int) -> tuple[list, np.ndarray]:
    """(values as a list, keys as a uint64 array), ascending by key."""
    parts = [p for p in profiles if len(p.sample)]
    if not parts:
        return [], np.empty(0, dtype=np.uint64)
    keys = np.concatenate([keys_of(p) for p in parts])
    values = np.concatenate([np.asarray(p.sample, dtype=float) for p in parts])
    keys, values = bottom_k(keys, values, k)
    return values.tolist(), keys


def _merged_bins(profiles: Sequence[FeatureProfile], edges: list[float]) -> list[int]:
    if not edges:
        return []
    total = np.zeros(len(edges) + 1, dtype=np.int64)
    for p in profiles:
        if p.count and p.bin_counts:
            total += np.asarray(p.bin_counts, dtype=np.int64)
    return total.tolist()


def _merged_categories(profiles: Sequence[FeatureProfile]) -> dict[str, int]:
    counts: Counter = Counter()
    for p in profiles:
        counts.update(p.categories)
    return fold_categories(counts)


def _merged_sketch(profiles: Sequence[FeatureProfile]) -> dict[int, int]:
    counts: Counter = Counter()
    for p in profiles:
        counts.update(p.sketch)
    return dict(counts)


def _extreme(values: Iterable[float | None], pick) -> float | None:
    present = [v for v in values if v is not None]
    return pick(present) if present else None


def merge_all(profiles: Sequence[FeatureProfile], sample_size: int = SAMPLE_SIZE) -> FeatureProfile:
    """The profile of the union of the rows of `profiles` (same feature, kind, edges).

    Raises ValueError when kinds or non-empty bin edges differ: `conform` them first.
    """
    if not profiles:
        raise ValueError("Nothing to merge.")
    first = profiles[0]
    if len({p.kind for p in profiles}) > 1:
        raise ValueError("Profiles of different kinds: conform() them first.")
    edges = _merged_edges(profiles)
    sample, keys = _merged_sample(profiles, sample_size)
    return FeatureProfile(
        feature=first.feature,
        kind=first.kind,
        count=sum(p.count for p in profiles),
        missing=sum(p.missing for p in profiles),
        type_errors=sum(p.type_errors for p in profiles),
        out_of_range=sum(p.out_of_range for p in profiles),
        unseen=sum(p.unseen for p in profiles),
        min=_extreme((p.min for p in profiles), min),
        max=_extreme((p.max for p in profiles), max),
        sum=math.fsum(p.sum for p in profiles),
        sum_sq=math.fsum(p.sum_sq for p in profiles),
        edges=edges,
        bin_counts=_merged_bins(profiles, edges),
        categories=_merged_categories(profiles),
        sample=sample,
        sample_keys=keys,
        sketch=_merged_sketch(profiles),
    )


def merge(a: FeatureProfile, b: FeatureProfile, sample_size: int = SAMPLE_SIZE) -> FeatureProfile:
    """The profile of the rows of `a` and `b` together (associative, commutative)."""
    return merge_all([a, b], sample_size)


def empty_profile(feature: str, spec: FeatureSpec) -> FeatureProfile:
    bins = [0] * (len(spec.edges) + 1) if spec.edges and spec.kind == NUMERIC else []
    return FeatureProfile(
        feature, spec.kind, edges=list(spec.edges) if bins else [], bin_counts=bins
    )


def scaled_counts(counts: np.ndarray, total: int) -> np.ndarray:
    """`counts` rescaled to sum to `total` (largest remainders), as integers."""
    have = counts.sum()
    if have == 0 or have == total:
        return counts.astype(np.int64)
    exact = counts * (total / have)
    floor = np.floor(exact).astype(np.int64)
    extra = np.argsort(-(exact - floor), kind="stable")[: total - floor.sum()]
    floor[extra] += 1
    return floor


def conform(profile: FeatureProfile, kind: str, edges: Sequence[float]) -> FeatureProfile:
    """`profile` re-expressed with `kind` and bins `edges` (e.g. after a new reference).

    Exact while the profile's sample holds all its values (count <= SAMPLE_SIZE);
    beyond, bin or category counts come from the sample scaled to `count`.
    """
    edges = [float(e) for e in edges]
    if profile.kind == kind and (kind == CATEGORICAL or profile.edges == edges):
        return profile
    if profile.kind == kind == NUMERIC:
        return replace(profile, edges=edges, bin_counts=_rebinned(profile, edges))
    if profile.kind == kind:
        return profile
    if kind == CATEGORICAL:
        return _numeric_to_categorical(profile)
    return _categorical_to_numeric(profile, edges)


def _rebinned(profile: FeatureProfile, edges: list[float]) -> list[int]:
    if profile.edges == edges and profile.bin_counts:
        return list(profile.bin_counts)
    if not edges:
        return []
    counts = bin_counts(profile.sample, edges)
    return scaled_counts(counts, profile.count).tolist()


def _numeric_to_categorical(profile: FeatureProfile) -> FeatureProfile:
    counts = Counter(category_key(float(v)) for v in profile.sample)
    keys = list(counts)
    scaled = scaled_counts(np.array([counts[k] for k in keys]), profile.count)
    return replace(
        profile,
        kind=CATEGORICAL,
        edges=[],
        bin_counts=[],
        sample=[],
        sample_keys=[],
        out_of_range=0,
        sample_seed=None,
        categories=fold_categories(dict(zip(keys, scaled.tolist(), strict=True))),
    )


def _categorical_to_numeric(profile: FeatureProfile, edges: list[float]) -> FeatureProfile:
    numbers, counts, not_numbers = [], [], 0
    for key, n in profile.categories.items():
        try:
            numbers.append(float(key))
            counts.append(n)
        except ValueError:
            not_numbers += n
    values = np.repeat(np.asarray(numbers, dtype=float), np.asarray(counts, dtype=np.int64))
    values = values[np.isfinite(values)]
    rebuilt = profile_numeric(
        profile.feature, values.tolist(), FeatureSpec(NUMERIC, tuple(edges)), seed=0
    )
    rebuilt.missing, rebuilt.type_errors = profile.missing, profile.type_errors + not_numbers
    return rebuilt
