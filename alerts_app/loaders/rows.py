"""Whole rows: the reference's joint row sample and a bounded sample of a window's
prediction rows (multivariate drift).

A window's profiles keep one sample per feature, drawn independently, so they cannot give
rows; the window's inputs are read from the stored predictions instead, at most
`MAX_ROWS` of them (docs/checks.md, "Multivariate drift"): the window is cut into
`STRATA` equal time slices, each gives rows in proportion to its count (largest
remainders), its newest ones. Every read is a range of the `(model, timestamp)` index:
one query counts the slices, one per slice fetches its rows (`LIMIT`), so a window of
millions of rows costs a count and 5,000 row reads.
"""

from datetime import datetime

import numpy as np
from django.db.models import Count, Q

from alerts_app.checks.multivariate import MultivariateData
from alerts_app.loaders.base import NoData, window_start
from models_app.models import Prediction, Reference, ReferenceSample
from models_app.reference import joint_value
from models_app.series import scoped

MAX_ROWS = 5000
STRATA = 10


def reference_sample(version) -> ReferenceSample:
    """The joint row sample of the version's current (newest) reference; NoData without."""
    newest = (
        Reference.objects.filter(version=version)
        .order_by("-created_at", "-id")
        .values_list("id", flat=True)
        .first()
    )
    if newest is None:
        raise NoData(
            f'Version "{version.version}" has no reference: upload one to compare against.'
        )
    sample = ReferenceSample.objects.filter(reference_id=newest).first()
    if sample is None or not sample.size:
        raise NoData(
            f'The reference of version "{version.version}" has no joint row sample (it was '
            "built from profiles, or uploaded before multivariate drift existed): upload "
            "its rows (CSV, Parquet or JSON records) again."
        )
    return sample


def quotas(counts: list[int], limit: int) -> list[int]:
    """Rows to take from each slice: every row when they fit in `limit`, else shares of
    `limit` proportional to the counts (largest remainders, ties to the earlier slice)."""
    total = sum(counts)
    if total <= limit:
        return list(counts)
    exact = np.asarray(counts, dtype=float) * limit / total
    taken = np.floor(exact).astype(int)
    for index in np.argsort(-(exact - taken), kind="stable")[: limit - int(taken.sum())]:
        taken[index] += 1
    return [int(min(t, c)) for t, c in zip(taken, counts, strict=True)]


def slice_edges(start: datetime, end: datetime) -> list[datetime]:
    step = (end - start) / STRATA
    return [start + step * i for i in range(STRATA)] + [end]


def window_rows(model, version, start: datetime, end: datetime) -> tuple[list[dict], int]:
    """(the inputs of at most MAX_ROWS predictions of (start, end], the window's rows)."""
    rows = scoped(
        Prediction.objects.filter(timestamp__gt=start, timestamp__lte=end), model, version
    )
    edges = slice_edges(start, end)
    spans = list(zip(edges[:-1], edges[1:], strict=True))
    counted = rows.aggregate(
        **{
            f"s{i}": Count("pk", filter=Q(timestamp__gt=low, timestamp__lte=high))
            for i, (low, high) in enumerate(spans)
        }
    )
    counts = [counted[f"s{i}"] for i in range(len(spans))]
    found: list[dict] = []
    for (low, high), quota in zip(spans, quotas(counts, MAX_ROWS), strict=True):
        if quota:
            found.extend(
                rows.filter(timestamp__gt=low, timestamp__lte=high)
                .order_by("-timestamp", "-id")
                .values_list("features", flat=True)[:quota]
            )
    return [f if isinstance(f, dict) else {} for f in found], sum(counts)


def load_joint_rows(model, version, config: dict, now: datetime) -> MultivariateData:
    """The reference's joint sample and the window's sampled rows, column by column, for
    the features asked (default: every feature of the joint sample)."""
    sample = reference_sample(version)
    types = sample.types
    asked = config["features"] or sorted(types)
    names = [name for name in asked if name in types]
    skipped = {name: "Not in the reference's joint sample." for name in asked if name not in types}
    inputs, total = window_rows(model, version, window_start(now, config["window"]), now)
    current = {name: [joint_value(row.get(name), types[name]) for row in inputs] for name in names}
    return MultivariateData(
        features=names,
        types={name: types[name] for name in names},
        reference={name: sample.columns[name] for name in names},
        current=current,
        n_reference=sample.size,
        n_current=len(inputs),
        skipped=skipped,
        rows_in_window=total,
    )
