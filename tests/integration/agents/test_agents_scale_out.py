"""Scale-out: two monitoring + analysis workers share the devices through shared
subscriptions on a real Mosquitto; every device is served by exactly one worker, and its
windows come out in order, none missing; when a worker leaves, the other takes its devices."""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict

import numpy as np
import pytest

from firesight.agents.runtime_config import parse_run_config
from firesight.agents.system import service_client, start_system
from firesight.config import Config
from firesight.iot import open_registry
from firesight.iot.client import DeviceClient
from firesight.iot.codec import encode_scd41, encode_status, encode_thermal

from support.mqtt import start_broker

DEVICES = 6
SECONDS = 12.0


def play(creds, url, seconds, stop_at):
    """Each device: status, then frames at 8.7 Hz and an SCD41 reading every 5 s, ts_ms = now."""
    rng = np.random.default_rng(3)
    frames = [(29_315 + rng.normal(0, 30, (120, 160))).astype(np.uint16) for _ in range(4)]
    clients = [DeviceClient(c.thing_name, url, cert_path=c.cert_path, key_path=c.key_path, ca_path=c.ca_path,
                            site="lab").connect() for c in creds]
    t0 = time.time()
    for i, cl in enumerate(clients):
        cl.publish(cl.topic("status"), encode_status(state="online", ts_ms=int(t0 * 1000), seq=1, uptime_s=0.0), qos=1)
    k = 0
    while time.time() < t0 + seconds and not stop_at.is_set():
        now_ms = int(time.time() * 1000)
        for cl in clients:
            if k % 43 == 0:
                cl.publish(cl.topic("scd41"), encode_scd41(co2_ppm=450.0 + k / 10, temperature_c=21.0, humidity_rh=40.0,
                                                           ts_ms=now_ms, seq=k // 43 + 1), qos=1)
            cl.publish(cl.topic("thermal"), encode_thermal(frames[k % 4], ts_ms=now_ms, seq=k + 1), qos=1)
        k += 1
        time.sleep(max(0.0, t0 + k / 8.7 - time.time()))
    for cl in clients:
        cl.close()
    return k


@pytest.mark.mosquitto
def test_two_workers_serve_every_device_exactly_once_in_order(tmp_path):
    home = tmp_path / "home"
    registry = open_registry(Config(home=home))
    creds = [registry.register_device(f"node-{i}", site="lab") for i in range(DEVICES)]
    for name in ("monitoring-w0", "analysis-w0", "monitoring-w1", "analysis-w1", "observer"):
        registry.register_service(name)
    broker = start_broker("mosquitto", registry)
    systems, observer = [], None
    try:
        windows = defaultdict(list)
        lock = threading.Lock()

        def on_window(topic, payload):
            body = json.loads(payload)
            with lock:
                windows[body["thing"]].append((topic.split("/")[4], body["time_s"], body["trigger"]["seq"]))

        observer = service_client("observer", broker.url, registry)
        observer.subscribe("firesight/internal/v1/windows/#", on_window, qos=1)
        for w in ("w0", "w1"):
            cfg = parse_run_config({"home": str(home), "site": "lab", "broker": {"url": broker.url},
                                    "workers": {"id": w, "shared_group": "firesight"},
                                    "response": {"enabled": False}, "model": {"poll_s": 0},
                                    "coordinator": {"health_interval_s": 0}}, environ={})
            systems.append(start_system(cfg, broker=broker))
        frames = play(creds, broker.url, SECONDS, threading.Event())
        time.sleep(3.0)
        served = {w: s.coordinator.agent("monitoring").served() for w, s in zip(("w0", "w1"), systems)}
        with lock:
            first_run = {thing: list(got) for thing, got in windows.items()}
        # w1 goes away: at their next status message its devices are taken by w0
        systems.pop().stop()
        play(creds, broker.url, 4.0, threading.Event())
        time.sleep(2.0)
        taken_over = systems[0].coordinator.agent("monitoring").served()
    finally:
        for s in systems:
            s.stop()
        if observer is not None:
            observer.close()
        broker.stop()
    assert frames >= SECONDS * 8.7 * 0.8
    # each device served by one worker; the workers together serve every device
    owners = {}
    for w, things in served.items():
        for t in things:
            assert t not in owners, f"{t} served by {owners.get(t)} and {w}"
            owners[t] = w
    assert sorted(owners) == sorted(f"lab/node-{i}" for i in range(DEVICES))
    assert set(owners.values()) == {"w0", "w1"}, owners  # the load is shared
    assert taken_over == sorted(f"lab/node-{i}" for i in range(DEVICES))
    for i in range(DEVICES):
        thing = f"node-{i}"
        got = first_run[thing]
        assert {w for w, _, _ in got} == {owners[f"lab/{thing}"]}  # windows from its one worker
        times = [t for _, t, _ in got]
        assert times == sorted(times) and len(set(times)) == len(times)  # in order, none twice
        assert np.allclose(np.diff(times), 1.0)  # one window per second, none missing
        assert len(times) >= SECONDS - 3
