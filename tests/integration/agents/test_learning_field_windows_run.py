"""The windows the analysis agent scores reach the learning agent in a running system, and
survive its restart: ``firesight run`` on a real Mosquitto, a device streaming frames and
SCD41 readings, the analysis agent sampling the scored windows onto the durable queue
``field-windows``, the learning agent taking them.

1. The learning agent holds the sampled windows but has not written them yet (a long
   flush interval): ``firesight run`` is SIGKILLed. Nothing is lost: the messages were never
   acknowledged.
2. Restarted, the learning agent gets them again once their hold runs out, writes them and
   acknowledges them: the store holds each sampled window exactly once, with its device
   time, variant, probability and level; the queue is empty.
3. Stopped (SIGTERM) and started again, it reloads the same windows from the store.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from firesight import bootstrap
from firesight.agents.events import FIELD_WINDOWS_QUEUE
from firesight.agents.field_windows import FieldWindowStore
from firesight.config import load_config
from firesight.iot import open_registry
from firesight.iot.client import DeviceClient
from firesight.iot.codec import encode_scd41, encode_status, encode_thermal
from firesight.iot.mosquitto import MosquittoBroker, find_mosquitto, free_port

pytestmark = [pytest.mark.timeout(300), pytest.mark.mosquitto, pytest.mark.slow]

THING = "lw-node"
STREAM_S = 80.0  # the model scores a window once 26 s of readings are in it


def stream(device, seconds, speed=5.0):
    """``seconds`` of a room with a slowly warming spot: frames at 8.7 Hz, SCD41 every 5 s,
    played at ``speed`` x real time, stamped so that none is in the future."""
    rng = np.random.default_rng(7)
    t0_ms = int(time.time() * 1000) - int(seconds * 1000)
    wall0 = time.monotonic()
    device.publish(device.topic("status"), encode_status(state="online", ts_ms=t0_ms, seq=1, uptime_s=0.0),
                   qos=1, wait_s=10)
    n_frames, k_scd = int(seconds * 8.7), 0
    for k in range(n_frames):
        t_ms = t0_ms + int(k * 1000 / 8.7)
        if (ahead := (t_ms - t0_ms) / 1000 / speed - (time.monotonic() - wall0)) > 0:
            time.sleep(ahead)
        counts = (293.15 + rng.normal(0, 0.05, (120, 160))) / 0.01
        counts[58:62, 78:84] = (30.0 + 273.15 + 0.2 * k / 8.7) / 0.01
        device.publish(device.topic("thermal"), encode_thermal(counts.astype(np.uint16), ts_ms=t_ms, seq=k + 1,
                                                               ffc_state="complete"), qos=0)
        if t_ms >= t0_ms + k_scd * 5000:
            device.publish(device.topic("scd41"), encode_scd41(
                co2_ppm=450.0 + 2 * k_scd + rng.normal(0, 1), temperature_c=21.0 + 0.01 * k_scd, humidity_rh=40.0,
                ts_ms=t_ms, seq=k_scd + 1), qos=1, wait_s=10)
            k_scd += 1


def read_health(path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def wait_for(cond, timeout_s, what):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_sampled_windows_reach_the_learning_agent_and_survive_its_restart(tmp_path):
    if find_mosquitto() is None:
        pytest.skip("mosquitto binary not installed (run `make system-deps`)")
    home = tmp_path / "home"
    base = load_config(home=home)
    registry = open_registry(base)
    for name in ("monitoring-local", "analysis-local"):
        registry.register_service(name)
    creds = registry.register_device(THING, site="lab")
    broker = MosquittoBroker(registry, port=free_port(), workdir=tmp_path / "mosq")
    broker.start()
    config = tmp_path / "run.yaml"
    health = tmp_path / "health.json"
    config.write_text(json.dumps({
        "home": str(home), "site": "lab", "broker": {"url": broker.url}, "model": {"poll_s": 0},
        "response": {"enabled": False}, "alarms": {"enabled": False},
        "coordinator": {"health_interval_s": 0.3},
        # every 3rd window; held 4 s after receipt; written only at a clean stop (or 5,000 rows)
        "learning": {"interval_s": 0.3, "field_every_n": 3, "field_around_change": 2,
                     "field_flush_s": 3600, "field_hold_s": 4}}))
    env = {**os.environ, "FIRESIGHT_HOME": str(home)}

    def start(**overrides):
        health.unlink(missing_ok=True)
        out = tmp_path / f"run-{time.monotonic_ns()}.jsonl"  # a file: a pipe nobody reads would fill
        with out.open("w") as sink:
            proc = subprocess.Popen([sys.executable, "-m", "firesight.cli", "run", "--config", str(config),
                                     "--health-file", str(health)], stdout=sink, stderr=subprocess.DEVNULL,
                                    env={**env, **overrides}, text=True)
        wait_for(lambda: '"started"' in out.read_text() or proc.poll() is not None, 60, "firesight run to start")
        assert '"started"' in out.read_text(), out.read_text()
        return proc

    def learning():
        return read_health(health).get("agents", {}).get("learning", {})

    queue = bootstrap.message_queue(base)
    store = FieldWindowStore(bootstrap.object_store(config=base))
    device = DeviceClient(THING, broker.url, cert_path=creds.cert_path, key_path=creds.key_path,
                          ca_path=creds.ca_path, site="lab")
    proc = start()
    try:
        device.connect()
        stream(device, STREAM_S)

        def all_received():  # the stream decided, every sampled window received, none written
            h = read_health(health).get("agents", {})
            sampled = h.get("analysis", {}).get("field_windows", {}).get("sent", 0)
            held = h.get("learning", {}).get("field_messages_unacknowledged", -1)
            settled = h.get("analysis", {}).get("backlog") == 0 and h.get("monitoring", {}).get("windows", 0) >= 60
            return sampled if settled and sampled and held == sampled else 0

        sampled = wait_for(all_received, 60, "the learning agent to hold the sampled windows")
        time.sleep(1.0)  # no window still on its way
        assert wait_for(all_received, 10, "a settled stream") == sampled
        assert queue.counts(FIELD_WINDOWS_QUEUE) == {"visible": 0, "in_flight": sampled}
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        assert store.load().empty  # nothing was written: only the queue holds them

        # restarted (writing at once now): the messages come back after their hold
        proc = start(FIRESIGHT_LEARNING_FIELD_FLUSH_S="0")
        wait_for(lambda: queue.counts(FIELD_WINDOWS_QUEUE) == {"visible": 0, "in_flight": 0}
                 and learning().get("counters", {}).get("field_windows_written", 0) >= sampled, 60,
                 "the windows to be written and acknowledged after the restart")
        rows = store.load()
        assert len(rows) == sampled
        assert not rows.duplicated(["thing", "ts_ms"]).any()
        assert set(rows["thing"]) == {THING}
        assert set(rows["variant"]) <= {"full", "thermal", "gas"}
        assert rows["level"].isin(["normal", "watch", "alarm"]).all()
        assert rows["probability"].between(0, 1).all() and "thermal_max_c" in rows.columns
        assert set(rows["sampled"]) <= {"every_n", "before_change", "change", "after_change"}
        assert (rows["sampled"] == "every_n").sum() >= 5
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)

        # a clean restart reloads them
        proc = start()
        loaded = wait_for(lambda: learning().get("counters", {}).get("field_windows_loaded"), 30,
                          "the learning agent's health")
        assert loaded == sampled and learning()["field_windows_held"] == sampled
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
        device.close()
        broker.stop()
