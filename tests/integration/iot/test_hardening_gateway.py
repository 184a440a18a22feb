"""The ingest gateway survives poison payloads and a failing handler, over a real broker
(embedded amqtt with mTLS, and Mosquitto): a device sends every malformed payload of issue
9, then a valid reading, which MUST arrive (positive control)."""

from __future__ import annotations

import threading
import time

import pytest

from firesight.adapters.local.metadata import SQLiteMetadataStore
from firesight.iot.ca import CertificateAuthority
from firesight.iot.client import ServiceClient
from firesight.iot.gateway import GatewayConfig, IngestGateway
from firesight.iot.device_registry import DeviceRegistry
from support.mqtt import device_client

pytestmark = pytest.mark.timeout(120)

THING = "poison-node"


def _scd41(ts_ms: int, seq: int, **override: str) -> bytes:
    fields = {"ts_ms": str(ts_ms), "seq": str(seq), "co2_ppm": "600.0", "temperature_c": "21.0",
              "humidity_rh": "40.0"}
    fields.update(override)
    return ("{" + ",".join(f'"{k}":{v}' for k, v in fields.items()) + "}").encode()


def poison(now_ms: int) -> dict[str, bytes]:
    """Payload per expected reason: each of them stopped the worker or passed before."""
    return {
        "too_deep": b"[" * 1_000 + b"]" * 1_000,                           # RecursionError
        "number_too_large": _scd41(now_ms, 2, co2_ppm="1" * 400),           # OverflowError
        "not_utf8": _scd41(now_ms, 3).decode().encode("utf-16"),
        "lone_surrogate": _scd41(now_ms, 4, co2_ppm='"\\ud800"'),
        "duplicate_key": _scd41(now_ms, 5)[:-1] + b',"seq":6}',
        "out_of_range": _scd41(0, 7),                                       # ts_ms = 0
        "not_finite": _scd41(now_ms, 8, humidity_rh="NaN"),
        "bad_json": b"{" * 3,
    }


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    root = tmp_path_factory.mktemp("hardening-gw")
    registry = DeviceRegistry(SQLiteMetadataStore(str(root / "metadata.db")), CertificateAuthority(root / "pki"))
    return {"registry": registry, "creds": {THING: registry.register_device(THING, site="lab")},
            "service": registry.register_service("gateway")}


def test_poison_payloads_and_a_failing_handler_do_not_stop_ingest(pki, broker):
    s = pki["service"]
    service = ServiceClient("gateway", broker.url, cert_path=s.cert_path, key_path=s.key_path,
                            ca_path=s.ca_path).connect()
    got: list = []
    arrived = threading.Event()

    def handler(msg) -> None:
        if msg.co2_ppm == 666.0:
            raise RuntimeError("handler bug on purpose")
        got.append(msg)
        arrived.set()

    gateway = IngestGateway(service, handler, config=GatewayConfig(site="lab", qos=1)).start()
    device = device_client(pki, THING, broker.url).connect()
    try:
        now_ms = int(time.time() * 1000)
        topic = device.topic("scd41")
        for payload in poison(now_ms).values():
            device.publish(topic, payload, qos=1)
        device.publish(topic, _scd41(now_ms, 20, co2_ppm="666.0"), qos=1)    # the handler raises
        device.publish(topic, _scd41(now_ms, 21, co2_ppm="777.0"), qos=1)    # must arrive
        assert arrived.wait(15), f"valid reading never handled; stats {gateway.stats()}"
        stats = gateway.stats()
        assert [m.co2_ppm for m in got] == [777.0]
        assert stats["worker_alive"] is True
        assert stats["rejected"] == {reason: 1 for reason in poison(now_ms)}
        assert stats["handler_errors"] == 1
        assert stats["errors"] == {"handler:RuntimeError": 1}
        assert stats["accepted"] == 2
    finally:
        device.close()
        gateway.stop()
        service.close()
    assert not gateway.worker_alive
