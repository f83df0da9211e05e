"""The cost of one multivariate_drift check, against per-feature KS on the same rows.

Pure: the check of `alerts_app/checks/multivariate.py` on seeded rows (numeric features,
one correlated pair flipped in the window, so the classifier's causes are computed too),
no database. The baseline, measured in the same run on the same columns, is what a
data_drift rule with `method: ks` computes: `scipy.stats.ks_2samp` per feature. Prints
the median of `--repeats` runs of each and their ratio (machine load cancels out of it,
not out of the absolute times).

    .venv/bin/python bench/multivariate.py                  # 5,000 vs 5,000 rows, 10 features
    .venv/bin/python bench/multivariate.py --rows 1000 --features 20
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "monitor_site.settings")


def columns(n: int, width: int, rho: float, seed: int) -> dict[str, list]:
    """Features f00..: f00 and f01 correlated by rho, the others independent N(0, 1)."""
    rng = np.random.default_rng(seed)
    data = rng.normal(size=(n, width))
    data[:, 1] = rho * data[:, 0] + np.sqrt(1 - rho**2) * data[:, 1]
    return {f"f{i:02d}": data[:, i].tolist() for i in range(width)}


def timed(run, repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=5000, help="rows on each side")
    parser.add_argument("--features", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    import django

    django.setup()
    from scipy import stats

    from alerts_app.checks import multivariate
    from alerts_app.rule_config import validate_config

    reference = columns(args.rows, args.features, 0.9, seed=1)
    windows = {
        "flipped": columns(args.rows, args.features, -0.9, seed=2),
        "stable": columns(args.rows, args.features, 0.9, seed=3),
    }
    names = sorted(reference)

    def baseline():
        current = windows["flipped"]
        return [stats.ks_2samp(reference[n], current[n]).pvalue for n in names]

    base, p_values = timed(baseline, args.repeats)
    print(f"{args.rows:,} vs {args.rows:,} rows, {args.features} numeric features")
    print(f"per-feature KS (baseline): {base * 1000:8.1f} ms, min p = {min(p_values):.3f}")
    for method in multivariate.METHODS:
        config = validate_config("multivariate_drift", {"method": method})
        for label, current in windows.items():
            data = multivariate.MultivariateData(
                names, dict.fromkeys(names, "numeric"), reference, current, args.rows, args.rows
            )
            seconds, result = timed(
                lambda c=config, d=data: multivariate.multivariate_drift(d, c), args.repeats
            )
            top = ", ".join(c["feature"] for c in result.details["causes"][:2]) or "-"
            print(
                f"{method:>19} {label:>7}: {seconds * 1000:8.1f} ms = "
                f"{seconds / base:6.0f}x the baseline; {result.status}, "
                f"value {result.value:.4g}, top causes {top}"
            )


if __name__ == "__main__":
    main()
