"""PyTorch helper with real torch on the CPU: statistics checked against torch itself."""

import pytest

torch = pytest.importorskip("torch")

from modelwatch.integrations.torch import (  # noqa: E402
    MonitoredModule,
    TorchMonitor,
    input_features,
    output_predictions,
    parameter_stats,
)


def tiny_net() -> "torch.nn.Module":
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))


def train_step(net, optimizer, seed: int) -> "torch.Tensor":
    generator = torch.Generator().manual_seed(seed)
    x, y = torch.randn(16, 4, generator=generator), torch.randint(0, 3, (16,), generator=generator)
    optimizer.zero_grad()
    loss = torch.nn.functional.cross_entropy(net(x), y)
    loss.backward()
    optimizer.step()
    return loss


def test_parameter_stats_agree_with_torch_computed_directly():
    net = tiny_net()
    optimizer = torch.optim.SGD(net.parameters(), lr=0.5)
    before = {name: p.detach().clone() for name, p in net.named_parameters()}
    train_step(net, optimizer, seed=1)
    previous = {name: w.double().numpy() for name, w in before.items()}
    records = {r["tensor"]: r for r in parameter_stats(net, 1, previous)}
    assert sorted(records) == ["0.bias", "0.weight", "2.bias", "2.weight"]
    for name, parameter in net.named_parameters():
        w, record = parameter.detach().double(), records[name]
        assert record["mean"] == pytest.approx(w.mean().item(), rel=1e-9)
        assert record["std"] == pytest.approx(w.std(unbiased=False).item(), rel=1e-9)
        assert (record["min"], record["max"]) == (w.min().item(), w.max().item())
        assert record["l2_norm"] == pytest.approx(w.norm().item(), rel=1e-9)
        assert record["zero_fraction"] == (w == 0).double().mean().item()
        assert record["grad_norm"] == pytest.approx(parameter.grad.double().norm().item(), rel=1e-9)
        expected_ratio = (w - before[name].double()).norm() / before[name].double().norm()
        assert record["update_ratio"] == pytest.approx(expected_ratio.item(), rel=1e-9)
        assert record["nan_count"] == record["inf_count"] == 0


def test_nan_and_inf_weights_are_counted_and_left_out_of_the_statistics():
    layer = torch.nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[1.0, float("nan")], [float("inf"), 3.0]]))
    [record] = parameter_stats(layer, 0)
    assert (record["nan_count"], record["inf_count"]) == (1, 1)
    assert (record["mean"], record["min"], record["max"]) == (2.0, 1.0, 3.0)


def test_the_monitor_logs_parameters_every_n_optimizer_steps_through_the_hook(captured):
    net = tiny_net()
    optimizer = torch.optim.Adam(net.parameters(), lr=0.01)
    monitor = TorchMonitor(captured, net, optimizer=optimizer, every=2)
    for seed in range(5):
        loss = train_step(net, optimizer, seed)
        monitor.log_metrics({"loss": loss})
    monitor.log_validation({"loss": torch.tensor(0.9)})
    stats = captured.sent["parameters"]
    assert sorted({r["step"] for r in stats}) == [2, 4] and len(stats) == 8
    assert all(r["update_ratio"] > 0 and r["grad_norm"] > 0 for r in stats)
    metrics = captured.sent["metrics"]
    assert [(m["step"], m["stage"]) for m in metrics] == [
        (1, "train"),
        (2, "train"),
        (3, "train"),
        (4, "train"),
        (5, "train"),
        (5, "validation"),
    ]
    assert all(isinstance(m["value"], float) for m in metrics)
    monitor.detach()
    train_step(net, optimizer, 9)
    assert monitor.global_step == 5


def test_every_one_step_gives_an_update_ratio_from_the_first_step(captured):
    net = tiny_net()
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
    monitor = TorchMonitor(captured, net, every=1)
    train_step(net, optimizer, 0)
    monitor.step()
    assert all("update_ratio" in r for r in captured.sent["parameters"])


def test_input_features_name_table_columns_and_summarise_images():
    table = input_features(torch.tensor([[1.0, 2.0], [3.0, 4.0]]), names=["a", "b"])
    assert table == [{"a": 1.0, "b": 2.0}, {"a": 3.0, "b": 4.0}]
    images = input_features(torch.arange(8.0).reshape(2, 1, 2, 2))
    assert images[1] == {"mean": 5.5, "std": pytest.approx(1.118033988), "min": 4.0, "max": 7.0}


def test_output_predictions_take_the_argmax_with_softmax_scores():
    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0]])
    [(first, scores), (second, _)] = output_predictions(logits, class_names=["cat", "dog"])
    expected = torch.softmax(logits, dim=1)[0]
    assert (first, second) == ("cat", "dog")
    assert scores == pytest.approx({"cat": expected[0].item(), "dog": expected[1].item()})
    assert output_predictions(torch.tensor([[0.5], [1.5]])) == [(0.5, None), (1.5, None)]


def test_the_serving_wrapper_logs_features_outputs_and_latency(captured):
    served = MonitoredModule(tiny_net(), captured, feature_names=["a", "b", "c", "d"])
    with torch.no_grad():
        outputs = served.predict(torch.ones(3, 4), ids=["r1", "r2", "r3"])
    records = captured.sent["predictions"]
    assert outputs.shape == (3, 3) and [r["id"] for r in records] == ["r1", "r2", "r3"]
    assert records[0]["features"] == {"a": 1.0, "b": 1.0, "c": 1.0, "d": 1.0}
    assert records[0]["prediction"] == str(int(outputs[0].argmax()))
    assert sum(records[0]["scores"].values()) == pytest.approx(1.0)
    assert records[0]["latency_ms"] > 0 and "error" not in records[0]


def test_the_serving_wrapper_logs_an_exception_and_raises_it(captured):
    served = MonitoredModule(tiny_net(), captured)
    with pytest.raises(RuntimeError):
        served(torch.ones(2, 5))  # wrong width
    records = captured.sent["predictions"]
    assert len(records) == 2 and records[0]["error"].startswith("RuntimeError: ")
    assert "prediction" not in records[0] and records[0]["features"]["x4"] == 1.0
