"""A broker restart must not lose acknowledged QoS 1 messages, on both brokers.

A persistent subscriber (``clean_session = 0``) subscribes and goes away; a device
publishes 10 QoS 1 readings, each acknowledged (PUBACK); the broker restarts (the embedded
one from its SQLite session store, Mosquitto from its persistence database); the
subscriber comes back with its session and gets all 10.
"""

from __future__ import annotations

import time

import pytest

from firesight.adapters.local.metadata import SQLiteMetadataStore
from firesight.iot.broker import BrokerConfig, EmbeddedBroker
from firesight.iot.ca import CertificateAuthority
from firesight.iot.client import DeviceClient, ServiceClient
from firesight.iot.codec import decode, encode_scd41
from firesight.iot.mosquitto import MosquittoBroker, find_mosquitto
from firesight.iot.device_registry import DeviceRegistry
from support.mqtt import Inbox

pytestmark = pytest.mark.timeout(120)

SITE = "lab"
TOPIC = "firesight/v1/lab/pub-node/scd41"


class _Restartable:
    """One broker kind behind start / restart / stop, keeping its state between runs."""

    def __init__(self, kind, registry, state_dir):
        self.kind, self.registry, self.state_dir = kind, registry, state_dir
        self.port = 0
        self._b = None

    def start(self):
        if self.kind == "mosquitto":
            if find_mosquitto() is None:
                pytest.skip("mosquitto binary not installed")
            if self._b is None:
                self._b = MosquittoBroker(self.registry, workdir=self.state_dir)
        else:
            self._b = EmbeddedBroker(self.registry, BrokerConfig(tls_port=self.port, state_dir=self.state_dir))
        url = self._b.start()
        self.port = int(url.rsplit(":", 1)[1])
        return url

    def restart(self):
        self._b.stop()
        return self.start()

    def stop(self):
        if self._b is not None:
            self._b.stop()


@pytest.fixture(params=["embedded", "mosquitto"])
def broker(request, tmp_path):
    registry = DeviceRegistry(SQLiteMetadataStore(str(tmp_path / "metadata.db")),
                              CertificateAuthority(tmp_path / "pki"))
    registry.register_device("pub-node", site=SITE)
    registry.register_service("persist-sub")
    b = _Restartable(request.param, registry, tmp_path / "broker-state")
    b.url = b.start()
    yield b
    b.stop()


def _subscriber(registry, url):
    s = registry.register_service("persist-sub")
    return ServiceClient("persist-sub", url, cert_path=s.cert_path, key_path=s.key_path, ca_path=s.ca_path,
                         client_id="persist-sub", clean_session=False)


def test_acknowledged_qos1_messages_survive_a_broker_restart(broker):
    registry = broker.registry
    sub = _subscriber(registry, broker.url).connect()
    early = Inbox()
    sub.subscribe(TOPIC, early, qos=1)
    sub.close()                                            # offline; the session stays

    c = registry.register_device("pub-node", site=SITE)
    with DeviceClient("pub-node", broker.url, cert_path=c.cert_path, key_path=c.key_path, ca_path=c.ca_path,
                      site=SITE).connect() as dev:
        for seq in range(10):
            info = dev.publish(TOPIC, encode_scd41(co2_ppm=500.0 + seq, temperature_c=21.0, humidity_rh=40.0,
                                                   ts_ms=int(time.time() * 1000), seq=seq), qos=1, wait_s=5)
            assert info.is_published()                      # the broker acknowledged it
        assert dev.unacknowledged == 0

    url = broker.restart()
    inbox = Inbox()
    back = _subscriber(registry, url)
    back.add_handler(TOPIC, inbox)                          # the queue arrives right after CONNACK
    back.connect()
    try:
        got = inbox.wait_count(10, 20)
    finally:
        back.close()
    seqs = sorted(decode(TOPIC, payload, now_ms=int(time.time() * 1000)).seq for _, payload in got)
    assert seqs == list(range(10)), seqs
    assert early.items == []                                # none was delivered before the restart
