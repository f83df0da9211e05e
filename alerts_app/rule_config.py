"""Rule configuration: durations, the fields of every kind, and their validation.

One place validates what the admin form and the API accept, so both answer the same
message per bad field. `validate_config(kind, config)` returns the normalised config
(durations in seconds, defaults filled in) or raises
`django.core.exceptions.ValidationError({field: [message]})`.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from alerts_app.rule_fields import (  # noqa: F401  (parse_duration & co. are used from here)
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
    FieldError,
    format_duration,
    format_number,
    parse_duration,
    parse_field,
)

# -- the fields of every kind -----------------------------------------------------------

def _f(type_: str, help_: str, **kw) -> Field:
    return Field(type=type_, help=help_, **kw)


VERSION = _f("string", "Only this model version (default: the latest version for reference, "
             "training and weight checks; every version for metric and serving checks).")
WINDOW = _f("duration", "The window, ending at the evaluation time.", default=3600, min=1,
            max=MAX_DURATION)
STAGE = _f("choice", "The stage the metric is logged under.", default="production",
           choices=STAGES)
METRIC = _f("string", "Metric name, as logged.", required=True)
CLEAR = _f("number", "Hysteresis: once firing, clear only on the other side of this value "
           "(e.g. fire above 0.25, clear below 0.15). Default: the threshold.", nullable=True)
OPERATOR = _f("choice", "The condition that breaks the rule: value <operator> threshold.",
              default=">", choices=OPERATORS)
MIN_SAMPLES = _f("integer", "Fewer rows than this in the window: insufficient_data.",
                 default=100, min=1)


def _drift_fields() -> dict[str, Field]:
    return {
        "method": _f("choice", "auto picks by type and reference size (Evidently's defaults); "
                     "or force one test for every feature.", default="auto",
                     choices=DRIFT_METHODS),
        "threshold": _f("number", "Per-feature threshold: a p-value for ks/chi2/z (drift when "
                        "p < threshold), a distance for psi/js/wasserstein (drift when >=). "
                        "Default: the method's own (0.05, PSI 0.2, JS/Wasserstein 0.1).",
                        nullable=True, min=0),
        "correction": _f("choice", "Multiple-testing correction of p-values across features: "
                         "fdr (Benjamini-Hochberg), bonferroni or none.", default="fdr",
                         choices=CORRECTIONS),
        "window": WINDOW,
        "min_samples": MIN_SAMPLES,
        "version": VERSION,
    }


KIND_FIELDS: dict[str, dict[str, Field]] = {
    "metric_threshold": {
        "metric": METRIC, "stage": STAGE,
        "aggregation": _f("choice", "How the window's points are reduced to one value.",
                          default="avg", choices=AGGREGATIONS),
        "window": WINDOW, "operator": OPERATOR,
        "threshold": _f("number", "The value compared with the aggregate.", required=True),
        "clear_threshold": CLEAR, "version": VERSION,
    },
    "metric_change": {
        "metric": METRIC, "stage": STAGE,
        "aggregation": _f("choice", "How each window's points are reduced to one value.",
                          default="avg", choices=AGGREGATIONS),
        "window": WINDOW,
        "baseline_window": _f("duration", "The window just before `window`, compared against.",
                              default=86400, min=1, max=MAX_DURATION),
        "max_change_pct": _f("number", "Largest allowed change, in percent of the baseline.",
                             required=True, min=0),
        "direction": _f("choice", "Which change breaks the rule.", default="any",
                        choices=("drop", "rise", "any")),
        "clear_threshold": CLEAR, "version": VERSION,
    },
    "metric_anomaly": {
        "metric": METRIC, "stage": STAGE,
        "lookback": _f("integer", "How many points before the last one form the baseline.",
                       default=30, min=3, max=10000),
        "z": _f("number", "Score above which the last point is anomalous.", default=3.0,
                min=0),
        "method": _f("choice", "zscore (mean/std), ewma (exponentially weighted mean/std) or "
                     "mad (median and scaled median absolute deviation, robust).",
                     default="zscore", choices=("zscore", "ewma", "mad")),
        "alpha": _f("number", "EWMA smoothing factor (weight of the newest point).",
                    default=0.3, min=0.001, max=1),
        "direction": _f("choice", "Which side counts as an anomaly.", default="any",
                        choices=("any", "rise", "drop")),
        "version": VERSION,
    },
    "data_drift": {
        "features": _f("strings", "Features to check (default: every feature of the "
                       "reference).", nullable=True),
        **_drift_fields(),
        "drift_share": _f("number", "The rule breaks when this share of checked features "
                          "drifts (or any feature listed in `features` drifts).", default=0.5,
                          min=0, max=1),
    },
    "prediction_drift": {
        "output": _f("choice", "Which output to check: the prediction, the positive-class "
                     "score, or both.", default="both",
                     choices=("prediction", "score", "both")),
        **_drift_fields(),
    },
    "data_quality": {
        "features": _f("strings", "Features to check (default: every profiled feature).",
                       nullable=True),
        "window": WINDOW,
        "max_missing_rate": _f("number", "Largest allowed share of null/absent values (null "
                               "disables).", default=0.1, min=0, max=1, nullable=True),
        "max_out_of_range_rate": _f("number", "Largest allowed share outside the declared "
                                    "range (else the reference min/max).", default=0.05,
                                    min=0, max=1, nullable=True),
        "max_unseen_category_rate": _f("number", "Largest allowed share of categories not "
                                       "declared (else not in the reference).", default=0.05,
                                       min=0, max=1, nullable=True),
        "max_type_error_rate": _f("number", "Largest allowed share of values of the wrong "
                                  "type.", default=0.01, min=0, max=1, nullable=True),
        "min_samples": _f("integer", "Fewer rows than this in the window: insufficient_data.",
                          default=30, min=1),
        "version": VERSION,
    },
    "performance": {
        "metric": _f("choice", "Metric computed by scikit-learn on the labelled predictions.",
                     required=True, choices=PERFORMANCE_METRICS),
        "window": _f("duration", "The window, ending at the evaluation time.", default=86400,
                     min=1, max=MAX_DURATION),
        "operator": _f("choice", "The condition that breaks the rule (default: < for scores "
                       "where higher is better, > for losses and errors).",
                       choices=OPERATORS),
        "threshold": _f("number", "The value compared with the metric.", required=True),
        "min_labels": _f("integer", "Fewer labelled predictions than this: insufficient_data.",
                         default=30, min=1),
        "positive_class": _f("string", 'Positive class of a binary model (default "1"/true).',
                             nullable=True),
        "clear_threshold": CLEAR, "version": VERSION,
    },
    "estimated_performance": {
        "metric": _f("choice", "Metric estimated by CBPE without labels.", required=True,
                     choices=ESTIMATED_METRICS),
        "window": _f("duration", "The window, ending at the evaluation time.", default=86400,
                     min=1, max=MAX_DURATION),
        "operator": _f("choice", "The condition that breaks the rule.", default="<",
                       choices=OPERATORS),
        "threshold": _f("number", "The value compared with the estimate.", required=True),
        "decision_threshold": _f("number", "Score at or above which the model predicts the "
                                 "positive class.", default=0.5, min=0, max=1),
        "min_samples": MIN_SAMPLES,
        "clear_threshold": CLEAR, "version": VERSION,
    },
    "overfitting": {
        "train_metric": _f("string", "Metric logged at stage train.", default="loss"),
        "validation_metric": _f("string", "Metric logged at stage validation.", default="loss"),
        "patience": _f("integer", "Validation steps without improvement (while training "
                       "improves) that break the rule.", default=5, min=1),
        "max_gap": _f("number", "Largest allowed validation-minus-train gap (train-minus-"
                      "validation when higher is better); null disables.", nullable=True,
                      min=0),
        "min_delta": _f("number", "Changes smaller than this do not count.", default=0.0,
                        min=0),
        "mode": _f("choice", "min: lower is better (losses); max: higher is better.",
                   default="min", choices=("min", "max")),
        "version": VERSION,
    },
    "underfitting": {
        "metric": _f("string", "Training metric to watch.", default="loss"),
        "stage": _f("choice", "Stage of the metric.", default="train", choices=STAGES),
        "threshold": _f("number", "The level training must reach.", required=True),
        "after_steps": _f("integer", "By this step the level must be reached.", default=100,
                          min=1),
        "mode": _f("choice", "min: must fall below threshold; max: must rise above it.",
                   default="min", choices=("min", "max")),
        "plateau": _f("boolean", "Also break early when a Page-Hinkley test finds the curve "
                      "has plateaued short of the threshold.", default=True),
        "plateau_delta": _f("number", "Page-Hinkley tolerance, in relative improvement per "
                            "step.", default=0.005, min=0),
        "plateau_lambda": _f("number", "Page-Hinkley detection threshold.", default=0.05,
                             min=0),
        "version": VERSION,
    },
    "latency": {
        "percentile": _f("number", "Percentile of latency_ms over the window.", default=95.0,
                         min=0, max=100),
        "threshold_ms": _f("number", "The rule breaks above this latency.", required=True,
                           min=0),
        "window": _f("duration", "The window, ending at the evaluation time.", default=300,
                     min=1, max=MAX_DURATION),
        "min_samples": _f("integer", "Fewer timed predictions: insufficient_data.",
                          default=10, min=1),
        "clear_threshold": CLEAR, "version": VERSION,
    },
    "error_rate": {
        "max_rate": _f("number", "The rule breaks above this share of predictions with an "
                       "error.", required=True, min=0, max=1),
        "window": _f("duration", "The window, ending at the evaluation time.", default=300,
                     min=1, max=MAX_DURATION),
        "min_samples": _f("integer", "Fewer predictions: insufficient_data.", default=10,
                          min=1),
        "clear_threshold": CLEAR, "version": VERSION,
    },
    "no_data": {
        "window": _f("duration", "Silence longer than this breaks the rule.", default=600,
                     min=1, max=MAX_DURATION),
        "source": _f("choice", "What must keep arriving.", default="any",
                     choices=("predictions", "metrics", "any")),
        "version": VERSION,
    },
    "parameter_health": {
        "tensors": _f("strings", "Tensor names to watch (default: all); shell patterns "
                      "such as 'encoder.*' allowed.", nullable=True),
        "max_norm_change_pct": _f("number", "Largest allowed change of a tensor's L2 norm "
                                  "between its last two steps, in percent.", default=50.0,
                                  min=0),
        "nan_or_inf": _f("boolean", "Break on any NaN or Inf in weights or gradients.",
                         default=True),
        "min_grad_norm": _f("number", "Vanishing gradients: a gradient norm below this "
                            "(null disables).", default=1e-7, min=0, nullable=True),
        "max_grad_norm": _f("number", "Exploding gradients: a gradient norm above this "
                            "(null disables).", default=1000.0, min=0, nullable=True),
        "version": VERSION,
    },
}

THRESHOLD_KINDS = frozenset({"metric_threshold", "metric_change", "performance",
                             "estimated_performance", "latency", "error_rate"})


@dataclass(frozen=True)
class RuleField:
    help: str
    default: int
    min: int = 0


RULE_FIELDS = {
    # the least is MODELWATCH_RULE_MIN_INTERVAL (default 60 s), read when validating
    "interval": RuleField("How often the rule is evaluated.", 300, min=10),
    "pending_for": RuleField("How long the condition must hold before the alert fires.", 0),
    "repeat_interval": RuleField("Re-notify this often while firing (0: never).", 4 * 3600),
    "keep_firing_for": RuleField("Stay firing this long after the condition clears.", 0),
}


def minimum_of(name: str, spec: RuleField) -> int:
    """The smallest value of a rule field; `interval`'s is MODELWATCH_RULE_MIN_INTERVAL."""
    if name == "interval":
        return max(int(settings.MODELWATCH_RULE_MIN_INTERVAL), spec.min)
    return spec.min


def check_rule_limits(model, user=None, rule=None) -> None:
    """ValidationError when saving `rule` (None: a new one) on `model` would give the
    model more than MODELWATCH_MAX_RULES_PER_MODEL rules, or a new rule would give
    `user` more than MODELWATCH_MAX_RULES_PER_USER.

    Inside a transaction, the model's and the user's rows are locked first, so that two
    concurrent creates cannot both take the last place.
    """
    from alerts_app.models import AlertRule

    if model is None:
        return
    others = AlertRule.objects.exclude(pk=getattr(rule, "pk", None))
    lock(model._meta.model, model.pk)
    limit = int(settings.MODELWATCH_MAX_RULES_PER_MODEL)
    if others.filter(model=model).count() >= limit:
        raise ValidationError({"model": [
            f'Model "{model.name}" already has {limit} rules, the most allowed '
            "(MODELWATCH_MAX_RULES_PER_MODEL)."]})
    if rule is not None or user is None or user.pk is None:
        return
    lock(user._meta.model, user.pk)  # request.user may be a lazy object
    limit = int(settings.MODELWATCH_MAX_RULES_PER_USER)
    if others.filter(created_by=user).count() >= limit:
        raise ValidationError({"non_field_errors": [
            f"You already have {limit} rules, the most allowed "
            "(MODELWATCH_MAX_RULES_PER_USER)."]})


def lock(model_class, pk) -> None:
    if transaction.get_connection().in_atomic_block:
        list(model_class.objects.select_for_update().filter(pk=pk).values_list("pk"))


def _parse_all(kind: str, config: dict) -> tuple[dict, dict]:
    fields, clean, errors = KIND_FIELDS[kind], {}, {}
    for name in sorted(set(config) - set(fields)):
        errors[name] = [f'Unknown field for kind "{kind}". Known: {sorted(fields)}.']
    for name, spec in fields.items():
        value = config.get(name)
        if value is None:
            if spec.required:
                errors[name] = ["This field is required."]
            clean[name] = None if (name in config and spec.nullable) else spec.default
            continue
        try:
            clean[name] = parse_field(value, spec)
        except FieldError as exc:
            errors[name] = [str(exc)]
    return clean, errors


def validate_config(kind: str, config) -> dict:
    """The normalised config of a rule of `kind`, or ValidationError({field: [message]})."""
    if kind not in KIND_FIELDS:
        raise ValidationError({"kind": [f'"{kind}" is not a valid choice. '
                                        f"Choose one of {sorted(KIND_FIELDS)}."]})
    if config is None:
        config = {}
    if not isinstance(config, dict):
        raise ValidationError({"config": ["Expected a JSON object."]})
    clean, errors = _parse_all(kind, config)
    if not errors:
        errors = CROSS_CHECKS.get(kind, _no_cross_check)(clean)
    if errors:
        raise ValidationError(errors)
    return clean


def validate_rule_fields(data: dict) -> dict:
    """interval / pending_for / repeat_interval / keep_firing_for of `data`, in seconds.

    Only the fields present in `data` are returned; ValidationError names each bad one.
    """
    clean, errors = {}, {}
    for name, spec in RULE_FIELDS.items():
        if name not in data:
            continue
        try:
            clean[name] = parse_duration(data[name])
            if clean[name] < minimum_of(name, spec):
                raise FieldError(
                    f"Ensure this value is at least {minimum_of(name, spec)} seconds.")
            if clean[name] > MAX_DURATION:
                raise FieldError(f"Ensure this value is at most {MAX_DURATION} seconds.")
        except FieldError as exc:
            errors[name] = [str(exc)]
    if errors:
        raise ValidationError(errors)
    return clean


# -- cross-field checks ------------------------------------------------------------------

def _no_cross_check(config: dict) -> dict:
    return {}


def breaks(value: float, operator: str, threshold: float) -> bool:
    """Whether `value <operator> threshold` holds."""
    return {">": value > threshold, ">=": value >= threshold, "<": value < threshold,
            "<=": value <= threshold, "==": value == threshold,
            "!=": value != threshold}[operator]


def _clear_side(config: dict, operator: str, threshold_field: str = "threshold") -> dict:
    clear, threshold = config.get("clear_threshold"), config[threshold_field]
    if clear is None or operator in ("==", "!="):
        return {} if clear is None else {"clear_threshold": [
            "Hysteresis needs an ordering operator (>, >=, <, <=)."]}
    if breaks(clear, operator, threshold):
        side = "below" if operator.startswith(">") else "above"
        return {"clear_threshold": [f"Must be {side} or equal to the threshold "
                                    f"({format_number(threshold)}): it is where the alert clears."]}
    return {}


def _check_performance(config: dict) -> dict:
    if config["operator"] is None:
        config["operator"] = ">" if config["metric"] in LOWER_IS_BETTER else "<"
    return _clear_side(config, config["operator"])


def _check_quality(config: dict) -> dict:
    limits = [k for k in config if k.startswith("max_") and config[k] is not None]
    return {} if limits else {"max_missing_rate": ["Set at least one max_*_rate."]}


CROSS_CHECKS: dict[str, Callable[[dict], dict]] = {
    "metric_threshold": lambda c: _clear_side(c, c["operator"]),
    "metric_change": lambda c: _clear_side(c, ">", "max_change_pct"),
    "performance": _check_performance,
    "estimated_performance": lambda c: _clear_side(c, c["operator"]),
    "latency": lambda c: _clear_side(c, ">", "threshold_ms"),
    "error_rate": lambda c: _clear_side(c, ">", "max_rate"),
    "data_quality": _check_quality,
}


# -- what the admin form and the docs show ----------------------------------------------

def describe_kind(kind: str) -> dict[str, dict]:
    """{field: {type, help, required, default, choices?}} of one kind."""
    return {name: spec.describe() for name, spec in KIND_FIELDS[kind].items()}


def rule_threshold(kind: str, config: dict) -> tuple[str, float] | None:
    """(operator, threshold) of a threshold kind: how its value breaks the rule."""
    if kind in ("metric_threshold", "performance", "estimated_performance"):
        return config["operator"], config["threshold"]
    limits = {"metric_change": "max_change_pct", "latency": "threshold_ms",
              "error_rate": "max_rate"}
    return (">", config[limits[kind]]) if kind in limits else None


def is_cleared(kind: str, config: dict, value: float | None) -> bool:
    """Whether `value` is past the clear threshold (hysteresis) of a threshold kind.

    Without a clear_threshold (or for other kinds) a value clears when it no longer
    breaks the rule; `None` never clears.
    """
    rule = rule_threshold(kind, config)
    if value is None or rule is None:
        return value is not None
    operator, threshold = rule
    clear = config.get("clear_threshold")
    if clear is None:
        return not breaks(value, operator, threshold)
    strict = {">": "<", ">=": "<", "<": ">", "<=": ">"}[operator]
    return breaks(value, strict, clear) or value == clear

