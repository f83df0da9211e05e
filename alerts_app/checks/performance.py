"""Realised performance from the window's labelled predictions (scikit-learn metrics).

Classes are compared by a canonical text form (`True`, `1`, `1.0`, `"1"`, `"true"` are all
`"1"`), so labels and predictions sent as numbers, booleans or strings agree. Binary
models use positive class "1" unless the rule names another; ROC AUC and log loss read
the positive-class score. Multiclass models use macro averages.
"""

from dataclasses import dataclass, field

import numpy as np
from sklearn import metrics as skm

from alerts_app.checks.base import Outcome, breaks, insufficient, verdict
from alerts_app.checks.calibration import Calibration, calibrate
from alerts_app.checks.causes import explained, segment_causes, segment_values

REGRESSION_METRICS = {
    "mae": skm.mean_absolute_error,
    "rmse": skm.root_mean_squared_error,
    "mape": skm.mean_absolute_percentage_error,
    "r2": skm.r2_score,
}
SCORE_METRICS = frozenset({"roc_auc", "log_loss"})
LOSSES = frozenset({"log_loss", "mae", "rmse", "mape"})
TRUE_WORDS = {"true": "1", "false": "0"}


class UndefinedMetric(ValueError):
    """The metric has no value on this data (one class only for ROC AUC, ...)."""


def canon(value) -> str:
    """The canonical text of a class: booleans and integral floats as integers."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str):
        return TRUE_WORDS.get(value.strip().lower(), value.strip())
    return str(value)


@dataclass
class LabelledWindow:
    """The window's labelled predictions, and how many predictions it holds in all."""

    labels: list
    predictions: list
    scores: list = field(default_factory=list)  # dict class -> probability, or None
    total: int = 0
    features: list = field(default_factory=list)  # per row: {categorical feature: value}

    def splitter(self):
        """A function from a boolean row mask to the window of those rows (the columns
        are copied into arrays once, so that many subsets stay cheap)."""
        columns = [
            _objects(self.labels),
            _objects(self.predictions),
            _objects(self.scores) if self.scores else None,
        ]

        def subset(mask: np.ndarray) -> "LabelledWindow":
            labels, predictions, scores = (
                c[mask].tolist() if c is not None else [] for c in columns
            )
            return LabelledWindow(labels, predictions, scores, int(mask.sum()))

        return subset

    def take(self, indices: np.ndarray) -> "LabelledWindow":
        """The rows at `indices` (repeats allowed: a resampled chunk)."""

        def pick(values: list) -> list:
            return [values[i] for i in indices] if values else []

        return LabelledWindow(
            pick(self.labels), pick(self.predictions), pick(self.scores), len(indices)
        )


def _objects(values: list) -> np.ndarray:
    column = np.empty(len(values), dtype=object)
    column[:] = values
    return column


def score_of(scores: dict | None, klass: str) -> float | None:
    if not isinstance(scores, dict):
        return None
    found = {canon(k): v for k, v in scores.items()}.get(klass)
    return float(found) if isinstance(found, (int, float)) else None


def binary_metric(metric: str, window: LabelledWindow, positive: str) -> tuple[float, int]:
    """(value, rows used) of a binary metric; positive class `positive`."""
    y_true = np.array([canon(v) == positive for v in window.labels], dtype=int)
    if metric in SCORE_METRICS:
        pos = [score_of(s, positive) for s in window.scores]
        keep = np.array([p is not None for p in pos], dtype=bool)
        if not keep.any():
            raise UndefinedMetric(f"{metric} needs the positive class score ('{positive}').")
        y_true, pos = y_true[keep], np.array([p for p in pos if p is not None])
        if metric == "log_loss":
            return float(skm.log_loss(y_true, pos, labels=[0, 1])), len(pos)
        if len(set(y_true)) < 2:
            raise UndefinedMetric("ROC AUC needs both classes among the labels.")
        return float(skm.roc_auc_score(y_true, pos)), len(pos)
    y_pred = np.array([canon(v) == positive for v in window.predictions], dtype=int)
    return _label_metric(metric, y_true, y_pred, "binary"), len(y_true)


def _label_metric(metric: str, y_true, y_pred, average: str, labels=None) -> float:
    if metric == "accuracy":
        return float(skm.accuracy_score(y_true, y_pred))
    func = {"precision": skm.precision_score, "recall": skm.recall_score, "f1": skm.f1_score}[
        metric
    ]
    return float(func(y_true, y_pred, average=average, labels=labels, zero_division=0))


def probability_matrix(window: LabelledWindow, classes: list[str]):
    """Rows with a score for every class: (kept mask, matrix normalised to sum 1)."""
    rows = [[score_of(s, c) for c in classes] for s in window.scores]
    keep = np.array([all(v is not None for v in row) for row in rows], dtype=bool)
    matrix = np.array([row for row, k in zip(rows, keep, strict=True) if k], dtype=float)
    if not keep.any():
        raise UndefinedMetric(f"Scores for every class {classes} are needed.")
    return keep, matrix / matrix.sum(axis=1, keepdims=True)


def multiclass_metric(metric: str, window: LabelledWindow) -> tuple[float, int]:
    """(value, rows used) of a multiclass metric, macro-averaged over the classes seen."""
    y_true = np.array([canon(v) for v in window.labels])
    if metric not in SCORE_METRICS:
        y_pred = np.array([canon(v) for v in window.predictions])
        labels = sorted(set(y_true) | set(y_pred))
        return _label_metric(metric, y_true, y_pred, "macro", labels), len(y_true)
    classes = sorted(
        {canon(k) for s in window.scores if isinstance(s, dict) for k in s} | set(y_true)
    )
    keep, matrix = probability_matrix(window, classes)
    if metric == "log_loss":
        return float(skm.log_loss(y_true[keep], matrix, labels=classes)), int(keep.sum())
    if len(set(y_true[keep])) < 2:
        raise UndefinedMetric("ROC AUC needs at least two classes among the labels.")
    value = skm.roc_auc_score(
        y_true[keep], matrix, multi_class="ovr", average="macro", labels=classes
    )
    return float(value), int(keep.sum())


def regression_metric(metric: str, window: LabelledWindow) -> tuple[float, int]:
    pairs = [
        (_number(t), _number(p)) for t, p in zip(window.labels, window.predictions, strict=True)
    ]
    pairs = [(t, p) for t, p in pairs if t is not None and p is not None]
    if not pairs:
        raise UndefinedMetric(f"{metric} needs numeric labels and predictions.")
    y_true, y_pred = np.array(pairs).T
    return float(REGRESSION_METRICS[metric](y_true, y_pred)), len(pairs)


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if np.isfinite(value) else None


def compute_metric(
    metric: str, window: LabelledWindow, task: str, positive: str = "1"
) -> tuple[float, int]:
    """(value, rows used) of `metric` for a model of `task`."""
    if metric in REGRESSION_METRICS:
        return regression_metric(metric, window)
    if task == "binary_classification":
        return binary_metric(metric, window, positive)
    return multiclass_metric(metric, window)


def lower_is_better(metric: str, operator: str) -> bool:
    """Whether a higher value of the metric is worse: a rule that breaks above its
    threshold says so; otherwise the metric's own sense."""
    if operator in (">", ">="):
        return True
    return operator not in ("<", "<=") and metric in LOSSES


def performance_causes(
    window: LabelledWindow, task: str, positive: str, config: dict, overall: float
) -> list[dict]:
    """Segments of the window's categorical features where the metric is worse."""
    if len(window.features) != len(window.labels):
        return []
    metric, subset = config["metric"], window.splitter()
    return segment_causes(
        segment_values(window.features),
        lambda mask: compute_metric(metric, subset(mask), task, positive)[0],
        overall,
        lower_is_better(metric, config["operator"]),
        metric,
    )


def calibrate_metric(
    reference: LabelledWindow, task: str, positive: str, config: dict, chunk_size: int
) -> Calibration | None:
    """The calibrated threshold of the metric over consecutive chunks of `chunk_size`
    labelled predictions of the reference (oldest first); a chunk where the metric is
    undefined (ROC AUC of one class) is left out."""
    metric = config["metric"]
    return calibrate(
        len(reference.labels),
        lambda indices: compute_metric(metric, reference.take(indices), task, positive)[0],
        chunk_size,
        config["k"],
        method=metric,
        direction="upper" if config["operator"] in (">", ">=") else "lower",
        ordered=True,
    )


@explained
def performance(data: dict, config: dict) -> Outcome:
    """`metric <operator> threshold` on the labelled predictions of the window.

    `data` = {"window": LabelledWindow, "task": model task, "reference": LabelledWindow
    of the reference_window (with `"threshold": "auto"` only)}; details carry
    `label_coverage` (labelled / all predictions in the window) and, with auto, the
    `calibration`.
    """
    window, threshold = data["window"], config["threshold"]
    if threshold == "auto":
        threshold = None
    labelled = len(window.labels)
    coverage = labelled / window.total if window.total else 0.0
    info = {
        "metric": config["metric"],
        "labelled": labelled,
        "n": window.total,
        "label_coverage": coverage,
    }
    if labelled < config["min_labels"]:
        return insufficient(
            f"{labelled} labelled predictions in the window, fewer than "
            f"min_labels ({config['min_labels']}).",
            threshold,
            **info,
        )
    positive = canon(config.get("positive_class") or "1")
    try:
        value, used = compute_metric(config["metric"], window, data["task"], positive)
    except UndefinedMetric as exc:
        return insufficient(str(exc), threshold, **info)
    if config["threshold"] == "auto":
        size = config.get("chunk_size") or labelled
        found = calibrate_metric(data["reference"], data["task"], positive, config, size)
        if found is None:
            return insufficient(
                f"Too few labelled predictions in the reference window "
                f"({len(data['reference'].labels)}) to calibrate a threshold (threshold auto).",
                None,
                **info,
            )
        threshold, info = found.threshold, info | {"calibration": found.as_dict()}
    breached = breaks(value, config["operator"], threshold)
    causes = performance_causes(window, data["task"], positive, config, value) if breached else []
    return verdict(
        breached, value, threshold, operator=config["operator"], used=used, causes=causes, **info
    )
