"""MQTT test helpers: a thread-safe inbox for subscriber callbacks, and clients and
brokers built from a test PKI (``{"registry", "creds", "service", ...}``)."""

from __future__ import annotations

import threading
import time

import pytest

from firesight.iot.broker import BrokerConfig, EmbeddedBroker
from firesight.iot.client import DeviceClient
from firesight.iot.mosquitto import MosquittoBroker, find_mosquitto


class Inbox:
    """Messages a subscriber got, in arrival order, with waits."""

    def __init__(self) -> None:
        self.items: list[tuple[str, bytes]] = []
        self._cond = threading.Condition()

    def __call__(self, topic: str, payload: bytes) -> None:
        with self._cond:
            self.items.append((topic, payload))
            self._cond.notify_all()

    def wait_for(self, topic: str, timeout_s: float = 10.0) -> bool:
        """True once a message on ``topic`` has arrived, False after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while not any(t == topic for t, _ in self.items):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True

    def wait_count(self, n: int, timeout_s: float) -> list[tuple[str, bytes]]:
        """The messages so far, once there are ``n`` or ``timeout_s`` has passed."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while len(self.items) < n and (left := deadline - time.monotonic()) > 0:
                self._cond.wait(left)
            return list(self.items)

    def topics(self) -> list[str]:
        with self._cond:
            return [t for t, _ in self.items]


def start_broker(kind: str, registry):
    """A started broker of ``kind`` (``embedded`` or ``mosquitto``) trusting ``registry``."""
    if kind == "mosquitto":
        if find_mosquitto() is None:
            pytest.skip("mosquitto binary not installed (run `make system-deps` or apt-get install mosquitto)")
        broker = MosquittoBroker(registry)
    else:
        broker = EmbeddedBroker(registry, BrokerConfig())
    broker.start()
    broker.kind = kind
    return broker


def device_client(pki, name: str, url: str, **kw) -> DeviceClient:
    """A device client for the registered thing ``name`` of the test PKI."""
    c = pki["creds"][name]
    return DeviceClient(name, url, cert_path=c.cert_path, key_path=c.key_path, ca_path=c.ca_path, site="lab", **kw)
