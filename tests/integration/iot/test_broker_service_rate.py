"""The embedded broker's per-connection publish rate, seen from outside over mTLS: AWS IoT
Core's 100 publishes/s applies to device connections; firesight's own services (service
certificates) have their own, higher bound (``ConnectionLimits.service_publish_rate_per_s``),
so a service publishing for a large fleet is not throttled, while a device doing the same
is held back and counted."""

from __future__ import annotations

import threading
import time

import pytest

from firesight.adapters.local.metadata import SQLiteMetadataStore
from firesight.iot.broker import BrokerConfig, ConnectionLimits, EmbeddedBroker
from firesight.iot.ca import CertificateAuthority
from firesight.iot.client import DeviceClient, ServiceClient
from firesight.iot.device_registry import DeviceRegistry

pytestmark = pytest.mark.timeout(90)

RATE_PER_S = 500
SECONDS = 2.0


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    root = tmp_path_factory.mktemp("broker-service-rate")
    registry = DeviceRegistry(SQLiteMetadataStore(str(root / "metadata.db")), CertificateAuthority(root / "pki"))
    return {"registry": registry, "device": registry.register_device("node-1", site="lab"),
            "service": registry.register_service("alerts-svc"), "watcher": registry.register_service("watcher")}


def _publish_paced(client, topic: str) -> int:
    """QoS 0 publishes at RATE_PER_S for SECONDS (paced on the sender's clock); how many."""
    n = int(RATE_PER_S * SECONDS)
    t0 = time.monotonic()
    for i in range(n):
        client.publish(topic, b'{"i":%d}' % i, qos=0)
        time.sleep(max(0.0, t0 + (i + 1) / RATE_PER_S - time.monotonic()))
    return n


def _arrivals(counts: dict, topic: str, lock: threading.Lock) -> int:
    with lock:
        return counts.get(topic, 0)


def test_service_connection_is_not_throttled_where_a_device_is(pki):
    broker = EmbeddedBroker(pki["registry"], BrokerConfig(connections=ConnectionLimits()))
    broker.start()
    events: list = []
    broker.add_listener(events.append)
    counts: dict[str, int] = {}
    lock = threading.Lock()

    def on_message(topic, payload):
        with lock:
            counts[topic] = counts.get(topic, 0) + 1

    clients = []
    try:
        w, s, d = pki["watcher"], pki["service"], pki["device"]
        watcher = ServiceClient("watcher", broker.url, cert_path=w.cert_path, key_path=w.key_path,
                                ca_path=w.ca_path, client_id="watcher").connect()
        clients.append(watcher)
        watcher.subscribe("firesight/v1/lab/#", on_message, qos=0)
        service = ServiceClient("alerts-svc", broker.url, cert_path=s.cert_path, key_path=s.key_path,
                                ca_path=s.ca_path, client_id="alerts-svc", max_queued=0).connect()
        clients.append(service)
        device = DeviceClient("node-1", broker.url, cert_path=d.cert_path, key_path=d.key_path, ca_path=d.ca_path,
                              site="lab", max_queued=0).connect()
        clients.append(device)

        # a service: 500 alerts/s for 2 s, all taken as they come
        svc_topic = "firesight/v1/lab/alerts"
        t0 = time.monotonic()
        sent_svc = _publish_paced(service, svc_topic)
        deadline = time.monotonic() + 3.0
        while _arrivals(counts, svc_topic, lock) < sent_svc and time.monotonic() < deadline:
            time.sleep(0.02)
        svc_elapsed = time.monotonic() - t0
        svc_got = _arrivals(counts, svc_topic, lock)

        # a device: the same 500 messages/s for 2 s on its own topic
        dev_topic = "firesight/v1/lab/node-1/status"
        t1 = time.monotonic()
        sent_dev = _publish_paced(device, dev_topic)
        dev_at_end = _arrivals(counts, dev_topic, lock)
        dev_elapsed = time.monotonic() - t1
    finally:
        for c in clients:
            c.abort()
        broker.stop()
    throttled = [e for e in events if e.kind == "publish_throttled"]
    by_client = {cid: sum(1 for e in throttled if e.client_id == cid) for cid in ("alerts-svc", "node-1")}
    # the service: every message arrived within the 2 s (+ delivery), none throttled
    assert svc_got == sent_svc == 1000, (svc_got, sent_svc)
    assert svc_elapsed < SECONDS + 1.5, svc_elapsed
    assert by_client["alerts-svc"] == 0, by_client
    # the device: held to 100/s (+ one second's burst) while it published 1000, and counted
    assert sent_dev == 1000
    assert dev_at_end <= 100 * (dev_elapsed + 0.5) + 100, (dev_at_end, dev_elapsed)
    assert dev_at_end < 0.6 * sent_dev, dev_at_end
    assert by_client["node-1"] > 0, by_client
    assert broker.event_counts()["publish_throttled"] >= by_client["node-1"]


def test_service_rate_is_still_bounded_and_counted(pki):
    """The service bound is a bound: set to 200/s, the same 500/s service is held back and
    its delays are counted as ``publish_throttled`` under its client id."""
    broker = EmbeddedBroker(pki["registry"], BrokerConfig(connections=ConnectionLimits(service_publish_rate_per_s=200)))
    broker.start()
    events: list = []
    broker.add_listener(events.append)
    s = pki["service"]
    service = ServiceClient("alerts-svc", broker.url, cert_path=s.cert_path, key_path=s.key_path,
                            ca_path=s.ca_path, client_id="alerts-svc", max_queued=0).connect()
    try:
        _publish_paced(service, "firesight/v1/lab/alerts")
    finally:
        service.abort()
        broker.stop()
    assert sum(1 for e in events if e.kind == "publish_throttled" and e.client_id == "alerts-svc") > 0
