"""Serving checks: latency percentile, error rate, silence."""

import numpy as np

from alerts_app.checks.base import CheckResult, insufficient, register_check, verdict


def latency_percentile(latencies_ms: np.ndarray, percentile: float) -> float:
    """`numpy.percentile` (linear interpolation) of the window's latencies."""
    return float(np.percentile(np.asarray(latencies_ms, dtype=float), percentile))


@register_check("latency")
def latency(latencies_ms: np.ndarray, config: dict) -> CheckResult:
    """The window's latency percentile above threshold_ms breaks the rule."""
    limit, n = config["threshold_ms"], len(latencies_ms)
    if n < config["min_samples"]:
        return insufficient(f"{n} timed predictions in the window, fewer than min_samples "
                            f"({config['min_samples']}).", limit, n=n)
    value = latency_percentile(latencies_ms, config["percentile"])
    return verdict(value > limit, value, limit, percentile=config["percentile"], n=n)


@register_check("error_rate")
def error_rate(counts: dict, config: dict) -> CheckResult:
    """Share of the window's predictions with an error; above max_rate breaks the rule."""
    total, errors, limit = counts["total"], counts["errors"], config["max_rate"]
    if total < config["min_samples"]:
        return insufficient(f"{total} predictions in the window, fewer than min_samples "
                            f"({config['min_samples']}).", limit, n=total)
    value = errors / total
    return verdict(value > limit, value, limit, errors=errors, n=total)


@register_check("no_data")
def no_data(data: dict, config: dict) -> CheckResult:
    """Nothing arrived from `source` in the window: breached (this kind is never short of
    data; silence is what it watches)."""
    count = data["count"]
    return verdict(count == 0, float(count), 0.0, source=config["source"],
                   window=config["window"], last_seen=data.get("last_seen"))
