"""The demo's alert rules (one or more of every kind) and its two notification channels.

Rules are created once, by (model, name): re-running the seeder keeps any edits made
in the admin. Configs go through `alerts_app.rule_config.validate_config`, like the API.
"""

import os
import re

from alerts_app.models import AlertRule, Channel
from alerts_app.rule_config import validate_config, validate_rule_fields
from models_app.models import Model

EMAIL, WEBHOOK = "Demo on-call e-mail", "Demo webhook"
SEEDED_URL = re.compile(r"http://127\.0\.0\.1:\d+/modelwatch")

# (model, rule name, kind, config, severity, channels) — every rule runs each minute.
RULES = [
    (
        "credit-risk",
        "Input drift",
        "data_drift",
        {"window": "1d", "min_samples": 100, "drift_share": 0.5},
        "critical",
        "all",
    ),
    (
        "credit-risk",
        "Score drift",
        "prediction_drift",
        {"output": "score", "window": "1d", "min_samples": 100},
        "warning",
        "email",
    ),
    (
        "credit-risk",
        "Input quality",
        "data_quality",
        {"window": "1d", "max_missing_rate": 0.1},
        "warning",
        "email",
    ),
    (
        "credit-risk",
        "F1 from late labels",
        "performance",
        {"metric": "f1", "window": "7d", "operator": "<", "threshold": 0.9, "min_labels": 50},
        "critical",
        "all",
    ),
    (
        "credit-risk",
        "Input correlations (PCA reconstruction)",
        "multivariate_drift",
        {"method": "pca_reconstruction", "window": "1d", "min_samples": 100},
        "warning",
        "email",
    ),
    (
        "credit-risk",
        "Estimated F1 (CBPE, no labels yet)",
        "estimated_performance",
        {"metric": "f1", "window": "1d", "threshold": 0.93, "min_samples": 100},
        "warning",
        "email",
    ),
    (
        "credit-risk",
        "p95 latency",
        "latency",
        {"percentile": 95, "threshold_ms": 150, "window": "1h", "min_samples": 10},
        "warning",
        "email",
    ),
    (
        "credit-risk",
        "Error rate",
        "error_rate",
        {"max_rate": 0.05, "window": "6h", "min_samples": 50},
        "warning",
        "email",
    ),
    (
        "credit-risk",
        "Traffic stopped",
        "no_data",
        {"window": "3h", "source": "predictions"},
        "critical",
        "all",
    ),
    (
        "credit-risk",
        "Approval rate floor",
        "metric_threshold",
        {
            "metric": "approval_rate",
            "aggregation": "avg",
            "window": "1d",
            "operator": "<",
            "threshold": 0.45,
        },
        "warning",
        "email",
    ),
    (
        "credit-risk",
        "Approval rate shift",
        "metric_change",
        {
            "metric": "approval_rate",
            "aggregation": "avg",
            "window": "1d",
            "baseline_window": "7d",
            "max_change_pct": 15,
            "direction": "any",
        },
        "warning",
        "email",
    ),
    (
        "credit-risk",
        "Approval rate anomaly",
        "metric_anomaly",
        {"metric": "approval_rate", "lookback": 48, "z": 4, "method": "mad"},
        "info",
        "email",
    ),
    (
        "digits-camera",
        "Image drift",
        "data_drift",
        {
            "features": ["brightness", "contrast", "blur", "saturation"],
            "threshold": 0.01,
            "window": "1d",
            "min_samples": 100,
        },
        "critical",
        "all",
    ),
    (
        "digits-camera",
        "Image quality",
        "data_quality",
        {
            "window": "1d",
            "max_out_of_range_rate": 0.05,
            "max_missing_rate": 0.05,
            "min_samples": 30,
        },
        "critical",
        "all",
    ),
    (
        "digits-camera",
        "Predicted class mix",
        "prediction_drift",
        {"output": "prediction", "window": "1d", "min_samples": 100},
        "warning",
        "email",
    ),
    (
        "digits-camera",
        "Accuracy on reviewed frames",
        "performance",
        {"metric": "accuracy", "window": "1d", "threshold": 0.8, "min_labels": 30},
        "critical",
        "email",
    ),
    (
        "digits-camera",
        "Undecodable frames",
        "error_rate",
        {"max_rate": 0.01, "window": "1d", "min_samples": 50},
        "warning",
        "email",
    ),
    (
        "digits-camera",
        "p95 latency",
        "latency",
        {"percentile": 95, "threshold_ms": 200, "window": "1d"},
        "info",
        "email",
    ),
    (
        "digits-cnn-training",
        "Over-fitting",
        "overfitting",
        {"train_metric": "loss", "validation_metric": "loss", "patience": 5, "max_gap": 0.4},
        "critical",
        "all",
    ),
    (
        "digits-cnn-training",
        "Exploding or NaN weights",
        "parameter_health",
        {"max_norm_change_pct": 50, "max_grad_norm": 1000},
        "critical",
        "all",
    ),
    (
        "digits-cnn-training",
        "Training stalls",
        "underfitting",
        {"metric": "loss", "threshold": 0.3, "after_steps": 15},
        "info",
        "email",
    ),
    (
        "digits-cnn-training",
        "Validation accuracy floor",
        "metric_threshold",
        {
            "metric": "accuracy",
            "stage": "validation",
            "aggregation": "last",
            "window": "7d",
            "operator": "<",
            "threshold": 0.8,
        },
        "warning",
        "email",
    ),
]
TIMING = {"interval": "1m", "pending_for": 0, "repeat_interval": "4h"}


def demo_webhook_url() -> str:
    """Where examples/webhook_receiver.py listens (the same variable sets its port)."""
    port = os.environ.get("MODELWATCH_DEMO_WEBHOOK_PORT") or "9009"
    return os.environ.get("MODELWATCH_DEMO_WEBHOOK_URL") or f"http://127.0.0.1:{port}/modelwatch"


def ensure_channels() -> dict[str, list[Channel]]:
    """The e-mail (console backend in the embedded mode) and webhook channels."""
    url = demo_webhook_url()
    email, _ = Channel.objects.get_or_create(
        name=EMAIL, defaults={"kind": "email", "config": {"address": "oncall@example.com"}}
    )
    webhook, _ = Channel.objects.get_or_create(
        name=WEBHOOK, defaults={"kind": "webhook", "config": {"url": url}}
    )
    if webhook.config.get("url") != url and SEEDED_URL.fullmatch(webhook.config.get("url", "")):
        # The receiver moved (another MODELWATCH_DEMO_WEBHOOK_PORT): follow it, unless
        # someone pointed the channel elsewhere in the admin.
        webhook.config = {**webhook.config, "url": url}
        webhook.save(update_fields=["config"])
    return {"email": [email], "all": [email, webhook]}


def ensure_rules(models: dict[str, Model]) -> int:
    """Create the rules that do not exist yet; answers how many were created."""
    channels, timing, created = ensure_channels(), validate_rule_fields(TIMING), 0
    for model_name, name, kind, config, severity, targets in RULES:
        rule, new = AlertRule.objects.get_or_create(
            model=models[model_name],
            name=name,
            defaults={
                "kind": kind,
                "config": validate_config(kind, config),
                "severity": severity,
                **timing,
            },
        )
        if new:
            rule.channels.set(channels[targets])
            created += 1
    return created
