"""Every script in examples/ runs against the live server and its telemetry is stored."""

import importlib.util
import os
from pathlib import Path

import pytest

from models_app.models import MetricPoint, ParameterStat, Prediction, Reference
from modelwatch import Client

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning"),
]

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def load(name: str):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def background(server_url, token):
    with Client(server_url, token, background=True, flush_interval=0.2) as client:
        yield client


def test_quickstart_logs_predictions_labels_reference_and_a_metric(mw):
    answer = load("quickstart").main(mw)
    assert answer["matched"] == answer["predictions"] == Prediction.objects.count() == 285
    assert Prediction.objects.filter(label__isnull=False).count() == 285
    assert Reference.objects.get().n_rows == 284
    assert MetricPoint.objects.get().stage == "test"


def test_pytorch_training_logs_losses_and_weight_statistics(background):
    steps = load("pytorch_training").main(background, epochs=2, every=5)
    background.flush()
    assert steps == 44  # 1347 training rows in batches of 64, twice
    stages = set(MetricPoint.objects.values_list("name", "stage"))
    assert stages == {("loss", "train"), ("loss", "validation"), ("accuracy", "validation")}
    assert ParameterStat.objects.filter(grad_norm__isnull=False).count() == 4 * (44 // 5)


def test_pytorch_serving_logs_calls_errors_and_labels(background):
    calls = load("pytorch_serving").main(background, requests=5)
    background.flush()
    assert Prediction.objects.count() == calls == 6
    assert Prediction.objects.exclude(error="").count() == 1
    assert Prediction.objects.filter(label__isnull=False).count() == 5


def test_keras_training_logs_epochs_and_layer_weights(background):
    os.environ.setdefault("KERAS_BACKEND", "torch")
    pytest.importorskip("keras")
    load("keras_training").main(background, epochs=2)
    background.flush()
    assert MetricPoint.objects.filter(name="loss", stage="validation").count() == 2
    assert ParameterStat.objects.filter(step=1).count() == 4


def test_opencv_images_logs_image_features_against_a_reference(mw):
    assert load("opencv_images").main(mw, count=40) == 40
    reference = Reference.objects.get().summary["features"]
    live = Prediction.objects.first().features
    assert live["brightness"] < reference["brightness"]["mean"]
    assert set(live) >= {"blur", "contrast", "undecodable"}
