"""Calibrated drift thresholds (`"threshold": "auto"`) vs the fixed defaults, on stable
and shifted windows of normal data, with the pure functions only (no database).

For each (method, reference size, window size): `--references` seeded references, each
calibrated at k = 3 (`alerts_app.checks.calibration.calibrate_feature`), and
`--windows` windows per reference drawn from the reference's distribution (stable) and
shifted by 0.2 and 0.5 standard deviations. Prints the share of stable windows flagged
(false alarms) and of shifted windows detected, for the method's fixed default threshold
(KS: p < 0.05, uncorrected) and for the calibrated one. docs/checks.md, "Calibrated
thresholds", quotes one run.

    .venv/bin/python bench/calibration.py
    .venv/bin/python bench/calibration.py --references 20 --windows 50
"""

import argparse
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CASES = [
    ("wasserstein", 5000, 200),
    ("wasserstein", 5000, 500),
    ("wasserstein", 5000, 2000),
    ("psi", 5000, 200),
    ("psi", 5000, 2000),
    ("js", 5000, 200),
    ("js", 5000, 2000),
    ("ks", 1000, 200),
    ("ks", 1000, 2000),
]
FIXED = {"wasserstein": 0.1, "psi": 0.2, "js": 0.1, "ks": 0.05}
SHIFTS = (0.0, 0.2, 0.5)


def setup_django() -> None:
    """The checks import the app's modules (bins come from models_app.profiles); no
    database is touched."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "monitor_site.settings")
    import django

    django.setup()


def rates(method: str, m: int, n: int, references: int, windows: int, rng) -> tuple:
    """(fixed, calibrated) shares flagged per shift in SHIFTS."""
    from scipy import stats

    from alerts_app.checks import calibration as cal

    fixed, auto = np.zeros(len(SHIFTS)), np.zeros(len(SHIFTS))
    for trial in range(references):
        ref = rng.normal(size=m)
        reference = cal.ReferenceFeature.from_values(ref)
        limit = cal.calibrate_feature(reference, method, n, k=3.0, seed=trial).threshold
        for _ in range(windows):
            for i, shift in enumerate(SHIFTS):
                window = rng.normal(shift, 1, n)
                value = cal.drift_statistic(reference, window, method)
                if method == "ks":
                    fixed[i] += stats.ks_2samp(ref, window).pvalue < FIXED["ks"]
                else:
                    fixed[i] += value >= FIXED[method]
                auto[i] += value >= limit
    total = references * windows
    return fixed / total, auto / total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--references", type=int, default=10)
    parser.add_argument("--windows", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    setup_django()
    rng = np.random.default_rng(args.seed)
    print("method, reference, window | fixed: stable / 0.2 sd / 0.5 sd | auto (k=3): same")
    for method, m, n in CASES:
        fixed, auto = rates(method, m, n, args.references, args.windows, rng)
        shown = " / ".join(f"{v:.1%}" for v in fixed), " / ".join(f"{v:.1%}" for v in auto)
        print(f"{method}, {m}, {n} | {shown[0]} | {shown[1]}")


if __name__ == "__main__":
    main()
