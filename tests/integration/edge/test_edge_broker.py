"""An edge node (fake SCD41 bus and Lepton frames underneath, the real node, paho, mTLS)
against the embedded broker and Mosquitto: the ingest gateway accepts every message, the
shadow configures the node, and a broker outage is bridged by the disk buffer, replayed in
order and without gaps once the broker is back."""

from __future__ import annotations

import json
import threading
import time
from functools import partial

import numpy as np
import pytest

from firesight.adapters.local.metadata import SQLiteMetadataStore
from firesight.edge.lepton import ThermalFrame, ThermalSource
from firesight.edge.node import EdgeConfig, EdgeNode
from firesight.edge.scd41 import SensirionSCD41
from firesight.iot.broker import BrokerConfig, EmbeddedBroker
from firesight.iot.ca import CertificateAuthority
from firesight.iot.client import DeviceClient, ServiceClient
from firesight.iot.codec import SCD41Message, StatusMessage, ThermalMessage
from firesight.iot.gateway import GatewayConfig, IngestGateway
from firesight.iot.mosquitto import MosquittoBroker
from firesight.iot.device_registry import DeviceRegistry
from firesight.iot.shadow import ShadowManager, ShadowService, shadow_topic
from support.edge_fakes import FakeSCD41Bus
from support.mqtt import start_broker
from support.waiting import wait_until

THING = "edge-node-1"
SITE = "lab"


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    root = tmp_path_factory.mktemp("edge")
    registry = DeviceRegistry(SQLiteMetadataStore(str(root / "metadata.db")), CertificateAuthority(root / "pki"))
    return {"registry": registry, "root": root, "device": registry.register_device(THING, site=SITE),
            "services": {n: registry.register_service(n) for n in ("gateway", "shadow-service", "console")}}


@pytest.fixture(scope="module", params=["embedded", "mosquitto"])
def broker_kind(request):
    return request.param


class Frames(ThermalSource):
    """A Lepton delivering a new frame every ``period_s`` (a warm spot that moves)."""

    def __init__(self, period_s: float = 0.1):
        self.period_s, self.n = period_s, 0

    def read_frame(self):
        time.sleep(self.period_s)
        self.n += 1
        pixels = np.full((120, 160), 29_500, np.uint16)
        pixels[self.n % 120, :10] = 31_000
        return ThermalFrame(pixels)


def service(pki, name, url):
    c = pki["services"][name]
    return ServiceClient(name, url, cert_path=c.cert_path, key_path=c.key_path, ca_path=c.ca_path,
                         client_id=name, reconnect_min_s=0.05, reconnect_max_s=0.2).connect()


wait_until = partial(wait_until, timeout_s=20.0)


def restart(kind, registry, port, workdir):
    if kind == "mosquitto":
        b = MosquittoBroker(registry, port=port, workdir=workdir)
    else:
        b = EmbeddedBroker(registry, BrokerConfig(tls_port=port))
    b.start()
    return b


def test_edge_node_publishes_is_configured_and_replays_after_an_outage(pki, broker_kind, tmp_path):
    broker = start_broker(broker_kind, pki["registry"])
    port = int(broker.url.rsplit(":", 1)[1])
    accepted: list = []
    lock = threading.Lock()

    def handler(message):
        with lock:
            accepted.append(message)

    gw_client = service(pki, "gateway", broker.url)
    gateway = IngestGateway(gw_client, handler, config=GatewayConfig(site=SITE, qos=1)).start()
    manager = ShadowManager(SQLiteMetadataStore(str(tmp_path / "shadows.db")))
    manager.update(THING, {"state": {"desired": {"edge_mode": "frames", "low_power_mode": False}}})
    shadow_client = service(pki, "shadow-service", broker.url)
    shadows = ShadowService(manager, shadow_client).start()

    network_up = threading.Event()
    network_up.set()
    dev = pki["device"]

    def client_factory(cfg, will):  # the node's link: the test can hold it down
        network_up.wait(60)
        return DeviceClient(cfg.thing, cfg.broker_url, cert_path=cfg.cert_path, key_path=cfg.key_path,
                            ca_path=cfg.ca_path, site=cfg.site, will=will)

    config = EdgeConfig(thing=THING, site=SITE, broker_url=broker.url, cert_path=str(dev.cert_path),
                        key_path=str(dev.key_path), ca_path=str(dev.ca_path),
                        buffer_path=str(tmp_path / "outbox.db"), scd41_poll_s=0.02, status_interval_s=1.0)
    bus = FakeSCD41Bus(time_scale=0.02)  # a reading every 0.1 s (0.6 s in low power)
    node = EdgeNode(config, thermal=Frames(), scd41=SensirionSCD41(bus), client_factory=client_factory)
    node.start()
    brokers = [broker]
    try:
        def streams():
            with lock:
                kinds = {"thermal": ThermalMessage, "scd41": SCD41Message, "status": StatusMessage}
                return {s: [m.seq for m in accepted if type(m) is k and m.seq is not None] for s, k in kinds.items()}

        assert wait_until(lambda: all(len(v) >= 3 for v in streams().values())), streams()
        assert not any(gateway.stats()["rejected"].values()), gateway.stats()["rejected"]
        # the shadow: reported state echoes the configuration; a delta switches to low power
        assert wait_until(lambda: (manager.get(THING)["state"].get("reported") or {}).get("firmware"))
        console = service(pki, "console", broker.url)
        console.publish(shadow_topic(THING, "update"),
                        json.dumps({"state": {"desired": {"low_power_mode": True}}}).encode(), qos=1)
        assert wait_until(lambda: bus.mode == "low_power")
        assert wait_until(lambda: manager.get(THING)["state"]["reported"].get("low_power_mode") is True)
        console.close()

        # outage: the broker goes away; the node keeps measuring into its buffer
        broker.stop()
        network_up.clear()
        before = node.counts["messages:thermal"]
        assert wait_until(lambda: node.counts["messages:thermal"] >= before + 15 and len(node.buffer) >= 15)
        assert not node.health()["connected"]
        buffered = len(node.buffer)
        # the broker returns; the gateway is back before the node's network is
        broker = restart(broker_kind, pki["registry"], port, tmp_path / "mosq")
        brokers.append(broker)
        assert wait_until(lambda: gw_client.is_connected and shadow_client.is_connected)
        time.sleep(0.5)  # resubscriptions (SUBACK) after the reconnect
        network_up.set()
        assert wait_until(lambda: len(node.buffer) < 5 and node.counts["delivered"] > buffered, timeout_s=30)
        produced = node.counts["messages:thermal"]
        assert wait_until(lambda: len(streams()["thermal"]) >= produced - 5, timeout_s=30)
        got = streams()
        for stream in ("thermal", "scd41"):
            seqs = got[stream]
            assert seqs == sorted(seqs), f"{stream} arrived out of order"
            assert seqs == list(range(1, len(seqs) + 1)), f"{stream}: gaps {sorted(set(range(1, max(seqs))) - set(seqs))[:10]}"
        assert node.counts["disconnects"] >= 1 and node.buffer.shed == 0
        # only repeats of a batch cut by the outage may have been refused, nothing malformed
        assert set(k for k, v in gateway.stats()["rejected"].items() if v) <= {"duplicate_seq", "out_of_order_seq"}
    finally:
        node.stop(drain_timeout_s=2.0)
        shadows.stop()
        gateway.stop()
        for c in (gw_client, shadow_client):
            c.close(flush_timeout_s=0)
        for b in brokers:
            try:
                b.stop()
            except Exception:  # the first broker is stopped already
                pass
