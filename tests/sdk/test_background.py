"""The background sender: everything queued is delivered by flush()/close(), the queue is
bounded, and a batch that failed for good is raised, not lost silently."""

import threading
import time

import pytest

from models_app.models import MetricPoint
from modelwatch import Client, ModelWatchError
from modelwatch.sender import BackgroundSender


@pytest.mark.django_db(transaction=True)
def test_close_delivers_every_queued_record(server_url, token, fraud, faulty):
    proxy = faulty(["refuse", "lose"])
    client = Client(
        proxy.url,
        token,
        background=True,
        batch_size=1000,
        flush_interval=60,
        backoff=0.01,
        max_backoff=0.05,
    )
    handle = client.model("fraud")
    for chunk in range(5):
        rows = [{"name": "loss", "value": float(i), "step": chunk * 500 + i} for i in range(500)]
        assert handle.log_metrics(rows) == 500
    client.close()
    assert MetricPoint.objects.count() == 2500
    assert sorted(MetricPoint.objects.values_list("step", flat=True)) == list(range(2500))
    posted = {seen.idempotency_key for seen in proxy.seen}
    assert len(posted) == 3  # 1000 + 1000 + 500, one key each whatever the retries


@pytest.mark.django_db(transaction=True)
def test_flush_waits_until_the_queue_is_delivered(server_url, token, fraud):
    with Client(server_url, token, background=True, flush_interval=60) as client:
        client.model("fraud").log_metric("auc", 0.9)
        client.flush()
        assert MetricPoint.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_flush_interval_sends_without_being_asked(server_url, token, fraud):
    with Client(server_url, token, background=True, flush_interval=0.05) as client:
        client.model("fraud").log_metric("auc", 0.9)
        deadline = time.monotonic() + 10
        while not MetricPoint.objects.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert MetricPoint.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_refused_record_is_raised_by_close_and_its_batch_mates_still_stored(
    server_url, token, fraud
):
    client = Client(server_url, token, background=True, flush_interval=60)
    client.model("fraud").log_metric("auc", 0.7)
    client.model("fraud").log_metric("auc", 0.9, stage="bogus")
    client.model("fraud").log_metric("auc", 0.8)
    with pytest.raises(ModelWatchError) as caught:
        client.close()
    assert caught.value.status == 400 and "records.1.stage" in str(caught.value)
    assert sorted(MetricPoint.objects.values_list("value", flat=True)) == [0.7, 0.8]


@pytest.mark.django_db(transaction=True)
def test_a_batch_refused_as_a_whole_is_raised_by_flush(server_url, token, fraud):
    with Client(server_url, token, background=True, flush_interval=60) as client:
        client.model("fraud", version="9").log_metric("auc", 0.7)
        with pytest.raises(ModelWatchError) as caught:
            client.flush()
        assert caught.value.status == 400 and "version" in caught.value.errors
        client.flush()  # a failure is raised once


@pytest.mark.django_db(transaction=True)
def test_labels_sent_after_predictions_wait_for_the_queue(server_url, token, fraud):
    with Client(server_url, token, background=True, flush_interval=60) as client:
        client.model("fraud").log_metric("auc", 0.9)
        client.post_batches("api/v1/models/fraud/metrics/", [{"name": "auc", "value": 0.5}])
        assert list(MetricPoint.objects.order_by("id").values_list("value", flat=True)) == [
            0.9,
            0.5,
        ]


def test_submit_blocks_while_the_queue_is_full():
    release, sent = threading.Event(), []

    def slow_send(key, records):
        release.wait(5)
        sent.extend(records)

    sender = BackgroundSender(slow_send, batch_size=2, max_queue=4, flush_interval=0)
    sender.submit(("p", None), [1, 2, 3, 4])
    producer = threading.Thread(target=sender.submit, args=(("p", None), [5, 6]))
    producer.start()
    producer.join(0.2)
    assert producer.is_alive() and sender.pending == 4
    release.set()
    producer.join(5)
    assert sender.close(5) and sent == [1, 2, 3, 4, 5, 6]


def test_records_for_different_endpoints_are_never_mixed_in_one_batch():
    batches = []
    sender = BackgroundSender(
        lambda key, records: batches.append((key, records)),
        batch_size=10,
        max_queue=100,
        flush_interval=60,
    )
    sender.submit(("metrics", "1"), [1, 2])
    sender.submit(("predictions", "1"), [3])
    sender.submit(("metrics", "2"), [4])
    sender.submit(("metrics", "2"), [5])
    assert sender.flush(5)
    assert batches == [
        (("metrics", "1"), [1, 2]),
        (("predictions", "1"), [3]),
        (("metrics", "2"), [4, 5]),
    ]
    sender.close(5)


def test_flush_with_a_timeout_reports_an_undelivered_queue():
    release = threading.Event()
    sender = BackgroundSender(
        lambda key, records: release.wait(5), batch_size=10, max_queue=100, flush_interval=0
    )
    sender.submit(("p", None), [1])
    assert sender.flush(0.05) is False
    release.set()
    assert sender.flush(5) is True
    sender.close(5)
