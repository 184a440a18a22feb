"""Monitoring agent: data quality, sensor health, presence and windows (no network).

Windows must equal what :class:`OnlineFeatureExtractor` gives offline for the same readings
(the training feature code), so a model sees in service what it was judged on.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from firesight.adapters.local.queue import SQLiteMessageQueue
from firesight.agents.events import ALERT_EVENTS_QUEUE, AlertEvent
from firesight.agents.monitoring import MonitoringAgent
from firesight.agents.quality import DeviceMonitor, hot_region
from firesight.features import OnlineFeatureExtractor
from firesight.iot.codec import SCD41Message, StatusMessage, ThermalMessage

T0_MS = 1_800_000_000_000


def frame(rng, hot_c=None, at=(60, 80)):
    counts = (293.15 + rng.normal(0, 0.05, (120, 160))) / 0.01
    if hot_c is not None:
        r, c = at
        counts[r - 2:r + 3, c - 3:c + 4] = (hot_c + 273.15) / 0.01
    return counts.astype(np.uint16)


def thermal(ts_ms, seq, pixels, ffc="complete"):
    return ThermalMessage(site="s", thing_name="n1", ts_ms=ts_ms, seq=seq, width=160, height=120,
                          resolution_k=0.01, gain="high", ffc_state=ffc, pixels=pixels)


def scd41(ts_ms, seq, co2=450.0, t=21.0, rh=40.0):
    return SCD41Message(site="s", thing_name="n1", ts_ms=ts_ms, seq=seq, co2_ppm=co2, temperature_c=t,
                        humidity_rh=rh)


def stream(seconds, rng, *, frame_ms=115, hot_from_s=None, scd_every_ms=5000):
    """Frames every 115 ms and SCD41 readings every 5 s, in time order (ms-exact times)."""
    out = []
    for k in range(int(seconds * 1000 / frame_ms)):
        ts = k * frame_ms
        hot = 40.0 + 5.0 * (ts / 1000 - hot_from_s) if hot_from_s is not None and ts / 1000 >= hot_from_s else None
        out.append(("thermal", ts, k + 1, frame(rng, hot)))
    for j in range(int(seconds * 1000 / scd_every_ms)):
        out.append(("scd41", j * scd_every_ms + 7, j + 1, (450.0 + 3 * j + rng.normal(0, 2), 21.0 + 0.01 * j, 40.0)))
    out.sort(key=lambda m: (m[1], m[0] != "thermal"))
    return out


def feed(mon, messages):
    windows = []
    for kind, ts, seq, payload in messages:
        if kind == "thermal":
            windows += mon.on_thermal(thermal(T0_MS + ts, seq, payload))
        else:
            windows += mon.on_scd41(scd41(T0_MS + ts, seq, *payload))
    return windows


def test_windows_equal_the_offline_extractor_on_the_same_readings():
    rng = np.random.default_rng(1)
    messages = stream(40, rng, hot_from_s=20)
    mon = DeviceMonitor("s", "n1", step_s=1.0, window_s=60.0)
    windows = feed(mon, messages)
    # offline: push everything up to each window end, then emit (replay semantics)
    ref = OnlineFeatureExtractor(step_s=1.0, window_s=60.0)
    i, expected = 0, {}
    for now in range(0, 40):
        while i < len(messages) and messages[i][1] / 1000 <= now:
            kind, ts, _, payload = messages[i]
            if kind == "thermal":
                ref.push_thermal(ts / 1000, payload, 0.01, 0)
            else:
                ref.push_scd41(ts / 1000, *payload)
            i += 1
        out = ref.emit(float(now))
        if out is not None:
            expected[float(now)] = out
    assert len(windows) >= 38
    for w in windows:
        ref_row = expected[w.time_s]
        for name, value in w.features.items():
            assert value == pytest.approx(ref_row[name], nan_ok=True, rel=1e-12, abs=1e-12), (w.time_s, name)
    hot = [w for w in windows if w.time_s >= 25]
    assert all("bbox" in w.snapshot for w in hot)
    r0, c0, r1, c1 = hot[-1].snapshot["bbox"]
    assert (r0, c0, r1, c1) == (58, 77, 62, 83)


def test_hot_region_marks_the_hot_blob_and_its_maximum():
    rng = np.random.default_rng(2)
    snap = hot_region(frame(rng, 150.0, at=(10, 20)), 0.01)
    assert snap["max_c"] == pytest.approx(150.0, abs=0.01)
    assert snap["bbox"] == [8, 17, 12, 23] and snap["area_px"] == 35
    assert "bbox" not in hot_region(frame(rng), 0.01)  # a uniform room has no hot region


def test_frozen_camera_is_failed_but_ffc_freeze_is_not():
    rng = np.random.default_rng(3)
    mon = DeviceMonitor("s", "n1", step_s=1.0, window_s=60.0)
    still = frame(rng)
    for k in range(30):  # 3.5 s of one identical image while the shutter runs: expected
        mon.on_thermal(thermal(T0_MS + k * 115, k + 1, still, ffc="in_progress"))
    assert mon.camera_ok() and mon.counts["ffc_frames"] == 30 and mon.counts["ffc_events"] == 1
    for k in range(30, 70):  # the same image outside FFC for 4.6 s: frozen
        mon.on_thermal(thermal(T0_MS + k * 115, k + 1, still))
    assert mon.camera_reason == "frozen"
    mon.on_thermal(thermal(T0_MS + 70 * 115, 71, frame(rng)))
    assert mon.camera_ok()


def test_dropped_frames_missing_and_stuck_scd41_are_found():
    rng = np.random.default_rng(4)
    mon = DeviceMonitor("s", "n1", step_s=1.0, window_s=60.0)
    mon.on_scd41(scd41(T0_MS, 1))
    for k, seq in enumerate([1, 2, 3, 7, 8]):  # seq 4..6 never arrived
        mon.on_thermal(thermal(T0_MS + k * 115, seq, frame(rng)))
    assert mon.counts["thermal_dropped"] == 3
    for k in range(6, 200):  # 22 s of frames, no SCD41 reading since t=0
        mon.on_thermal(thermal(T0_MS + k * 115, k + 3, frame(rng)))
    assert mon.scd41_reason == "missing" and mon.camera_ok()
    for j in range(1, 11):  # readings come back, but frozen at one value
        mon.on_scd41(scd41(T0_MS + 23_000 + j * 5000, j + 1, co2=612.0))
    assert mon.scd41_reason == "stuck"
    mon.on_scd41(scd41(T0_MS + 80_000, 20, co2=615.0))
    assert mon.scd41_ok()


class RecordingClient:
    """Stands in for the MQTT client: keeps what the agent publishes."""

    def __init__(self):
        self.published = []

    def publish(self, topic, payload, qos=0, retain=False):
        self.published.append((topic, payload))


def test_agent_raises_degraded_and_offline_events_once_and_remembers_them(tmp_path):
    from firesight.adapters.local.metadata import SQLiteMetadataStore

    rng = np.random.default_rng(5)
    queue, store = SQLiteMessageQueue(":memory:"), SQLiteMetadataStore(str(tmp_path / "m.db"))
    now = [100.0]
    client = RecordingClient()
    agent = MonitoringAgent(client, queue, state_store=store, clock=lambda: now[0])
    agent._on_message(StatusMessage(site="s", thing_name="n1", ts_ms=T0_MS, seq=1, state="online",
                                    uptime_s=30.0))
    for k in range(100):  # camera only: the SCD41 never reports
        agent._on_message(thermal(T0_MS + k * 200, k + 1, frame(rng)))
    for j in range(5):
        now[0] += 1.0
        agent._on_message(scd41(T0_MS + 20_000 + j * 5000, j + 1))  # it comes back
    now[0] += 60.0
    agent.sweep()
    agent.sweep()  # no second offline event
    events = [AlertEvent.from_json(m["body"]) for m in queue.receive(ALERT_EVENTS_QUEUE, max_messages=10)]
    got = [(e.event_id, e.signal, e.state, e.level) for e in events]
    assert got == [("n1:trouble:1", "trouble", "active", "scd41_failed"),
                   ("n1:supervisory:2", "supervisory", "active", "degraded:thermal"),
                   ("n1:trouble:3", "trouble", "cleared", "scd41_failed"),
                   ("n1:supervisory:4", "supervisory", "cleared", "degraded:thermal"),
                   # frames stopped at 20 s while readings went on: now the camera is missing
                   ("n1:trouble:5", "trouble", "active", "camera_failed"),
                   ("n1:supervisory:6", "supervisory", "active", "degraded:gas"),
                   ("n1:trouble:7", "trouble", "active", "offline")]
    assert events[0].scenario_time_s == pytest.approx(30.0 + 15.2, abs=0.3)  # status uptime anchors it
    alerts = [t for t, _ in client.published if t == "firesight/v1/s/alerts"]
    assert len(alerts) == 7
    windows = [json.loads(p) for t, p in client.published if "/windows/" in t]
    assert windows and all(w["thing"] == "n1" for w in windows)
    assert windows[0]["inputs"] == {"thermal": True, "scd41": True}
    assert any(w["inputs"] == {"thermal": True, "scd41": False} for w in windows)
    # a restarted agent knows the device is offline and does not say it again
    again = MonitoringAgent(RecordingClient(), queue, state_store=store, clock=lambda: now[0] + 100)
    again._on_message(StatusMessage(site="s", thing_name="n1", ts_ms=T0_MS + 50_000, seq=2, state="offline"))
    again._on_message(scd41(T0_MS + 200_000, 9))
    fresh = [AlertEvent.from_json(m["body"]) for m in queue.receive(ALERT_EVENTS_QUEUE, max_messages=10)]
    assert [(e.event_id, e.level, e.state) for e in fresh] == [("n1:trouble:8", "offline", "cleared")]


def _events(queue):
    return [AlertEvent.from_json(m["body"]) for m in queue.receive(ALERT_EVENTS_QUEUE, max_messages=10)]


def test_a_camera_that_starts_after_the_scd41_history_is_not_reported_missing():
    """As the simulated fleet plays a room: 15 min of SCD41 readings, then frames and
    readings. The windows of the history are scored SCD41-only (no frame is evidence of
    nothing), but no camera trouble or degraded-mode supervisory is raised for it, with the
    20-min grace that `live-demo` sets (the default, 120 s, is for real nodes)."""
    from firesight.agents.runtime_config import MonitoringSettings

    rng = np.random.default_rng(6)
    queue, client = SQLiteMessageQueue(":memory:"), RecordingClient()
    agent = MonitoringAgent(client, queue, settings=MonitoringSettings(camera_start_grace_s=1200.0))
    agent._on_message(StatusMessage(site="s", thing_name="n1", ts_ms=T0_MS, seq=1, state="online", uptime_s=0.0))
    for j in range(180):  # 900 s of history
        agent._on_message(scd41(T0_MS + j * 5000, j + 1, co2=450.0 + j % 7, t=21.0 + 0.001 * j))
    dev = agent.devices[("s", "n1")]
    assert dev.camera_reason == "missing" and dev.camera_starting() and dev.health()["camera"] == "starting"
    for k in range(int(30 / 0.115)):  # then the camera streams with the readings
        ts = 900_000 + int(k * 115)
        agent._on_message(thermal(T0_MS + ts, k + 1, frame(rng)))
        if k % 43 == 0:
            agent._on_message(scd41(T0_MS + ts + 7, 181 + k // 43))
    assert dev.camera_ok() and dev.health()["camera"] == "ok"
    assert _events(queue) == []
    windows = [json.loads(p) for t, p in client.published if "/windows/" in t]
    inputs = [(w["time_s"] < 899.0, w["inputs"]["thermal"]) for w in windows]
    assert (True, False) in inputs and (False, True) in inputs  # SCD41-only, then both
    assert (False, False) not in inputs[-10:]


def test_a_camera_that_never_sends_a_frame_is_reported_after_its_start_up_grace():
    from firesight.agents.runtime_config import MonitoringSettings

    queue = SQLiteMessageQueue(":memory:")
    agent = MonitoringAgent(RecordingClient(), queue, settings=MonitoringSettings(camera_start_grace_s=60.0))
    agent._on_message(StatusMessage(site="s", thing_name="n1", ts_ms=T0_MS, seq=1, state="online", uptime_s=0.0))
    for j in range(12):  # 55 s since the node started: within the grace
        agent._on_message(scd41(T0_MS + j * 5000, j + 1, co2=450.0 + j))
    assert _events(queue) == []
    for j in range(12, 14):  # 65 s: past it, and no frame ever came
        agent._on_message(scd41(T0_MS + j * 5000, j + 1, co2=450.0 + j))
    got = [(e.signal, e.state, e.level) for e in _events(queue)]
    assert got == [("trouble", "active", "camera_failed"), ("supervisory", "active", "degraded:gas")]


def test_the_grace_counts_from_the_node_start_its_status_tells():
    """A node that booted long ago (status uptime) gets no start-up grace: a monitor that
    starts meanwhile judges a camera that sends nothing after the usual timeout."""
    queue = SQLiteMessageQueue(":memory:")
    agent = MonitoringAgent(RecordingClient(), queue)
    agent._on_message(StatusMessage(site="s", thing_name="n1", ts_ms=T0_MS, seq=1, state="online",
                                    uptime_s=7200.0))
    for j in range(4):
        agent._on_message(scd41(T0_MS + j * 5000, j + 1, co2=450.0 + j))
    assert ("trouble", "active", "camera_failed") in [(e.signal, e.state, e.level) for e in _events(queue)]
