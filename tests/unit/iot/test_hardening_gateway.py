"""Gateway failure paths without a network: a worker that dies is restarted by its
supervisor, validator bugs are counted, and stop() is staged (stop accepting, drain, end)."""

from __future__ import annotations

import threading
import time

from firesight.iot.client import MqttClient
from firesight.iot.codec import encode_scd41
from firesight.iot.gateway import GatewayConfig, IngestGateway
from support.waiting import wait_until

TOPIC = "firesight/v1/lab/n1/scd41"


class LoopbackClient(MqttClient):
    """Plays the broker: ``deliver`` calls the subscribed callback on the caller's thread."""

    def __init__(self) -> None:
        super().__init__("loopback", "mqtt://127.0.0.1:1")
        self.callbacks: dict[str, object] = {}

    def subscribe(self, topic_filter, callback, *, qos=0, timeout_s=10.0):  # noqa: ANN001
        self.callbacks[topic_filter] = callback
        return qos

    def unsubscribe(self, topic_filter):  # noqa: ANN001
        self.callbacks.pop(topic_filter, None)

    def deliver(self, topic: str, payload: bytes, callback=None) -> None:  # noqa: ANN001
        (callback or self.callbacks["firesight/v1/+/+/scd41"])(topic, payload)


def _reading(seq: int, co2_ppm: float = 600.0) -> bytes:
    return encode_scd41(co2_ppm=co2_ppm, temperature_c=21, humidity_rh=40, ts_ms=int(time.time() * 1000), seq=seq)


def test_supervisor_restarts_a_worker_killed_by_a_base_exception():
    """SystemExit from a handler escapes ``except Exception``; the supervisor counts it and
    restarts the worker, which then serves the next reading."""
    client, got = LoopbackClient(), []

    def handler(msg) -> None:
        if msg.co2_ppm == 1.0:
            raise SystemExit("handler called sys.exit")
        got.append(msg.co2_ppm)

    gw = IngestGateway(client, handler).start()
    client.deliver(TOPIC, _reading(1, co2_ppm=1.0))
    assert wait_until(lambda: gw.stats()["errors"].get("worker_restart:SystemExit") == 1)
    client.deliver(TOPIC, _reading(2, co2_ppm=700.0))
    assert wait_until(lambda: got == [700.0]), gw.stats()
    assert gw.worker_alive
    gw.stop()
    assert not gw.worker_alive


def test_a_failing_clock_is_counted_and_ingest_continues():
    client, got = LoopbackClient(), []
    calls = {"n": 0}

    def clock_ms() -> int:
        calls["n"] += 1
        if calls["n"] == 1:
            raise OSError("clock read failed")
        return int(time.time() * 1000)

    gw = IngestGateway(client, lambda m: got.append(m.seq), clock_ms=clock_ms).start()
    client.deliver(TOPIC, _reading(1))
    client.deliver(TOPIC, _reading(2))
    assert wait_until(lambda: got == [2])
    assert gw.stats()["errors"] == {"validator:OSError": 1}
    gw.stop()


def test_stop_drains_then_refuses_later_deliveries():
    client, got = LoopbackClient(), []
    release = threading.Event()

    def slow(msg) -> None:
        release.wait(5)
        got.append(msg.seq)

    gw = IngestGateway(client, slow, config=GatewayConfig(streams=("scd41",))).start()
    callback = client.callbacks["firesight/v1/+/+/scd41"]
    for seq in range(1, 6):
        client.deliver(TOPIC, _reading(seq))
    stopper = threading.Thread(target=gw.stop, kwargs={"drain_timeout_s": 10.0})
    stopper.start()
    assert wait_until(lambda: client.callbacks == {})       # stage 1: unsubscribed at once
    client.deliver(TOPIC, _reading(99), callback)      # a delivery already in flight
    release.set()                                      # stage 2: the queue drains
    stopper.join(15)
    assert got == [1, 2, 3, 4, 5]
    assert gw.stats()["shed"] == {"after_stop": 1}
    assert not gw.worker_alive                         # stage 3: worker ended


def test_stop_with_a_stuck_handler_drops_and_counts_what_is_left():
    client = LoopbackClient()
    block = threading.Event()
    gw = IngestGateway(client, lambda m: block.wait(60), config=GatewayConfig(streams=("scd41",))).start()
    for seq in range(1, 5):
        client.deliver(TOPIC, _reading(seq))
    t0 = time.monotonic()
    gw.stop(drain_timeout_s=0.3)
    waited_s = time.monotonic() - t0
    block.set()
    assert gw.stats()["shed"].get("at_stop", 0) >= 2
    assert waited_s < 30.0  # bounded by the drain timeout and one join, not by the 60 s handler
