"""Training-run story: 30 epochs of a small convolutional network (simulated, seeded).

Training loss keeps falling; validation loss bottoms out at epoch 12 and climbs (over-
fitting). From epoch 12 the gradient of `fc2.weight` grows ~1.9x per epoch until it
explodes, dragging the layer's weight norm with it. Weight statistics are computed by
the SDK's `modelwatch.stats` on the simulated tensors, as the PyTorch helper would.
"""

from datetime import datetime, timedelta

import numpy as np

from modelwatch.stats import tensor_stats, update_ratio

NAME = "digits-cnn-training"
STORY = 303
EPOCHS = 30
OVERFIT_EPOCH = 12
EPOCH_TIME = timedelta(minutes=6)
LEARNING_RATE = 0.01
TENSORS = {
    "conv1.weight": (32, 1, 3, 3),
    "conv1.bias": (32,),
    "conv2.weight": (64, 32, 3, 3),
    "conv2.bias": (64,),
    "fc1.weight": (128, 576),
    "fc1.bias": (128,),
    "fc2.weight": (10, 128),
    "fc2.bias": (10,),
}
EXPLODING = "fc2.weight"


def model_fields() -> dict:
    return {
        "task": "multiclass_classification",
        "framework": "pytorch",
        "tags": ["demo", "training"],
        "description": "Demo: a training run that over-fits from epoch 12 while the gradient "
        "of fc2.weight explodes.",
    }


def run_start(now: datetime) -> datetime:
    return now - EPOCHS * EPOCH_TIME


def curve_records(start: datetime) -> list[dict]:
    """loss and accuracy per epoch, stage train and validation."""
    rng = np.random.default_rng(STORY)
    records = []
    for epoch in range(EPOCHS):
        train_loss = 0.05 + 2.2 * np.exp(-0.28 * epoch) + rng.normal(0, 0.01)
        gap = 0.03 + 0.02 * max(0, epoch - OVERFIT_EPOCH) ** 1.2
        valid_loss = 0.12 + 2.1 * np.exp(-0.3 * epoch) + gap + rng.normal(0, 0.01)
        moment = (start + (epoch + 1) * EPOCH_TIME).isoformat()
        for stage, loss in (("train", train_loss), ("validation", valid_loss)):
            accuracy = float(np.clip(1.02 - 0.42 * loss, 0, 1))
            records += [
                {
                    "name": "loss",
                    "value": float(loss),
                    "step": epoch,
                    "stage": stage,
                    "timestamp": moment,
                },
                {
                    "name": "accuracy",
                    "value": accuracy,
                    "step": epoch,
                    "stage": stage,
                    "timestamp": moment,
                },
            ]
    return records


def grad_norm(tensor: str, epoch: int, rng: np.random.Generator) -> float:
    if tensor == EXPLODING and epoch >= OVERFIT_EPOCH:
        return 0.8 * 1.9 ** (epoch - OVERFIT_EPOCH + 1)
    return float(0.2 + 0.9 * np.exp(-0.12 * epoch) * rng.uniform(0.85, 1.15))


def parameter_records(start: datetime) -> list[dict]:
    """Per epoch and tensor: statistics, gradient norm and update ratio of simulated weights."""
    rng = np.random.default_rng(STORY + 1)
    weights = {
        name: rng.normal(0, np.sqrt(2 / np.prod(shape[1:] or (1,))), shape)
        for name, shape in TENSORS.items()
    }
    records = []
    for epoch in range(EPOCHS):
        moment = (start + (epoch + 1) * EPOCH_TIME).isoformat()
        for name, before in weights.items():
            norm = grad_norm(name, epoch, rng)
            direction = rng.normal(0, 1, before.shape)
            after = before - LEARNING_RATE * norm * direction / np.linalg.norm(direction)
            weights[name] = after
            records.append(
                {
                    "tensor": name,
                    "step": epoch,
                    "timestamp": moment,
                    **tensor_stats(after),
                    "grad_norm": norm,
                    "update_ratio": update_ratio(before, after),
                }
            )
    return records
