"""Parameter health: NaN/Inf in weights or gradients, norm jumps, vanishing/exploding
gradient norms, from each tensor's last two logged steps."""

import fnmatch
import math

from alerts_app.checks.base import Outcome, insufficient, verdict


def norm_change_pct(before: float, after: float) -> float:
    """|after - before| / before in percent (inf from a zero norm to a non-zero one)."""
    if before == 0:
        return 0.0 if after == 0 else math.inf
    return abs(after - before) / abs(before) * 100.0


def selected(tensors: dict, patterns: list[str] | None) -> dict:
    """The tensors whose names match one of `patterns` (shell-style), or all."""
    if not patterns:
        return tensors
    return {
        n: rows for n, rows in tensors.items() if any(fnmatch.fnmatchcase(n, p) for p in patterns)
    }


def _non_finite(row: dict) -> bool:
    stats = [row.get(k) for k in ("mean", "std", "min", "max", "l2_norm", "grad_norm")]
    bad_stat = any(v is not None and not math.isfinite(v) for v in stats)
    return bad_stat or (row.get("nan_count") or 0) > 0 or (row.get("inf_count") or 0) > 0


def tensor_health(rows: list[dict], config: dict) -> dict:
    """Problems of one tensor from its rows (oldest first; the last two matter)."""
    last = rows[-1]
    change = norm_change_pct(rows[-2]["l2_norm"], last["l2_norm"]) if len(rows) > 1 else 0.0
    grad = last.get("grad_norm")
    problems = {
        "nan_or_inf": config["nan_or_inf"] and _non_finite(last),
        "norm_change": change > config["max_norm_change_pct"],
        "vanishing_gradient": grad is not None
        and config["min_grad_norm"] is not None
        and grad < config["min_grad_norm"],
        "exploding_gradient": grad is not None
        and config["max_grad_norm"] is not None
        and grad > config["max_grad_norm"],
    }
    return {
        "step": last.get("step"),
        "l2_norm": last["l2_norm"],
        "norm_change_pct": change,
        "grad_norm": grad,
        "nan_count": last.get("nan_count", 0),
        "inf_count": last.get("inf_count", 0),
        "problems": sorted(name for name, hit in problems.items() if hit),
    }


def parameter_health(tensors: dict[str, list[dict]], config: dict) -> Outcome:
    """Breaks when any watched tensor has a problem; value = the largest norm change (%)."""
    watched = {n: rows for n, rows in selected(tensors, config["tensors"]).items() if rows}
    limit = config["max_norm_change_pct"]
    if not watched:
        return insufficient("No parameter statistics for the watched tensors.", limit)
    health = {name: tensor_health(rows, config) for name, rows in watched.items()}
    failing = sorted(n for n, h in health.items() if h["problems"])
    value = max(h["norm_change_pct"] for h in health.values())
    return verdict(bool(failing), value, limit, tensors=health, failing=failing)
