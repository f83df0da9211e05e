"""Cost of the batches that multiply profile rows, and of the largest batch allowed.

Posts each case in process (Django test client, token auth) to a scratch PostgreSQL
database and times the request, then the rollup of what it wrote:

- `hours`: 10,000 records, each in its own hour, 20 numeric features;
- `keys`: 10 records in one hour, 1,000 distinct feature keys each (10,000 in all);
- `rollup`: 3,000 records in 3,000 hours, 20 features, then `rollup_pending()`;
- `declared`: a 1-record batch to a model declaring 10,000 features;
- `limit-hours` / `limit-features`: the largest batches the limits allow (see
  docs/telemetry.md), spread over hours or over features.

Run one case at a time per database (each creates its model by name).

    .venv/bin/python bench/profile_limits.py [case ...]
"""

import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.harness import bench_database  # noqa: E402

DB = "mw_bounds_bench_limits"
NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


def records(n: int, hours: int, features: int, distinct_keys: bool = False) -> list[dict]:
    """`n` records spread over `hours` hour buckets (newest first), `features` each."""
    out = []
    for i in range(n):
        moment = NOW - timedelta(hours=i % hours, minutes=0)
        base = i * features if distinct_keys else 0
        out.append(
            {
                "timestamp": moment.isoformat(),
                "prediction": i % 2,
                "latency_ms": 3.5,
                "features": {f"f{base + j}": float(i + j) for j in range(features)},
            }
        )
    return out


def cases(settings) -> dict:
    rows = getattr(settings, "MODELWATCH_MAX_PROFILE_ROWS", 10000)
    most = getattr(settings, "MODELWATCH_MAX_FEATURES", 1000)
    values = getattr(settings, "MODELWATCH_MAX_FEATURE_VALUES", 2_000_000)
    outputs = 5  # what the limit counts per hour bucket for the outputs
    return {
        "hours": lambda: ([], records(10000, 10000, 20)),
        "keys": lambda: ([], records(10, 1, 1000, distinct_keys=True)),
        "rollup": lambda: ([], records(3000, 3000, 20)),
        "declared": lambda: (
            [{"name": f"d{i}", "type": "numeric"} for i in range(10000)],
            records(1, 1, 20),
        ),
        # 10,000 records x 20 features over as many hours as the limit allows (400).
        "limit-hours": lambda: ([], records(10000, rows // (20 + outputs), 20)),
        # the widest records over as many hours as allowed (9), as many records as the
        # feature values allow (1,000 x 1,000).
        "limit-features": lambda: ([], records(values // most, rows // (most + outputs), most)),
    }


def run(name: str, declared: list, batch: list[dict]) -> None:
    from django.db import connection
    from rest_framework.test import APIClient

    from models_app.models import Model, Profile
    from models_app.profiles import rollup_pending
    from tests.factories import grant_all_models, make_token, make_user

    model = Model.objects.create(name=f"bench-{name}", task="other")
    if declared:  # registered directly: the point is the cost at ingestion
        Model.objects.filter(pk=model.pk).update(features=declared)
    client = APIClient()
    user = grant_all_models(make_user(username=f"u-{name}"), "admin")
    client.credentials(HTTP_AUTHORIZATION=f"Token {make_token(user)}")
    started = time.perf_counter()
    answer = client.post(
        f"/api/v1/models/{model.name}/predictions/", {"records": batch}, format="json"
    )
    took = time.perf_counter() - started
    written = Profile.objects.filter(version__model=model).count()
    started = time.perf_counter()
    rolled = rollup_pending() if written else 0
    rollup = time.perf_counter() - started
    body = answer.content[:160].decode(errors="replace")
    print(
        f"{name:15} {len(batch):6} records  {answer.status_code}  {took:7.2f} s  "
        f"{written:7} profile rows  rollup {rolled:7} rows {rollup:7.2f} s  {body}",
        flush=True,
    )
    connection.close()


def main(names: list[str]) -> None:
    _, env = bench_database(DB)
    os.environ.update(env)
    import django

    django.setup()
    from django.conf import settings

    table = cases(settings)
    for name in names or list(table):
        declared, batch = table[name]()
        run(name, declared, batch)


if __name__ == "__main__":
    main(sys.argv[1:])
