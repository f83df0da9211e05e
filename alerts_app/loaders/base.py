"""What every loader shares: the window, the version a rule reads, and `NoData`.

A window is (now - window, now]. Loaders return plain numpy arrays / dicts; the
checks never touch the ORM. `NoData` means the check cannot even start (an unknown
version, a version without a reference); the evaluation answers insufficient_data.
"""

from datetime import datetime, timedelta

import numpy as np

from models_app.models import Model, ModelVersion


class NoData(Exception):
    """The check cannot run: the message says why."""


def target_version(model: Model, version_bound: bool, config: dict) -> ModelVersion | None:
    """The named version; else the latest for version-bound kinds; else None (all)."""
    name = config.get("version")
    if name:
        found = ModelVersion.objects.filter(model=model, version=name).first()
        if found is None:
            raise NoData(f'Version "{name}" of model "{model.name}" does not exist.')
        return found
    if version_bound:
        latest = model.latest_version()
        if latest is None:
            raise NoData(f'Model "{model.name}" has no version.')
        return latest
    return None


def window_start(now: datetime, seconds: int) -> datetime:
    return now - timedelta(seconds=seconds)


def values_of(queryset, field: str = "value") -> np.ndarray:
    return np.fromiter(queryset.values_list(field, flat=True), dtype=float)
