"""Merging many stored profile rows of one feature at once (pure: row dicts in).

`merge_stored(rows, kind, edges)` equals
`merge_all([conform(profile_from_row(row), kind, edges) for row in rows])` (the pairwise
definition, tests/models_app/test_profile_bulk.py compares them field by field) but works
column by column: counts summed over all rows, bin counts as one integer matrix, one
`math.fsum` per sum, the samples' bytes joined and decoded once, the keys of every seeded
sample computed together (`keys.implied_keys_many`) and one bottom-k over all of them.
A window read after a backfill merges ~1 partial row per (batch, hour, feature), i.e.
hundreds of thousands of rows: building a FeatureProfile and a PCG64 per row cost
~50-150 µs each there.

Rows not already of `kind` with `edges` (written against an older reference) are
conformed one by one, as before, and merged with the rest.
"""

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np

from models_app.profiles.keys import implied_keys_many
from models_app.profiles.sketch import (
    CATEGORICAL,
    NUMERIC,
    SAMPLE_SIZE,
    FeatureProfile,
    bottom_k,
    conform,
    fold_categories,
    merge_all,
)
from models_app.profiles.store import decode_sample, profile_from_row

COUNTS = ("count", "missing", "type_errors", "out_of_range", "unseen")


def fits(row: dict, kind: str, edges: list[float]) -> bool:
    """Whether `conform` would leave the row's profile as it is."""
    return row["kind"] == kind and (kind == CATEGORICAL or (row["edges"] or []) == edges)


def merge_stored(
    rows: Sequence[dict], kind: str, edges: Sequence[float], k: int = SAMPLE_SIZE
) -> FeatureProfile:
    """The merged profile of stored rows of one feature, conformed to `kind` and `edges`."""
    if not rows:
        raise ValueError("Nothing to merge.")
    edges = [float(e) for e in edges]
    same = [row for row in rows if fits(row, kind, edges)]
    if not same:
        return merge_all([conform(profile_from_row(row), kind, edges) for row in rows], k)
    own_edges = edges if kind == NUMERIC else [float(e) for e in same[0]["edges"] or []]
    merged = _merged_columns(same, kind, own_edges, k)
    if len(same) == len(rows):
        return merged
    chosen = {id(row) for row in same}
    others = [conform(profile_from_row(row), kind, edges) for row in rows if id(row) not in chosen]
    if id(rows[0]) not in chosen:  # merge_all keeps the first profile's edges
        return merge_all([others[0], merged, *others[1:]], k)
    return merge_all([merged, *others], k)


def _merged_columns(rows: list[dict], kind: str, edges: list[float], k: int) -> FeatureProfile:
    totals = {name: sum(row[name] or 0 for row in rows) for name in COUNTS}
    lows = [row["min"] for row in rows if row["min"] is not None]
    highs = [row["max"] for row in rows if row["max"] is not None]
    sample, keys = _merged_sample(rows, k) if kind == NUMERIC else ([], [])
    return FeatureProfile(
        feature=rows[0]["feature"],
        kind=kind,
        **totals,
        min=min(lows) if lows else None,
        max=max(highs) if highs else None,
        sum=math.fsum(row["sum"] or 0.0 for row in rows),
        sum_sq=math.fsum(row["sum_sq"] or 0.0 for row in rows),
        edges=edges,
        bin_counts=_merged_bins(rows, edges),
        categories=_merged_categories(rows),
        sample=sample,
        sample_keys=keys,
        sketch=_merged_sketch(rows),
    )


def _merged_bins(rows: list[dict], edges: list[float]) -> list[int]:
    if not edges:
        return []
    counted = [row["bin_counts"] for row in rows if row["count"] and row["bin_counts"]]
    if not counted:
        return [0] * (len(edges) + 1)
    return np.asarray(counted, dtype=np.int64).sum(axis=0).tolist()


def _merged_categories(rows: list[dict]) -> dict[str, int]:
    counts: Counter = Counter()
    for row in rows:
        if row["categories"]:
            counts.update(row["categories"])
    return fold_categories(counts)


def _merged_sketch(rows: list[dict]) -> dict[int, int]:
    counts: Counter = Counter()
    for row in rows:
        if row["sketch"]:
            counts.update({int(key): n for key, n in row["sketch"].items()})
    return dict(counts)


def _merged_sample(rows: list[dict], k: int) -> tuple[list, np.ndarray]:
    """(values, keys) of the bottom-k of every row's sample, as `sketch._merged_sample`."""
    seeded, explicit, values, keys = [], [], [], []
    for row in rows:
        blob = row.get("sample_values")
        if blob is None:  # JSON `sample` of rows older than the binary columns
            old_values, old_keys = decode_sample(row)
            values.append(old_values)
            keys.append(old_keys)
        elif len(blob):
            (seeded if row.get("sample_seed") is not None else explicit).append(row)
    if seeded:
        lengths = np.fromiter((len(row["sample_values"]) // 8 for row in seeded), np.int64)
        seeds = np.fromiter((row["sample_seed"] for row in seeded), np.uint64, len(seeded))
        values.append(np.frombuffer(b"".join(row["sample_values"] for row in seeded), "<f8"))
        keys.append(implied_keys_many(seeds, lengths))
    if explicit:
        joined = b"".join(row["sample_values"] for row in explicit)
        values.append(np.frombuffer(joined, "<f8"))
        keys.append(
            np.frombuffer(
                b"".join(
                    bytes(row["sample_keys"][: len(row["sample_values"])]) for row in explicit
                ),
                "<u8",
            )
        )
    if not values or not sum(len(part) for part in values):
        return [], np.empty(0, dtype=np.uint64)
    all_keys = np.concatenate(keys).astype(np.uint64, copy=False)
    all_values = np.concatenate(values).astype(float, copy=False)
    chosen_keys, chosen_values = bottom_k(all_keys, all_values, k)
    return chosen_values.tolist(), chosen_keys
