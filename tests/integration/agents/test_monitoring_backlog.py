"""Readings published while the monitoring agent is down are not lost (a persistent MQTT
session, QoS 1 subscriptions), on the embedded broker and on Mosquitto: the agent is
stopped, a device publishes N SCD41 readings (one of them twice), the agent is started
again with a new connection of the same client id, and every reading is handled in order,
counted late, and counted in the Prometheus metrics; the duplicate is rejected and counted
by the existing rule, not dropped silently. No frame was kept for the downtime, so no
``camera_failed`` trouble is raised on the late readings."""

from __future__ import annotations

import time
from functools import partial

import pytest

from firesight.adapters.local.metadata import SQLiteMetadataStore
from firesight.adapters.local.queue import SQLiteMessageQueue
from firesight.agents.events import ALERT_EVENTS_QUEUE, AlertEvent
from firesight.agents.monitoring import MonitoringAgent
from firesight.agents.system import service_client
from firesight.iot.ca import CertificateAuthority
from firesight.iot.codec import encode_scd41, encode_status
from firesight.iot.device_registry import DeviceRegistry
from firesight.ops import metrics
from support.mqtt import device_client, start_broker
from support.waiting import wait_until

pytestmark = pytest.mark.timeout(180)

THING = "backlog-node"
SERVICE = "monitoring-backlog"
N = 25


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    root = tmp_path_factory.mktemp("backlog")
    registry = DeviceRegistry(SQLiteMetadataStore(str(root / "metadata.db")), CertificateAuthority(root / "pki"))
    creds = {THING: registry.register_device(THING, site="lab")}
    registry.register_service(SERVICE)  # before the broker starts: Mosquitto's ACL has it
    return {"registry": registry, "creds": creds, "root": root}


@pytest.fixture(params=["embedded", "mosquitto"])
def broker(request, pki):
    b = start_broker(request.param, pki["registry"])
    yield b
    b.stop()


wait_until = partial(wait_until, timeout_s=30.0)


def readings(agent):
    with agent._lock:
        dev = agent.devices.get(("lab", THING))
        return 0 if dev is None else dev.counts["scd41_readings"]


def sample(name, **labels):
    return metrics.sample_value(name, labels)


def test_readings_published_while_the_agent_is_down_are_handled_after_restart(pki, broker, tmp_path):
    queue = SQLiteMessageQueue(str(tmp_path / "queue.db"))
    store = SQLiteMetadataStore(str(tmp_path / "state.db"))

    def agent():
        client = service_client(SERVICE, broker.url, pki["registry"], persistent=True)
        return MonitoringAgent(client, queue, state_store=store, site="lab", worker_id="backlog")

    first = agent().start()  # the first start creates the session and its subscriptions
    device = device_client(pki, THING, broker.url).connect()
    try:
        now_ms = int(time.time() * 1000)
        device.publish(device.topic("status"), encode_status(state="online", ts_ms=now_ms, seq=1, uptime_s=0.0),
                       qos=1, wait_s=10)
        assert wait_until(lambda: first.gateway.stats()["accepted"] == 1), first.gateway.stats()
        first.stop()
        first.client.close()

        # the agent is down: N readings of the last N * 5 s, and one of them again
        base_ms = int(time.time() * 1000) - (N + 1) * 5000
        for k in range(N):
            info = device.publish(device.topic("scd41"), encode_scd41(
                co2_ppm=450.0 + 4 * k, temperature_c=21.0 + 0.01 * k, humidity_rh=40.0 + 0.1 * k,
                ts_ms=base_ms + k * 5000, seq=k + 1), qos=1)
            info.wait_for_publish(10)
            if k == 10:
                device.publish(device.topic("scd41"), encode_scd41(
                    co2_ppm=490.0, temperature_c=21.1, humidity_rh=41.0, ts_ms=base_ms + k * 5000, seq=k + 1),
                    qos=1, wait_s=10)
        received = sample("firesight_messages_received_total", kind="scd41")
        duplicates = sample("firesight_messages_rejected_total", kind="scd41", reason="duplicate_seq")
        before_s = time.time()

        second = agent().start()
        try:
            assert wait_until(lambda: readings(second) == N and second.gateway.stats()["rejected"]), \
                second.health()
            stats = second.gateway.stats()
            assert stats["accepted"] == N
            assert stats["rejected"] == {"duplicate_seq": 1}
            assert stats["shed"] == {}
            with second._lock:
                dev = second.devices[("lab", THING)]
                assert dev.last_seq["scd41"] == N
                assert "scd41_dropped" not in dev.counts  # no gap: all of them, in order
                assert dev.counts["late"] == N
            assert second.counts["late"] == N
            assert second.counts["rejected:duplicate_seq"] == 1
            # the metrics moved by what this agent handled
            assert sample("firesight_messages_received_total", kind="scd41") - received == N + 1
            assert sample("firesight_messages_rejected_total", kind="scd41", reason="duplicate_seq") \
                - duplicates == 1
            assert sample("firesight_last_reading_timestamp_seconds") >= before_s
            assert sample("firesight_devices", state="online") >= 1
            # late readings are evaluated: windows went out; no camera trouble from the gap in frames
            assert second.counts["windows"] > 0
            events = [AlertEvent.from_json(m["body"]) for m in queue.receive(ALERT_EVENTS_QUEUE, max_messages=10)]
            assert not [e for e in events if e.level in ("camera_failed", "degraded:gas")], events
        finally:
            second.stop()
            second.client.close()
    finally:
        device.close()
