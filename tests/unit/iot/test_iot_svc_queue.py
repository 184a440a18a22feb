"""SQS semantics of the SQLite queue (Amazon SQS Developer Guide, "visibility timeout",
"dead-letter queues": a message moves after maxReceiveCount receives)."""

import pytest

from firesight.adapters.local.queue import SQLiteMessageQueue
from firesight.errors import InvalidParameterError, NotFoundError


class Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


@pytest.fixture()
def clock():
    return Clock()


@pytest.fixture()
def queue(tmp_path, clock):
    return SQLiteMessageQueue(str(tmp_path / "q.db"), max_receives=3, clock=clock)


def test_visibility_timeout_hides_then_redelivers(queue, clock):
    mid = queue.send("readings", "a", attributes={"k": "v"})
    (msg,) = queue.receive("readings", visibility_timeout_s=30)
    assert msg["message_id"] == mid and msg["receive_count"] == 1 and msg["attributes"] == {"k": "v"}
    assert queue.receive("readings") == []
    assert queue.counts("readings") == {"visible": 0, "in_flight": 1}
    clock.t += 29.9
    assert queue.receive("readings") == []
    clock.t += 0.2
    (again,) = queue.receive("readings", visibility_timeout_s=30)
    assert again["receive_count"] == 2 and again["receipt_handle"] != msg["receipt_handle"]
    with pytest.raises(NotFoundError):  # the stale handle no longer deletes it
        queue.delete("readings", msg["receipt_handle"])
    queue.delete("readings", again["receipt_handle"])
    clock.t += 100
    assert queue.receive("readings") == []


def test_fifo_order_and_batch(queue):
    for body in "abcd":
        queue.send("q", body)
    assert [m["body"] for m in queue.receive("q", max_messages=3)] == ["a", "b", "c"]
    assert [m["body"] for m in queue.receive("q", max_messages=3)] == ["d"]


def test_dead_letter_after_max_receives(queue, clock):
    queue.send("jobs", "poison")
    for n in range(1, 4):
        (msg,) = queue.receive("jobs", visibility_timeout_s=1)
        assert msg["receive_count"] == n
        clock.t += 2
    assert queue.receive("jobs") == []  # the 4th attempt moves it instead
    (dead,) = queue.receive("jobs-dlq")
    assert dead["body"] == "poison" and dead["receive_count"] == 1


def test_configured_redrive_and_durability(tmp_path, clock):
    path = str(tmp_path / "q.db")
    q = SQLiteMessageQueue(path, clock=clock)
    q.configure_redrive("alerts", max_receives=1, dead_letter_queue="alerts-failed")
    q.send("alerts", "x")
    q.receive("alerts", visibility_timeout_s=0)
    q.close()
    reopened = SQLiteMessageQueue(path, clock=clock)
    assert reopened.receive("alerts") == []
    assert [m["body"] for m in reopened.receive("alerts-failed")] == ["x"]


def test_change_visibility_and_purge(queue, clock):
    queue.send("q", "a")
    (msg,) = queue.receive("q", visibility_timeout_s=60)
    queue.change_visibility("q", msg["receipt_handle"], 0)
    assert len(queue.receive("q")) == 1
    assert queue.purge("q") == 1 and queue.counts("q") == {"visible": 0, "in_flight": 0}


@pytest.mark.parametrize("kwargs", [
    {"queue": "bad name", "body": "x"},
    {"queue": "q", "body": b"bytes"},
    {"queue": "q", "body": "x" * 262_145},
])
def test_bad_sends(queue, kwargs):
    with pytest.raises(InvalidParameterError):
        queue.send(kwargs["queue"], kwargs["body"])


def test_bad_receives(queue):
    with pytest.raises(InvalidParameterError):
        queue.receive("q", max_messages=11)
    with pytest.raises(InvalidParameterError):
        queue.receive("q", visibility_timeout_s=-1)
