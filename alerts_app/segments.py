"""Segmented rules: `segment_by` runs a kind's own check once per segment of its window.

A drift, data-quality, performance or estimated-performance rule with
`config["segment_by"]` (a declared categorical feature of its model) is checked per
segment: the window's `max_segments` most frequent values of that feature (ties by
value), then `__other__` (every other value, and rows without one). Each segment gets
the kind's own input, read for that segment's rows alone, and the kind's own `check`
(kinds.py, unchanged), so a segment's value is what the unsegmented rule would answer on
those rows. Inputs per segment:

- drift, data quality, CBPE: the segment profiles of the window
  (`models_app.profiles.segments.segment_windows`, written at ingestion for the features
  rules segment by);
- performance: the window's labelled prediction rows, split by the feature's value.

The rule's result (docs/checks.md, "Segments") breaks when any segment breaks; its
`details["segments"]` holds every segment's verdict and `details["causes"]` the breaking
segments. The lifecycle makes one alert per segment (`segment_items`), fingerprinted
`...|segment:<feature>=<value>` (per-feature kinds: per feature and segment).

The features to profile per segment (`SegmentFeature`) follow the enabled rules:
`sync_segment_features` runs when a rule is saved or deleted (signals connected in
`AlertsAppConfig.ready`).
"""

from collections import Counter, defaultdict
from datetime import datetime

import numpy as np
from django.db.models import Count
from django.db.models.fields.json import KT

from alerts_app.checks import base as checks
from alerts_app.checks.causes import cause, ranked
from alerts_app.checks.performance import LabelledWindow
from alerts_app.checks.quality import QualityCounts
from alerts_app.kinds import Kind, kind_of
from alerts_app.loaders import profiles as profile_loaders
from alerts_app.loaders.base import NoData, window_start
from alerts_app.loaders.predictions import categorical_features, window_predictions
from alerts_app.models import AlertRule
from alerts_app.rule_config import is_cleared
from alerts_app.state import Observation
from models_app import profiles
from models_app.models import Model, SegmentFeature
from models_app.profiles import segment_key, segment_windows

KINDS = ("data_drift", "prediction_drift", "data_quality", "performance", "estimated_performance")
SEGMENT_TYPES = ("categorical", "boolean")
OTHER = profiles.OTHER


def segment_by(config: dict | None) -> str:
    """The feature a rule's config segments by ("" for none)."""
    return (config or {}).get("segment_by") or ""


def label(feature: str, value: str) -> str:
    """How an alert names its segment: `country=FR` (`Alert.segment`)."""
    return f"{feature}={value}"


# -- which rules, which features ---------------------------------------------------------------


def segment_error(model: Model | None, kind: str, config: dict) -> str | None:
    """Why `config["segment_by"]` is refused for a rule of `kind` on `model` (None: fine)."""
    name = segment_by(config)
    if not name or model is None:
        return None
    if kind not in KINDS:
        return f"Rules of kind {kind} cannot be segmented (only {', '.join(KINDS)})."
    declared = model.feature_schema().get(name)
    if declared is None:
        return f'"{name}" is not a declared feature of model "{model.name}".'
    if declared.get("type") not in SEGMENT_TYPES:
        return (
            f'"{name}" is a {declared.get("type")} feature: segment_by needs a categorical '
            "(or boolean) feature."
        )
    return None


def wanted_features(model: Model) -> set[str]:
    """The features the enabled rules of `model` segment by."""
    configs = AlertRule.objects.filter(model=model, enabled=True, kind__in=KINDS).values_list(
        "config", flat=True
    )
    return {segment_by(config) for config in configs} - {""}


def sync_segment_features(model: Model) -> None:
    """Make `SegmentFeature` list exactly the features enabled rules segment by: ingestion
    profiles segments for those from now on, and stops for the others."""
    wanted = wanted_features(model)
    SegmentFeature.objects.filter(model=model).exclude(feature__in=wanted).delete()
    have = set(SegmentFeature.objects.filter(model=model).values_list("feature", flat=True))
    SegmentFeature.objects.bulk_create(
        [SegmentFeature(model=model, feature=name) for name in sorted(wanted - have)],
        ignore_conflicts=True,
    )


def ensure_listed(model: Model, feature: str) -> None:
    """List `feature` for segment profiles if a save did not (a rule enabled by a bulk
    update, which sends no signal): segments then start at its first evaluation."""
    if not SegmentFeature.objects.filter(model=model, feature=feature).exists():
        SegmentFeature.objects.bulk_create(
            [SegmentFeature(model=model, feature=feature)], ignore_conflicts=True
        )


def rule_changed(sender, instance: AlertRule, **kwargs) -> None:
    """post_save / post_delete of a rule: the model's segmented features follow."""
    model = Model.objects.filter(pk=instance.model_id).first()
    if model is not None:
        sync_segment_features(model)


# -- each segment's input ------------------------------------------------------------------------


def profile_segments(version, config: dict, now: datetime, names: list[str]):
    return segment_windows(
        version,
        config["segment_by"],
        window_start(now, config["window"]),
        now,
        names,
        config["max_segments"],
    )


def drift_segments(model, version, config: dict, now: datetime) -> list[tuple]:
    summary, n_reference = profile_loaders.reference_summary(version)
    reference = summary.get("features") or {}
    # Within a segment its own feature is one value: it is not compared with the reference.
    names = [n for n in config["features"] or sorted(reference) if n != config["segment_by"]]
    pairs = {n: reference.get(n) for n in names}
    return [
        (s.value, s.rows, profile_loaders.drift_inputs(pairs, s.profiles, n_reference))
        for s in profile_segments(version, config, now, names)
    ]


def output_drift_segments(model, version, config: dict, now: datetime) -> list[tuple]:
    summary, n_reference = profile_loaders.reference_summary(version)
    wanted = {
        "prediction": [profiles.PREDICTION],
        "score": [profiles.SCORE],
        "both": [profiles.PREDICTION, profiles.SCORE],
    }[config["output"]]
    pairs = {name: profiles.reference_feature(summary, name) for name in wanted}
    if config["output"] == "both" and pairs[profiles.SCORE] is None:
        pairs.pop(profiles.SCORE)
    segments = profile_segments(version, config, now, [*pairs, profiles.PREDICTION])
    return [
        (s.value, s.rows, profile_loaders.drift_inputs(pairs, s.profiles, n_reference))
        for s in segments
    ]


def quality_segments(model, version, config: dict, now: datetime) -> list[tuple]:
    found = []
    for s in profile_segments(version, config, now, config["features"]):
        counts = {
            name: QualityCounts(p.count, p.missing, p.type_errors, p.out_of_range, p.unseen)
            for name, p in s.profiles.items()
            if name not in profiles.OUTPUTS
        }
        found.append((s.value, s.rows, {"rows": s.rows, "features": counts}))
    return found


def cbpe_segments(model, version, config: dict, now: datetime) -> list[tuple]:
    if model.task != "binary_classification":
        raise NoData("Estimated performance (CBPE) needs a binary classifier.")
    summary, _ = profile_loaders.reference_summary(version)
    calibration = summary.get("calibration") or {}
    found = []
    for s in profile_segments(version, config, now, [profiles.SCORE]):
        scores = s.profiles.get(profiles.SCORE)
        data = {
            "ref_scores": profile_loaders.numbers(calibration.get("scores")),
            "ref_labels": profile_loaders.numbers(calibration.get("labels")),
            "scores": profile_loaders.numbers(scores.sample) if scores else np.empty(0),
            "n": scores.count if scores else 0,
            "predicted": None,
            "segment_rows": list,  # no finer segments inside a segment
        }
        found.append((s.value, s.rows, data))
    return found


def top_values(sizes: Counter, max_segments: int) -> list[str]:
    """The `max_segments` values with the most rows (ties by value), OTHER excluded."""
    ranked_values = sorted((v for v in sizes if v != OTHER), key=lambda v: (-sizes[v], v))
    return ranked_values[:max_segments]


def performance_segments(model, version, config: dict, now: datetime) -> list[tuple]:
    """The window's labelled predictions split by the segment feature's value (exact:
    prediction rows, as the unsegmented performance rule reads them)."""
    name = config["segment_by"]
    rows = window_predictions(model, version, config, now)
    sizes: Counter = Counter()
    for value, n in (
        rows.annotate(segment=KT(f"features__{name}"))
        .values_list("segment")
        .annotate(n=Count("pk"))
        .values_list("segment", "n")
    ):
        sizes[segment_key(value)] += n
    labelled = rows.filter(label__isnull=False).values_list(
        "label", "prediction", "scores", "features"
    )
    columns: dict[str, list] = defaultdict(lambda: [[], [], [], []])
    kept = top_values(sizes, config["max_segments"])
    for label_, prediction, scores, features in labelled:
        value = segment_key((features or {}).get(name))
        part = columns[value if value in kept else OTHER]
        for column, item in zip(part, (label_, prediction, scores, features), strict=True):
            column.append(item)
    totals = Counter()
    for value, n in sizes.items():
        totals[value if value in kept else OTHER] += n
    order = kept + ([OTHER] if totals[OTHER] else [])
    found = []
    for value in order:
        labels, predictions, scores, features = columns[value]
        window = LabelledWindow(
            labels,
            predictions,
            scores,
            total=totals[value],
            features=[categorical_features(f) for f in features],
        )
        found.append((value, totals[value], {"window": window, "task": model.task}))
    return found


LOADERS = {
    "data_drift": drift_segments,
    "prediction_drift": output_drift_segments,
    "data_quality": quality_segments,
    "performance": performance_segments,
    "estimated_performance": cbpe_segments,
}


# -- the rule's result -------------------------------------------------------------------------


def run_segmented(kind: Kind, model, version, config: dict, now: datetime) -> checks.Outcome:
    """The outcome of a segmented rule: the kind's check on every segment's input, combined
    (`combine`). NoData from the loader propagates (the evaluation answers it)."""
    ensure_listed(model, config["segment_by"])
    verdicts = []
    for value, rows, data in LOADERS[kind.name](model, version, config, now):
        outcome = kind.check(data, config)
        shown = outcome.as_dict()
        entry = {"segment": value, "rows": rows, **shown}
        if kind.threshold is not None and outcome.value is not None:
            entry["cleared"] = is_cleared(kind.name, config, outcome.value)
        verdicts.append(entry)
    return combine(config["segment_by"], verdicts)


def combine(feature: str, verdicts: list[dict]) -> checks.Outcome:
    """One outcome from the segments' (`{"segment", "rows", "status", "value",
    "threshold", "details"}`, largest first, `__other__` last): breached when any segment
    breaks, ok when some segment is judged and none breaks, else insufficient_data. Its
    value and threshold are those of the first breaking segment (else the first judged
    one), named in `details["segment"]`; `details["segments"]` lists every verdict and
    `details["causes"]` the breaking segments (pure)."""
    details = {"segment_by": feature, "segments": verdicts, "causes": []}
    if not verdicts:
        return checks.insufficient(f"No rows with segments of {feature} in the window.", **details)
    breached = [v for v in verdicts if v["status"] == checks.BREACHED]
    judged = breached or [v for v in verdicts if v["status"] == checks.OK]
    if not judged:
        reasons = {v["details"].get("reason") for v in verdicts} - {None}
        return checks.insufficient(
            "No segment could be judged: " + "; ".join(sorted(reasons)), **details
        )
    chosen = judged[0]
    details |= {"segment": chosen["segment"], "causes": segment_causes(feature, breached)}
    status = checks.BREACHED if breached else checks.OK
    return checks.Outcome(status, chosen["value"], chosen["threshold"], details)


def segment_causes(feature: str, breached: list[dict]) -> list[dict]:
    """A cause per breaking segment: its score the segment's own top cause's (1 without
    one), its summary `country = FR: <its top cause or its value vs threshold>`."""
    found = []
    for verdict in breached:
        own = verdict["details"].get("causes") or []
        top = own[0] if own else None
        what = (
            top["summary"]
            if top
            else f"value {checks_number(verdict['value'])} vs threshold "
            f"{checks_number(verdict['threshold'])}"
        )
        score = top["score"] if top else 1.0
        summary = f"{feature} = {verdict['segment']}: {what}"
        found.append(cause("segment", feature, score, summary, segment=verdict["segment"]))
    return ranked(found)


def checks_number(value) -> str:
    return "n/a" if value is None else f"{value:.4g}"


# -- one alert per segment ---------------------------------------------------------------------


def is_segmented(rule: AlertRule) -> bool:
    return bool(segment_by(rule.config)) and rule.kind in KINDS


def observations(rule: AlertRule, details: dict) -> dict[tuple[str, str], Observation]:
    """{(feature, segment label): Observation} of a segmented result: one per segment, or
    per (feature, segment) for per-feature kinds (from each segment's verdicts)."""
    feature = details.get("segment_by") or segment_by(rule.config)
    per_feature = kind_of(rule.kind).per_feature(rule.config or {})
    found = {}
    for verdict in details.get("segments") or []:
        if not isinstance(verdict, dict):
            continue
        segment = label(feature, verdict["segment"])
        if not per_feature:
            found[("", segment)] = Observation(
                verdict["status"], verdict["value"], verdict["threshold"], verdict.get("cleared")
            )
        elif verdict["status"] in (checks.OK, checks.BREACHED):
            for name, v in (verdict["details"].get("verdicts") or {}).items():
                found[(name, segment)] = Observation(
                    v.get("status", checks.INSUFFICIENT), v.get("value"), v.get("threshold")
                )
    return found


def segment_items(rule: AlertRule, result) -> list[tuple[str, str, Observation]]:
    """(feature, segment, observation) for every alert of a segmented result: the observed
    ones, and insufficient_data for the rule's known segment alerts not observed now."""
    observed = (
        observations(rule, result.details or {})
        if result.status in (checks.OK, checks.BREACHED)
        else {}
    )
    known = set(
        rule.alerts.filter(version_id=result.version_id)
        .exclude(segment="")
        .values_list("feature", "segment")
    )
    return [
        (feature, segment, observed.get((feature, segment), Observation(checks.INSUFFICIENT)))
        for feature, segment in sorted(known | set(observed))
    ]
