"""Keras callback with real Keras 3 on the PyTorch backend (no TensorFlow needed)."""

import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

from modelwatch.integrations.keras import ModelWatchCallback, split_logs  # noqa: E402

# Keras's torch backend calls numpy's __array__ the pre-2.0 way; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def fit_tiny_model(callback, epochs: int = 3):
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32")
    y = (x[:, 0] + x[:, 1] > 0).astype("float32")
    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(
        x, y, validation_split=0.25, epochs=epochs, batch_size=16, verbose=0, callbacks=[callback]
    )
    return model, history


def test_split_logs_puts_val_metrics_under_the_validation_stage():
    assert split_logs({"loss": 1, "val_loss": 2.0, "accuracy": np.float32(0.5)}) == {
        "train": {"loss": 1.0, "accuracy": 0.5},
        "validation": {"loss": 2.0},
    }


def test_each_epoch_logs_train_and_validation_metrics_by_step(captured):
    _, history = fit_tiny_model(ModelWatchCallback(captured, log_weights=False))
    metrics = captured.sent["metrics"]
    val_loss = [m["value"] for m in metrics if m["name"] == "loss" and m["stage"] == "validation"]
    train_steps = [m["step"] for m in metrics if m["name"] == "loss" and m["stage"] == "train"]
    assert train_steps == [0, 1, 2]
    assert val_loss == pytest.approx(history.history["val_loss"])
    assert {(m["name"], m["stage"]) for m in metrics} >= {
        ("accuracy", "train"),
        ("accuracy", "validation"),
    }
    assert "parameters" not in captured.sent


def test_weight_statistics_of_each_layer_match_the_trained_weights(captured):
    model, _ = fit_tiny_model(ModelWatchCallback(captured), epochs=2)
    stats = captured.sent["parameters"]
    last = {r["tensor"]: r for r in stats if r["step"] == 1}
    assert len(stats) == 8 and len(last) == 4
    for variable in model.trainable_weights:
        values, record = np.asarray(variable.numpy(), dtype=np.float64), last[variable.path]
        assert record["mean"] == pytest.approx(values.mean(), rel=1e-9)
        assert record["std"] == pytest.approx(values.std(), rel=1e-9)
        assert record["l2_norm"] == pytest.approx(np.linalg.norm(values), rel=1e-9)
        assert record["update_ratio"] > 0


def test_batch_metrics_are_logged_every_n_batches(captured):
    fit_tiny_model(ModelWatchCallback(captured, log_weights=False, batch_every=2), epochs=2)
    batch = [m for m in captured.sent["metrics"] if m["name"] == "batch_loss"]
    assert [m["step"] for m in batch] == [2, 4, 6]  # 3 batches of 16 per epoch, 2 epochs
