"""Confidence-based performance estimation (CBPE) for binary classifiers without labels.

The reference's (score, label) pairs fit an isotonic calibration of the positive-class
score; on the window each prediction then counts as an expected fraction of a true or
false positive (or negative): predicted positive with calibrated probability p adds p
to TP and 1 - p to FP; predicted negative adds p to FN and 1 - p to TN. Metrics are
read from that expected confusion matrix. Accurate when the score-to-label relation
holds (covariate shift without concept drift), as in NannyML's CBPE.
"""

import numpy as np
from sklearn.isotonic import IsotonicRegression

from alerts_app.checks.base import Outcome, breaks, insufficient, verdict
from alerts_app.checks.calibration import Band, chunk_band
from alerts_app.checks.causes import explained, segment_causes, segment_values

MIN_REFERENCE = 30


def fit_calibrator(scores: np.ndarray, labels: np.ndarray) -> IsotonicRegression:
    """Isotonic map from score to P(label = 1), clipped to [0, 1] outside the seen scores."""
    model = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
    return model.fit(np.asarray(scores, float), np.asarray(labels, float))


def expected_confusion(probabilities: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """Expected TP, FP, FN, TN given calibrated P(positive) and the predicted classes."""
    p, hit = np.asarray(probabilities, float), np.asarray(predicted, bool)
    return {
        "tp": float(p[hit].sum()),
        "fp": float((1 - p[hit]).sum()),
        "fn": float(p[~hit].sum()),
        "tn": float((1 - p[~hit]).sum()),
    }


def _ratio(num: float, den: float) -> float:
    return num / den if den > 0 else 0.0


def metric_from_confusion(metric: str, m: dict[str, float]) -> float:
    total = m["tp"] + m["fp"] + m["fn"] + m["tn"]
    return {
        "accuracy": _ratio(m["tp"] + m["tn"], total),
        "precision": _ratio(m["tp"], m["tp"] + m["fp"]),
        "recall": _ratio(m["tp"], m["tp"] + m["fn"]),
        "f1": _ratio(2 * m["tp"], 2 * m["tp"] + m["fp"] + m["fn"]),
    }[metric]


DENOMINATORS = {
    "accuracy": ("tp", "fp", "fn", "tn"),
    "precision": ("tp", "fp"),
    "recall": ("tp", "fn"),
    "f1": ("tp", "fp", "fn"),
}


def segment_metric(
    metric: str, probabilities: np.ndarray, predicted: np.ndarray, mask: np.ndarray
) -> float:
    """The expected metric on the rows of `mask`; ValueError where it is undefined
    (precision of a segment without a predicted positive, ...)."""
    matrix = expected_confusion(probabilities[mask], predicted[mask])
    if sum(matrix[k] for k in DENOMINATORS[metric]) <= 0:
        raise ValueError(f"{metric} is undefined on this segment.")
    return metric_from_confusion(metric, matrix)


def estimated_causes(calibrator: IsotonicRegression, rows: list, config: dict) -> list[dict]:
    """Segments whose expected metric is worse than over the same rows: `rows` are
    (positive-class score, {categorical feature: value}) pairs of the window."""
    if not rows:
        return []
    scores = np.array([score for score, _ in rows], float)
    probabilities = calibrator.predict(scores)
    predicted = scores >= config.get("decision_threshold", 0.5)
    metric = config["metric"]

    def on(mask: np.ndarray) -> float:
        return segment_metric(metric, probabilities, predicted, mask)

    try:
        overall = on(np.ones(len(scores), bool))
    except ValueError:
        return []
    return segment_causes(
        segment_values([features for _, features in rows]),
        on,
        overall,
        config["operator"] in (">", ">="),
        f"estimated {metric}",
    )


def estimate(
    metric: str, ref_scores, ref_labels, scores, predicted=None, cutoff: float = 0.5
) -> tuple[float, dict]:
    """(estimated metric, expected confusion) of the window; `predicted` defaults to
    score >= cutoff."""
    calibrated = fit_calibrator(ref_scores, ref_labels).predict(np.asarray(scores, float))
    if predicted is None:
        predicted = np.asarray(scores, float) >= cutoff
    matrix = expected_confusion(calibrated, predicted)
    return metric_from_confusion(metric, matrix), matrix


def estimate_band(
    metric: str, ref_scores, ref_labels, chunk_size: int, cutoff: float = 0.5, seed: int = 0
) -> Band | None:
    """The band of the CBPE estimate over chunks of `chunk_size` reference scores (the
    calibrator fitted once on every reference pair), for `"threshold": "auto"`; None
    without MIN_REFERENCE pairs of both classes."""
    ref_scores, ref_labels = np.asarray(ref_scores, float), np.asarray(ref_labels, float)
    if len(ref_labels) < MIN_REFERENCE or len(set(ref_labels)) < 2:
        return None
    probabilities = fit_calibrator(ref_scores, ref_labels).predict(ref_scores)
    predicted = ref_scores >= cutoff

    def estimate_of(indices: np.ndarray) -> float:
        matrix = expected_confusion(probabilities[indices], predicted[indices])
        return metric_from_confusion(metric, matrix)

    return chunk_band(len(ref_scores), estimate_of, chunk_size, cbpe_method(metric, cutoff), seed)


def cbpe_method(metric: str, cutoff: float) -> str:
    """How a CBPE band is named in the cache and in `details["calibration"]`."""
    return f"cbpe_{metric}@{cutoff:g}"


@explained
def estimated_performance(data: dict, config: dict) -> Outcome:
    """`estimated metric <operator> threshold` on the window's scores, without labels.

    `data` = {"ref_scores", "ref_labels" (0/1), "scores", "predicted" (bools or None),
    "n" (scored predictions in the window, default len(scores): `scores` may be a
    uniform sample of them), "segment_rows" (optional: a callable answering the
    window's (score, categorical features) rows, called only when the rule breaks, for
    the segments of the causes), "calibration" (with `"threshold": "auto"`: the
    `checks.calibration.Calibration` of the reference, None when none could be derived)}.
    """
    threshold, n = config["threshold"], data.get("n", len(data["scores"]))
    calibration = data.get("calibration") if threshold == "auto" else None
    if threshold == "auto":
        threshold = None
    ref_labels = np.asarray(data["ref_labels"], float)
    if len(ref_labels) < MIN_REFERENCE or len(set(ref_labels)) < 2:
        return insufficient(
            "The reference needs at least 30 (score, label) pairs of both classes to calibrate.",
            threshold,
            n_reference=len(ref_labels),
        )
    if n < config["min_samples"]:
        return insufficient(
            f"{n} scored predictions in the window, fewer than min_samples "
            f"({config['min_samples']}).",
            threshold,
            n=n,
        )
    extra = {}
    if config["threshold"] == "auto":
        if calibration is None:
            return insufficient(
                "Too few reference (score, label) pairs to calibrate a threshold (threshold auto).",
                None,
                n=n,
            )
        threshold, extra = calibration.threshold, {"calibration": calibration.as_dict()}
    value, matrix = estimate(
        config["metric"],
        data["ref_scores"],
        ref_labels,
        data["scores"],
        data.get("predicted"),
        config.get("decision_threshold", 0.5),
    )
    breached = breaks(value, config["operator"], threshold)
    rows = data["segment_rows"]() if breached and data.get("segment_rows") else []
    causes = (
        estimated_causes(fit_calibrator(data["ref_scores"], ref_labels), rows, config)
        if rows
        else []
    )
    return verdict(
        breached,
        value,
        threshold,
        causes=causes,
        metric=config["metric"],
        operator=config["operator"],
        n=n,
        n_scores_used=len(data["scores"]),
        n_reference=len(ref_labels),
        expected_confusion=matrix,
        **extra,
    )
