"""Glue between a request's selection (model, version, range) and the figure builders.

Each figure of the model page has one function here, `(Selection) -> go.Figure`,
listed in MODEL_FIGURES; the views serve them as JSON for the page and its refresh.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from django.db.models import F, Max

from alerts_app import kinds
from alerts_app.models import AlertRule, CheckResult
from frontend import (
    alert_page,
    charts,
    charts_alerts,
    charts_training,
    distributions,
    evaluations,
    queries,
)
from frontend.ranges import TimeRange, iso
from frontend.spans import Span, alert_spans, span_edges
from models_app.models import (
    MetricPoint,
    Model,
    ModelVersion,
    ParameterStat,
    Prediction,
    Profile,
    Reference,
)
from models_app.series import BucketIndex, bucket_width

TRAINING_STAGES = ("train", "validation")


@dataclass
class Selection:
    """What the user is looking at: a model, an optional version, a time range."""

    model: Model
    version: ModelVersion | None
    window: TimeRange
    params: dict = field(default_factory=dict)

    @property
    def bounds(self) -> tuple:
        return self.window.start, self.window.end

    @cached_property
    def spans(self) -> list[Span]:
        version_id = self.version.pk if self.version else None
        return alert_spans(self.model.pk, self.window, version_id)

    @cached_property
    def rules(self) -> list[AlertRule]:
        return list(AlertRule.objects.filter(model=self.model, enabled=True).order_by("name"))

    @cached_property
    def series(self):
        return queries.metric_names(self.model, self.version)

    @cached_property
    def step_version(self) -> ModelVersion | None:
        """The version whose training run is shown: the chosen one, else the newest with one."""
        if self.version is not None:
            return self.version
        with_steps = (
            MetricPoint.objects.filter(model=self.model, step__isnull=False)
            .exclude(stage="production")
            .order_by("-version__created_at", "-version_id")
        )
        version_id = with_steps.values_list("version_id", flat=True).first()
        if version_id is None:
            version_id = (
                ParameterStat.objects.filter(model=self.model)
                .order_by("-version__created_at")
                .values_list("version_id", flat=True)
                .first()
            )
        return ModelVersion.objects.filter(pk=version_id).first() if version_id else None

    def metric_list(self) -> list[str]:
        """Metrics with a serving stage (training-only ones are drawn by step instead)."""
        if self.series.empty:
            return []
        serving = self.series[~self.series["stage"].isin(TRAINING_STAGES)]
        return sorted(serving["name"].unique())


LABEL_SAMPLE = 5000  # the newest predictions looked at for labels (bounded cost)


def has_predictions(model: Model) -> bool:
    return (
        Prediction.objects.filter(model=model).exists()
        or Profile.objects.filter(version__model=model).exists()
    )


def has_labels(model: Model, rules: list[AlertRule]) -> bool:
    """Labels joined (their profiles), labelled recent predictions, or a performance rule
    (realised or estimated) whose results the performance figure draws."""
    if any(r.kind in kinds.named(figure="performance") for r in rules):
        return True
    if Profile.objects.filter(version__model=model, feature="__label__", count__gt=0).exists():
        return True
    recent = Prediction.objects.filter(model=model).order_by("-timestamp")[:LABEL_SAMPLE]
    return Prediction.objects.filter(pk__in=recent.values("pk"), label__isnull=False).exists()


def sections(sel: Selection) -> dict[str, bool]:
    """Which sections of the model page have any data at all (any time, any version):
    the page folds the others into one line saying how to send that data."""
    model = sel.model
    drift_kinds = kinds.named(figure="drift")
    return {
        "metrics": bool(sel.metric_list()),
        "serving": has_predictions(model),
        "performance": has_labels(model, sel.rules),
        "drift": Reference.objects.filter(version__model=model).exists()
        or any(r.kind in drift_kinds for r in sel.rules),
        "training": MetricPoint.objects.filter(model=model, step__isnull=False)
        .exclude(stage="production")
        .exists(),
        "weights": ParameterStat.objects.filter(model=model).exists(),
        "versions": model.versions.count() > 1,
    }


def threshold(rule: AlertRule, key: str) -> dict | None:
    value = (rule.config or {}).get(key)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        operator = (rule.config or {}).get("operator", "")
        return {"value": float(value), "label": f"{rule.name} {operator} {value:g}".strip()}
    return None


def thresholds_of(rules, series: str, metric: str | None = None) -> list[dict]:
    """Threshold lines of the rules whose kind draws its threshold on `series`."""
    lines = []
    for rule in rules:
        kind = kinds.kind_of(rule.kind)
        if kind.line == series and (metric is None or rule.config.get("metric") == metric):
            line = threshold(rule, kind.threshold.key)
            if line:
                lines.append(line)
    return lines


def metric_spans(spans: list[Span], rules: list[AlertRule], name: str) -> list[Span]:
    """Spans of rules about this metric (threshold/change/anomaly, over/under-fitting)."""
    related = {
        r.id
        for r in rules
        if name
        in {
            str(v)
            for k, v in (r.config or {}).items()
            if k in ("metric", "train_metric", "validation_metric")
        }
    }
    return [s for s in spans if s.metric == name or s.rule_id in related]


def trend_stages(stages: list[str]) -> list[str]:
    """Stages drawn over time: serving stages when the metric has them (training stages
    are drawn by step under Training), else whatever it has."""
    serving = [s for s in stages if s in ("production", "test")]
    return serving or stages


def metric_figure(sel: Selection) -> go.Figure:
    name = sel.params.get("name") or (sel.metric_list() or [""])[0]
    stages = trend_stages(sel.series[sel.series["name"] == name]["stage"].tolist())
    if not stages:
        return charts.empty_figure(f"No metric named {name!r}." if name else "No metrics yet.")
    spans = metric_spans(sel.spans, sel.rules, name)
    frame = queries.metric_frame(
        sel.model,
        sel.version,
        sel.window,
        [(name, stage) for stage in stages],
        span_edges(spans, sel.window),
    )
    lines = thresholds_of(sel.rules, "metric", metric=name)
    return charts.metric_figure(frame, name, sel.bounds, spans, lines)


def serving_figure(sel: Selection) -> go.Figure:
    frame = queries.serving_frame(sel.model, sel.version, sel.window)
    spans = [s for s in sel.spans if s.kind in kinds.named(figure="serving")]
    return charts.serving_figure(
        frame,
        sel.bounds,
        spans,
        latency_thresholds=thresholds_of(sel.rules, "latency_ms"),
        error_thresholds=thresholds_of(sel.rules, "errors"),
    )


def drift_figure(sel: Selection) -> go.Figure:
    frame = evaluations.drift_frame(sel.model, sel.version, sel.window)
    return charts.drift_heatmap(frame, sel.bounds)


def chosen_feature(sel: Selection) -> tuple[str, dict | None]:
    """The feature asked for, else the most drifted one of the newest drift result."""
    latest = evaluations.latest_drift(sel.model, sel.version)
    feature = sel.params.get("feature")
    if not feature and latest:
        feature = max(
            latest, key=lambda f: (bool(latest[f].get("drifted")), latest[f].get("statistic") or 0)
        )
    if not feature:
        names = distributions.feature_names(sel.model, reference_version(sel))
        feature = names[0] if names else ""
    return feature, latest.get(feature)


def reference_version(sel: Selection) -> ModelVersion | None:
    return sel.version or sel.model.latest_version()


def distribution_figure(sel: Selection) -> go.Figure:
    version = reference_version(sel)
    feature, verdict = chosen_feature(sel)
    if version is None or not feature:
        return charts.empty_figure("No reference data yet.", title="Reference vs current")
    frame = distributions.distribution_frame(sel.model, version, feature, sel.window)
    return charts.distribution_figure(frame, feature, verdict)


def bucket_of(window: TimeRange, at: datetime, columns: int) -> tuple[int, float] | None:
    """(index, width in seconds) of the heatmap column holding `at`, as the heatmap cut
    `window`; None outside it. A millisecond of slack absorbs the rounding of a bucket
    start that the browser sends back."""
    width = bucket_width(window.start, window.end, columns)
    offset = (at - window.start).total_seconds() + 0.001
    if offset < 0 or at > window.end:
        return None
    return int(offset // width), width


def newest_results(sel: Selection, index: int, width: float) -> list[CheckResult]:
    """The newest drift result of each rule in one heatmap column, the rows its cells
    show: bucketed by the same SQL expression as the heatmap, so a result on a bucket's
    edge lands in the same column here and there."""
    start = sel.window.start + timedelta(seconds=(index - 1) * width)
    around_it = TimeRange(start, start + timedelta(seconds=3 * width), "custom")
    results = evaluations.model_results(
        sel.model, sel.version, around_it, kinds.named(figure="drift")
    ).filter(evaluated_at__gte=sel.window.start, evaluated_at__lte=sel.window.end)
    newest = (
        results.annotate(bucket=BucketIndex(F("evaluated_at"), sel.window.start.timestamp(), width))
        .filter(bucket=index)
        .values("rule_id")
        .annotate(last=Max("id"))
    )
    return list(
        CheckResult.objects.filter(id__in=[row["last"] for row in newest]).select_related(
            "rule", "version"
        )
    )


def verdict_score(verdict: dict) -> float:
    """The score its heatmap cell is coloured by."""
    frame = pd.DataFrame([evaluations.feature_row(None, "", "", verdict)])
    return float(np.nan_to_num(charts.cell_scores(frame)[0]))


def drift_cell_figure(sel: Selection, feature: str, at: datetime) -> go.Figure | None:
    """The reference vs current distribution behind one heatmap cell: of the bucket's
    results that tested `feature`, the one with the highest score (the cell's colour), its
    current side being the window that result read. None for an unknown feature or bucket."""
    bucket = bucket_of(sel.window, at, evaluations.HEATMAP_COLUMNS)
    if bucket is None or not feature:
        return None
    tested = [
        (verdict_score(verdict), result, verdict)
        for result in newest_results(sel, *bucket)
        for verdict in [((result.details or {}).get("features") or {}).get(feature)]
        if isinstance(verdict, dict)
    ]
    if not tested:
        return None
    score, result, verdict = max(tested, key=lambda t: (t[0], t[1].evaluated_at, t[1].pk))
    version = result.version or reference_version(sel)
    if version is None:
        return None
    read = timedelta(seconds=alert_page.rule_window_seconds(result.rule))
    window = TimeRange(result.evaluated_at - read, result.evaluated_at, "custom")
    frame = distributions.distribution_frame(sel.model, version, feature, window)
    fig = charts.distribution_figure(frame, feature, verdict)
    title = (
        f"{feature} at {result.evaluated_at:%Y-%m-%d %H:%M} UTC — score {score:.3g}× "
        f"({'drifted' if verdict.get('drifted') else 'no drift'})"
    )
    fig.update_layout(
        title={"text": title},
        meta={
            "feature": feature,
            "rule": result.rule.name,
            "evaluated_at": iso(result.evaluated_at),
            "window": [iso(window.start), iso(window.end)],
            "score": score,
            "drifted": bool(verdict.get("drifted")),
        },
    )
    return fig


def performance_figure(sel: Selection) -> go.Figure:
    serving = queries.serving_frame(sel.model, sel.version, sel.window)
    estimates = evaluations.estimate_frames(sel.model, sel.version, sel.window)
    return charts.performance_figure(
        serving,
        estimates,
        sel.bounds,
        regression=sel.model.task == "regression",
        thresholds=thresholds_of(sel.rules, "quality"),
    )


def training_figure(sel: Selection) -> go.Figure:
    version = sel.step_version
    if version is None:
        return charts.empty_figure("No training run logged.", title="Training curves")
    title = f"Training curves — version {version.version}"
    return charts_training.training_figure(queries.training_frame(version), title=title)


def weights_figure(sel: Selection) -> go.Figure:
    version = sel.step_version
    if version is None:
        return charts.empty_figure("No weight statistics logged.", title="Weight statistics")
    title = f"Weight statistics — version {version.version}"
    return charts_training.weights_figure(queries.weights_frame(version), title=title)


def versions_figure(sel: Selection) -> go.Figure:
    metric = queries.key_metric(sel.series)
    frame = queries.version_frame(sel.model, sel.window, metric)
    return charts_alerts.versions_figure(frame, metric[0] if metric else None)


def timeline_figure(sel: Selection) -> go.Figure:
    return charts_alerts.alert_timeline(sel.spans, sel.bounds)


MODEL_FIGURES = {
    "timeline": timeline_figure,
    "metric": metric_figure,
    "serving": serving_figure,
    "drift": drift_figure,
    "distribution": distribution_figure,
    "performance": performance_figure,
    "training": training_figure,
    "weights": weights_figure,
    "versions": versions_figure,
}


def rule_history_figure(rule: AlertRule, window: TimeRange) -> go.Figure:
    frame = evaluations.result_frame(rule.results.all(), window)
    spans = alert_spans(rule.model_id, window, rule_id=rule.pk)
    title = f"{rule.name} — {rule.kind}"
    return charts_alerts.rule_history_figure(frame, title, (window.start, window.end), spans)


def rule_drift_figure(rule: AlertRule, window: TimeRange) -> go.Figure:
    frame = evaluations.drift_frame(rule.model, None, window, rule=rule)
    return charts.drift_heatmap(frame, (window.start, window.end))


RULE_FIGURES = {"history": rule_history_figure, "drift": rule_drift_figure}
