"""PyTorch serving: wrap the model so each call logs inputs, outputs, latency and errors.

MODELWATCH_URL=... MODELWATCH_TOKEN=... python examples/pytorch_serving.py
"""

from __future__ import annotations

import uuid

import torch
from sklearn.datasets import load_digits

from modelwatch import Client
from modelwatch.integrations.torch import MonitoredModule

NAME = "example-digits-serving"


def main(client: Client, name: str = NAME, requests: int = 20) -> int:
    torch.manual_seed(0)
    digits = load_digits()
    net = torch.nn.Sequential(torch.nn.Linear(64, 10))  # untrained: the wiring is the point
    client.register_model(name, "multiclass_classification", framework="pytorch", exist_ok=True)
    model = client.model(name)
    served = MonitoredModule(net, model, class_names=[str(d) for d in range(10)])
    run = uuid.uuid4().hex[:8]
    labels = {}
    for i in range(requests):
        row = torch.tensor(digits.data[i : i + 1] / 16.0, dtype=torch.float32)
        request_id = f"{run}-{i}"
        with torch.no_grad():
            served.predict(row, ids=[request_id])  # 64 pixel features x0..x63
        labels[request_id] = str(digits.target[i])
    try:
        served(torch.zeros(1, 3))  # a malformed request: logged as an error
    except RuntimeError:
        pass
    model.log_labels(labels)  # ground truth arrives later
    return requests + 1


if __name__ == "__main__":
    with Client(background=True) as mw:
        print("logged calls:", main(mw))
