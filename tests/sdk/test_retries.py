"""Retries through a fault-injecting proxy: each batch is stored once, 4xx never retried."""

import pytest

from models_app.models import MetricPoint
from modelwatch import Client, ModelWatchConnectionError, ModelWatchError, RetryPolicy

pytestmark = pytest.mark.django_db(transaction=True)

RECORDS = [{"name": "loss", "value": float(i), "step": i} for i in range(5)]


def fast_client(url: str, token: str, **options) -> Client:
    """A client whose waits are recorded in `client.waits` instead of slept."""
    client = Client(url, token, backoff=0.01, max_backoff=0.05, **options)
    client.waits = []
    client.transport.sleep = client.waits.append
    return client


def keys(proxy) -> list[str | None]:
    return [seen.idempotency_key for seen in proxy.seen]


def test_a_lost_reply_is_retried_with_the_same_key_and_stored_once(token, fraud, faulty):
    proxy = faulty(["lose", "lose"])
    with fast_client(proxy.url, token) as client:
        assert client.model("fraud").log_metrics(RECORDS) == 5
    assert len(proxy.seen) == 3 and len(set(keys(proxy))) == 1 and keys(proxy)[0]
    assert MetricPoint.objects.count() == 5


def test_refused_requests_are_retried_until_the_server_answers(token, fraud, faulty):
    proxy = faulty(["refuse", "refuse", "refuse"])
    with fast_client(proxy.url, token) as client:
        client.model("fraud").log_metrics(RECORDS)
        assert len(client.waits) == 3
    assert [seen.fault for seen in proxy.seen] == ["refuse"] * 3 + ["pass"]
    assert MetricPoint.objects.count() == 5


def test_a_cut_connection_after_the_server_stored_the_batch_stores_it_once(token, fraud, faulty):
    proxy = faulty(["cut"])
    with fast_client(proxy.url, token) as client:
        client.model("fraud").log_metrics(RECORDS)
    assert len(proxy.seen) == 2 and len(set(keys(proxy))) == 1
    assert MetricPoint.objects.count() == 5


def test_a_429_waits_as_long_as_retry_after_says(token, fraud, faulty):
    proxy = faulty(["throttle"])
    with fast_client(proxy.url, token) as client:
        client.model("fraud").log_metrics(RECORDS)
        assert client.waits == [1.0]
    assert MetricPoint.objects.count() == 5


def test_backoff_grows_exponentially_with_jitter(token, fraud, faulty):
    proxy = faulty(["refuse"] * 4)
    with fast_client(proxy.url, token) as client:
        client.transport.retry = RetryPolicy(backoff=1.0, max_backoff=4.0)
        client.model("fraud").log_metrics(RECORDS)
        waits = client.waits
    bounds = [(0.5, 1.0), (1.0, 2.0), (2.0, 4.0), (2.0, 4.0)]  # doubling, capped at 4 s
    assert len(waits) == 4
    assert all(low <= wait <= high for wait, (low, high) in zip(waits, bounds, strict=True))


def test_it_gives_up_after_max_retries_with_the_last_status(token, fraud, faulty):
    proxy = faulty(["refuse"] * 10)
    with (
        fast_client(proxy.url, token, max_retries=2) as client,
        pytest.raises(ModelWatchError) as caught,
    ):
        client.model("fraud").log_metrics(RECORDS)
    assert caught.value.status == 503 and len(proxy.seen) == 3
    assert MetricPoint.objects.count() == 0


def test_a_400_is_never_retried(token, fraud, faulty):
    proxy = faulty([])
    with fast_client(proxy.url, token) as client, pytest.raises(ModelWatchError) as caught:
        client.model("fraud").log_metric("loss", 1.0, stage="nope")
    assert caught.value.status == 400 and len(proxy.seen) == 1


def test_an_unreachable_server_raises_a_connection_error_after_retrying(token):
    client = fast_client("http://127.0.0.1:9", token, max_retries=2)
    with pytest.raises(ModelWatchConnectionError) as caught:
        client.model("fraud").log_metric("loss", 1.0)
    assert caught.value.status is None and len(client.waits) == 2
