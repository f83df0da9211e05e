"""Keras: a callback logging each epoch's metrics by stage and each layer's weight statistics.

    model.fit(x, y, validation_split=0.2, epochs=20,
              callbacks=[ModelWatchCallback(mw.model("churn"))])

It is a `keras.callbacks.Callback`, so it works with Keras 3 on any backend
(TensorFlow, JAX, PyTorch) and with TensorFlow's bundled `tf.keras`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from modelwatch.client import ModelHandle
from modelwatch.stats import tensor_stats, update_ratio

try:
    import keras
except ImportError:  # TensorFlow 2.x without the standalone Keras package
    from tensorflow import keras  # type: ignore[no-redef]


def split_logs(logs: dict[str, Any] | None) -> dict[str, dict[str, float]]:
    """Keras logs by stage: `val_loss` is `loss` of validation, the rest is train."""
    stages: dict[str, dict[str, float]] = {}
    for key, value in (logs or {}).items():
        array = np.asarray(value)
        if array.size != 1 or array.dtype.kind not in "biuf":
            continue  # not a scalar metric (Keras may carry other things in logs)
        stage, name = ("validation", key[4:]) if key.startswith("val_") else ("train", key)
        stages.setdefault(stage, {})[name] = float(array.reshape(()))
    return stages


def variable_name(variable: Any) -> str:
    """Keras 3's path (`dense_1/kernel`); tf.keras 2's name (`dense_1/kernel:0`)."""
    return str(getattr(variable, "path", None) or variable.name)


def variable_values(variable: Any) -> np.ndarray:
    return np.asarray(variable.numpy() if hasattr(variable, "numpy") else variable)


class ModelWatchCallback(keras.callbacks.Callback):
    """Logs each epoch's `loss`/metrics (stage `train`) and `val_*` (stage `validation`)
    at `step` = the epoch index, and every `weights_every` epochs the statistics of each
    trainable weight (with its update ratio since the previous logged epoch).

    `batch_every=N` also logs the training metrics every N batches as `batch_<name>`
    (step = batches seen). With a background Client, `on_train_end` flushes.
    """

    def __init__(
        self,
        handle: ModelHandle,
        *,
        log_weights: bool = True,
        weights_every: int = 1,
        batch_every: int | None = None,
    ) -> None:
        super().__init__()
        self.handle = handle
        self.log_weights = log_weights
        self.weights_every = weights_every
        self.batch_every = batch_every
        self.batches_seen = 0
        self._previous: dict[str, np.ndarray] = {}

    def on_train_begin(self, logs: dict | None = None) -> None:
        if self.log_weights:
            self._previous = self._weights()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        for stage, metrics in split_logs(logs).items():
            self.handle.log_metrics(metrics, step=epoch, stage=stage)
        if self.log_weights and (epoch + 1) % self.weights_every == 0:
            self.log_weight_stats(epoch)

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self.batches_seen += 1
        if self.batch_every and self.batches_seen % self.batch_every == 0:
            metrics = split_logs(logs).get("train", {})
            renamed = {f"batch_{name}": value for name, value in metrics.items()}
            self.handle.log_metrics(renamed, step=self.batches_seen, stage="train")

    def on_train_end(self, logs: dict | None = None) -> None:
        self.handle.flush()

    def _weights(self) -> dict[str, np.ndarray]:
        return {variable_name(v): variable_values(v) for v in self.model.trainable_weights}

    def log_weight_stats(self, step: int) -> int:
        """Log the statistics of every trainable weight now, at `step`."""
        current = self._weights()
        records = []
        for name, values in current.items():
            record = {"tensor": name, "step": step, **tensor_stats(values)}
            if name in self._previous:
                record["update_ratio"] = update_ratio(self._previous[name], values)
            records.append(record)
        self._previous = current
        return self.handle.log_parameters(records)
