"""Peak memory and time of parsing and summarising a CSV reference at its limits.

Each case runs in a fresh process (so that its peak RSS is its own): the file is built in
memory, then `reference_io.csv_columns` and `reference.summarize` run on it as the
upload does, without the database. Prints bytes, rows × columns, the answer (summary
or refusal), seconds and the peak RSS growth in MiB.

    .venv/bin/python bench/reference_csv.py
"""

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024
CASES = {
    # name: (header columns, data rows, cell text)
    "30 MB, one column (over the row limit)": (1, 15_000_000, "1"),
    "200,000 rows x 1 column (the row limit)": (1, 200_000, "123.456"),
    "200,000 rows x 20 numeric columns": (20, 200_000, "123.456"),
    "32 MB of 1-character cells: 200,000 rows x 80": (80, 200_000, "7"),
    "20,000 columns x 1 row (over the column limit)": (20_000, 1, "1"),
    "1,000 columns x 1 row (the column limit)": (1_000, 1, "1"),
    "1,000 columns x 5,000 rows of 3.25 (30 MB)": (1_000, 5_000, "3.25"),
}


def build(columns: int, rows: int, cell: str) -> bytes:
    header = ",".join(f"feature_{i}" for i in range(columns))
    line = ",".join([cell] * columns)
    return (header + "\n" + (line + "\n") * rows).encode()


def run_case(name: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "monitor_site.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from models_app import reference_io
    from models_app.reference import summarize

    content = build(*CASES[name])
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    try:
        columns, n_rows = reference_io.csv_columns(content, {})
        features = reference_io.split_columns(columns, {})
        summary = summarize(features, {}, {}, n_rows)
        answer = f"201: {n_rows} rows, {len(summary['features'])} features"
    except reference_io.ReferenceInputError as exc:
        status = 413 if isinstance(exc, reference_io.ReferenceTooLarge) else 400
        answer = f"{status}: {str(exc)[:60]}"
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - base
    print(
        f"{name:50} {len(content) / MIB:6.1f} MiB  {seconds:6.2f} s  "
        f"+{peak:6.0f} MiB RSS  {answer}",
        flush=True,
    )


def main() -> None:
    if len(sys.argv) > 1:
        return run_case(sys.argv[1])
    for name in CASES:
        subprocess.run([sys.executable, __file__, name], check=False)


if __name__ == "__main__":
    main()
