"""A reading that closed windows is acknowledged only once the broker has the windows, on a
real Mosquitto and paho's own publish tokens: the broker is frozen (SIGSTOP) just before the
monitoring agent publishes a window closed by an SCD41 reading (a node whose camera is not
delivering), so no PUBACK can come back; the gateway holds that reading unacknowledged for
as long as the broker is frozen, and acknowledges it once the broker, resumed (SIGCONT),
has acknowledged the window, which then reaches a subscriber.

Before this, the reading was acknowledged as soon as it was handled, and a process killed
while the window was still in paho's outgoing queue lost both (docs/running.md)."""

from __future__ import annotations

import os
import signal
import threading
import time
from functools import partial

import pytest

from firesight.adapters.local.metadata import SQLiteMetadataStore
from firesight.adapters.local.queue import SQLiteMessageQueue
from firesight.agents.monitoring import MonitoringAgent, window_filter
from firesight.agents.system import service_client
from firesight.iot.ca import CertificateAuthority
from firesight.iot.codec import encode_scd41
from firesight.iot.device_registry import DeviceRegistry
from support.mqtt import device_client, start_broker
from support.waiting import wait_until

pytestmark = [pytest.mark.mosquitto, pytest.mark.timeout(120)]

THING = "held-node"
SERVICE = "monitoring-held"
WATCHER = "window-watcher"

wait_until = partial(wait_until, timeout_s=30.0)


def test_a_reading_is_held_unacknowledged_while_the_broker_has_not_acknowledged_its_windows(tmp_path):
    registry = DeviceRegistry(SQLiteMetadataStore(str(tmp_path / "metadata.db")), CertificateAuthority(tmp_path / "pki"))
    creds = {THING: registry.register_device(THING, site="lab")}
    registry.register_service(SERVICE)
    registry.register_service(WATCHER)
    broker = start_broker("mosquitto", registry)
    queue = SQLiteMessageQueue(str(tmp_path / "queue.db"))
    store = SQLiteMetadataStore(str(tmp_path / "state.db"))
    client = service_client(SERVICE, broker.url, registry, persistent=True, manual_ack=True)
    agent = MonitoringAgent(client, queue, state_store=store, site="lab", worker_id="held")
    windows: list[str] = []
    watcher = service_client(WATCHER, broker.url, registry)
    watcher.subscribe(window_filter("held"), lambda topic, payload: windows.append(topic), qos=1)

    frozen = threading.Event()
    publish = client.publish

    def publish_freezing_the_broker(topic, payload, **kw):  # noqa: ANN001
        if frozen.is_set() and "/windows/" in topic and broker.pid is not None:
            os.kill(broker.pid, signal.SIGSTOP)
        return publish(topic, payload, **kw)

    client.publish = publish_freezing_the_broker
    agent.start()
    device = device_client({"creds": creds}, THING, broker.url).connect()
    stopped = False
    try:
        base_ms = int(time.time() * 1000) - 600_000
        for k in range(4):  # SCD41 only, 5 s apart: each reading after the first closes windows
            device.publish(device.topic("scd41"), encode_scd41(
                co2_ppm=450.0 + k, temperature_c=21.0, humidity_rh=40.0, ts_ms=base_ms + 5000 * k, seq=k + 1),
                qos=1, wait_s=10)
        assert wait_until(lambda: agent.counts["windows"] > 0 and agent.gateway.stats()["accepted"] == 4 and
                          agent.gateway.stats()["held"] == 0), agent.gateway.stats()
        assert wait_until(lambda: len(windows) == agent.counts["windows"])

        before = agent.counts["windows"]
        frozen.set()
        device.publish(device.topic("scd41"), encode_scd41(
            co2_ppm=455.0, temperature_c=21.0, humidity_rh=40.0, ts_ms=base_ms + 5000 * 4, seq=5), qos=1)
        assert wait_until(lambda: broker.pid is not None and _state(broker.pid) == "T"), "broker not frozen"
        stopped = True
        assert wait_until(lambda: agent.gateway.stats()["held"] == 1), agent.gateway.stats()
        assert agent.counts["windows"] > before      # handled: its windows are in paho's hands
        time.sleep(1.5)
        assert agent.gateway.stats()["held"] == 1    # no PUBACK, no acknowledgement of the reading

        frozen.clear()
        os.kill(broker.pid, signal.SIGCONT)
        stopped = False
        assert wait_until(lambda: agent.gateway.stats()["held"] == 0), agent.gateway.stats()
        assert wait_until(lambda: len(windows) == agent.counts["windows"]), (len(windows), agent.counts)
        assert agent.gateway.stats()["shed"] == {} and agent.gateway.stats()["errors"] == {}
    finally:
        if stopped and broker.pid is not None:
            os.kill(broker.pid, signal.SIGCONT)
        device.close()
        agent.stop()
        client.close()
        watcher.close()
        broker.stop()


def _state(pid: int) -> str:
    """The process state letter of ``pid`` (``T``: stopped)."""
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0]
