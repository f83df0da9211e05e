"""What segment profiles cost: bytes stored and ingestion time, per million predictions.

    DATABASE_URL=postgres://... .venv/bin/python bench/segment_storage.py [--rows 200000]

On the database of DATABASE_URL (migrated; two scratch models are created and deleted),
two binary models receive the same `--rows` predictions (5 numeric and 3 categorical
features, one of them `country` with 10 values, Zipf-like shares; timestamps spread over
24 hours; 1,000-row batches through `models_app.ingest.record_predictions`, the API's
writer). Model `seg-plain` has no segmented rule; model `seg-by-country` has a data_drift
rule with `segment_by: country`. After both rollups, it prints the bytes of each kind of
row (sum of pg_column_size, so TOAST-compressed samples count as stored), per million
predictions, and the ingestion time of the segmented model relative to the plain one
(measured in the same run, alternating batches, so load on the machine hits both).

Below 5,000 rows per (segment, hour), a segment's hourly sample keeps every numeric value,
so the bytes grow linearly with the rows: `--rows 200000` over 24 h (~830 rows per
segment-hour) is scaled to a million. Above it, they stop growing with the rows (see
docs/storage.md, "Segment profiles").
"""

import argparse
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "monitor_site.settings")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402

from alerts_app.models import AlertRule  # noqa: E402
from models_app.ingest import record_predictions  # noqa: E402
from models_app.models import Model, ModelVersion  # noqa: E402
from models_app.profiles import rollup_pending  # noqa: E402
from models_app.profiles.segments import rollup_segment_profiles  # noqa: E402

START = datetime(2026, 1, 5, tzinfo=UTC)
COUNTRIES = [f"C{i}" for i in range(10)]
SCHEMA = [{"name": "country", "type": "categorical"}] + [
    {"name": f"num_{i}", "type": "numeric"} for i in range(5)
]


def batches(n: int, size: int, seed: int):
    rng = np.random.default_rng(seed)
    shares = 1 / np.arange(1, 11)
    shares /= shares.sum()
    seconds = np.sort(rng.uniform(0, 86400, n))
    for start in range(0, n, size):
        rows = []
        for i in range(start, min(start + size, n)):
            score = float(rng.random())
            rows.append(
                {
                    "id": f"p{i}",
                    "timestamp": START + timedelta(seconds=float(seconds[i])),
                    "features": {
                        "country": COUNTRIES[rng.choice(10, p=shares)],
                        "plan": str(rng.choice(["free", "pro", "team"])),
                        "channel": str(rng.choice(["web", "app"])),
                        **{f"num_{k}": float(rng.normal(k, 1)) for k in range(5)},
                    },
                    "prediction": int(score > 0.5),
                    "scores": {"0": 1 - score, "1": score},
                    "label": None,
                    "latency_ms": float(rng.lognormal(2, 0.4)),
                    "error": "",
                }
            )
        yield rows


def fresh_model(name: str) -> ModelVersion:
    Model.objects.filter(name=name).delete()
    model = Model.objects.create(name=name, task="binary_classification", features=SCHEMA)
    return ModelVersion.objects.create(model=model, version="1")


def column_bytes(table: str, version_id: int) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT coalesce(sum(pg_column_size(t.*)), 0) FROM {table} t WHERE version_id = %s",
            [version_id],
        )
        return int(cursor.fetchone()[0])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()

    plain, segmented = fresh_model("seg-plain"), fresh_model("seg-by-country")
    AlertRule.objects.create(
        name="drift by country",
        model=segmented.model,
        kind="data_drift",
        config={"segment_by": "country"},
    )
    spent = {plain.pk: 0.0, segmented.pk: 0.0}
    for number, rows in enumerate(batches(args.rows, args.batch, seed=1)):
        for version in (plain, segmented) if number % 2 else (segmented, plain):
            copy = [dict(r, features=dict(r["features"])) for r in rows]
            began = time.perf_counter()
            with transaction.atomic():
                record_predictions(version, copy)
            spent[version.pk] += time.perf_counter() - began
    while rollup_pending():
        pass
    while rollup_segment_profiles(now=START + timedelta(days=2)):
        pass

    per_million = 1_000_000 / args.rows
    figures = {
        "prediction rows": column_bytes("models_app_prediction", plain.pk),
        "profiles (hourly + daily)": column_bytes("models_app_profile", plain.pk)
        + column_bytes("models_app_dailyprofile", plain.pk),
        "segment profiles, plain model": column_bytes("models_app_segmentprofile", plain.pk),
        "segment profiles, by country (10 values)": column_bytes(
            "models_app_segmentprofile", segmented.pk
        ),
    }
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM models_app_segmentprofile WHERE version_id = %s", [segmented.pk]
        )
        segment_rows = cursor.fetchone()[0]
    print(f"{args.rows} predictions over 24 h, batches of {args.batch}")
    for name, size in figures.items():
        print(f"{name:45s} {size * per_million / 1e6:10.1f} MB per million predictions")
    print(f"segment profile rows after the rollup: {segment_rows}")
    ratio = spent[segmented.pk] / spent[plain.pk]
    print(
        f"ingestion: plain {spent[plain.pk]:.1f} s, segmented {spent[segmented.pk]:.1f} s "
        f"(x{ratio:.2f})"
    )
    Model.objects.filter(name__in=["seg-plain", "seg-by-country"]).delete()


if __name__ == "__main__":
    main()
