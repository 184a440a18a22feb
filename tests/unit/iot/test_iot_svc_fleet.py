"""What a virtual node publishes: rates, shadow configuration, payloads the codec accepts."""

import numpy as np
import pandas as pd
import pytest

from firesight.datasets.reader import ScenarioData
from firesight.errors import InvalidParameterError
from firesight.iot.codec import FeaturesMessage, SCD41Message, ThermalMessage, decode
from firesight.iot.fleet import SimulatorSettings, VirtualDevice, device_epoch_ms
from firesight.sensors.frames import LeptonFrames

FRAME_RATE_HZ = 8.7


def _scenario(duration_s=40.0, seed=0):
    """A small scenario in the dataset reader's shapes: a warm room at ~22 C with a 3x3 px
    hot spot at ~200 C appearing at 20 s (low gain after that), one FFC at 10 s, one
    dropped frame, SCD41 every 5 s with one missing reading."""
    rng = np.random.default_rng(seed)
    n = int(duration_s * FRAME_RATE_HZ)
    time_s = np.arange(n) / FRAME_RATE_HZ
    kelvin = 295.15 + rng.normal(0, 0.05, size=(n, 120, 160))
    hot = time_s >= 20
    kelvin[hot, 60:63, 80:83] = 473.15
    resolution = np.where(hot, 0.1, 0.01).astype(np.float32)
    frames = np.round(kelvin / resolution[:, None, None]).astype(np.uint16)
    ffc = np.zeros(n, np.uint8)
    ffc[(time_s >= 8) & (time_s < 10)] = 1
    ffc[(time_s >= 10) & (time_s < 10.9)] = 2
    valid = np.ones(n, bool)
    valid[50] = False
    thermal = LeptonFrames(frames=frames, time_s=time_s, gain=hot.astype(np.uint8), resolution_k=resolution,
                           ffc_state=ffc, frame_counter=np.arange(n, dtype=np.uint32), valid=valid)
    t_scd = np.arange(0, duration_s, 5.0)
    status = np.zeros(len(t_scd), np.uint8)
    status[2] = 1  # missing
    co2 = 420 + 10 * t_scd
    co2[2] = np.nan
    scd41 = pd.DataFrame({"time_s": t_scd, "co2_ppm": co2, "temperature_c": 22.0 + 0.01 * t_scd,
                          "humidity_rh": 40.0, "status": status})
    truth = pd.DataFrame({"time_s": time_s, "state": 0, "hrr_kw": 0.0})
    return ScenarioData(id="s0", family="test", label="normal", is_fire=False, ignition_time_s=None, meta={},
                        thermal=thermal, scd41=scd41, truth=truth)


def _play(device, now_ms=1_800_000_000_000):
    return [(t, topic, decode(topic, payload, now_ms=now_ms))
            for t, topic, payload in device.messages(lambda t: 1_700_000_000_000 + int(t * 1000))]


def test_frames_mode_publishes_every_valid_frame_and_readings():
    scenario = _scenario()
    device = VirtualDevice("node-1", "lab", scenario)
    msgs = _play(device)
    thermal = [m for _, _, m in msgs if isinstance(m, ThermalMessage)]
    scd = [m for _, _, m in msgs if isinstance(m, SCD41Message)]
    assert len(thermal) == len(scenario.thermal.time_s) - 1  # the dropped frame is not sent
    assert [m.seq for m in thermal] == list(range(1, len(thermal) + 1))
    np.testing.assert_array_equal(thermal[0].pixels, scenario.thermal.frames[0])
    assert thermal[0].ffc_state == "not_commanded"
    assert {m.ffc_state for m in thermal[70:100]} >= {"imminent", "in_progress"}
    assert thermal[-1].ffc_state == "complete" and thermal[-1].gain == "low" and thermal[-1].resolution_k == 0.1
    np.testing.assert_allclose(thermal[-1].temperature_k.max(), 473.15, atol=0.1)
    assert len(scd) == 7 and all(np.isfinite(m.co2_ppm) for m in scd)  # 8 readings, one missing
    assert device.counts["scd41_errors"] == 1 and device.counts["frames_dropped"] == 1
    times = [t for t, _, _ in msgs]
    assert times == sorted(times)
    assert msgs[0][1] == "firesight/v1/lab/node-1/status"


def test_low_power_mode_from_shadow_slows_the_scd41():
    device = VirtualDevice("node-1", "lab", _scenario(duration_s=70.0))
    reported = device.apply_desired({"low_power_mode": True, "edge_mode": "frames", "unknown": 1})
    assert reported["measurement_interval_s"] == 30.0 and reported["low_power_mode"] is True
    scd_times = [t for t, topic, _ in _play(device) if topic.endswith("/scd41")]
    assert scd_times == [0.0, 30.0, 60.0]
    device.apply_desired({"measurement_interval_s": 1})  # refused: below the SCD41's 5 s
    assert device.counts["config_rejected"] == 1 and device.config["measurement_interval_s"] == 30.0


def test_features_mode_sends_features_not_frames():
    scenario = _scenario(duration_s=30.0)
    device = VirtualDevice("node-2", "lab", scenario, config={"edge_mode": "features"})
    msgs = _play(device)
    streams = {topic.rsplit("/", 1)[-1] for _, topic, _ in msgs}
    assert "thermal" not in streams and "features" in streams
    feats = [(t, m) for t, _, m in msgs if isinstance(m, FeaturesMessage)]
    assert len(feats) == 29  # one per second from t = 1 s
    before = next(m for t, m in feats if t == 19.0).features
    after = next(m for t, m in feats if t == 25.0).features
    np.testing.assert_allclose(before["thermal_max_c"], 22.0, atol=0.5)
    np.testing.assert_allclose(after["thermal_max_c"], 200.0, atol=0.5)


def test_duration_counts_from_t0_after_the_scd41_history():
    """Scenarios carry SCD41 readings from before t = 0 (the sensor's history): a short
    duration plays that history and then camera frames up to t = duration."""
    scenario = _scenario(duration_s=20.0)
    history = pd.DataFrame({"time_s": np.arange(-60.0, 0.0, 5.0), "co2_ppm": 420.0, "temperature_c": 22.0,
                            "humidity_rh": 40.0, "status": 0})
    scenario.scd41 = pd.concat([history, scenario.scd41], ignore_index=True)
    device = VirtualDevice("node-4", "lab", scenario, settings=SimulatorSettings(duration_s=5.0))
    msgs = _play(device)
    frame_times = [t for t, _, m in msgs if isinstance(m, ThermalMessage)]
    scd_times = [t for t, _, m in msgs if isinstance(m, SCD41Message)]
    assert min(scd_times) == -60.0 and frame_times and max(frame_times) <= 5.0
    assert len(frame_times) == int(5.0 * FRAME_RATE_HZ) + 1


def test_duration_limits_playback_and_settings_are_checked():
    device = VirtualDevice("node-3", "lab", _scenario(), settings=SimulatorSettings(duration_s=5.0))
    assert max(t for t, _, _ in _play(device)) <= 5.0
    with pytest.raises(InvalidParameterError):
        SimulatorSettings(misbehave={"node-1": "dance"})
    with pytest.raises(InvalidParameterError):
        SimulatorSettings(speed=-1)


def test_timestamps_never_run_ahead_of_the_wall_clock():
    wall_ms, span_s = 1_700_000_000_000, 600.0
    for speed in (0.0, 0.5, 1.0, 10.0):
        epoch = device_epoch_ms(wall_ms, span_s, speed)
        for t in np.linspace(0, span_s, 7):
            wall_at_publish = wall_ms + (0 if speed == 0 else t / speed * 1000)
            assert epoch + t * 1000 <= wall_at_publish + 1
    assert device_epoch_ms(wall_ms, span_s, 10.0) + span_s * 1000 == wall_ms + span_s / 10 * 1000


class _RecordingClient:
    """Stands in for a node's MQTT client: keeps (topic, qos) of every publish."""

    class _Info:
        def wait_for_publish(self, timeout=None):
            return None

    def __init__(self):
        self.published = []

    def connect(self):
        return self

    def subscribe(self, topic, callback, qos=0):
        return 0

    def publish(self, topic, payload, qos=0, retain=False):
        self.published.append((topic, qos))
        return self._Info()

    def close(self):
        pass


def test_readings_and_status_go_at_qos_1_frames_at_qos_0():
    """As a real node (the edge agent) sends them: the broker acknowledges SCD41 readings and
    status and keeps them for a persistent subscriber that is down; frames are not kept."""
    from firesight.iot.fleet import FleetSimulator

    clients = {}

    def factory(thing, url, credentials, will):
        return clients.setdefault(thing, _RecordingClient())

    settings = SimulatorSettings(devices=1, site="lab", speed=0, status_interval_s=10.0, shadow_timeout_s=0.01)
    fleet = FleetSimulator(settings, [_scenario(duration_s=20.0)], "mqtt://127.0.0.1:1", client_factory=factory)
    fleet.run()
    qos = {}
    for topic, q in clients["sim-node-000"].published:
        if topic.startswith("firesight/v1/lab/"):
            qos.setdefault(topic.rsplit("/", 1)[-1], set()).add(q)
    assert qos == {"thermal": {0}, "scd41": {1}, "status": {1}}
    fleet.close()
    assert clients["sim-node-000"].published[-1] == ("firesight/v1/lab/sim-node-000/status", 1)  # offline
