"""ServiceWorker (the bounded queue + supervised thread of the rules and shadow services):
each failure path is counted and the worker keeps serving; stop() is staged."""

from __future__ import annotations

import threading

import pytest

from firesight.errors import InvalidParameterError
from firesight.iot.worker import ServiceWorker
from support.waiting import wait_until


def test_exceptions_are_counted_and_the_next_item_is_served():
    done: list[int] = []

    def handle(item: int) -> None:
        if item == 1:
            raise ValueError("bad item")
        done.append(item)

    w = ServiceWorker("t", handle).start()
    for item in (1, 2):
        assert w.submit(item)
    assert wait_until(lambda: done == [2])
    assert w.stats()["errors:ValueError"] == 1 and w.stats()["processed"] == 1
    w.stop()


def test_a_base_exception_restarts_the_worker_with_backoff():
    done: list[int] = []

    def handle(item: int) -> None:
        if item < 3:
            raise SystemExit(f"exit on {item}")
        done.append(item)

    w = ServiceWorker("t", handle, backoff_s=(0.01, 0.02)).start()
    for item in (1, 2, 3):
        w.submit(item)
    assert wait_until(lambda: done == [3])
    assert w.stats()["restarts:SystemExit"] == 2 and w.alive
    w.stop()
    assert not w.alive


def test_full_queue_sheds_and_counts_without_blocking():
    gate = threading.Event()
    w = ServiceWorker("t", lambda item: gate.wait(10), max_queue=2).start()
    results = [w.submit(k) for k in range(6)]   # 1 taken by the worker, 2 queued, the rest shed
    assert results.count(False) >= 3
    assert w.stats()["shed:queue_full"] == results.count(False)
    gate.set()
    w.stop()


def test_stop_stops_accepting_drains_then_ends():
    done: list[int] = []
    gate = threading.Event()

    def handle(item: int) -> None:
        gate.wait(10)
        done.append(item)

    w = ServiceWorker("t", handle).start()
    for k in range(5):
        w.submit(k)
    stopper = threading.Thread(target=w.stop, kwargs={"drain_timeout_s": 10.0})
    stopper.start()
    assert wait_until(lambda: not w.submit(99))      # stage 1: refused at once
    gate.set()                                  # stage 2: what was queued is handled
    stopper.join(15)
    assert done == [0, 1, 2, 3, 4]
    assert w.stats()["shed:after_stop"] >= 1
    assert not w.alive                          # stage 3: ended


def test_stop_with_a_stuck_handler_counts_what_it_drops():
    gate = threading.Event()
    w = ServiceWorker("t", lambda item: gate.wait(60)).start()
    for k in range(4):
        w.submit(k)
    w.stop(drain_timeout_s=0.2)
    gate.set()
    assert w.stats()["shed:at_stop"] == 3       # the first was being handled


def test_bad_settings_are_refused():
    with pytest.raises(InvalidParameterError):
        ServiceWorker("t", print, max_queue=0)
    with pytest.raises(InvalidParameterError):
        ServiceWorker("t", print, backoff_s=(1.0, 0.5))


def test_publish_waits_for_acknowledgements_once_too_many_are_outstanding():
    from firesight.iot.worker import publish_with_backpressure

    class SlowBroker:
        """Counts QoS 1 messages not yet acknowledged; flush() acknowledges them all."""

        def __init__(self) -> None:
            self.unacknowledged, self.sent, self.flushes = 0, 0, 0

        def publish(self, topic, payload, qos=0):  # noqa: ANN001
            self.sent += 1
            self.unacknowledged += qos

        def flush(self, timeout_s):  # noqa: ANN001
            self.flushes += 1
            self.unacknowledged = 0
            return 0

    client = SlowBroker()
    for _ in range(10):
        publish_with_backpressure(client, "t", b"x", qos=1, max_unacknowledged=4)
    assert client.sent == 10 and client.flushes == 2      # waited after the 4th and the 8th
    for _ in range(10):
        publish_with_backpressure(client, "t", b"x", qos=0, max_unacknowledged=4)
    assert client.flushes == 2                             # QoS 0 has nothing to wait for
