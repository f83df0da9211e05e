"""Calibrated thresholds (`"threshold": "auto"`): mean ± k·std of a statistic over chunks.

A rule with `"threshold": "auto"` does not take a fixed limit: its limit is derived from
the data it is compared with (docs/checks.md, "Calibrated thresholds"). The reference is
cut into chunks of the window's expected size, the rule's statistic is computed on each
chunk exactly as a window's is, and the limit is `mean + k·std` of those values (`mean -
k·std` for a rule that breaks below it; for drift statistics, `k` standard deviations up
on a log-normal fitted to the same mean and std, `Calibration.scale`). How it was derived
travels with every result as `details["calibration"]` = `Calibration.as_dict()`.

Chunks (`chunk_indices`): when the values hold at least `MIN_CHUNKS` chunks of the size,
they are cut into disjoint chunks (at most `MAX_CHUNKS`); with fewer values, the values
are resampled into `RESAMPLED_CHUNKS` chunks drawn with replacement (a bootstrap), since
a standard deviation over two or three chunks would be noise, and a window larger than
the stored reference sample must still be compared at its own size. A reference's
stored sample is shuffled first (seeded): its order is not time (a categorical sample
rebuilt from counts is grouped by key). A metric's or labelled predictions' own history
(`ordered=True`) keeps its time order, so that chunks are past stretches of time.

Drift (`calibrate_feature`): the per-chunk statistic is the method's, computed by
`alerts_app.checks.drift.bounded_statistic` on the same inputs a window gets (KS: its D
alone, `ks_statistic`): the distance for psi / js / wasserstein, the test statistic
(not the p-value) for ks (D), chi2 (χ²) and z (|z|). The threshold is on the log scale
(`drift_calibration`), and the drift check corrects it for the number of features it
judges (`checks.drift.calibrated_results`): `k` bounds one feature's false alarms, the
rule's `correction` bounds them across its features, as it does for p-values.

A disjoint chunk is compared with the rest of the reference
(the reference less that chunk: sample, bin counts and category counts), because a
window is never part of the reference it is compared with: against the whole
reference, which contains the chunk, the statistic reads smaller (for KS by about
sqrt((m - n) / (m + n)), 10 % for 500 of 5,000 values) and the threshold too low
(measured: 5.5 % of stable 500-row windows past a KS threshold at k = 3, 2-3 % against
the rest). A resampled chunk (drawn with replacement from the reference) is compared
with a bootstrap copy of the reference (`ReferenceFeature.resample`): against the
reference itself it would miss the reference's own noise, which dominates when the
window is larger than the reference (measured: KS, 1,000 reference values, windows of
2,000: 39 % false alarms at k = 3 against the reference itself).

Public interface (stable; `bench/` calls it):

    ReferenceFeature.from_values(values) -> ReferenceFeature
        the reference of one feature built from raw values as a stored reference summary
        would be (numbers: decile edges, bin counts, std, sample; anything else:
        category counts);
    ReferenceFeature.from_summary(part) -> ReferenceFeature
        the same from one feature of a `Reference.summary` (models_app/reference.py);
    drift_statistic(reference, current, method) -> float
        the statistic of a window's values `current` against the reference, as the
        drift check computes it (D, χ², |z|, PSI, JS or normalised Wasserstein);
    calibrate_feature(reference, method, chunk_size, k=3.0, seed=0) -> Calibration | None
        the calibrated drift threshold of one feature, before the correction across
        features (None: fewer reference values than the method's minimum, MIN_SAMPLES);
    drift_calibration(band, k=3.0) -> Calibration
        a drift band's threshold (log scale);
    calibrate(n, statistic, chunk_size, k=3.0, *, method, direction="upper", seed=0,
              ordered=False) -> Calibration | None
        the same for any statistic of a chunk: `statistic(indices)` of the chunk's row
        indices among `n` values (ValueError: undefined on that chunk, skipped);
    expected_chunk_size(n) -> int
        a window's row count rounded to the R10 series (the size used for the cache).

Pure: numpy in, numbers out; no ORM, no settings, no clock. (Importing it loads the
app's modules, `models_app.profiles` for the bins: a script outside the app calls
`django.setup()` first, as bench/calibration.py does; no database is touched.)
"""

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from alerts_app.checks.drift import AUTO_MIN_SAMPLES as MIN_SAMPLES
from alerts_app.checks.drift import FeatureData, bounded_statistic
from models_app.profiles import bin_counts, decile_edges

DEFAULT_K = 3.0
MIN_CHUNKS = 10  # fewer disjoint chunks than this: resample instead
MAX_CHUNKS = 100  # disjoint chunks beyond this are not computed (the band is stable)
RESAMPLED_CHUNKS = 50
MIN_STATISTICS = 5  # fewer chunks with a defined statistic: no calibration
POPULATION = 5000  # categorical references are expanded to this many values at most
LINEAR, LOG = "linear", "log"  # how a band spreads (Calibration.scale)
R10 = (1.0, 1.25, 1.6, 2.0, 2.5, 3.15, 4.0, 5.0, 6.3, 8.0, 10.0)


@dataclass(frozen=True)
class Band:
    """The statistic over the chunks, before `k`: what the cache keeps."""

    method: str
    chunk_size: int
    chunks: int
    mean: float
    std: float
    resampled: bool

    def calibration(
        self, k: float = DEFAULT_K, direction: str = "upper", scale: str = LINEAR
    ) -> "Calibration":
        """The threshold `k` standard deviations out on `scale` (see `Calibration`)."""
        found = Calibration(
            self.method,
            self.chunk_size,
            self.chunks,
            self.mean,
            self.std,
            float(k),
            math.nan,
            self.resampled,
            direction,
            scale,
        )
        return replace(found, threshold=found.value_at(k))


@dataclass(frozen=True)
class Calibration:
    """A calibrated threshold and how it was derived.

    `scale` is how the chunks' statistics are spread around their mean: `linear`, a
    normal spread (threshold = mean ± k·std: metrics, performance, estimates), or `log`,
    a log-normal one fitted to the same mean and std (threshold = exp(μ + k·σ) with
    σ² = ln(1 + std²/mean²), μ = ln(mean) − σ²/2), for the drift statistics: distances
    and test statistics are positive and skewed right (a χ² or a Wasserstein distance
    of chunks has a long upper tail), so a normal band puts the threshold too low
    (bench/false_alarms.py, docs/checks.md "False alarms and detection delay").
    `z_of(value)` is a value's place on that scale in standard deviations and
    `value_at(z)` its inverse: the threshold is `value_at(k)`.
    """

    method: str
    chunk_size: int
    chunks: int
    mean: float
    std: float
    k: float
    threshold: float
    resampled: bool = False
    direction: str = "upper"
    scale: str = LINEAR

    def log_params(self) -> tuple[float, float] | None:
        """(μ, σ) of the log-normal with this mean and std; None when it has none (a
        mean of 0 or less, a std of 0), where the linear scale is used instead."""
        if self.scale != LOG or not self.mean > 0 or not self.std > 0:
            return None
        sigma2 = math.log1p((self.std / self.mean) ** 2)
        return math.log(self.mean) - sigma2 / 2, math.sqrt(sigma2)

    def value_at(self, z: float) -> float:
        """The statistic `z` standard deviations out on the breaking side."""
        sign = 1.0 if self.direction == "upper" else -1.0
        params = self.log_params()
        if params is None:
            return float(self.mean + sign * z * self.std)
        mu, sigma = params
        return float(math.exp(mu + sign * z * sigma))

    def z_of(self, value: float) -> float:
        """How many standard deviations `value` lies out on the breaking side (negative:
        on the other side); ±inf where the band has no spread."""
        sign = 1.0 if self.direction == "upper" else -1.0
        params = self.log_params()
        if params is not None and value > 0:
            mu, sigma = params
            return sign * (math.log(value) - mu) / sigma
        if params is not None:
            return -sign * math.inf
        gap = sign * (value - self.mean)
        if self.std > 0:
            return gap / self.std
        return 0.0 if gap == 0 else math.copysign(math.inf, gap)

    def as_dict(self) -> dict:
        """`details["calibration"]`: {method, chunk_size, chunks, mean, std, k, threshold,
        resampled, direction, scale}."""
        return {
            "method": self.method,
            "chunk_size": self.chunk_size,
            "chunks": self.chunks,
            "mean": self.mean,
            "std": self.std,
            "k": self.k,
            "threshold": self.threshold,
            "resampled": self.resampled,
            "direction": self.direction,
            "scale": self.scale,
        }


def expected_chunk_size(n: int) -> int:
    """`n` rounded to the nearest step of the R10 series (1, 1.25, 1.6, 2, 2.5, 3.15, 4,
    5, 6.3, 8 × 10^i; steps of 26 %, nearest in log scale): a window whose row count
    varies a little reuses the same cached calibration, and a statistic whose spread
    goes as 1/sqrt(n) moves by at most 6 % between two steps."""
    if n <= 1:
        return 1
    decade = 10 ** math.floor(math.log10(n))
    mantissa = min(R10, key=lambda step: abs(math.log(n / decade) - math.log(step)))
    return max(1, int(round(mantissa * decade)))


def chunk_indices(
    n: int, chunk_size: int, seed: int = 0, ordered: bool = False
) -> tuple[list[np.ndarray], bool]:
    """(row indices of each chunk, resampled) of `n` values cut into chunks of
    `chunk_size` (see the module docstring); [] when n or chunk_size is 0."""
    if n <= 0 or chunk_size <= 0:
        return [], False
    rng = np.random.default_rng(seed)
    count = n // chunk_size
    if count >= MIN_CHUNKS:
        order = np.arange(n) if ordered else rng.permutation(n)
        count = min(count, MAX_CHUNKS)
        start = n - count * chunk_size if ordered else 0  # the newest stretch of history
        return [
            order[start + i * chunk_size : start + (i + 1) * chunk_size] for i in range(count)
        ], False
    return [rng.integers(0, n, size=chunk_size) for _ in range(RESAMPLED_CHUNKS)], True


def band_of(values: np.ndarray, method: str, chunk_size: int, resampled: bool) -> Band | None:
    """Mean and sample std (`numpy.std(ddof=1)`) of the finite chunk statistics; None
    with fewer than MIN_STATISTICS of them."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if len(values) < MIN_STATISTICS:
        return None
    return Band(
        method,
        int(chunk_size),
        len(values),
        float(values.mean()),
        float(values.std(ddof=1)),
        resampled,
    )


def chunk_band(
    n: int,
    statistic_of: Callable[[np.ndarray], float],
    chunk_size: int,
    method: str,
    seed: int = 0,
    ordered: bool = False,
) -> Band | None:
    """The Band of `statistic_of(indices)` over the chunks of `n` values (a chunk whose
    statistic raises ValueError, undefined there, is left out)."""
    chunks, resampled = chunk_indices(n, chunk_size, seed, ordered)
    found = []
    for indices in chunks:
        try:
            found.append(float(statistic_of(indices)))
        except ValueError:
            continue
    return band_of(np.asarray(found), method, chunk_size, resampled)


def calibrate(
    n: int,
    statistic_of: Callable[[np.ndarray], float],
    chunk_size: int,
    k: float = DEFAULT_K,
    *,
    method: str,
    direction: str = "upper",
    seed: int = 0,
    ordered: bool = False,
) -> Calibration | None:
    """The calibrated threshold of any chunk statistic (see the module docstring)."""
    band = chunk_band(n, statistic_of, chunk_size, method, seed, ordered)
    return None if band is None else band.calibration(k, direction)


# -- drift ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReferenceFeature:
    """One feature of a reference, as the drift check reads it, plus the values its
    chunks are cut from (`values`: the numeric sample, or the categories expanded)."""

    kind: str  # numeric | categorical
    n: int  # valid values in the whole reference
    values: np.ndarray
    sample: np.ndarray  # numeric: the stored sample; categorical: empty
    bins: np.ndarray | None = None  # numeric: the whole reference's decile bin counts
    edges: tuple = ()
    categories: dict | None = None  # categorical: the whole reference's counts
    std: float | None = None

    @classmethod
    def from_values(cls, values) -> "ReferenceFeature":
        """The reference of raw values: numbers (a float array) as a numeric feature, any
        other values as categories (their text)."""
        array = np.asarray(values)
        if array.dtype.kind in "fiu":
            numbers = array.astype(float)
            numbers = numbers[np.isfinite(numbers)]
            edges = decile_edges(numbers)
            return cls(
                "numeric",
                len(numbers),
                numbers,
                numbers,
                bin_counts(numbers, edges).astype(float),
                tuple(edges),
                None,
                float(numbers.std()) if len(numbers) else None,
            )
        counts = dict(Counter(str(v) for v in array.tolist() if v is not None))
        return cls.categorical(counts)

    @classmethod
    def categorical(cls, counts: dict) -> "ReferenceFeature":
        return cls(
            "categorical",
            int(sum(counts.values())),
            expand(counts, POPULATION),
            np.empty(0),
            categories=dict(counts),
        )

    @classmethod
    def from_summary(cls, part: dict) -> "ReferenceFeature":
        """From one feature of a `Reference.summary` (type, count, sample, edges,
        bin_counts, categories, std)."""
        if part.get("type") != "numeric":
            return cls.categorical(dict(part.get("categories") or {}))
        sample = numbers_of(part.get("sample"))
        edges, bins = part.get("edges") or [], part.get("bin_counts") or []
        usable = bool(bins) and len(bins) == len(edges) + 1
        return cls(
            "numeric",
            int(part.get("count") or 0),
            sample,
            sample,
            np.asarray(bins, float) if usable else None,
            tuple(edges) if usable else (),
            None,
            part.get("std"),
        )

    def without(self, indices: np.ndarray) -> "ReferenceFeature":
        """The reference less the values at `indices` (of `values`): a chunk is compared
        with the rest of the reference, as a window is with a reference it is not part of."""
        keep = np.ones(len(self.values), dtype=bool)
        keep[indices] = False
        chunk = self.values[indices]
        if self.kind == "categorical":
            taken = Counter(chunk.tolist())
            rest = {key: max(n - taken.get(key, 0), 0) for key, n in self.categories.items()}
            return replace(
                self, n=max(self.n - len(chunk), 0), values=self.values[keep], categories=rest
            )
        bins = self.bins
        if bins is not None:
            bins = np.maximum(bins - bin_counts(chunk, self.edges), 0).astype(float)
        return replace(
            self,
            n=max(self.n - len(chunk), 0),
            values=self.values[keep],
            sample=self.values[keep],
            bins=bins,
        )

    def resample(self, rng: np.random.Generator) -> "ReferenceFeature":
        """A bootstrap copy of the reference, for resampled chunks: its sample drawn with
        replacement at its size, its counts (bins, categories) drawn from a multinomial
        of the whole reference's size and shares. A resampled chunk compared with it
        carries the reference's own sampling noise, as a window compared with the
        reference does (the std normaliser stays the reference's)."""
        if self.kind == "categorical":
            keys = list(self.categories)
            drawn = multinomial(rng, [self.categories[k] for k in keys])
            return replace(self, categories=dict(zip(keys, drawn.tolist(), strict=True)))
        sample = self.values[rng.integers(0, len(self.values), len(self.values))]
        bins = None if self.bins is None else multinomial(rng, self.bins).astype(float)
        return replace(self, values=sample, sample=sample, bins=bins)


def multinomial(rng: np.random.Generator, counts) -> np.ndarray:
    counts = np.asarray(counts, dtype=float)
    total = int(round(counts.sum()))
    return rng.multinomial(total, counts / counts.sum()) if total else counts.astype(int)


def numbers_of(values) -> np.ndarray:
    try:
        array = np.asarray(values if values is not None else [], dtype=float)
    except (TypeError, ValueError):
        array = np.asarray([v for v in values if isinstance(v, (int, float))], dtype=float)
    return array[np.isfinite(array)]


def expand(counts: dict, size: int) -> np.ndarray:
    """The categories of `counts` as an array of at most `size` keys in the same
    proportions (largest remainder), grouped by key (chunks shuffle it)."""
    keys = list(counts)
    if not keys:
        return np.empty(0, dtype=object)
    weights = np.asarray([counts[k] for k in keys], dtype=float)
    total = int(weights.sum())
    target = min(total, size)
    exact = weights / weights.sum() * target
    scaled = np.floor(exact).astype(int)
    short = target - int(scaled.sum())
    if short > 0:
        scaled[np.argsort(-(exact - scaled), kind="stable")[:short]] += 1
    out = np.empty(int(scaled.sum()), dtype=object)
    out[:] = [key for key, times in zip(keys, scaled.tolist(), strict=True) for _ in range(times)]
    return out


def window_data(reference: ReferenceFeature, current) -> FeatureData:
    """The drift check's input for `current` values against `reference`, built as the
    loader builds it from profiles (bins over the reference's edges, category counts)."""
    if reference.kind == "categorical":
        cur = Counter(str(v) for v in np.asarray(current, dtype=object).tolist())
        return FeatureData(
            "categorical",
            reference.n,
            int(sum(cur.values())),
            ref_categories=reference.categories,
            cur_categories=dict(cur),
        )
    cur = np.asarray(current, dtype=float)
    return FeatureData(
        "numeric",
        reference.n,
        len(cur),
        ref_sample=reference.sample,
        cur_sample=cur,
        ref_bins=reference.bins,
        cur_bins=None if reference.bins is None else bin_counts(cur, reference.edges).astype(float),
        ref_std=reference.std,
    )


def drift_statistic(reference: ReferenceFeature, current, method: str) -> float:
    """The statistic of the window's values `current` against `reference`."""
    if method == "ks" and reference.kind == "numeric":
        return ks_statistic(reference.sample, np.asarray(current, dtype=float))
    return bounded_statistic(window_data(reference, current), method)[0]


def ks_statistic(reference: np.ndarray, current: np.ndarray) -> float:
    """The two-sample KS statistic D, as `scipy.stats.ks_2samp` computes it (the largest
    gap between the two empirical CDFs over every value), without its p-value, whose
    exact computation costs most of ks_2samp's time and is not needed here."""
    a, b = np.sort(reference), np.sort(current)
    values = np.concatenate([a, b])
    gap = np.searchsorted(a, values, side="right") / len(a) - np.searchsorted(
        b, values, side="right"
    ) / len(b)
    return float(np.max(np.abs(gap)))


def feature_band(
    reference: ReferenceFeature, method: str, chunk_size: int, seed: int = 0
) -> Band | None:
    """The Band of `method`'s statistic over chunks of the reference (None: fewer
    reference values than MIN_SAMPLES[method])."""
    values = reference.values
    if len(values) < MIN_SAMPLES.get(method, 1) or chunk_size < 1:
        return None
    chunks, resampled = chunk_indices(len(values), chunk_size, seed)
    if resampled:
        rng = np.random.default_rng([seed, 1])
        found = [drift_statistic(reference.resample(rng), values[idx], method) for idx in chunks]
    else:
        found = [drift_statistic(reference.without(idx), values[idx], method) for idx in chunks]
    return band_of(np.asarray(found), method, chunk_size, resampled)


def calibrate_feature(
    reference: ReferenceFeature,
    method: str,
    chunk_size: int,
    k: float = DEFAULT_K,
    seed: int = 0,
) -> Calibration | None:
    """The calibrated drift threshold of one feature: `k` standard deviations up (log
    scale) of `method`'s statistic over chunks of `chunk_size` reference values, each
    against the rest of the reference. None when the reference holds fewer values than
    MIN_SAMPLES[method]."""
    band = feature_band(reference, method, chunk_size, seed)
    return None if band is None else drift_calibration(band, k)


def drift_calibration(band: Band, k: float = DEFAULT_K) -> Calibration:
    """A drift statistic's threshold: `k` standard deviations up on the log scale."""
    return band.calibration(k, "upper", LOG)
