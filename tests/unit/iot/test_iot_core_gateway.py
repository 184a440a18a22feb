"""Ingest gateway: validation, rejection counting and load shedding, on a fake client."""

from __future__ import annotations

import threading
import time

import numpy as np

from firesight.iot.client import MqttClient
from firesight.iot.codec import encode_scd41, encode_thermal
from firesight.iot.gateway import GatewayConfig, IngestGateway


class FakeBrokerClient(MqttClient):
    """A client that never touches the network: ``deliver`` plays the broker."""

    def __init__(self) -> None:
        super().__init__("fake-gateway", "mqtt://127.0.0.1:1")
        self.callbacks: dict[str, object] = {}

    def subscribe(self, topic_filter, callback, *, qos=0, timeout_s=10.0):  # noqa: ANN001
        self.callbacks[topic_filter] = callback
        return qos

    def unsubscribe(self, topic_filter):  # noqa: ANN001
        self.callbacks.pop(topic_filter, None)

    def deliver(self, topic: str, payload: bytes) -> None:
        stream = topic.rsplit("/", 1)[1]
        self.callbacks[f"firesight/v1/+/+/{stream}"](topic, payload)


def _now_ms() -> int:
    return int(time.time() * 1000)


def test_gateway_validates_and_counts_rejections():
    client, got, rejected = FakeBrokerClient(), [], []
    gw = IngestGateway(client, got.append, on_reject=lambda t, p, e: rejected.append(e.reason_code)).start()
    assert sorted(client.callbacks) == sorted(f"firesight/v1/+/+/{s}" for s in ("thermal", "scd41", "status",
                                                                             "features"))
    ok = encode_scd41(co2_ppm=700, temperature_c=23, humidity_rh=45, ts_ms=_now_ms(), seq=1)
    client.deliver("firesight/v1/lab/n1/scd41", ok)
    client.deliver("firesight/v1/lab/n1/scd41", ok)                     # duplicate seq
    client.deliver("firesight/v1/lab/n1/scd41", b'{"ts_ms": 1}')        # missing fields
    gw.stop()
    assert [m.co2_ppm for m in got] == [700.0]
    assert rejected == ["duplicate_seq", "missing_field"]
    assert gw.stats()["rejected"] == {"duplicate_seq": 1, "missing_field": 1}
    assert client.callbacks == {}


def test_full_frame_queue_sheds_oldest_frames_but_keeps_readings():
    """Backpressure (STYLE.md): when the consumer stalls, the oldest thermal frames are
    shed and counted; SCD41 readings sit in their own queue and all arrive."""
    client, got = FakeBrokerClient(), []
    release = threading.Event()

    def slow_handler(msg) -> None:
        release.wait(10)
        got.append(msg)

    gw = IngestGateway(client, slow_handler, config=GatewayConfig(frame_queue_size=5)).start()
    frame = np.full((120, 160), 29_315, dtype=np.uint16)
    now = _now_ms()
    for seq in range(40):
        client.deliver("firesight/v1/lab/n1/thermal", encode_thermal(frame, ts_ms=now + seq, seq=seq))
        if seq % 4 == 0:
            client.deliver("firesight/v1/lab/n1/scd41",
                           encode_scd41(co2_ppm=500 + seq, temperature_c=21, humidity_rh=40, ts_ms=now + seq, seq=seq))
    release.set()
    gw.stop()
    stats = gw.stats()
    frames = [m for m in got if hasattr(m, "pixels")]
    readings = [m for m in got if hasattr(m, "co2_ppm")]
    assert len(readings) == 10                                   # none shed
    assert stats["shed"]["thermal"] == 40 - len(frames) > 0
    assert [m.seq for m in frames][-5:] == [35, 36, 37, 38, 39]  # the newest frames survive
    assert stats["rejected"] == {}


def test_handler_errors_do_not_stop_ingest():
    client, got = FakeBrokerClient(), []

    def handler(msg) -> None:
        if msg.seq == 1:
            raise RuntimeError("consumer bug")
        got.append(msg.seq)

    gw = IngestGateway(client, handler).start()
    for seq in (1, 2):
        client.deliver("firesight/v1/lab/n1/scd41",
                       encode_scd41(co2_ppm=500, temperature_c=21, humidity_rh=40, ts_ms=_now_ms(), seq=seq))
    gw.stop()
    assert got == [2] and gw.stats()["handler_errors"] == 1
