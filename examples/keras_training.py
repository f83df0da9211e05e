"""Keras: one callback logs every epoch's loss/val_loss by stage and each layer's weights.

    MODELWATCH_URL=... MODELWATCH_TOKEN=... python examples/keras_training.py

Runs on any Keras 3 backend (KERAS_BACKEND=tensorflow|jax|torch; torch by default
here) and on TensorFlow's tf.keras.
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
from sklearn.datasets import load_breast_cancer  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from modelwatch import Client  # noqa: E402
from modelwatch.integrations.keras import ModelWatchCallback  # noqa: E402

NAME = "example-cancer-keras"


def main(client: Client, name: str = NAME, epochs: int = 5) -> dict:
    keras.utils.set_random_seed(0)
    data = load_breast_cancer()
    x = StandardScaler().fit_transform(data.data).astype("float32")
    model = keras.Sequential(
        [
            keras.Input((x.shape[1],)),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    client.register_model(name, "binary_classification", framework="keras", exist_ok=True)
    history = model.fit(
        x,
        data.target,
        validation_split=0.25,
        epochs=epochs,
        verbose=0,
        callbacks=[ModelWatchCallback(client.model(name))],
    )
    return {key: round(values[-1], 4) for key, values in history.history.items()}


if __name__ == "__main__":
    with Client(background=True) as mw:
        print(main(mw))
