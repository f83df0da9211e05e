"""Weight statistics of one tensor: pure numpy, shared by the PyTorch and Keras helpers.

mean, std, min, max and the L2 norm are computed over the finite values only, so a
tensor with a few NaNs still has usable statistics; `nan_count` and `inf_count` say
how many values were left out. A tensor with no finite value reports zeros there.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def tensor_stats(values: Any) -> dict[str, float | int]:
    """mean, std (population), min, max, l2_norm, zero_fraction, nan_count, inf_count."""
    array = np.asarray(values, dtype=np.float64).ravel()
    finite = array[np.isfinite(array)]
    nan_count = int(np.isnan(array).sum())
    stats = {
        "zero_fraction": float(np.mean(array == 0)) if array.size else 0.0,
        "nan_count": nan_count,
        "inf_count": int(array.size - finite.size - nan_count),
    }
    if not finite.size:
        return {"mean": 0.0, "std": 0.0, "min": 0.0, "max": 0.0, "l2_norm": 0.0} | stats
    return {
        "mean": float(finite.mean()),
        "std": float(finite.std()),
        "min": float(finite.min()),
        "max": float(finite.max()),
        "l2_norm": float(np.linalg.norm(finite)),
    } | stats


def l2_norm(values: Any) -> float | None:
    """L2 norm over the finite values, None when there are none."""
    array = np.asarray(values, dtype=np.float64).ravel()
    finite = array[np.isfinite(array)]
    return float(np.linalg.norm(finite)) if finite.size else None


def update_ratio(before: Any, after: Any) -> float | None:
    """‖after − before‖ / ‖before‖: how far one update moved a tensor (None if undefined)."""
    old = np.asarray(before, dtype=np.float64).ravel()
    delta = np.asarray(after, dtype=np.float64).ravel() - old
    denominator = np.linalg.norm(old)
    ratio = np.linalg.norm(delta) / denominator if denominator > 0 else np.nan
    return float(ratio) if np.isfinite(ratio) else None
