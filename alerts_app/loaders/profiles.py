"""Merged profiles -> check inputs: drift, data quality and CBPE read profiles only.

Everything comes through the public surface of `models_app.profiles`: windows are read
with `window_profiles`, whose edges are rounded out to whole UTC hours; the reference is
the version's current one, `current_summary` (its layout is in docs/telemetry.md).
Each loader reads those two through its `source` (default: `models_app.profiles`); the
backtest (`alerts_app/backtest.py`) passes one that has read the whole history once.
"""

from datetime import datetime

import numpy as np

from alerts_app.checks.drift import DriftData, FeatureData
from alerts_app.checks.quality import QualityCounts
from alerts_app.loaders.base import NoData, window_start
from alerts_app.loaders.calibration import calibrate_drift, calibrate_estimate
from alerts_app.loaders.predictions import categorical_features
from models_app import profiles
from models_app.models import Prediction
from models_app.profiles import NUMERIC, FeatureProfile


def reference_summary(version, source=profiles) -> tuple[dict, int]:
    """(summary, rows) of the version's current reference; NoData without one."""
    found = source.current_summary(version)
    if found is None:
        raise NoData(
            f'Version "{version.version}" has no reference: upload one to compare against.'
        )
    return found


def numbers(values) -> np.ndarray:
    """The numbers of a stored list (a sample, scores or labels) as a float array."""
    try:
        return np.asarray(values if values is not None else [], dtype=float)
    except (TypeError, ValueError):
        return np.asarray([v for v in values if isinstance(v, (int, float))], dtype=float)


def feature_data(ref: dict, current: FeatureProfile) -> FeatureData:
    """Drift inputs of one feature from its reference summary and window profile."""
    if ref["type"] != NUMERIC:
        return FeatureData(
            "categorical",
            int(ref.get("count") or 0),
            current.count,
            ref_categories=dict(ref.get("categories") or {}),
            cur_categories=dict(current.categories),
        )
    ref_bins, cur_bins = ref.get("bin_counts"), current.bin_counts
    if not ref_bins or len(ref_bins) != len(cur_bins or []):
        ref_bins = cur_bins = None
    return FeatureData(
        "numeric",
        int(ref.get("count") or 0),
        current.count,
        ref_sample=numbers(ref.get("sample")),
        cur_sample=numbers(current.sample),
        ref_bins=None if ref_bins is None else np.asarray(ref_bins, float),
        cur_bins=None if cur_bins is None else np.asarray(cur_bins, float),
        ref_std=ref.get("std"),
    )


def comparable(data: FeatureData) -> bool:
    """A numeric feature needs a sample on both sides (KS and Wasserstein read them)."""
    return data.kind != "numeric" or (data.ref_sample.size > 0 and data.cur_sample.size > 0)


def rows_in(window: dict[str, FeatureProfile]) -> int:
    """Rows in the window: predictions when profiled, else the most rows of any feature."""
    if profiles.PREDICTION in window:
        return window[profiles.PREDICTION].rows
    return max((p.rows for p in window.values()), default=0)


def drift_inputs(
    pairs: dict[str, dict | None], window: dict[str, FeatureProfile], n_reference: int
) -> DriftData:
    """DriftData of the features in `pairs` (name -> reference summary or None)."""
    features, skipped = {}, {}
    for name, ref in pairs.items():
        current = window.get(name)
        if ref is None:
            skipped[name] = "Not in the reference."
        elif not ref.get("count"):
            skipped[name] = "No values in the reference."
        elif current is None or current.count == 0:
            skipped[name] = "No values in the window."
        elif not comparable(data := feature_data(ref, current)):
            skipped[name] = "No sample to compare in the reference or the window."
        else:
            features[name] = data
    return DriftData(features, n_reference, rows_in(window), skipped)


def load_feature_drift(model, version, config: dict, now: datetime, source=profiles) -> DriftData:
    summary, n_reference = reference_summary(version, source)
    reference = summary.get("features") or {}
    names = config["features"] or sorted(reference)
    window = source.window_profiles(
        version, window_start(now, config["window"]), now, [*names, profiles.PREDICTION]
    )
    pairs = {n: reference.get(n) for n in names}
    data = drift_inputs(pairs, window, n_reference)
    calibrate_drift(version, data, pairs, config)
    return data


def load_output_drift(model, version, config: dict, now: datetime, source=profiles) -> DriftData:
    summary, n_reference = reference_summary(version, source)
    wanted = {
        "prediction": [profiles.PREDICTION],
        "score": [profiles.SCORE],
        "both": [profiles.PREDICTION, profiles.SCORE],
    }[config["output"]]
    pairs = {name: profiles.reference_feature(summary, name) for name in wanted}
    if config["output"] == "both" and pairs[profiles.SCORE] is None:
        pairs.pop(profiles.SCORE)  # a model without scores: the prediction alone
    window = source.window_profiles(
        version, window_start(now, config["window"]), now, [*pairs, profiles.PREDICTION]
    )
    data = drift_inputs(pairs, window, n_reference)
    calibrate_drift(version, data, pairs, config)
    return data


def load_quality_counts(model, version, config: dict, now: datetime, source=profiles) -> dict:
    window = source.window_profiles(
        version, window_start(now, config["window"]), now, config["features"]
    )
    counts = {
        name: QualityCounts(p.count, p.missing, p.type_errors, p.out_of_range, p.unseen)
        for name, p in window.items()
        if name not in profiles.OUTPUTS
    }
    return {"rows": rows_in(window), "features": counts}


def load_cbpe_inputs(model, version, config: dict, now: datetime, source=profiles) -> dict:
    """Reference (score, label) pairs and the window's positive-class scores (its
    uniform sample of at most 5,000 when the window holds more)."""
    if model.task != "binary_classification":
        raise NoData("Estimated performance (CBPE) needs a binary classifier.")
    summary, _ = reference_summary(version, source)
    calibration = summary.get("calibration") or {}
    window = source.window_profiles(
        version, window_start(now, config["window"]), now, [profiles.SCORE]
    )
    scores = window.get(profiles.SCORE)
    found = {
        "ref_scores": numbers(calibration.get("scores")),
        "ref_labels": numbers(calibration.get("labels")),
        "scores": numbers(scores.sample) if scores else np.empty(0),
        "n": scores.count if scores else 0,
        "predicted": None,
        "segment_rows": lambda: scored_rows(version, config, now),
    }
    if config["threshold"] == "auto":
        found["calibration"] = calibrate_estimate(version, found, config)
    return found


MAX_SEGMENT_ROWS = 5000


def scored_rows(version, config: dict, now: datetime) -> list[tuple[float, dict]]:
    """The window's newest 5,000 stored predictions with a positive-class score, as
    (score, categorical features): the segments of CBPE's causes (a model fed only
    profiles has no rows, and so no segments)."""
    start = window_start(now, config["window"])
    rows = (
        Prediction.objects.filter(
            version=version, timestamp__gt=start, timestamp__lte=now, scores__isnull=False
        )
        .order_by("-timestamp")
        .values_list("scores", "features")[:MAX_SEGMENT_ROWS]
    )
    found = [(profiles.positive_score(s), categorical_features(f)) for s, f in rows]
    return [
        (float(score), features)
        for score, features in found
        if isinstance(score, (int, float)) and not isinstance(score, bool) and np.isfinite(score)
    ]
