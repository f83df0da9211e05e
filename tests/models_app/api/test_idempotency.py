"""Idempotency-Key on every telemetry endpoint: a replay answers the first answer, the
same key with another body is refused (422), a key over 200 characters is refused (400)."""

import threading
import time
from dataclasses import dataclass

import orjson
import pytest
from django.db import connection
from django.test.client import encode_multipart
from rest_framework.test import APIClient

from models_app import ingest
from models_app.models import (
    IdempotencyKey,
    MetricPoint,
    ParameterStat,
    PendingLabel,
    Prediction,
    Reference,
)
from tests.factories import make_model, make_token, make_user

URL = "/api/v1/models/fraud/"
KEY_REUSED = {
    "Idempotency-Key": [
        "This key was already used with a different request body; "
        "send each new batch with a new key."
    ]
}


def stats(step: int) -> dict:
    return {
        "tensor": "fc.weight",
        "step": step,
        "mean": 0.0,
        "std": 1.0,
        "min": -1.0,
        "max": 1.0,
        "l2_norm": 3.0,
    }


@dataclass
class Endpoint:
    path: str
    first: dict  # two different bodies
    second: dict
    status: int
    stored: object  # () -> what is stored, to compare

    def post(self, api, body, key, **extra):
        return api.post(URL + self.path, body, format="json", HTTP_IDEMPOTENCY_KEY=key, **extra)


def prediction(key: str) -> dict:
    return {"id": key, "features": {"x": 1.0}, "prediction": 1}


ENDPOINTS = {
    "metrics": Endpoint(
        "metrics/",
        {"records": [{"name": "loss", "value": 0.1, "step": 0}]},
        {"records": [{"name": "loss", "value": 0.2, "step": 1}]},
        201,
        lambda: sorted(MetricPoint.objects.values_list("step", "value")),
    ),
    "predictions": Endpoint(
        "predictions/",
        {"records": [prediction("a")]},
        {"records": [prediction("b")]},
        201,
        lambda: sorted(Prediction.objects.values_list("client_id", flat=True)),
    ),
    "parameters": Endpoint(
        "parameters/",
        {"records": [stats(0)]},
        {"records": [stats(1)]},
        201,
        lambda: sorted(ParameterStat.objects.values_list("step", flat=True)),
    ),
    "labels": Endpoint(
        "labels/",
        {"records": [{"id": "a", "label": 1}]},
        {"records": [{"id": "b", "label": 0}]},
        200,
        lambda: sorted(PendingLabel.objects.values_list("client_id", "label")),
    ),
    "reference records": Endpoint(
        "reference/",
        {"records": [{"x": 1.0}, {"x": 2.0}]},
        {"records": [{"x": 5.0}, {"x": 6.0}, {"x": 7.0}]},
        201,
        lambda: sorted(Reference.objects.values_list("n_rows", flat=True)),
    ),
}


@pytest.mark.django_db
@pytest.mark.parametrize("name", list(ENDPOINTS))
def test_the_same_key_with_another_body_is_refused_and_stores_nothing(api, model, name):
    endpoint = ENDPOINTS[name]
    first = endpoint.post(api, endpoint.first, "batch-1")
    stored = endpoint.stored()
    second = endpoint.post(api, endpoint.second, "batch-1")
    assert second.status_code == 422, second.content
    assert second.json() == KEY_REUSED
    assert endpoint.stored() == stored
    replay = endpoint.post(api, endpoint.first, "batch-1")
    assert (replay.status_code, replay.json()) == (first.status_code, first.json())
    if first.status_code < 300:
        assert first.status_code == endpoint.status
        assert IdempotencyKey.objects.get().key == "batch-1"


@pytest.mark.django_db
@pytest.mark.parametrize("name", list(ENDPOINTS))
def test_the_same_body_sent_again_under_its_key_is_answered_as_before(api, model, name):
    endpoint = ENDPOINTS[name]
    first = endpoint.post(api, endpoint.first, "batch-1")
    stored = endpoint.stored()
    again = endpoint.post(api, endpoint.first, "batch-1")
    assert (again.status_code, again.json()) == (first.status_code, first.json())
    assert endpoint.stored() == stored


@pytest.mark.django_db
@pytest.mark.parametrize("name", list(ENDPOINTS))
def test_a_key_over_200_characters_is_refused_naming_the_header(api, model, name):
    endpoint = ENDPOINTS[name]
    stored = endpoint.stored()
    answer = endpoint.post(api, endpoint.first, "k" * 201)
    assert answer.status_code == 400
    assert answer.json() == {"Idempotency-Key": ["Must be at most 200 characters."]}
    assert endpoint.stored() == stored and not IdempotencyKey.objects.exists()


@pytest.mark.django_db
def test_keys_that_differ_after_200_characters_no_longer_share_one_answer(api, model):
    metrics = ENDPOINTS["metrics"]
    assert metrics.post(api, metrics.first, "k" * 200).status_code == 201
    assert metrics.post(api, metrics.second, "k" * 200 + "2").status_code == 400
    assert metrics.post(api, metrics.second, "k" * 199 + "2").status_code == 201
    assert metrics.stored() == [(0, 0.1), (1, 0.2)]


@pytest.mark.django_db
def test_a_key_with_control_characters_is_refused_naming_the_header(api, model):
    metrics = ENDPOINTS["metrics"]
    answer = metrics.post(api, metrics.first, "batch\x011")
    assert answer.status_code == 400
    assert answer.json() == {"Idempotency-Key": ["Must be printable ASCII characters."]}
    assert not MetricPoint.objects.exists()


@pytest.mark.django_db
def test_the_same_json_in_another_key_order_and_spacing_is_the_same_body(api, model):
    first = api.generic(
        "POST",
        URL + "metrics/",
        b'{"records": [{"name": "loss", "value": 0.1, "step": 0}]}',
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="k",
    )
    again = api.generic(
        "POST",
        URL + "metrics/",
        b'{"records":[{"step":0,"value":0.1,"name":"loss"}]}',
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="k",
    )
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() == {"accepted": 1}
    assert MetricPoint.objects.count() == 1


def upload(api, content: bytes, boundary: str, key: str = "ref-1"):
    """A CSV reference upload with an explicit multipart boundary (clients pick a random one
    per send, so a retry of the same file comes with another boundary)."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    body = encode_multipart(boundary, {"file": SimpleUploadedFile("ref.csv", content)})
    return api.generic(
        "POST",
        URL + "reference/",
        body,
        content_type=f"multipart/form-data; boundary={boundary}",
        HTTP_IDEMPOTENCY_KEY=key,
    )


@pytest.mark.django_db
def test_a_csv_upload_retried_with_another_boundary_is_a_replay(api, model):
    first = upload(api, b"x\n1.0\n2.0\n", "a1b2c3")
    again = upload(api, b"x\n1.0\n2.0\n", "zz9988")
    assert first.status_code == 201 and first.json()["n_rows"] == 2
    assert (again.status_code, again.json()) == (201, first.json())
    other = upload(api, b"x\n1.0\n2.0\n3.0\n", "zz9988")
    assert (other.status_code, other.json()) == (422, KEY_REUSED)
    assert list(Reference.objects.values_list("n_rows", flat=True)) == [2]


# Races: two copies of a request with one key, sent at the same moment (PostgreSQL).


def race(bodies: list[dict], monkeypatch) -> list:
    """POST `bodies` to metrics/ at once under one key; the write is slowed so they overlap."""
    record = ingest.record_metrics

    def slow_record(version, rows):
        accepted = record(version, rows)
        time.sleep(0.5)  # hold the transaction open: the other copy must wait or read it
        return accepted

    monkeypatch.setattr(ingest, "record_metrics", slow_record)
    token = make_token(make_user("ops", staff=True))
    barrier, answers = threading.Barrier(len(bodies)), []

    def send(body):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        try:
            barrier.wait()
            answer = ENDPOINTS["metrics"].post(client, body, "race-1")
            answers.append((answer.status_code, answer.json()))
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(answers, key=orjson.dumps)


@pytest.mark.django_db(transaction=True)
def test_two_copies_racing_with_one_key_and_one_body_store_once(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("needs concurrent transactions (PostgreSQL)")
    make_model()
    body = ENDPOINTS["metrics"].first
    answers = race([body, body], monkeypatch)
    assert answers == [(201, {"accepted": 1}), (201, {"accepted": 1})]
    assert ENDPOINTS["metrics"].stored() == [(0, 0.1)]
    assert IdempotencyKey.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_bodies_racing_with_one_key_store_one_and_refuse_the_other(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("needs concurrent transactions (PostgreSQL)")
    make_model()
    metrics = ENDPOINTS["metrics"]
    answers = race([metrics.first, metrics.second], monkeypatch)
    assert answers == [(201, {"accepted": 1}), (422, KEY_REUSED)]
    assert metrics.stored() in ([(0, 0.1)], [(1, 0.2)])
    assert IdempotencyKey.objects.count() == 1
