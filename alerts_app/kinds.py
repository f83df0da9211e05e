"""Every rule kind, declared once: what it watches, its config, how it loads and checks.

One `Kind(...)` per kind, listed in `KINDS`; every other module asks the declaration
(`kind_of(rule.kind).version_bound`, `.threshold`, `.figure` ...) instead of keeping
its own table. Adding a kind touches three files: its declaration here, its check
(`alerts_app/checks/`) and its loader (`alerts_app/loaders/`); see docs/development.md.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from alerts_app.checks import (
    anomaly,
    drift,
    estimated,
    metrics,
    multivariate,
    parameters,
    performance,
    quality,
    serving,
    training,
)
from alerts_app.loaders import arrivals, predictions, profiles, rows
from alerts_app.loaders import metrics as points
from alerts_app.loaders import training as runs
from alerts_app.rule_fields import (
    AGGREGATIONS,
    CORRECTIONS,
    DRIFT_METHODS,
    ESTIMATED_METRICS,
    LOWER_IS_BETTER,
    MAX_DURATION,
    OPERATORS,
    PERFORMANCE_METRICS,
    STAGES,
    Field,
)

# What the dashboard hints mean (frontend/figures.py and evaluations.py read them):
# `figure`: the model-page figure that shows what the kind watches ("serving" and
#   "drift" draw its results or alert spans, "performance" plots its values);
# `line`: the series its threshold is drawn on ("metric", "latency_ms", "errors",
#   "quality"), "" for none;
# `hints`: "distribution" (its newest per-feature verdicts choose the feature of the
#   distribution figure), "estimated" (plotted as an estimate, not realised), "history"
#   (dashboards plot its past, so the demo backfills its results).
HINTS = frozenset({"distribution", "estimated", "history"})
LINES = frozenset({"", "metric", "latency_ms", "errors", "quality"})


@dataclass(frozen=True)
class Threshold:
    """Which config key holds a threshold kind's limit, and how its value breaks it."""

    key: str
    operator: str = ""  # "": the rule's own config["operator"]

    def of(self, config: dict) -> tuple[str, float]:
        """(operator, threshold) of one rule's normalised config."""
        return self.operator or config["operator"], config[self.key]


def never(config: dict) -> bool:
    return False


def always(config: dict) -> bool:
    return True


def listed_features(config: dict) -> bool:
    return bool(config.get("features"))


def no_cross_check(config: dict) -> dict:
    return {}


@dataclass(frozen=True, eq=False)
class Kind:
    """One rule kind. `load(model, version, config, now)` gives `check(data, config)` its
    input; `example` is a minimal config that validates (docs and tests use it)."""

    name: str
    summary: str
    fields: dict[str, Field]
    load: Callable
    check: Callable
    figure: str
    example: dict
    threshold: Threshold | None = None  # set: hysteresis (clear_threshold) applies
    cross_check: Callable[[dict], dict] = no_cross_check  # may fill defaults; {field: [msg]}
    version_bound: bool = False  # without config["version"]: the latest version, not all
    per_feature: Callable[[dict], bool] = never  # one alert per feature of `verdicts`
    needs_reference: bool = False  # compares with the version's reference (rule_warnings)
    line: str = ""
    hints: frozenset[str] = frozenset()
    label: str = field(default="")

    def __post_init__(self):
        if not self.label:
            object.__setattr__(self, "label", self.name.replace("_", " ").title())


# -- the fields kinds share --------------------------------------------------------------


def _f(type_: str, help_: str, **kw) -> Field:
    return Field(type=type_, help=help_, **kw)


VERSION = _f(
    "string",
    "Only this model version (default: the latest version for reference, "
    "training and weight checks; every version for metric and serving checks).",
)
WINDOW = _f(
    "duration", "The window, ending at the evaluation time.", default=3600, min=1, max=MAX_DURATION
)
DAY_WINDOW = _f(
    "duration", "The window, ending at the evaluation time.", default=86400, min=1, max=MAX_DURATION
)
SHORT_WINDOW = _f(
    "duration", "The window, ending at the evaluation time.", default=300, min=1, max=MAX_DURATION
)
STAGE = _f("choice", "The stage the metric is logged under.", default="production", choices=STAGES)
METRIC = _f("string", "Metric name, as logged.", required=True)
CLEAR = _f(
    "number",
    "Hysteresis: once firing, clear only on the other side of this value "
    "(e.g. fire above 0.25, clear below 0.15). Default: the threshold.",
    nullable=True,
)
OPERATOR = _f(
    "choice",
    "The condition that breaks the rule: value <operator> threshold.",
    default=">",
    choices=OPERATORS,
)
MIN_SAMPLES = _f(
    "integer", "Fewer rows than this in the window: insufficient_data.", default=100, min=1
)
K = _f(
    "number",
    'With "threshold": "auto": the threshold is the mean ± k standard deviations of the '
    "statistic over chunks of the reference.",
    default=3.0,
    min=0.5,
    max=10,
)
CHUNK_SIZE = _f(
    "integer",
    'With "threshold": "auto": values per reference chunk (default: the window\'s, '
    "rounded to 100, 125, 160, 200, 250, 315, 400, 500, 630, 800 x 10^i).",
    nullable=True,
    min=10,
    max=1_000_000,
)
REFERENCE_WINDOW = _f(
    "duration",
    'With "threshold": "auto": the history just before the window that the threshold '
    "is calibrated on (the rule's own reference).",
    default=7 * 86400,
    min=60,
    max=MAX_DURATION,
)


def auto_threshold(help_: str, **kw) -> Field:
    """A `threshold` that also takes "auto" (calibrated: docs/checks.md)."""
    return _f(
        "threshold",
        help_ + ' "auto": calibrated on the reference, k std out over its chunks.',
        **kw,
    )


# `segment_by`: drift, data-quality, performance and estimated-performance rules run
# their check per segment (alerts_app/segments.py; docs/checks.md, "Segments").
SEGMENTS = {
    "segment_by": _f(
        "string",
        "Run the check per value of this declared categorical feature: its top "
        "max_segments values in the window, plus __other__; one alert per segment.",
        nullable=True,
    ),
    "max_segments": _f(
        "integer",
        "With segment_by: how many values (the most frequent in the window) get a "
        "segment of their own; the rest form __other__.",
        default=10,
        min=1,
        max=50,
    ),
}


def _drift_fields() -> dict[str, Field]:
    return {
        "method": _f(
            "choice",
            "auto picks by type and reference size (Evidently's defaults); "
            "or force one test for every feature.",
            default="auto",
            choices=DRIFT_METHODS,
        ),
        "threshold": auto_threshold(
            "Per-feature threshold: a p-value for ks/chi2/z (drift when "
            "p < threshold), a distance for psi/js/wasserstein (drift when >=). "
            "Default: the method's own (0.05, PSI 0.2, JS/Wasserstein 0.1). With auto, "
            "drift when the statistic (D, chi-square, |z| or the distance) reaches it.",
            nullable=True,
            min=0,
        ),
        "k": K,
        "chunk_size": CHUNK_SIZE,
        "correction": _f(
            "choice",
            "Multiple-testing correction across features (of p-values, or of the "
            'calibrated thresholds under threshold "auto"): '
            "fdr (Benjamini-Hochberg), bonferroni or none.",
            default="fdr",
            choices=CORRECTIONS,
        ),
        "window": WINDOW,
        "min_samples": MIN_SAMPLES,
        "version": VERSION,
    }


# -- cross-field checks of single kinds ------------------------------------------------


def default_operator(config: dict) -> dict:
    """A performance rule without an operator breaks below a score, above a loss."""
    if config["operator"] is None:
        config["operator"] = ">" if config["metric"] in LOWER_IS_BETTER else "<"
    return {}


def at_least_one_limit(config: dict) -> dict:
    limits = [
        k for k in config if k.startswith("max_") and k.endswith("_rate") and config[k] is not None
    ]
    return {} if limits else {"max_missing_rate": ["Set at least one max_*_rate."]}


# -- the kinds ---------------------------------------------------------------------------

KINDS: tuple[Kind, ...] = (
    Kind(
        "metric_threshold",
        "One aggregate of a metric over the window vs a threshold.",
        fields={
            "metric": METRIC,
            "stage": STAGE,
            "aggregation": _f(
                "choice",
                "How the window's points are reduced to one value.",
                default="avg",
                choices=AGGREGATIONS,
            ),
            "window": WINDOW,
            "operator": OPERATOR,
            "threshold": auto_threshold(
                "The value compared with the aggregate. With auto, the reference is the "
                "metric's own reference_window.",
                required=True,
            ),
            "k": K,
            "chunk_size": _f(
                "integer",
                'With "threshold": "auto": points per chunk of the reference window '
                "(default: the points in the window).",
                nullable=True,
                min=1,
                max=1_000_000,
            ),
            "reference_window": REFERENCE_WINDOW,
            "clear_threshold": CLEAR,
            "version": VERSION,
        },
        load=points.load_metric_window,
        check=metrics.metric_threshold,
        threshold=Threshold("threshold"),
        figure="metric",
        line="metric",
        example={"metric": "loss", "threshold": 1},
    ),
    Kind(
        "metric_change",
        "A metric's window vs the preceding baseline window, in percent.",
        fields={
            "metric": METRIC,
            "stage": STAGE,
            "aggregation": _f(
                "choice",
                "How each window's points are reduced to one value.",
                default="avg",
                choices=AGGREGATIONS,
            ),
            "window": WINDOW,
            "baseline_window": _f(
                "duration",
                "The window just before `window`, compared against.",
                default=86400,
                min=1,
                max=MAX_DURATION,
            ),
            "max_change_pct": _f(
                "number",
                "Largest allowed change, in percent of the baseline.",
                required=True,
                min=0,
            ),
            "direction": _f(
                "choice",
                "Which change breaks the rule.",
                default="any",
                choices=("drop", "rise", "any"),
            ),
            "clear_threshold": CLEAR,
            "version": VERSION,
        },
        load=points.load_metric_change,
        check=metrics.metric_change,
        threshold=Threshold("max_change_pct", ">"),
        figure="metric",
        example={"metric": "loss", "max_change_pct": 20},
    ),
    Kind(
        "metric_anomaly",
        "The last value of a metric vs a rolling baseline (z-score, EWMA, MAD).",
        fields={
            "metric": METRIC,
            "stage": STAGE,
            "lookback": _f(
                "integer",
                "How many points before the last one form the baseline.",
                default=30,
                min=3,
                max=10000,
            ),
            "z": _f("number", "Score above which the last point is anomalous.", default=3.0, min=0),
            "method": _f(
                "choice",
                "zscore (mean/std), ewma (exponentially weighted "
                "mean/std) or mad (median and scaled median absolute deviation, "
                "robust).",
                default="zscore",
                choices=("zscore", "ewma", "mad"),
            ),
            "alpha": _f(
                "number",
                "EWMA smoothing factor (weight of the newest point).",
                default=0.3,
                min=0.001,
                max=1,
            ),
            "direction": _f(
                "choice",
                "Which side counts as an anomaly.",
                default="any",
                choices=("any", "rise", "drop"),
            ),
            "version": VERSION,
        },
        load=points.load_metric_tail,
        check=anomaly.metric_anomaly,
        figure="metric",
        example={"metric": "loss"},
    ),
    Kind(
        "data_drift",
        "Per-feature drift of the inputs vs the reference.",
        fields={
            **SEGMENTS,
            "features": _f(
                "strings",
                "Features to check (default: every feature of the reference).",
                nullable=True,
            ),
            **_drift_fields(),
            "drift_share": _f(
                "number",
                "The rule breaks when this share of checked "
                "features drifts (or any feature listed in `features` "
                "drifts).",
                default=0.5,
                min=0,
                max=1,
            ),
        },
        load=profiles.load_feature_drift,
        check=drift.data_drift,
        version_bound=True,
        needs_reference=True,
        per_feature=listed_features,
        figure="drift",
        hints=frozenset({"distribution", "history"}),
        example={},
    ),
    Kind(
        "prediction_drift",
        "Drift of the predictions / scores vs the reference (no labels needed).",
        fields={
            **SEGMENTS,
            "output": _f(
                "choice",
                "Which output to check: the prediction, the positive-class score, or both.",
                default="both",
                choices=("prediction", "score", "both"),
            ),
            **_drift_fields(),
        },
        load=profiles.load_output_drift,
        check=drift.prediction_drift,
        version_bound=True,
        needs_reference=True,
        figure="drift",
        hints=frozenset({"history"}),
        example={},
    ),
    Kind(
        "data_quality",
        "Missing, type-error, out-of-range and unseen-category rates per feature.",
        fields={
            **SEGMENTS,
            "features": _f(
                "strings", "Features to check (default: every profiled feature).", nullable=True
            ),
            "window": WINDOW,
            "max_missing_rate": _f(
                "number",
                "Largest allowed share of null/absent values (null disables).",
                default=0.1,
                min=0,
                max=1,
                nullable=True,
            ),
            "max_out_of_range_rate": _f(
                "number",
                "Largest allowed share outside the declared range (else the reference min/max).",
                default=0.05,
                min=0,
                max=1,
                nullable=True,
            ),
            "max_unseen_category_rate": _f(
                "number",
                "Largest allowed share of categories not declared (else not in the reference).",
                default=0.05,
                min=0,
                max=1,
                nullable=True,
            ),
            "max_type_error_rate": _f(
                "number",
                "Largest allowed share of values of the wrong type.",
                default=0.01,
                min=0,
                max=1,
                nullable=True,
            ),
            "min_samples": _f(
                "integer",
                "Fewer rows than this in the window: insufficient_data.",
                default=30,
                min=1,
            ),
            "version": VERSION,
        },
        load=profiles.load_quality_counts,
        check=quality.data_quality,
        cross_check=at_least_one_limit,
        version_bound=True,
        per_feature=always,
        figure="distribution",
        hints=frozenset({"history"}),
        example={},
    ),
    Kind(
        "performance",
        "A metric from labelled predictions of the window (accuracy, f1, rmse...).",
        fields={
            **SEGMENTS,
            "metric": _f(
                "choice",
                "Metric computed by scikit-learn on the labelled predictions.",
                required=True,
                choices=PERFORMANCE_METRICS,
            ),
            "window": DAY_WINDOW,
            "operator": _f(
                "choice",
                "The condition that breaks the rule (default: < for "
                "scores where higher is better, > for losses and errors).",
                choices=OPERATORS,
            ),
            "threshold": auto_threshold(
                "The value compared with the metric. With auto, the reference is the "
                "labelled predictions of reference_window.",
                required=True,
            ),
            "k": K,
            "chunk_size": CHUNK_SIZE,
            "reference_window": REFERENCE_WINDOW,
            "min_labels": _f(
                "integer",
                "Fewer labelled predictions than this: insufficient_data.",
                default=30,
                min=1,
            ),
            "positive_class": _f(
                "string", 'Positive class of a binary model (default "1"/true).', nullable=True
            ),
            "clear_threshold": CLEAR,
            "version": VERSION,
        },
        load=predictions.load_labelled,
        check=performance.performance,
        threshold=Threshold("threshold"),
        cross_check=default_operator,
        figure="performance",
        line="quality",
        hints=frozenset({"history"}),
        example={"metric": "accuracy", "threshold": 0.8},
    ),
    Kind(
        "estimated_performance",
        "Binary classifiers without labels yet: CBPE estimate.",
        fields={
            **SEGMENTS,
            "metric": _f(
                "choice",
                "Metric estimated by CBPE without labels.",
                required=True,
                choices=ESTIMATED_METRICS,
            ),
            "window": DAY_WINDOW,
            "operator": _f(
                "choice", "The condition that breaks the rule.", default="<", choices=OPERATORS
            ),
            "threshold": auto_threshold(
                "The value compared with the estimate. With auto, the reference is the "
                "version's reference (score, label) pairs.",
                required=True,
            ),
            "k": K,
            "chunk_size": CHUNK_SIZE,
            "decision_threshold": _f(
                "number",
                "Score at or above which the model predicts the positive class.",
                default=0.5,
                min=0,
                max=1,
            ),
            "min_samples": MIN_SAMPLES,
            "clear_threshold": CLEAR,
            "version": VERSION,
        },
        load=profiles.load_cbpe_inputs,
        check=estimated.estimated_performance,
        threshold=Threshold("threshold"),
        version_bound=True,
        needs_reference=True,
        figure="performance",
        line="quality",
        hints=frozenset({"estimated", "history"}),
        example={"metric": "f1", "threshold": 0.7},
    ),
    Kind(
        "overfitting",
        "Validation loss rising while training loss falls, or a wide gap.",
        fields={
            "train_metric": _f("string", "Metric logged at stage train.", default="loss"),
            "validation_metric": _f("string", "Metric logged at stage validation.", default="loss"),
            "patience": _f(
                "integer",
                "Validation steps without improvement (while "
                "training improves) that break the rule.",
                default=5,
                min=1,
            ),
            "max_gap": _f(
                "number",
                "Largest allowed validation-minus-train gap (train-minus-"
                "validation when higher is better); null disables.",
                nullable=True,
                min=0,
            ),
            "min_delta": _f(
                "number", "Changes smaller than this do not count.", default=0.0, min=0
            ),
            "mode": _f(
                "choice",
                "min: lower is better (losses); max: higher is better.",
                default="min",
                choices=("min", "max"),
            ),
            "version": VERSION,
        },
        load=runs.load_fit_curves,
        check=training.overfitting,
        version_bound=True,
        figure="training",
        example={},
    ),
    Kind(
        "underfitting",
        "Training never reaches the level, or plateaus high.",
        fields={
            "metric": _f("string", "Training metric to watch.", default="loss"),
            "stage": _f("choice", "Stage of the metric.", default="train", choices=STAGES),
            "threshold": _f("number", "The level training must reach.", required=True),
            "after_steps": _f(
                "integer", "By this step the level must be reached.", default=100, min=1
            ),
            "mode": _f(
                "choice",
                "min: must fall below threshold; max: must rise above it.",
                default="min",
                choices=("min", "max"),
            ),
            "plateau": _f(
                "boolean",
                "Also break early when a Page-Hinkley test finds the "
                "curve has plateaued short of the threshold.",
                default=True,
            ),
            "plateau_delta": _f(
                "number",
                "Page-Hinkley tolerance, in relative improvement per step.",
                default=0.005,
                min=0,
            ),
            "plateau_lambda": _f(
                "number", "Page-Hinkley detection threshold.", default=0.05, min=0
            ),
            "version": VERSION,
        },
        load=runs.load_train_curve,
        check=training.underfitting,
        version_bound=True,
        figure="training",
        example={"threshold": 0.3},
    ),
    Kind(
        "latency",
        "A serving latency percentile vs a limit in milliseconds.",
        fields={
            "percentile": _f(
                "number", "Percentile of latency_ms over the window.", default=95.0, min=0, max=100
            ),
            "threshold_ms": _f(
                "number", "The rule breaks above this latency.", required=True, min=0
            ),
            "window": SHORT_WINDOW,
            "min_samples": _f(
                "integer", "Fewer timed predictions: insufficient_data.", default=10, min=1
            ),
            "clear_threshold": CLEAR,
            "version": VERSION,
        },
        load=predictions.load_latency,
        check=serving.latency,
        threshold=Threshold("threshold_ms", ">"),
        figure="serving",
        line="latency_ms",
        example={"threshold_ms": 200},
    ),
    Kind(
        "error_rate",
        "The share of predictions that carry an error.",
        fields={
            "max_rate": _f(
                "number",
                "The rule breaks above this share of predictions with an error.",
                required=True,
                min=0,
                max=1,
            ),
            "window": SHORT_WINDOW,
            "min_samples": _f(
                "integer", "Fewer predictions: insufficient_data.", default=10, min=1
            ),
            "clear_threshold": CLEAR,
            "version": VERSION,
        },
        load=predictions.load_error_counts,
        check=serving.error_rate,
        threshold=Threshold("max_rate", ">"),
        figure="serving",
        line="errors",
        example={"max_rate": 0.05},
    ),
    Kind(
        "no_data",
        "Silence: nothing arrived in the window.",
        fields={
            "window": _f(
                "duration",
                "Silence longer than this breaks the rule.",
                default=600,
                min=1,
                max=MAX_DURATION,
            ),
            "source": _f(
                "choice",
                "What must keep arriving.",
                default="any",
                choices=("predictions", "metrics", "any"),
            ),
            "version": VERSION,
        },
        load=arrivals.load_silence,
        check=serving.no_data,
        figure="serving",
        example={},
    ),
    Kind(
        "parameter_health",
        "NaN/Inf in weights, exploding or vanishing norms.",
        fields={
            "tensors": _f(
                "strings",
                "Tensor names to watch (default: all); shell patterns such as 'encoder.*' allowed.",
                nullable=True,
            ),
            "max_norm_change_pct": _f(
                "number",
                "Largest allowed change of a tensor's L2 "
                "norm between its last two steps, in percent.",
                default=50.0,
                min=0,
            ),
            "nan_or_inf": _f(
                "boolean", "Break on any NaN or Inf in weights or gradients.", default=True
            ),
            "min_grad_norm": _f(
                "number",
                "Vanishing gradients: a gradient norm below this (null disables).",
                default=1e-7,
                min=0,
                nullable=True,
            ),
            "max_grad_norm": _f(
                "number",
                "Exploding gradients: a gradient norm above this (null disables).",
                default=1000.0,
                min=0,
                nullable=True,
            ),
            "version": VERSION,
        },
        load=runs.load_parameter_steps,
        check=parameters.parameter_health,
        version_bound=True,
        figure="weights",
        example={},
    ),
    Kind(
        "multivariate_drift",
        "Drift of whole input rows vs the reference (PCA reconstruction or a domain classifier).",
        fields={
            "method": _f(
                "choice",
                "pca_reconstruction: the window's mean PCA reconstruction error vs a band over "
                "reference chunks; domain_classifier: how well a classifier tells window rows "
                "from reference rows (cross-validated ROC AUC).",
                required=True,
                choices=multivariate.METHODS,
            ),
            "features": _f(
                "strings",
                "Features to compare (default: every feature of the reference's joint sample).",
                nullable=True,
            ),
            "threshold": _f(
                "number",
                "domain_classifier: the rule breaks when the AUC is above this (0.5: no "
                "difference, 1: rows told apart perfectly).",
                default=0.65,
                min=0.5,
                max=1,
            ),
            "k": _f(
                "number",
                "pca_reconstruction: the band is the reference chunks' mean error ± k "
                "standard deviations.",
                default=3.0,
                min=0,
            ),
            "chunk_size": _f(
                "integer",
                "pca_reconstruction: rows per reference chunk (default: the window's sampled "
                "rows, at most a tenth of the reference sample).",
                nullable=True,
                min=2,
            ),
            "window": WINDOW,
            "min_samples": _f(
                "integer",
                "Fewer rows than this in the window or in the reference's joint sample: "
                "insufficient_data.",
                default=100,
                min=10,
            ),
            "version": VERSION,
        },
        load=rows.load_joint_rows,
        check=multivariate.multivariate_drift,
        version_bound=True,
        needs_reference=True,
        figure="timeline",
        example={"method": "domain_classifier"},
    ),
)

BY_NAME: dict[str, Kind] = {kind.name: kind for kind in KINDS}


def kind_of(name: str) -> Kind:
    """The declaration of kind `name` (KeyError if there is none)."""
    return BY_NAME[name]


def kind_names() -> list[str]:
    return [kind.name for kind in KINDS]


def kind_choices() -> list[tuple[str, str]]:
    """(name, label) of every kind: the choices of `AlertRule.kind`."""
    return [(kind.name, kind.label) for kind in KINDS]


def named(
    figure: str | None = None, line: str | None = None, hint: str | None = None
) -> tuple[str, ...]:
    """Names of the kinds with this figure, threshold line and/or hint."""
    return tuple(
        kind.name
        for kind in KINDS
        if (figure is None or kind.figure == figure)
        and (line is None or kind.line == line)
        and (hint is None or hint in kind.hints)
    )
