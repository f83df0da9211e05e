"""Calibrated thresholds of a rule with `"threshold": "auto"`, cached with the reference.

The bands (mean and std of a statistic over reference chunks,
`alerts_app.checks.calibration`) are computed once per (reference, feature, method, chunk
size) and kept in `models_app.models.ReferenceCalibration`, deleted with the reference;
the rule's `k` is applied when read. The chunk size is the rule's `chunk_size`, else the
window's values rounded to the R10 series (`expected_chunk_size`), so that windows of
about the same size share one cached band. docs/checks.md, "Calibrated thresholds".
"""

import zlib
from collections.abc import Callable

from django.db import IntegrityError, transaction

from alerts_app.checks.calibration import (
    Band,
    Calibration,
    ReferenceFeature,
    drift_calibration,
    expected_chunk_size,
    feature_band,
)
from alerts_app.checks.drift import SAMPLE_METHODS, DriftData, FeatureData, chosen_method
from alerts_app.checks.estimated import cbpe_method, estimate_band
from alerts_app.checks.metrics import direction_of
from alerts_app.rule_fields import AUTO
from models_app.models import Reference, ReferenceCalibration

Key = tuple[str, str, int]  # (feature, method, chunk size)


def current_reference_id(version) -> int | None:
    """The id of the reference the version's drift checks compare with (the newest)."""
    return (
        Reference.objects.filter(version=version)
        .order_by("-created_at", "-id")
        .values_list("id", flat=True)
        .first()
    )


def seed_of(name: str) -> int:
    """A fixed seed per feature: the same reference always gives the same chunks."""
    return zlib.crc32(name.encode())


def cached_bands(reference_id: int, wanted: dict[Key, Callable[[], Band | None]]) -> dict:
    """{key: Band or None} of every wanted key: read from the cache, else computed by
    its function and stored (a concurrent evaluation storing the same key first wins;
    a reference deleted meanwhile stores nothing)."""
    stored = ReferenceCalibration.objects.filter(
        reference_id=reference_id, feature__in={key[0] for key in wanted}
    )
    found: dict[Key, Band | None] = {}
    for row in stored:
        key = (row.feature, row.method, row.chunk_size)
        if key in wanted:
            found[key] = Band(
                row.method, row.chunk_size, row.chunks, row.mean, row.std, row.resampled
            )
    new = []
    for key, compute in wanted.items():
        if key in found:
            continue
        found[key] = band = compute()
        if band is not None:
            new.append(
                ReferenceCalibration(
                    reference_id=reference_id,
                    feature=key[0],
                    method=key[1],
                    chunk_size=key[2],
                    chunks=band.chunks,
                    mean=band.mean,
                    std=band.std,
                    resampled=band.resampled,
                )
            )
    if new:
        try:
            with transaction.atomic():
                ReferenceCalibration.objects.bulk_create(new, ignore_conflicts=True)
        except IntegrityError:  # the reference was deleted meanwhile
            pass
    return found


def chunk_size_of(config: dict, n: int) -> int:
    return config.get("chunk_size") or expected_chunk_size(n)


def band_key(name: str, feature: FeatureData, config: dict) -> Key:
    """(feature, method, chunk size) of one feature's band. Chunks are the size of what
    the window's statistic reads: its sample for the sample methods (ks, wasserstein:
    at most SAMPLE_SIZE values however many rows the window holds), its counts for the
    others. Calibrated on the window's rows instead, a 100k-row window's band was that
    of 100k values while its KS read 5,000: the threshold sat far too low
    (bench/false_alarms.py: 83 % of stable days alerted)."""
    method = chosen_method(feature, config["method"])
    seen = feature.cur_sample.size if method in SAMPLE_METHODS else feature.cur_n
    return (name, method, chunk_size_of(config, seen))


def calibrate_drift(version, data: DriftData, parts: dict[str, dict], config: dict) -> None:
    """Set each feature's `calibration` (threshold auto) from the cached bands of the
    reference's `parts` ({feature: its summary}); features below their method's
    minimum are left to the check (insufficient_data) without computing a band."""
    if config["threshold"] != AUTO or not data.features:
        return
    reference_id = current_reference_id(version)
    if reference_id is None:
        return
    keys, wanted = {}, {}
    for name, feature in data.features.items():
        keys[name] = key = band_key(name, feature, config)
        wanted[key] = band_function(parts[name], key)
    bands = cached_bands(reference_id, wanted)
    for name, feature in data.features.items():
        band = bands.get(keys[name])
        feature.calibration = None if band is None else drift_calibration(band, config["k"])


def band_function(part: dict, key: Key) -> Callable[[], Band | None]:
    name, method, size = key
    return lambda: feature_band(ReferenceFeature.from_summary(part), method, size, seed_of(name))


SCORE = "__score__"


def calibrate_estimate(version, data: dict, config: dict) -> Calibration | None:
    """The calibrated threshold of an estimated_performance rule: the band of the CBPE
    estimate over chunks of the reference's (score, label) pairs, cached like drift's
    (feature `__score__`, method `cbpe_<metric>@<decision threshold>`)."""
    reference_id = current_reference_id(version)
    if reference_id is None or not data["n"]:
        return None
    cutoff = config["decision_threshold"]
    key = (SCORE, cbpe_method(config["metric"], cutoff), chunk_size_of(config, data["n"]))

    def compute() -> Band | None:
        return estimate_band(
            config["metric"], data["ref_scores"], data["ref_labels"], key[2], cutoff, seed_of(SCORE)
        )

    band = cached_bands(reference_id, {key: compute})[key]
    return None if band is None else band.calibration(config["k"], direction_of(config["operator"]))
