"""Scale-out with persistent sessions on a real Mosquitto: two monitoring workers (separate
processes) share the devices; one is SIGKILLed mid-stream while the devices keep
publishing, and restarted within ``workers.takeover_after_s``. Every SCD41 reading of every
device is handled exactly once overall, by the device's one worker, in order: the broker
queued the killed worker's readings in its session and the restarted worker resumed them.

The workers' clients are built as :func:`firesight.agents.system.start_system` builds them on
Mosquitto (readings acknowledged once handled), on MQTT 3.1.1 and on MQTT 5 with a Session
Expiry Interval (``workers.session_expiry_s``) longer than the downtime."""

from __future__ import annotations

import signal
import subprocess
import time
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from firesight.config import Config
from firesight.iot import open_registry
from firesight.iot.client import DeviceClient
from firesight.iot.codec import encode_scd41, encode_status

from support.mqtt import start_broker
from support.processes import start_ready_script

pytestmark = [pytest.mark.mosquitto, pytest.mark.timeout(120)]

DEVICES = 4
RATE_HZ = 5.0

#: one monitoring worker: records each reading its gateway hands on, after handling it
_WORKER = r"""
import sys, time
from firesight import bootstrap
from firesight.agents.monitoring import MonitoringAgent, worker_topic
from firesight.agents.system import service_client
from firesight.config import Config
from firesight.iot import open_registry
home, url, worker, out, version = sys.argv[1:6]
base = Config(home=home)
registry = open_registry(base)
client = service_client(f"monitoring-{worker}", url, registry, will=(worker_topic(worker), b"offline", 1, True),
                        persistent=True, mqtt_version=int(version), session_expiry_s=60, manual_ack=True)
agent = MonitoringAgent(client, bootstrap.message_queue(base), state_store=bootstrap.metadata_store(base),
                        site="lab", worker_id=worker, shared_group="firesight", takeover_after_s=30.0)
log = open(out, "a", buffering=1)
handle = agent.gateway.handler
def record(msg):
    handle(msg)
    kind = type(msg).__name__
    log.write(f"{msg.thing_name} {kind} {msg.seq}\n")
agent.gateway.handler = record
agent.start()
print("ready", flush=True)
import signal
signal.signal(signal.SIGTERM, lambda *a: (agent.stop(), client.close(flush_timeout_s=2.0), sys.exit(0)))
while True:
    time.sleep(0.2)
"""


def _worker(home: Path, url: str, worker: str, out: Path, version: int) -> subprocess.Popen:
    return start_ready_script(_WORKER, str(home), url, worker, str(out), str(version), name=f"worker {worker}")


class Fleet:
    """Devices publishing a status every second and SCD41 readings at RATE_HZ, QoS 1."""

    def __init__(self, creds, url):
        self.clients = [DeviceClient(c.thing_name, url, cert_path=c.cert_path, key_path=c.key_path,
                                     ca_path=c.ca_path, site="lab").connect() for c in creds]
        self.seq = 0
        self.status_seq = 0
        self.t0 = time.time()

    def play(self, seconds: float) -> None:
        end = time.time() + seconds
        while time.time() < end:
            now_ms = int(time.time() * 1000)
            if self.seq % int(RATE_HZ) == 0:
                self.status_seq += 1
                for cl in self.clients:
                    cl.publish(cl.topic("status"), encode_status(state="online", ts_ms=now_ms, seq=self.status_seq,
                                                                 uptime_s=time.time() - self.t0), qos=1)
            self.seq += 1
            for cl in self.clients:
                cl.publish(cl.topic("scd41"), encode_scd41(co2_ppm=450.0 + self.seq % 7, temperature_c=21.0,
                                                           humidity_rh=40.0, ts_ms=now_ms, seq=self.seq), qos=1)
            time.sleep(1.0 / RATE_HZ)

    def close(self) -> None:
        for cl in self.clients:
            cl.close()


@pytest.mark.parametrize("version", [311, 5])
def test_killed_worker_resumes_its_devices_from_its_persistent_session(tmp_path, version):
    home = tmp_path / "home"
    registry = open_registry(Config(home=home))
    creds = [registry.register_device(f"node-{i}", site="lab") for i in range(DEVICES)]
    for w in ("w0", "w1"):
        registry.register_service(f"monitoring-{w}")
    broker = start_broker("mosquitto", registry)
    procs: dict[str, subprocess.Popen] = {}
    outs = {w: tmp_path / f"{w}.log" for w in ("w0", "w1")}
    fleet = None
    try:
        procs["w0"] = _worker(home, broker.url, "w0", outs["w0"], version)
        procs["w1"] = _worker(home, broker.url, "w1", outs["w1"], version)
        fleet = Fleet(creds, broker.url)
        fleet.play(5.0)                                  # both workers claim and serve
        procs["w1"].send_signal(signal.SIGKILL)          # mid-stream, no clean stop
        procs["w1"].wait(10)
        killed_at = fleet.seq
        fleet.play(4.0)                                  # the devices keep publishing
        procs["w1"] = _worker(home, broker.url, "w1", outs["w1"], version)
        fleet.play(4.0)
        last = fleet.seq
        time.sleep(3.0)
    finally:
        if fleet is not None:
            fleet.close()
        for p in procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs.values():
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
        broker.stop()
    handled: dict[str, dict[str, list[int]]] = {w: defaultdict(list) for w in outs}
    for w, path in outs.items():
        for line in path.read_text().splitlines():
            thing, kind, seq = line.split()
            if kind == "SCD41Message":
                handled[w][thing].append(int(seq))
    owners = {t: [w for w in handled if handled[w].get(t)] for t in (f"node-{i}" for i in range(DEVICES))}
    assert any(owners[t] == ["w1"] for t in owners), owners       # the killed worker served devices
    assert any(owners[t] == ["w0"] for t in owners), owners
    assert killed_at > 10 and last > killed_at + 30
    for thing, ws in owners.items():
        assert len(ws) == 1, (thing, ws)                          # one worker per device, no takeover
        seqs = handled[ws[0]][thing]
        counts = Counter(seqs)
        assert not [s for s, n in counts.items() if n > 1], (thing, "handled twice")
        first = seqs[0]
        assert seqs == list(range(first, last + 1)), (thing, first, last, sorted(set(range(first, last + 1)) - set(seqs)))
        assert first <= 5                                         # from (almost) the first reading on
