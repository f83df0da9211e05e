"""Serving checks: latency percentile, error rate, silence."""

import numpy as np

from alerts_app.checks.base import Outcome, insufficient, verdict


def latency_percentile(latencies_ms: np.ndarray, percentile: float) -> float:
    """`numpy.percentile` (linear interpolation) of the window's latencies."""
    return float(np.percentile(np.asarray(latencies_ms, dtype=float), percentile))


def latency(data: dict, config: dict) -> Outcome:
    """The window's latency percentile above threshold_ms breaks the rule.

    `data` = {"n": timed predictions, "value": their percentile, "source": "rows" (exact,
    linear interpolation) or "profiles" (log-bucket sketch, within 1 %)}.
    """
    limit, n = config["threshold_ms"], data["n"]
    if n < config["min_samples"] or data["value"] is None:
        return insufficient(
            f"{n} timed predictions in the window, fewer than min_samples "
            f"({config['min_samples']}).",
            limit,
            n=n,
        )
    value = data["value"]
    return verdict(
        value > limit,
        value,
        limit,
        percentile=config["percentile"],
        n=n,
        source=data.get("source", "rows"),
    )


def error_rate(counts: dict, config: dict) -> Outcome:
    """Share of the window's predictions with an error; above max_rate breaks the rule."""
    total, errors, limit = counts["total"], counts["errors"], config["max_rate"]
    if total < config["min_samples"]:
        return insufficient(
            f"{total} predictions in the window, fewer than min_samples ({config['min_samples']}).",
            limit,
            n=total,
        )
    value = errors / total
    return verdict(value > limit, value, limit, errors=errors, n=total)


def no_data(data: dict, config: dict) -> Outcome:
    """Nothing arrived from `source` in the window: breached. `data` = {"silence": seconds
    since the last record up to the evaluation time, None if nothing ever arrived}.

    value = that silence in seconds, threshold = the window: the rule breaks when
    silence >= window. Never insufficient_data: silence is what it watches.
    """
    silence, window = data["silence"], config["window"]
    breached = silence is None or silence >= window
    return verdict(
        breached,
        silence,
        float(window),
        source=config["source"],
        last_seen=data.get("last_seen"),
        never=silence is None,
    )
