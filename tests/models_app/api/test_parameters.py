"""POST /api/v1/models/{name}/parameters/: weight statistics per tensor and step."""

from models_app.models import ParameterStat

URL = "/api/v1/models/fraud/parameters/"


def stat(**overrides) -> dict:
    return {
        "tensor": "fc1.weight",
        "step": 10,
        "mean": 0.01,
        "std": 0.2,
        "min": -0.9,
        "max": 0.8,
        "l2_norm": 12.5,
    } | overrides


def test_weight_statistics_are_stored_with_gradient_norm_and_update_ratio(api, model):
    records = [
        stat(),
        stat(
            tensor="fc2.weight",
            zero_fraction=0.25,
            nan_count=2,
            inf_count=1,
            grad_norm=0.7,
            update_ratio=0.001,
            histogram={"edges": [-1, 0, 1], "counts": [3, 4]},
        ),
    ]
    answer = api.post(URL, {"records": records}, format="json")
    assert answer.status_code == 201 and answer.json() == {"accepted": 2}
    second = ParameterStat.objects.get(tensor="fc2.weight")
    assert (second.step, second.l2_norm, second.zero_fraction) == (10, 12.5, 0.25)
    assert (second.nan_count, second.inf_count) == (2, 1)
    assert (second.grad_norm, second.update_ratio) == (0.7, 0.001)
    assert second.histogram == {"edges": [-1.0, 0.0, 1.0], "counts": [3, 4]}
    assert ParameterStat.objects.get(tensor="fc1.weight").nan_count == 0


def test_bad_statistics_are_named_by_index_and_field(api, model):
    records = [
        stat(),
        stat(mean="x", zero_fraction=2),
        stat(tensor=None, nan_count=-1),
        stat(histogram={"edges": [0, 1], "counts": [1, 2]}),
    ]
    answer = api.post(URL, {"records": records}, format="json")
    assert answer.status_code == 400
    assert answer.json() == {
        "records": {
            "1": {
                "mean": ["Must be a finite number."],
                "zero_fraction": ["Must be between 0 and 1."],
            },
            "2": {"tensor": ["This field is required."], "nan_count": ["Must be zero or more."]},
            "3": {"histogram": ["Needs `edges` (n + 1 numbers) and `counts` (n counts)."]},
        }
    }
    assert not ParameterStat.objects.exists()


def test_a_replayed_parameter_batch_is_stored_once(api, model):
    for _ in range(2):
        api.post(URL, {"records": [stat()]}, format="json", HTTP_IDEMPOTENCY_KEY="p-1")
    assert ParameterStat.objects.count() == 1
