"""Client against the live server: predictions, labels, reference and parameters round-trip."""

from datetime import UTC, datetime

import pandas as pd
import pytest

from alerts_app.models import Alert
from models_app.models import IdempotencyKey, ParameterStat, Prediction, Reference
from modelwatch import Client, ModelWatchError
from tests.factories import make_alert_rule

pytestmark = pytest.mark.django_db(transaction=True)


def test_log_predictions_from_a_dataframe_stores_features_scores_and_ids(mw, fraud):
    frame = pd.DataFrame(
        {
            "id": ["t1", "t2"],
            "amount": [12.5, None],
            "country": ["fr", "de"],
            "prediction": [1, 0],
            "score_0": [0.1, 0.8],
            "score_1": [0.9, 0.2],
            "latency_ms": [3.5, 4.0],
            "timestamp": [1_700_000_000, 1_700_000_060],
        }
    )
    assert mw.model("fraud").log_predictions(frame) == 2
    first, second = Prediction.objects.order_by("client_id")
    assert (first.client_id, first.prediction, first.latency_ms) == ("t1", 1, 3.5)
    assert first.features == {"amount": 12.5, "country": "fr"}
    assert second.features == {"amount": None, "country": "de"}
    assert first.scores == {"0": 0.1, "1": 0.9}
    assert first.timestamp == datetime.fromtimestamp(1_700_000_000, tz=UTC)


def test_log_prediction_stores_one_prediction_and_an_error_without_prediction(mw, fraud):
    handle = mw.model("fraud")
    handle.log_prediction({"amount": 3}, "approve", id="x1", label="approve")
    handle.log_predictions([{"features": {"amount": 4}, "error": "ValueError: boom"}])
    rows = list(Prediction.objects.order_by("id").values_list("prediction", "label", "error"))
    assert rows == [("approve", "approve", ""), (None, None, "ValueError: boom")]


def test_log_labels_joins_by_id_and_reports_unmatched_ids(mw, fraud):
    handle = mw.model("fraud")
    handle.log_predictions([{"id": i, "amount": i, "prediction": 1} for i in range(3)])
    answer = handle.log_labels({0: 1, 2: 0, "nope": 1})
    assert answer["matched"] == 2 and answer["unmatched"] == ["nope"]
    labels = dict(Prediction.objects.values_list("client_id", "label"))
    assert labels == {"0": 1, "1": None, "2": 0}


def test_labels_larger_than_a_batch_are_split_and_their_answers_summed(server_url, token, fraud):
    with Client(server_url, token, batch_size=2) as client:
        handle = client.model("fraud")
        handle.log_predictions([{"id": i, "x": i, "prediction": 0} for i in range(5)])
        answer = handle.log_labels([{"id": i, "label": 1} for i in range(6)])
    assert answer == {"matched": 5, "unmatched": ["5"]}


def test_a_duplicate_prediction_id_surfaces_the_field_error(mw, fraud):
    records = [{"id": "a", "x": 1, "prediction": 0}, {"id": "a", "x": 2, "prediction": 1}]
    with pytest.raises(ModelWatchError) as caught:
        mw.model("fraud").log_predictions(records)
    assert "records.1.id: Duplicate id" in str(caught.value)
    assert not Prediction.objects.exists()


def test_set_reference_from_a_dataframe_builds_the_summary(mw, fraud):
    frame = pd.DataFrame(
        {
            "amount": [float(i) for i in range(100)],
            "country": ["fr", "de"] * 50,
            "prediction": [0, 1] * 50,
        }
    )
    answer = mw.model("fraud").set_reference(frame)
    assert answer["n_rows"] == 100 and set(answer["summary"]["features"]) == {"amount", "country"}
    assert Reference.objects.get().summary["features"]["amount"]["max"] == 99.0
    assert mw.model("fraud").reference()["n_rows"] == 100


def test_set_reference_from_a_csv_path_uploads_the_file(mw, fraud, tmp_path):
    path = tmp_path / "reference.csv"
    path.write_text("amount,country\n1.5,fr\n2.5,de\n3.5,fr\n")
    answer = mw.model("fraud").set_reference(path)
    assert answer["n_rows"] == 3
    assert Reference.objects.get().summary["features"]["amount"]["mean"] == 2.5


def test_a_reference_larger_than_a_batch_goes_up_as_csv(server_url, token, fraud):
    rows = [{"amount": float(i), "country": "fr"} for i in range(25)]
    with Client(server_url, token, batch_size=10) as client:
        answer = client.model("fraud").set_reference(rows)
    assert answer["n_rows"] == 25 and Reference.objects.get().n_rows == 25


def test_set_reference_window_uses_the_logged_predictions(mw, fraud):
    handle = mw.model("fraud")
    handle.log_predictions(
        [{"amount": float(i), "prediction": 0, "timestamp": 1_700_000_000} for i in range(10)]
    )
    answer = handle.set_reference_window(1_699_999_000, 1_700_001_000)
    assert answer["source"] == "window" and answer["n_rows"] == 10


def test_log_parameters_stores_weight_statistics_by_tensor_and_step(mw, fraud):
    stats = {
        "mean": 0.1,
        "std": 0.2,
        "min": -1.0,
        "max": 1.0,
        "l2_norm": 3.0,
        "zero_fraction": 0.0,
        "nan_count": 0,
        "inf_count": 0,
        "grad_norm": 0.5,
        "update_ratio": 0.01,
    }
    sent = mw.model("fraud").log_parameters([{"tensor": "fc.weight", **stats}], step=7)
    row = ParameterStat.objects.get()
    assert sent == 1 and (row.tensor, row.step, row.grad_norm, row.update_ratio) == (
        "fc.weight",
        7,
        0.5,
        0.01,
    )


def test_every_batch_carries_an_idempotency_key_the_server_keeps(mw, fraud):
    handle = mw.model("fraud")
    handle.log_metric("auc", 0.9)
    handle.log_prediction({"x": 1}, 0, id="p")
    handle.log_labels({"p": 1})
    handle.set_reference([{"x": 1.0}, {"x": 2.0}])
    endpoints = sorted(IdempotencyKey.objects.values_list("endpoint", flat=True))
    assert endpoints == ["labels", "metrics", "predictions", "reference"]


def test_health_reports_the_models_firing_alerts(mw, fraud):
    assert mw.model("fraud").health()["status"] == "ok"
    rule = make_alert_rule(fraud, severity="critical")
    Alert.objects.create(rule=rule, fingerprint="f", state="firing")
    health = mw.model("fraud").health()
    assert health["status"] == "critical" and len(health["firing"]) == 1


def test_a_large_dataframe_reference_goes_up_as_parquet_past_the_body_limit(
    mw, fraud, tmp_path, monkeypatch, settings
):
    import numpy as np

    import modelwatch.client

    rng = np.random.default_rng(4)
    frame = pd.DataFrame(
        {
            "amount": rng.normal(50, 5, 3000).round(6),
            "country": rng.choice(["fr", "de", "it"], 3000),
            "prediction": rng.integers(0, 2, 3000),
        }
    )
    path = tmp_path / "reference.csv"
    frame.to_csv(path, index=False)
    from_csv = mw.model("fraud").set_reference(path)
    monkeypatch.setattr(modelwatch.client, "PARQUET_CELLS", 1000)
    settings.MODELWATCH_MAX_BODY_BYTES = 10_000  # the Parquet file is larger: not refused
    from_parquet = mw.model("fraud").set_reference(frame)
    first, second = Reference.objects.order_by("id")
    assert (first.n_rows, second.n_rows) == (3000, 3000)
    assert second.summary == first.summary
    assert from_parquet["summary"] == from_csv["summary"]
