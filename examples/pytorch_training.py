"""PyTorch training: losses by step and weight statistics every N updates.

    MODELWATCH_URL=... MODELWATCH_TOKEN=... python examples/pytorch_training.py

A small MLP learns scikit-learn's bundled 8x8 digits on the CPU; every `every`
optimizer steps ModelWatch gets each parameter's mean/std/min/max/norm, gradient
norm and update ratio; each epoch the training and validation losses.
"""

from __future__ import annotations

import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from modelwatch import Client
from modelwatch.integrations.torch import TorchMonitor

NAME = "example-digits-mlp"


def digits_tensors() -> tuple[torch.Tensor, ...]:
    digits = load_digits()
    x_train, x_val, y_train, y_val = train_test_split(
        digits.data / 16.0, digits.target, test_size=0.25, random_state=0
    )
    as_float = lambda a: torch.tensor(a, dtype=torch.float32)  # noqa: E731
    return as_float(x_train), as_float(x_val), torch.tensor(y_train), torch.tensor(y_val)


def main(client: Client, name: str = NAME, epochs: int = 5, every: int = 10) -> int:
    torch.manual_seed(0)
    x_train, x_val, y_train, y_val = digits_tensors()
    net = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))
    optimizer = torch.optim.Adam(net.parameters(), lr=0.01)
    loss_fn = torch.nn.CrossEntropyLoss()

    client.register_model(name, "multiclass_classification", framework="pytorch", exist_ok=True)
    monitor = TorchMonitor(client.model(name), net, optimizer=optimizer, every=every)
    for _ in range(epochs):
        for batch in torch.randperm(len(x_train)).split(64):
            optimizer.zero_grad()
            loss = loss_fn(net(x_train[batch]), y_train[batch])
            loss.backward()
            optimizer.step()  # the monitor counts this step
        monitor.log_metrics({"loss": loss})  # stage "train", step = updates so far
        with torch.no_grad():
            logits = net(x_val)
            accuracy = (logits.argmax(1) == y_val).float().mean()
            monitor.log_validation({"loss": loss_fn(logits, y_val), "accuracy": accuracy})
    return monitor.global_step


if __name__ == "__main__":
    with Client(background=True) as mw:
        print("optimizer steps:", main(mw))
