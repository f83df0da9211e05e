"""POST /api/v1/models/{name}/labels/: late labels joined by prediction id, both orders."""

from datetime import UTC, datetime, timedelta

from models_app import profiles
from models_app.models import PendingLabel, Prediction

URL = "/api/v1/models/fraud/"
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def predict(api, *ids):
    records = [
        {"id": i, "timestamp": T0.isoformat(), "features": {"x": 1}, "prediction": 1} for i in ids
    ]
    answer = api.post(URL + "predictions/", {"records": records}, format="json")
    assert answer.status_code == 201, answer.json()


def label(api, pairs, **extra):
    records = [{"id": key, "label": value} for key, value in pairs]
    return api.post(URL + "labels/", {"records": records}, format="json", **extra)


def test_labels_join_stored_predictions_and_name_the_unmatched(api, model):
    predict(api, "a", "b")
    answer = label(api, [("a", 1), ("zzz", 0)])
    assert answer.status_code == 200
    assert answer.json() == {"matched": 1, "unmatched": ["zzz"]}
    stored = Prediction.objects.get(client_id="a")
    assert stored.label == 1 and stored.labeled_at is not None
    assert Prediction.objects.get(client_id="b").label is None


def test_a_label_that_arrives_first_is_kept_and_joined_when_the_prediction_comes(api, model):
    assert label(api, [("early", 0)]).json() == {"matched": 0, "unmatched": ["early"]}
    assert PendingLabel.objects.filter(client_id="early").exists()
    predict(api, "early")
    assert Prediction.objects.get(client_id="early").label == 0
    assert not PendingLabel.objects.exists()


def test_a_second_early_label_replaces_the_first(api, model):
    label(api, [("early", 0)])
    label(api, [("early", 1)])
    predict(api, "early")
    assert Prediction.objects.get(client_id="early").label == 1


def test_labels_are_counted_in_the_bucket_of_their_prediction(api, model):
    predict(api, "a", "b", "c")
    label(api, [("a", 1), ("b", 0)])
    label(api, [("b", 1)])
    version = model.versions.get()
    window = profiles.window_profiles(version, T0, T0 + timedelta(minutes=5), ["__label__"])
    assert window["__label__"].count == 2
    assert profiles.window_serving(version, T0, T0)["labels"] == 2


def test_integer_ids_join_like_strings(api, model):
    predict(api, "42")
    assert label(api, [(42, "yes")]).json() == {"matched": 1, "unmatched": []}


def test_bad_label_records_are_named_and_nothing_is_joined(api, model):
    predict(api, "a")
    answer = label(api, [("a", 1), (None, 1), ("c", None), ("d", {"x": 1})])
    assert answer.status_code == 400
    assert answer.json() == {
        "records": {
            "1": {"id": ["This field is required."]},
            "2": {"label": ["This field is required."]},
            "3": {"label": ["Must be a string, a number or a boolean."]},
        }
    }
    assert Prediction.objects.get().label is None


def test_a_repeated_id_in_one_batch_is_refused(api, model):
    answer = label(api, [("a", 1), ("a", 0)])
    assert answer.json() == {"records": {"1": {"id": ["Duplicate id (also at index 0)."]}}}


def test_a_replayed_label_batch_answers_the_same(api, model):
    predict(api, "a")
    first = label(api, [("a", 1), ("b", 1)], HTTP_IDEMPOTENCY_KEY="k1")
    again = label(api, [("a", 1), ("b", 1)], HTTP_IDEMPOTENCY_KEY="k1")
    assert first.json() == again.json() == {"matched": 1, "unmatched": ["b"]}


def test_a_label_sent_with_its_prediction_is_stamped_and_counted(api, model):
    record = {"id": "x", "timestamp": T0.isoformat(), "features": {}, "prediction": 1, "label": 1}
    api.post(URL + "predictions/", {"records": [record]}, format="json")
    stored = Prediction.objects.get()
    assert stored.label == 1 and stored.labeled_at is not None
    assert profiles.window_serving(model.versions.get(), T0, T0)["labels"] == 1
