"""The demo: the one place that fills ModelWatch with example models, telemetry, rules
and alerts. It may use both `models_app` (telemetry goes through `models_app.ingest`, like
the API's) and `alerts_app` (rules through `rule_config`, alerts only through the engine);
neither of them depends on it.

`manage.py seed_demo` (`load`) loads three models that each tell a story, for `make run`:

- `credit`: a binary classifier whose inputs drift on day 20 of 30 and whose F1 drops
  once the late labels arrive (the confidence-based estimate warns first);
- `camera`: an image classifier fed darker, blurrier frames after a camera change;
- `training`: a training run that starts over-fitting at epoch 12 while one layer's
  gradient norm explodes.

Generators are pure (seeded numpy in, records out, one RNG per hour so that any hour can
be regenerated identically); `writer` stores them through `models_app.ingest`, like the API.

`manage.py dashboard_demo` (`screening`) loads one fixed 30-day model and a small fleet in
a few seconds, for developing the pages, screenshots, the browser tests and
`bench/dashboard.py`. Its past check outcomes are played through the alert engine
(`replay`: `alerts_app.lifecycle.apply_result`), so every alert, state and transition is
the engine's own and a live evaluation afterwards continues the same alerts.
"""
