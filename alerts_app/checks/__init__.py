"""Pure statistics behind every rule kind, one module per family (see `base`)."""

from alerts_app.checks import (  # noqa: F401  (importing a family registers its checks)
    anomaly,
    drift,
    estimated,
    metrics,
    parameters,
    performance,
    quality,
    serving,
    training,
)
