"""MessageQueue contract: the same assertions on the SQLite queue and on SQS (moto):
visibility timeout, receive count, dead-letter redrive."""

from __future__ import annotations

import time

import pytest

from firesight.errors import InvalidParameterError


def test_send_receive_delete(message_queue):
    mid = message_queue.send("alerts", '{"signal": "alarm"}', attributes={"site": "hq"})
    assert mid
    got = message_queue.receive("alerts", visibility_timeout_s=30)
    assert len(got) == 1
    msg = got[0]
    assert msg["message_id"] == mid and msg["body"] == '{"signal": "alarm"}'
    assert msg["attributes"] == {"site": "hq"} and msg["receive_count"] == 1
    assert message_queue.receive("alerts") == []          # in flight: invisible
    message_queue.delete("alerts", msg["receipt_handle"])
    assert message_queue.receive("alerts", visibility_timeout_s=0) == []


def test_receive_many_and_empty(message_queue):
    assert message_queue.receive("empty") == []
    sent = {message_queue.send("batch", f"m{i}") for i in range(5)}
    got = []
    for _ in range(5):
        got += message_queue.receive("batch", max_messages=10)
        if len(got) == 5:
            break
    assert {m["message_id"] for m in got} == sent
    assert sorted(m["body"] for m in got) == [f"m{i}" for i in range(5)]


def test_visibility_timeout_redelivers_with_a_higher_receive_count(message_queue):
    message_queue.send("work", "job")
    first = message_queue.receive("work", visibility_timeout_s=1)
    assert [m["receive_count"] for m in first] == [1]
    assert message_queue.receive("work", visibility_timeout_s=1) == []
    deadline = time.monotonic() + 10
    again = []
    while not again and time.monotonic() < deadline:
        time.sleep(0.3)
        again = message_queue.receive("work", visibility_timeout_s=30)
    assert [(m["body"], m["receive_count"]) for m in again] == [("job", 2)]
    assert again[0]["receipt_handle"] != first[0]["receipt_handle"]
    message_queue.delete("work", again[0]["receipt_handle"])
    assert message_queue.receive("work", visibility_timeout_s=0) == []


def test_poison_message_moves_to_the_default_dlq_after_max_receives(message_queue):
    """The fixture queues dead-letter after 3 receives; the 4th attempt moves the message."""
    message_queue.send("jobs", "poison")
    message_queue.send("jobs-ok", "control")
    counts = []
    for _ in range(3):
        counts += [m["receive_count"] for m in message_queue.receive("jobs", visibility_timeout_s=0)]
    assert counts == [1, 2, 3]
    assert message_queue.receive("jobs", visibility_timeout_s=0) == []
    dead = message_queue.receive("jobs-dlq", visibility_timeout_s=30)
    assert [m["body"] for m in dead] == ["poison"]
    assert [m["body"] for m in message_queue.receive("jobs-ok")] == ["control"]   # positive control


def test_configured_redrive(message_queue):
    message_queue.configure_redrive("orders", max_receives=1, dead_letter_queue="orders-failed")
    message_queue.send("orders", "o1")
    assert len(message_queue.receive("orders", visibility_timeout_s=0)) == 1
    assert message_queue.receive("orders", visibility_timeout_s=0) == []
    assert [m["body"] for m in message_queue.receive("orders-failed")] == ["o1"]


@pytest.mark.parametrize("call", [
    lambda q: q.send("bad name!", "x"),
    lambda q: q.send("ok", "x" * 262_145),
    lambda q: q.receive("ok", max_messages=11),
    lambda q: q.receive("ok", visibility_timeout_s=-1),
    lambda q: q.configure_redrive("ok", max_receives=0),
])
def test_bad_arguments_are_typed_errors(message_queue, call):
    with pytest.raises(InvalidParameterError):
        call(message_queue)
