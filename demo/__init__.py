"""The demo that `manage.py seed_demo` loads: three models that each tell a story.

- `credit`: a binary classifier whose inputs drift on day 20 of 30 and whose F1 drops
  once the late labels arrive (the confidence-based estimate warns first);
- `camera`: an image classifier fed darker, blurrier frames after a camera change;
- `training`: a training run that starts over-fitting at epoch 12 while one layer's
  gradient norm explodes.

Generators are pure (seeded numpy in, records out, one RNG per hour so that any hour can
be regenerated identically); `writer` stores them through `models_app.ingest`, like the API.
"""
