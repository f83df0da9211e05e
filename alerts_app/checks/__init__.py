"""Pure statistics behind every rule kind, one module per family (see `base`)."""

from alerts_app.checks import anomaly, metrics, serving  # noqa: F401  (registers checks)
