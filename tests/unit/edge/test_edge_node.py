"""The edge node offline: disk buffer bounds and order, what it writes for each edge mode
(decoded with the ingest codec), the shadow's settings applied to the SCD41 and frames."""

from __future__ import annotations

import json
import socket
import time

import numpy as np
import pytest

from firesight.edge.buffer import DiskBuffer
from firesight.edge.lepton import ThermalFrame, ThermalSource
from firesight.edge.node import EdgeConfig, EdgeNode
from firesight.edge.scd41 import SensirionSCD41
from firesight.errors import InvalidParameterError
from firesight.iot.client import MqttClient
from firesight.iot.codec import decode
from support.edge_fakes import START_LOW_POWER, STOP, FakeSCD41Bus


def test_buffer_keeps_order_sheds_oldest_and_counts_across_restarts(tmp_path):
    path = str(tmp_path / "outbox.db")
    buf = DiskBuffer(path, max_messages=5, max_bytes=10_000)
    buf.append("status", b"online", sheddable=False)
    for i in range(6):
        assert buf.append("t", f"m{i}".encode()) == (1 if i >= 4 else 0)
    assert [m.payload for m in buf.peek(10)] == [b"online", b"m2", b"m3", b"m4", b"m5"]
    assert buf.shed == 2
    buf.remove([m.id for m in buf.peek(2)])
    buf.close()
    again = DiskBuffer(path, max_messages=5, max_bytes=10_000)  # a reboot: nothing lost, count kept
    assert [m.payload for m in again.peek(10)] == [b"m3", b"m4", b"m5"] and again.shed == 2
    assert again.append("t", b"x" * 9_999) == 3  # 6 + 9,999 bytes > 10,000: the oldest go
    assert len(again) == 1 and again.bytes == 9_999 and again.shed == 5


class FrameList(ThermalSource):
    def __init__(self, frames):
        self.frames = list(frames)

    def read_frame(self):
        if not self.frames:
            time.sleep(0.01)
            return None
        return ThermalFrame(self.frames.pop(0))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def offline_node(tmp_path, **kw):
    """A node whose broker does not answer (nothing listens on the port)."""
    port = _free_port()
    config = EdgeConfig(thing="edge-1", site="lab", broker_url=f"mqtt://127.0.0.1:{port}", cert_path="",
                        key_path="", ca_path="", buffer_path=str(tmp_path / "outbox.db"), scd41_poll_s=0.02,
                        **kw)
    return EdgeNode(config, client_factory=lambda cfg, will: MqttClient(cfg.thing, cfg.broker_url, will=will),
                    thermal=None, scd41=None), config


def test_config_file_is_validated(tmp_path):
    path = tmp_path / "edge.json"
    path.write_text(json.dumps({"thing": "n1", "site": "lab"}))
    with pytest.raises(InvalidParameterError, match="required field"):
        EdgeConfig.from_file(path)
    path.write_text(json.dumps({"thing": "n1", "site": "lab", "broker_url": "mqtts://h:8883", "cert_path": "c",
                                "key_path": "k", "ca_path": "a", "buffer_path": "b", "colour": "red"}))
    with pytest.raises(InvalidParameterError, match="colour"):
        EdgeConfig.from_file(path)


def test_offline_node_buffers_readings_and_frames_as_the_simulator_encodes_them(tmp_path):
    rng = np.random.default_rng(5)
    frames = [rng.integers(29000, 30000, size=(120, 160), dtype=np.uint16) for _ in range(3)]
    node, _ = offline_node(tmp_path)
    node.thermal = FrameList(frames)
    node.scd41 = SensirionSCD41(FakeSCD41Bus(time_scale=0.01))
    node.start()
    deadline = time.monotonic() + 10
    while (node.counts["messages:scd41"] < 3 or node.counts["messages:thermal"] < 3) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert node.counts["connect_failures"] >= 1 and not node.health()["connected"]
    items = node.buffer.peek(100)
    now_ms = int(time.time() * 1000)
    decoded = [decode(m.topic, m.payload, now_ms=now_ms) for m in items]
    kinds = [m.topic.rsplit("/", 1)[-1] for m in items]
    assert kinds[0] == "status" and {"thermal", "scd41"} <= set(kinds)
    thermal = [d for d, k in zip(decoded, kinds) if k == "thermal"]
    np.testing.assert_array_equal(thermal[0].pixels, frames[0])
    scd = [d for d, k in zip(decoded, kinds) if k == "scd41"]
    assert scd[0].co2_ppm == 612 and [d.seq for d in scd] == list(range(1, len(scd) + 1))
    node.stop(drain_timeout_s=0.1)
    again = DiskBuffer(str(tmp_path / "outbox.db"))  # nothing was delivered: all kept on disk, in order
    kept = again.peek(1000)
    assert [m.payload for m in kept[:len(items)]] == [m.payload for m in items]
    assert b'"offline"' in kept[-1].payload


def test_shadow_low_power_restarts_the_scd41_and_features_mode_sends_windows(tmp_path):
    node, _ = offline_node(tmp_path)
    bus = FakeSCD41Bus(time_scale=0.01)
    node.scd41 = SensirionSCD41(bus)
    rng = np.random.default_rng(6)
    node.start()
    deadline = time.monotonic() + 10
    while node.counts["messages:scd41"] < 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    reported = node.apply_desired({"low_power_mode": True, "edge_mode": "features", "colour": "red"})
    assert reported["low_power_mode"] is True and reported["measurement_interval_s"] >= 30.0
    while bus.mode != "low_power" and time.monotonic() < deadline:
        time.sleep(0.02)
    assert bus.mode == "low_power" and bus.commands[-1] != STOP
    assert START_LOW_POWER in bus.commands
    assert node.apply_desired({"measurement_interval_s": 1.0})["measurement_interval_s"] >= 30.0
    assert node.counts["config_rejected"] == 1
    for i in range(20):  # features mode: frames feed the window, not the uplink
        node.on_frame(ThermalFrame(rng.integers(29000, 30000, size=(120, 160), dtype=np.uint16)))
        time.sleep(0.005)
    assert node.emit_features() is True
    node.stop(drain_timeout_s=0.1)
    buf = DiskBuffer(str(tmp_path / "outbox.db"))
    topics = [m.topic for m in buf.peek(1000)]
    assert not any(t.endswith("/thermal") for t in topics)
    feats = [m for m in buf.peek(1000) if m.topic.endswith("/features")]
    msg = decode(feats[-1].topic, feats[-1].payload, now_ms=int(time.time() * 1000))
    assert msg.window_s == 60.0 and "thermal_max_c" in msg.features


def test_measurement_interval_from_the_shadow_thins_the_sensor_readings(tmp_path):
    """The SCD41 measures every 5 s in periodic mode; a shadow interval of 15 s publishes every
    third reading (the sensor's buffer is still read each time, as the datasheet asks)."""
    from support.edge_fakes import READ_MEASUREMENT

    node, _ = offline_node(tmp_path)
    bus = FakeSCD41Bus(time_scale=0.01)
    node.scd41 = SensirionSCD41(bus)
    node.apply_desired({"measurement_interval_s": 15.0})
    node.start()
    deadline = time.monotonic() + 10
    while bus.commands.count(READ_MEASUREMENT) < 7 and time.monotonic() < deadline:
        time.sleep(0.01)
    node.stop(drain_timeout_s=0.1)
    reads = bus.commands.count(READ_MEASUREMENT)
    assert reads >= 7 and READ_MEASUREMENT not in bus.nacks
    assert node.counts["messages:scd41"] == (reads + 2) // 3
