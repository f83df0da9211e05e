"""Client against the live server: registry calls and metrics round-trip into the database."""

from datetime import UTC, datetime

import pytest

from models_app.models import MetricPoint, Model
from modelwatch import Client, ModelWatchError

pytestmark = pytest.mark.django_db(transaction=True)

FEATURES = [
    {"name": "amount", "type": "numeric", "min": 0},
    {"name": "country", "type": "categorical"},
]


def test_register_model_creates_the_model_with_its_first_version(mw):
    answer = mw.register_model(
        "churn",
        "binary_classification",
        framework="sklearn",
        tags=["demo"],
        features=FEATURES,
        version="2024-01",
    )
    model = Model.objects.get(name="churn")
    assert answer["name"] == "churn" and [v["version"] for v in answer["versions"]] == ["2024-01"]
    assert model.features[0] == {"name": "amount", "type": "numeric", "min": 0.0}
    assert model.tags == ["demo"]


def test_register_model_twice_with_exist_ok_returns_the_existing_model(mw):
    mw.register_model("churn", "binary_classification", description="first")
    again = mw.register_model(
        "churn", "regression", description="second", version="2", exist_ok=True
    )
    assert again["description"] == "first" and again["task"] == "binary_classification"
    assert sorted(v["version"] for v in again["versions"]) == ["1", "2"]


def test_register_model_twice_without_exist_ok_raises_the_name_error(mw):
    mw.register_model("churn", "binary_classification")
    with pytest.raises(ModelWatchError) as caught:
        mw.register_model("churn", "binary_classification")
    assert caught.value.status == 400 and "name" in caught.value.errors
    assert "name:" in str(caught.value)


def test_list_models_and_get_model_read_the_registry(mw, fraud):
    mw.register_model("churn", "regression")
    assert [m["name"] for m in mw.list_models()] == ["churn", "fraud"]
    assert [m["name"] for m in mw.list_models(task="regression")] == ["churn"]
    assert mw.get_model("fraud")["task"] == "binary_classification"


def test_log_metrics_stores_a_dict_of_values_at_one_step_and_stage(mw, fraud):
    sent = mw.model("fraud").log_metrics({"loss": 0.5, "accuracy": 0.75}, step=3, stage="train")
    rows = MetricPoint.objects.order_by("name").values_list("name", "value", "step", "stage")
    assert sent == 2
    assert list(rows) == [("accuracy", 0.75, 3, "train"), ("loss", 0.5, 3, "train")]


def test_log_metric_accepts_epoch_seconds_and_datetimes_as_timestamps(mw, fraud):
    handle = mw.model("fraud")
    handle.log_metric("auc", 0.9, timestamp=1_700_000_000)
    handle.log_metric("auc", 0.8, timestamp=datetime(2024, 5, 1, 12, 30, tzinfo=UTC))
    handle.log_metric("auc", 0.7, timestamp="2024-05-02T00:00:00+02:00")
    stamps = list(MetricPoint.objects.order_by("value").values_list("timestamp", flat=True))
    assert stamps == [
        datetime(2024, 5, 1, 22, 0, tzinfo=UTC),
        datetime(2024, 5, 1, 12, 30, tzinfo=UTC),
        datetime.fromtimestamp(1_700_000_000, tz=UTC),
    ]


def test_log_metrics_stamps_records_when_they_are_logged(mw, fraud):
    before = datetime.now(UTC)
    mw.model("fraud").log_metric("auc", 0.9)
    assert before <= MetricPoint.objects.get().timestamp <= datetime.now(UTC)


def test_log_metrics_goes_to_the_named_version(mw, fraud):
    mw.create_version("fraud", "2")
    mw.model("fraud", version="1").log_metric("auc", 0.9)
    assert MetricPoint.objects.get().version.version == "1"


def test_log_metrics_takes_records_and_a_dataframe(mw, fraud):
    pandas = pytest.importorskip("pandas")
    handle = mw.model("fraud")
    handle.log_metrics([{"name": "loss", "value": 1.0, "step": 1}], stage="validation")
    frame = pandas.DataFrame(
        {
            "name": ["loss", "loss"],
            "value": [0.9, 0.8],
            "step": [2, 3],
            "timestamp": pandas.to_datetime(["2024-01-01", "2024-01-02"]),
        }
    )
    handle.log_metrics(frame, stage="validation")
    rows = MetricPoint.objects.order_by("step").values_list("step", "value", "stage")
    assert list(rows) == [(1, 1.0, "validation"), (2, 0.9, "validation"), (3, 0.8, "validation")]


def test_non_finite_metric_values_are_dropped_with_a_warning(mw, fraud, caplog):
    sent = mw.model("fraud").log_metrics({"loss": float("nan"), "accuracy": 0.5})
    assert sent == 1 and MetricPoint.objects.get().name == "accuracy"
    assert "non-finite" in caplog.text


def test_a_bad_record_surfaces_the_servers_field_error_and_stores_nothing(mw, fraud):
    records = [{"name": "loss", "value": 1.0}, {"name": "loss", "value": 2.0, "stage": "prod"}]
    with pytest.raises(ModelWatchError) as caught:
        mw.model("fraud").log_metrics(records)
    error = caught.value
    assert error.status == 400
    assert "stage" in error.errors["records"]["1"]
    assert "records.1.stage:" in str(error)
    assert MetricPoint.objects.count() == 0


def test_an_unknown_version_is_a_400_naming_the_version(mw, fraud):
    with pytest.raises(ModelWatchError) as caught:
        mw.model("fraud", version="9").log_metric("auc", 0.9)
    assert caught.value.status == 400 and "version" in caught.value.errors


def test_an_unknown_model_is_a_404(mw):
    with pytest.raises(ModelWatchError) as caught:
        mw.model("nope").log_metric("auc", 0.9)
    assert caught.value.status == 404


def test_a_bad_token_is_a_401(server_url, fraud):
    with Client(server_url, "not-a-token") as client, pytest.raises(ModelWatchError) as caught:
        client.model("fraud").log_metric("auc", 0.9)
    assert caught.value.status == 401


def test_large_logs_are_split_into_batches_of_batch_size(server_url, token, fraud, faulty):
    proxy = faulty([])
    with Client(proxy.url, token, batch_size=4) as client:
        sent = client.model("fraud").log_metrics(
            [{"name": "loss", "value": float(i), "step": i} for i in range(10)]
        )
    assert sent == 10 and MetricPoint.objects.count() == 10
    assert len(proxy.seen) == 3
    assert len({seen.idempotency_key for seen in proxy.seen}) == 3


def test_exist_ok_still_raises_other_field_errors(mw):
    with pytest.raises(ModelWatchError) as caught:
        mw.register_model("churn", "astrology", exist_ok=True)
    assert caught.value.status == 400 and "task" in caught.value.errors


def test_delete_model_removes_it(mw, fraud):
    mw.delete_model("fraud")
    assert not Model.objects.exists()
    with pytest.raises(ModelWatchError) as caught:
        mw.get_model("fraud")
    assert caught.value.status == 404
