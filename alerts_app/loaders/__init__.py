"""ORM -> arrays: the data each rule kind's check needs for its window, one module per
source (metric points, predictions, arrivals, profiles, training runs).

A loader is `load(model, version, config, now) -> data` for the kind's check; which
loader serves which kind is declared in `alerts_app/kinds.py`. Shared helpers (the
window, the version a rule reads, `NoData`) are in `base`.
"""
