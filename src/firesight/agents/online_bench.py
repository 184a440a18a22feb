"""Online benchmark: device publish -> monitoring -> analysis -> response -> notification.

Devices publish at full rate (38,400-byte Lepton frames at 8.7 Hz, an SCD41 reading every
5 s, a status message every 10 s) with ``ts_ms`` = their publish time, over mTLS to the
embedded broker or Mosquitto. Worker processes run the monitoring and analysis agents (with
more than one worker they share the devices through shared subscriptions); the response
agent runs in the first worker and delivers to a console channel. The model scores every
window as in service, but the alert policy is set so that each device alarms on its 5th
window (every device then produces one alarm to time); devices start one after the other
over the first half of the run so alarms spread out.

Reported: publish-to-notification latency (the response agent's delivery record: sent time
minus the triggering reading's ``ts_ms``) p50/p99/max; windows decided; CPU seconds of the
workers and the broker; devices sustained per core = devices x seconds at full rate / CPU
seconds used; and whether the pipeline kept up (frames shed, backlog).
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from firesight.errors import InvalidParameterError, require

FRAME_RATE_HZ = 8.7


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _broker_child(home: str, conn: Any, stop: Any) -> None:
    import logging

    from firesight.config import Config
    from firesight.iot.broker import EmbeddedBroker

    logging.getLogger("amqtt").setLevel(logging.ERROR)
    logging.getLogger("firesight.iot.broker").setLevel(logging.ERROR)
    broker = EmbeddedBroker.from_config(Config(home=Path(home)))
    conn.send(broker.start())
    stop.wait()
    broker.stop()


def _worker_child(config: dict, conn: Any, stop: Any) -> None:
    import contextlib
    import logging

    logging.basicConfig(level=logging.ERROR)
    from firesight.agents.runtime_config import parse_run_config
    from firesight.agents.system import start_system

    cfg = parse_run_config(config, environ={})
    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
        system = start_system(cfg)
        conn.send("started")
        stop.wait()
        health = system.health()
        system.stop()
    conn.send(json.loads(json.dumps(health, default=str)))


def _publisher_child(url: str, creds: list, site: str, seconds: float, start_at: float, conn: Any) -> None:
    import heapq

    from firesight.iot.client import DeviceClient
    from firesight.iot.codec import encode_scd41, encode_status, encode_thermal

    rng = np.random.default_rng(7)
    frames = [(29_315 + rng.normal(0, 30, (120, 160))).astype(np.uint16) for _ in range(8)]
    clients = [DeviceClient(t, url, cert_path=c, key_path=k, ca_path=ca, site=site).connect()
               for t, c, k, ca in creds]
    n, period = len(clients), 1.0 / FRAME_RATE_HZ
    # device i starts at start_at + i * (seconds / 2) / n: alarms spread over the run
    heap = [(start_at + i * seconds / 2 / n, i, 0) for i in range(n)]
    heapq.heapify(heap)
    end = start_at + seconds
    late, cpu0 = 0, time.process_time()
    full_rate_s = 0.0
    first = {}
    while heap:
        due, i, k = heapq.heappop(heap)
        if due >= end:
            continue
        delay = due - time.time()
        if delay > 0:
            time.sleep(delay)
        elif delay < -0.1:
            late += 1
        cl = clients[i]
        now_ms = int(time.time() * 1000)
        if k == 0:
            first[i] = due
            cl.publish(cl.topic("status"), encode_status(state="online", ts_ms=now_ms, seq=1, uptime_s=0.0), qos=1)
        if k % 87 == 0 and k:  # every 10 s
            cl.publish(cl.topic("status"), encode_status(state="online", ts_ms=now_ms, seq=2 + k // 87,
                                                         uptime_s=k * period), qos=1)
        if k % 43 == 0:  # ~5 s
            cl.publish(cl.topic("scd41"), encode_scd41(co2_ppm=450 + rng.normal(0, 3), temperature_c=21.0 + rng.normal(0, 0.05),
                                                       humidity_rh=40.0, ts_ms=now_ms, seq=1 + k // 43), qos=0)
        cl.publish(cl.topic("thermal"), encode_thermal(frames[k % 8], ts_ms=now_ms, seq=k + 1), qos=0)
        heapq.heappush(heap, (due + period, i, k + 1))
    for i in range(n):
        full_rate_s += max(0.0, end - first.get(i, end))
    cpu = time.process_time() - cpu0
    time.sleep(0.5)
    for cl in clients:
        cl.close()
    conn.send({"late_publishes": late, "publisher_cpu_s": cpu, "device_seconds": full_rate_s})


def _hair_trigger_model(path: Path) -> str:
    from firesight.detection.alerts import AlertPolicy
    from firesight.detection.bundle import DetectorBundle
    from firesight.detection.shipped_model import default_model_path, load_bundle

    bundle = load_bundle(default_model_path())
    policy = AlertPolicy(watch_on=0.0, alarm_on=0.0, alarm_off=0.0, min_consecutive=5, clear_consecutive=10**6)
    DetectorBundle(variants=bundle.variants, policies={v: policy for v in bundle.variants},
                   info=bundle.info).save(path)
    return str(path)


def _stats(values: list[float]) -> dict:
    if not values:
        return {"n": 0, "p50": None, "p99": None}
    v = np.asarray(values)
    return {"n": int(v.size), "p50": round(float(np.percentile(v, 50)), 1), "p99": round(float(np.percentile(v, 99)), 1)}


def _alarm_deliveries(store: Any) -> list[dict]:
    return [d for d in store.deliveries(state="sent") if d.get("signal") == "alarm" and d.get("stage") == "open"]


def run_online_benchmark(kind: str = "embedded", *, devices: int = 10, seconds: float = 20.0,
                         workers: int = 1, drain_s: float = 15.0) -> dict[str, Any]:
    """Run the online benchmark; return its figures (see the module docstring)."""
    from firesight.agents.alert_store import AlertStore
    from firesight import bootstrap
    from firesight.config import Config
    from firesight.iot import open_registry
    from firesight.iot.mosquitto import MosquittoBroker

    require(kind in ("embedded", "mosquitto"), "broker", "embedded or mosquitto", kind)
    require(devices >= 1 and seconds > 0 and workers >= 1, "devices/seconds/workers", ">= 1, > 0, >= 1",
            (devices, seconds, workers))
    if workers > 1 and kind != "mosquitto":
        raise InvalidParameterError("workers", "1 with the embedded broker (shared subscriptions need "
                                    "Mosquitto)", workers)
    ctx = mp.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="firesight-bench-online-") as home:
        registry = open_registry(Config(home=Path(home)))
        site = "bench"
        creds = [registry.register_device(f"dev-{i:04d}", site=site) for i in range(devices)]
        for w in range(workers):  # every service client a worker runs (Device Defender: one worker)
            for name in (f"monitoring-w{w}", f"analysis-w{w}", f"defender-w{w}"):
                registry.register_service(name)
        model = _hair_trigger_model(Path(home) / "bench-model")
        stop = ctx.Event()
        procs: list[Any] = []
        mosq = None
        if kind == "embedded":
            parent, child = ctx.Pipe()
            bp = ctx.Process(target=_broker_child, args=(home, child, stop), daemon=True)
            bp.start()
            if not parent.poll(120):
                raise InvalidParameterError("broker", "an embedded broker that starts within 120 s", kind)
            url, broker_pid = parent.recv(), bp.pid
            procs.append(bp)
        else:
            mosq = MosquittoBroker(registry)
            url = mosq.start()
            broker_pid = mosq._proc.pid  # noqa: SLF001 - the benchmark measures the process it started
        worker_pipes, worker_procs = [], []
        try:
            for w in range(workers):
                config = {"home": home, "site": site, "broker": {"url": url},
                          "model": {"ref": model, "poll_s": 0},
                          "workers": {"id": f"w{w}", "shared_group": "bench" if workers > 1 else ""},
                          "response": {"enabled": w == 0, "policy": {"poll_interval_s": 0.01}},
                          "channels": [{"kind": "console"}], "coordinator": {"health_interval_s": 0}}
                parent, child = ctx.Pipe()
                p = ctx.Process(target=_worker_child, args=(config, child, stop), daemon=True)
                p.start()
                worker_pipes.append(parent)
                worker_procs.append(p)
            for parent in worker_pipes:
                if not parent.poll(180):
                    raise InvalidParameterError("workers", "workers that start within 180 s", workers)
                parent.recv()
            cpu0 = {p.pid: _cpu_seconds(p.pid) for p in worker_procs}
            cpu0[broker_pid] = _cpu_seconds(broker_pid)
            start_at = time.time() + 2.0 + 0.05 * devices
            pparent, pchild = ctx.Pipe()
            pub = ctx.Process(target=_publisher_child, args=(url, [(c.thing_name, c.cert_path, c.key_path, c.ca_path)
                                                                   for c in creds], site, seconds, start_at, pchild))
            pub.start()
            pub_result = pparent.recv()
            pub.join(30)
            store = AlertStore(bootstrap.metadata_store(Config(home=Path(home))))
            deadline = time.monotonic() + drain_s
            while time.monotonic() < deadline and len(_alarm_deliveries(store)) < devices:
                time.sleep(0.5)
            cpu = {pid: _cpu_seconds(pid) - c0 for pid, c0 in cpu0.items()}
            stop.set()
            healths = [parent.recv() if parent.poll(60) else {} for parent in worker_pipes]
        finally:
            stop.set()
            for p in worker_procs + procs:
                p.join(30)
                if p.is_alive():
                    p.kill()
            if mosq is not None:
                mosq.stop()
        sent = _alarm_deliveries(store)
        lat_ms = np.asarray([d["latency_s"] * 1000 for d in sent if d.get("latency_s") is not None])
        # where the time goes: publish -> the response agent opened the alert -> delivered
        opened_ms, deliver_ms = [], []
        for d in sent:
            alert = store.get(d["alert_id"])
            if d.get("published_ns") and alert.get("opened_s") and d.get("sent_s"):
                opened_ms.append(alert["opened_s"] * 1000 - d["published_ns"] / 1e6)
                deliver_ms.append((d["sent_s"] - alert["opened_s"]) * 1000)
        worker_cpu = sum(v for pid, v in cpu.items() if pid != broker_pid)
        total_cpu = worker_cpu + cpu[broker_pid]
        dev_s = pub_result["device_seconds"]
        monitoring = [h.get("agents", {}).get("monitoring", {}) for h in healths]
        analysis = [h.get("agents", {}).get("analysis", {}) for h in healths]
        shed = {}
        for m in monitoring:
            for k, v in (m.get("gateway", {}).get("shed") or {}).items():
                shed[k] = shed.get(k, 0) + v
        return {
            "broker": kind, "devices": devices, "seconds": seconds, "workers": workers,
            "frame_rate_hz": FRAME_RATE_HZ,
            "alarms_notified": len(sent),
            "latency_publish_to_notification_ms": {
                "n": int(lat_ms.size),
                "p50": None if not lat_ms.size else round(float(np.percentile(lat_ms, 50)), 1),
                "p99": None if not lat_ms.size else round(float(np.percentile(lat_ms, 99)), 1),
                "max": None if not lat_ms.size else round(float(lat_ms.max()), 1)},
            "publish_to_alert_opened_ms": _stats(opened_ms),
            "alert_opened_to_delivered_ms": _stats(deliver_ms),
            "windows_decided": int(sum(a.get("windows", 0) or 0 for a in analysis)),
            "window_to_decision_ms": [a.get("window_to_decision_ms") for a in analysis],
            "frames_shed": shed,
            "cpu_s": {"workers": round(worker_cpu, 2), "broker": round(cpu[broker_pid], 2),
                      "publisher": round(pub_result["publisher_cpu_s"], 2)},
            "device_seconds_at_full_rate": round(dev_s, 1),
            "devices_per_core": {
                "agents": None if worker_cpu <= 0 else round(dev_s / worker_cpu, 1),
                "agents_and_broker": None if total_cpu <= 0 else round(dev_s / total_cpu, 1)},
            "late_publishes": pub_result["late_publishes"],
            # an agent that kept restarting (a refused client, say) costs CPU the figures include
            "agent_restarts": [{name: a.get("restarts", 0) for name, a in h.get("agents", {}).items()
                                if isinstance(a, dict)} for h in healths],
            "cpu_count": os.cpu_count(),
            "load_average_1m": round(os.getloadavg()[0], 2),
        }
