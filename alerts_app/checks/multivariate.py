"""Multivariate drift: whether a window's rows, taken whole, differ from the reference's.

Per-feature tests miss a change in how features vary together (a correlation that flips
while every marginal stays put). Both methods here read whole rows: the reference's joint
row sample and a bounded sample of the window's rows (docs/checks.md, "Multivariate
drift"), encoded alike by `fit_encoding` / `encode`:

- a numeric feature is one column; a categorical feature one 0/1 column per category among
  the reference sample's `MAX_CATEGORIES` most frequent (ties by name), any other
  category or a missing value being all zeros;
- a missing number is the reference sample's mean for PCA (0 once standardised); the
  classifier keeps it missing (its trees learn where missing values go, so a change in
  missingness is itself a difference).

`pca_reconstruction`: standardise on the reference (`StandardScaler`), keep the principal
components that explain 65 % of its variance (`PCA(n_components=0.65,
svd_solver="full")`); a row's reconstruction error is the sum of its squared standardised
residuals `‖z − inverse_transform(transform(z))‖²`. The value is the window's mean error;
the band is mean ± k·std (ddof=1) of the mean error of consecutive reference chunks of
`chunk_size` rows. Outside the band breaks.

`domain_classifier`: rows labelled 0 (reference) and 1 (window); the value is the mean ROC
AUC over `StratifiedKFold(5, shuffle=True, random_state=0)` of `classifier()`, a
`HistGradientBoostingClassifier`; above `threshold` breaks.

Pure: columns in, an `Outcome` out (no ORM, no settings, no clock); every random choice
is seeded (`SEED`), and the classifier runs on one thread (`threadpool_limits`), so the
same data gives the same result.
"""

from dataclasses import dataclass, field

import numpy as np
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from alerts_app.checks.base import Outcome, insufficient, verdict
from alerts_app.checks.causes import UNBOUNDED, cause, explained, percent, ranked, shown_name

NUMERIC = "numeric"
SEED = 0
VARIANCE_KEPT = 0.65
MAX_CATEGORIES = 20
MIN_CHUNKS = 10
FOLDS = 5
CLASSIFIER_ITERATIONS = 50
METHODS = ("pca_reconstruction", "domain_classifier")


@dataclass
class MultivariateData:
    """Whole rows of both sides, column by column (each list one value per row).

    `types[name]` is "numeric" (values: floats, None when missing) or "categorical"
    (canonical category strings, None when missing), as the reference typed the feature;
    `skipped` = {feature: why it is left out} (the loader's part).
    """

    features: list[str]
    types: dict[str, str]
    reference: dict[str, list]
    current: dict[str, list]
    n_reference: int
    n_current: int
    skipped: dict[str, str] = field(default_factory=dict)
    rows_in_window: int | None = None  # all the window's rows (n_current: those sampled)


@dataclass(frozen=True)
class Encoding:
    """How rows become a matrix: `columns` = (feature, category or None for a number)."""

    columns: tuple[tuple[str, str | None], ...]
    means: dict[str, float]

    def groups(self) -> dict[str, np.ndarray]:
        """The matrix columns of each feature: {feature: column indices}."""
        found: dict[str, list[int]] = {}
        for index, (name, _) in enumerate(self.columns):
            found.setdefault(name, []).append(index)
        return {name: np.asarray(indices) for name, indices in found.items()}


def numbers(values: list) -> np.ndarray:
    """A column as floats, NaN where a value is missing or not a number."""
    return np.asarray(
        [
            float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else np.nan
            for v in values
        ],
        dtype=float,
    )


def top_categories(values: list) -> list[str]:
    """The MAX_CATEGORIES most frequent categories (ties by name), missing left out."""
    counts: dict[str, int] = {}
    for value in values:
        if value is not None:
            counts[str(value)] = counts.get(str(value), 0) + 1
    order = sorted(counts, key=lambda key: (-counts[key], key))
    return order[:MAX_CATEGORIES]


def fit_encoding(data: MultivariateData) -> tuple[Encoding, dict[str, str]]:
    """The encoding fitted on the reference, and {feature: why it cannot be encoded}."""
    columns, means, skipped = [], {}, {}
    for name in data.features:
        values = data.reference[name]
        if data.types[name] == NUMERIC:
            array = numbers(values)
            if not np.isfinite(array).any():
                skipped[name] = "No values in the reference sample."
                continue
            means[name] = float(np.nanmean(array))
            columns.append((name, None))
            continue
        categories = top_categories(values)
        if not categories:
            skipped[name] = "No values in the reference sample."
            continue
        columns.extend((name, category) for category in categories)
    return Encoding(tuple(columns), means), skipped


def encode(columns: dict[str, list], encoding: Encoding, n: int) -> np.ndarray:
    """The rows as a float matrix (NaN: a missing number), one column per encoded one."""
    matrix = np.zeros((n, len(encoding.columns)), dtype=float)
    keys: dict[str, np.ndarray] = {}
    for index, (name, category) in enumerate(encoding.columns):
        if category is None:
            matrix[:, index] = numbers(columns[name])
            continue
        if name not in keys:
            keys[name] = np.asarray([None if v is None else str(v) for v in columns[name]])
        matrix[:, index] = keys[name] == category
    return matrix


def imputed(matrix: np.ndarray, encoding: Encoding) -> np.ndarray:
    """Missing numbers replaced by the reference sample's mean of their feature."""
    matrix = matrix.copy()
    for index, (name, category) in enumerate(encoding.columns):
        if category is None:
            column = matrix[:, index]
            column[np.isnan(column)] = encoding.means[name]
    return matrix


def excess(value: float, limit: float) -> float:
    """`value / limit`, UNBOUNDED for any excess over a zero limit (causes.py's scale)."""
    if limit > 0:
        return min(value / limit, UNBOUNDED)
    return UNBOUNDED if value > 0 else 0.0


# -- PCA reconstruction ------------------------------------------------------------------


def reconstruction(reference: np.ndarray) -> tuple[StandardScaler, object]:
    """The scaler and the PCA (65 % of the variance) fitted on the reference rows."""
    # Imported here, as the classifier is: every process that imports the kinds (web
    # workers too) would otherwise load sklearn.decomposition and sklearn.ensemble.
    from sklearn.decomposition import PCA

    scaler = StandardScaler().fit(reference)
    pca = PCA(n_components=VARIANCE_KEPT, svd_solver="full", random_state=SEED)
    return scaler, pca.fit(scaler.transform(reference))


def squared_residuals(rows: np.ndarray, scaler: StandardScaler, pca) -> np.ndarray:
    """Per row and column, the squared standardised residual; a row's error is its sum."""
    z = scaler.transform(rows)
    return (z - pca.inverse_transform(pca.transform(z))) ** 2


def chunk_errors(errors: np.ndarray, size: int) -> np.ndarray:
    """The mean error of each whole chunk of `size` consecutive rows (a remainder dropped)."""
    n_chunks = len(errors) // size
    return errors[: n_chunks * size].reshape(n_chunks, size).mean(axis=1)


def chunk_size(config: dict, n_reference: int, n_current: int) -> int:
    """`chunk_size`, else the window's row count, at most a MIN_CHUNKS-th of the reference
    (a smaller chunk than the window widens the band: fewer false alarms)."""
    if config.get("chunk_size"):
        return int(config["chunk_size"])
    return max(1, min(n_current, n_reference // MIN_CHUNKS))


def pca_reconstruction(
    reference: np.ndarray, current: np.ndarray, encoding: Encoding, config: dict, common: dict
) -> Outcome:
    size = chunk_size(config, len(reference), len(current))
    if len(reference) // size < 2:
        return insufficient(
            f"The reference sample ({len(reference)} rows) holds fewer than two chunks of "
            f"{size} rows.",
            **common,
        )
    reference, current = imputed(reference, encoding), imputed(current, encoding)
    scaler, pca = reconstruction(reference)
    ref_cells, cur_cells = (squared_residuals(m, scaler, pca) for m in (reference, current))
    chunks = chunk_errors(ref_cells.sum(axis=1), size)
    centre, spread, k = float(chunks.mean()), float(chunks.std(ddof=1)), float(config["k"])
    lower, upper = centre - k * spread, centre + k * spread
    error = float(cur_cells.sum(axis=1).mean())
    breached = error > upper or error < lower
    contributions = {
        name: {
            "reference": float(ref_cells[:, columns].sum(axis=1).mean()),
            "current": float(cur_cells[:, columns].sum(axis=1).mean()),
        }
        for name, columns in encoding.groups().items()
    }
    details = common | {
        "error": error,
        "band": {"lower": lower, "upper": upper, "mean": centre, "std": spread, "k": k},
        "chunk_size": size,
        "n_chunks": len(chunks),
        "components": int(pca.n_components_),
        "variance_kept": float(pca.explained_variance_ratio_.sum()),
        "contributions": contributions,
    }
    if breached:
        score = excess(abs(error - centre), k * spread)
        details["causes"] = pca_causes(contributions, 1.0 if error > centre else -1.0, score)
    return verdict(breached, error, upper if error >= centre else lower, **details)


def pca_causes(contributions: dict[str, dict], direction: float, score: float) -> list[dict]:
    """Features by their share of the error's rise (or fall, `direction` -1), each scored
    share × the result's score (|error − mean| / (k·std): 1 at the band's edge)."""
    moves = {
        name: direction * (part["current"] - part["reference"])
        for name, part in contributions.items()
    }
    total = sum(move for move in moves.values() if move > 0)
    word = "rise" if direction > 0 else "fall"
    found = []
    for name, move in moves.items():
        if move <= 0 or total <= 0:
            continue
        share, part = move / total, contributions[name]
        summary = (
            f"{shown_name(name)}: {percent(share)} of the reconstruction error's {word} "
            f"({part['reference']:.3g} → {part['current']:.3g})"
        )
        found.append(cause("feature", name, share * score, summary))
    return ranked(found)


# -- domain classifier -------------------------------------------------------------------


def classifier():
    """The domain classifier: gradient-boosted trees that take missing values as they are."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(
        max_iter=CLASSIFIER_ITERATIONS, early_stopping=False, random_state=SEED
    )


def folds(labels: np.ndarray):
    return StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=SEED).split(
        np.zeros(len(labels)), labels
    )


def fold_fits(rows: np.ndarray, labels: np.ndarray) -> list[tuple[object, np.ndarray, float]]:
    """(fitted classifier, test indices, test ROC AUC) of each fold."""
    fits = []
    with threadpool_limits(limits=1):
        for train, test in folds(labels):
            model = classifier().fit(rows[train], labels[train])
            auc = roc_auc_score(labels[test], model.predict_proba(rows[test])[:, 1])
            fits.append((model, test, float(auc)))
    return fits


def permutation_drops(
    fits: list, rows: np.ndarray, labels: np.ndarray, encoding: Encoding
) -> dict[str, float]:
    """Per feature, the mean over folds of the test AUC lost when that feature's columns
    are shuffled together (one seeded permutation of the test rows per fold and feature)."""
    rng = np.random.default_rng(SEED)
    drops = {name: [] for name in encoding.groups()}
    with threadpool_limits(limits=1):
        for model, test, auc in fits:
            for name, columns in encoding.groups().items():
                shuffled = rows[test].copy()
                order = rng.permutation(len(test))
                shuffled[:, columns] = shuffled[order][:, columns]
                lost = roc_auc_score(labels[test], model.predict_proba(shuffled)[:, 1])
                drops[name].append(auc - float(lost))
    return {name: float(np.mean(values)) for name, values in drops.items()}


def domain_classifier(
    reference: np.ndarray, current: np.ndarray, encoding: Encoding, config: dict, common: dict
) -> Outcome:
    rows = np.vstack([reference, current])
    labels = np.concatenate([np.zeros(len(reference), int), np.ones(len(current), int)])
    fits = fold_fits(rows, labels)
    auc, threshold = float(np.mean([f[2] for f in fits])), float(config["threshold"])
    breached = auc > threshold
    details = common | {"auc": auc, "fold_aucs": [f[2] for f in fits], "folds": FOLDS}
    if breached:
        drops = permutation_drops(fits, rows, labels, encoding)
        details["importances"] = drops
        details["causes"] = classifier_causes(drops, excess(auc - 0.5, threshold - 0.5))
    return verdict(breached, auc, threshold, **details)


def classifier_causes(drops: dict[str, float], score: float) -> list[dict]:
    """Features by their share of the AUC lost when each is shuffled, each scored
    share × the result's score ((AUC − 0.5) / (threshold − 0.5): 1 at the threshold)."""
    total = sum(drop for drop in drops.values() if drop > 0)
    found = []
    for name, drop in drops.items():
        if drop <= 0 or total <= 0:
            continue
        share = drop / total
        summary = (
            f"{shown_name(name)}: {percent(share)} of what tells the window from the "
            f"reference (AUC −{drop:.2g} when shuffled)"
        )
        found.append(cause("feature", name, share * score, summary))
    return ranked(found)


# -- the check ---------------------------------------------------------------------------


@explained
def multivariate_drift(data: MultivariateData, config: dict) -> Outcome:
    """The window's rows vs the reference's, by `config["method"]` (module docstring)."""
    method, least = config["method"], config["min_samples"]
    common = {
        "method": method,
        "n_reference": data.n_reference,
        "n_current": data.n_current,
        "rows_in_window": data.rows_in_window,
    }
    threshold = config["threshold"] if method == "domain_classifier" else None
    if data.n_reference < least:
        return insufficient(
            f"The reference's joint sample has {data.n_reference} rows; min_samples is {least}.",
            threshold,
            **common,
        )
    if data.n_current < least:
        return insufficient(
            f"The window has {data.n_current} rows; min_samples is {least}.", threshold, **common
        )
    encoding, unusable = fit_encoding(data)
    common |= {  # "compared", not "features": pages read that as per-feature drift tests
        "compared": [name for name in data.features if name not in unusable],
        "columns": len(encoding.columns),
        "skipped": data.skipped | unusable,
    }
    if len(encoding.columns) < 2:
        return insufficient(
            "Fewer than two encoded columns to compare (multivariate drift needs at least "
            "two numbers or categories).",
            threshold,
            **common,
        )
    reference = encode(data.reference, encoding, data.n_reference)
    current = encode(data.current, encoding, data.n_current)
    run = pca_reconstruction if method == "pca_reconstruction" else domain_classifier
    return run(reference, current, encoding, config, common)
