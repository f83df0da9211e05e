"""PyTorch: weight statistics and losses while training, inputs/outputs/latency while serving.

Training::

    monitor = TorchMonitor(mw.model("mnist"), net, optimizer=opt, every=50)
    for x, y in loader:
        opt.zero_grad(); loss = loss_fn(net(x), y); loss.backward(); opt.step()
        monitor.log_metrics({"loss": loss})            # stage "train", step = updates so far
    monitor.log_metrics({"loss": val_loss}, stage="validation")

Serving::

    served = MonitoredModule(net, mw.model("mnist"), class_names=["cat", "dog"])
    probabilities = served(batch)                    # logs one prediction per row
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from modelwatch.client import ModelHandle
from modelwatch.stats import l2_norm, tensor_stats, update_ratio

MAX_NAMED_FEATURES = 64


def to_numpy(tensor: torch.Tensor) -> np.ndarray:
    """A CPU float64 copy-free view where possible (bfloat16/float16 are widened first)."""
    return tensor.detach().to("cpu", torch.float64).numpy()


def parameter_stats(
    module: torch.nn.Module,
    step: int,
    previous: dict[str, np.ndarray] | None = None,
    include: Callable[[str], bool] | None = None,
) -> list[dict]:
    """One record per named parameter: weight statistics, gradient norm, update ratio.

    `previous` maps names to the weights before the last update (for `update_ratio`).
    """
    records = []
    for name, parameter in module.named_parameters():
        if include is not None and not include(name):
            continue
        values = to_numpy(parameter)
        record = {"tensor": name, "step": step, **tensor_stats(values)}
        if parameter.grad is not None:
            record["grad_norm"] = l2_norm(to_numpy(parameter.grad))
        if previous is not None and name in previous:
            record["update_ratio"] = update_ratio(previous[name], values)
        records.append(record)
    return records


class TorchMonitor:
    """Logs a module's weight statistics every `every` optimizer steps, and its losses.

    Call `step()` after each `optimizer.step()`, or pass `optimizer=` and it is called
    for you (through `Optimizer.register_step_post_hook`). At every `every`-th update the
    statistics of each parameter are logged with its gradient norm (the gradient of
    that update) and its update ratio ‖W_n − W_{n−1}‖ / ‖W_{n−1}‖ (weights are copied
    only for the update before a logged step). `include(name)` filters parameters.
    """

    def __init__(
        self,
        handle: ModelHandle,
        module: torch.nn.Module,
        *,
        every: int = 100,
        optimizer: torch.optim.Optimizer | None = None,
        include: Callable[[str], bool] | None = None,
    ) -> None:
        if every < 1:
            raise ValueError("every must be at least 1.")
        self.handle = handle
        self.module = module
        self.every = every
        self.include = include
        self.global_step = 0
        self._previous = self._snapshot() if every == 1 else None
        self._hook = None
        if optimizer is not None:
            self._hook = optimizer.register_step_post_hook(lambda *args: self.step())

    def _snapshot(self) -> dict[str, np.ndarray]:
        return {
            name: to_numpy(p).copy()
            for name, p in self.module.named_parameters()
            if self.include is None or self.include(name)
        }

    def step(self) -> None:
        """Count one optimizer update; log parameter statistics when it is due."""
        self.global_step += 1
        if self.global_step % self.every == 0:
            self.log_parameters()
        self._previous = self._snapshot() if (self.global_step + 1) % self.every == 0 else None

    def log_parameters(self, step: int | None = None) -> int:
        """Log every parameter's statistics now (at `step`, default the update count)."""
        step = self.global_step if step is None else step
        records = parameter_stats(self.module, step, self._previous, self.include)
        return self.handle.log_parameters(records)

    def log_metrics(
        self, metrics: dict[str, Any], *, stage: str = "train", step: int | None = None
    ) -> int:
        """Log losses/metrics (tensors welcome) at `step`, default the update count."""
        step = self.global_step if step is None else step
        return self.handle.log_metrics(metrics, step=step, stage=stage)

    def log_validation(self, metrics: dict[str, Any], step: int | None = None) -> int:
        return self.log_metrics(metrics, stage="validation", step=step)

    def detach(self) -> None:
        """Stop counting optimizer steps (removes the optimizer hook)."""
        if self._hook is not None:
            self._hook.remove()
            self._hook = None


def watch(handle: ModelHandle, module: torch.nn.Module, **options: Any) -> TorchMonitor:
    """Shorthand for `TorchMonitor(handle, module, **options)`."""
    return TorchMonitor(handle, module, **options)


def input_features(inputs: torch.Tensor, names: Sequence[str] | None = None) -> list[dict]:
    """Per-row features of a batch: its columns for a (batch, n) table (named by `names`,
    else x0, x1, ...), else summary statistics (mean, std, min, max) of each sample."""
    array = to_numpy(inputs)
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim == 2 and (names is not None or array.shape[1] <= MAX_NAMED_FEATURES):
        columns = list(names) if names is not None else [f"x{i}" for i in range(array.shape[1])]
        return [dict(zip(columns, row.tolist(), strict=True)) for row in array]
    flat = array.reshape(array.shape[0], -1)
    return [
        {
            "mean": float(r.mean()),
            "std": float(r.std()),
            "min": float(r.min()),
            "max": float(r.max()),
        }
        for r in flat
    ]


def output_predictions(
    outputs: torch.Tensor, class_names: Sequence[str] | None = None
) -> list[tuple[Any, dict | None]]:
    """(prediction, scores) per row: argmax class with softmax scores for (batch, k > 1),
    else the value itself (regression, or a single logit)."""
    array = to_numpy(outputs)
    if array.ndim == 2 and array.shape[1] > 1:
        probabilities = as_probabilities(array)
        names = list(class_names) if class_names else [str(i) for i in range(array.shape[1])]
        return [
            (names[int(row.argmax())], dict(zip(names, row.tolist(), strict=True)))
            for row in probabilities
        ]
    return [(float(value), None) for value in array.reshape(array.shape[0], -1)[:, 0]]


def as_probabilities(array: np.ndarray) -> np.ndarray:
    """Rows that already are probabilities stay; logits go through a softmax."""
    if np.all(array >= 0) and np.allclose(array.sum(axis=1), 1.0, atol=1e-4):
        return array
    shifted = np.exp(array - array.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


class MonitoredModule(torch.nn.Module):
    """Wraps a module for serving: each call logs one prediction per input row.

    Features come from the first positional input (`input_features`, or your
    `features(inputs) -> list[dict]`), predictions from the output (`output_predictions`,
    or your `predictions(outputs) -> list[(prediction, scores)]`). `latency_ms` is the
    wall time of the whole call, given to each of its rows. An exception is logged
    (`error`, no prediction) and re-raised. Use `predict(x, ids=[...])` to give ids for
    labels arriving later. A background Client keeps the logging off the request path.
    """

    def __init__(
        self,
        module: torch.nn.Module,
        handle: ModelHandle,
        *,
        feature_names: Sequence[str] | None = None,
        class_names: Sequence[str] | None = None,
        features: Callable[[Any], list[dict]] | None = None,
        predictions: Callable[[Any], list[tuple[Any, dict | None]]] | None = None,
    ) -> None:
        super().__init__()
        self.module = module
        self.handle = handle
        self.feature_names = feature_names
        self.class_names = class_names
        self._features = features or (lambda x: input_features(x, self.feature_names))
        self._predictions = predictions or (lambda y: output_predictions(y, self.class_names))

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self.predict(*args, **kwargs)

    def predict(self, *args: Any, ids: Sequence[Any] | None = None, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            outputs = self.module(*args, **kwargs)
        except Exception as exc:
            self._log(args, None, started, ids, f"{type(exc).__name__}: {exc}")
            raise
        self._log(args, outputs, started, ids, None)
        return outputs

    def _log(
        self,
        args: tuple,
        outputs: Any,
        started: float,
        ids: Sequence[Any] | None,
        error: str | None,
    ) -> None:
        latency_ms = (time.perf_counter() - started) * 1000
        rows = self._features(args[0]) if args else [{}]
        results = self._predictions(outputs) if error is None else [(None, None)] * len(rows)
        records = [
            {
                "features": features,
                "prediction": prediction,
                "scores": scores,
                "latency_ms": latency_ms,
                "error": error,
                "id": ids[i] if ids is not None else None,
            }
            for i, (features, (prediction, scores)) in enumerate(zip(rows, results, strict=True))
        ]
        self.handle.log_predictions(records)
