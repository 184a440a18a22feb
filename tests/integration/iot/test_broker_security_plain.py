"""No listener without authentication unless asked for by name, and then least privilege.

``firesight fleet simulate --broker embedded`` (its ``_broker`` helper) used to open a plain
listener with full service rights: anyone local read all traffic, forged an alert and
rewrote a node's shadow. Now its services connect over mTLS with their own certificates;
``--allow-plain-listener`` opens one whose clients may only read the site alerts.
"""

from __future__ import annotations

import socket
import time

import pytest

from firesight.adapters.local.metadata import SQLiteMetadataStore
from firesight.commands.fleet import _broker, _service_client
from firesight.errors import AccessDeniedError
from firesight.iot.ca import CertificateAuthority
from firesight.iot.client import DeviceClient, ServiceClient
from firesight.iot.codec import encode_scd41
from firesight.iot.device_registry import DeviceRegistry
from support.mqtt import Inbox

pytestmark = pytest.mark.timeout(120)

SITE = "lab"


@pytest.fixture
def registry(tmp_path):
    reg = DeviceRegistry(SQLiteMetadataStore(str(tmp_path / "metadata.db")), CertificateAuthority(tmp_path / "pki"))
    reg.register_device("plain-node", site=SITE)
    return reg


def _mqtt_connect_plain(port: int) -> bytes:
    """Send a plain MQTT CONNECT to ``port``; return what comes back (b'' if closed)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"\x10\x12\x00\x04MQTT\x04\x02\x00\x1e\x00\x06plain1")
        try:
            return s.recv(16)
        except (ConnectionError, TimeoutError, OSError):
            return b""


def test_the_simulated_fleet_broker_has_no_plain_listener_and_services_use_mtls(registry):
    with _broker("embedded", registry) as (broker, service_url):
        assert broker.plain_url is None and service_url.startswith("mqtts://")
        # a plain CONNECT on the only port gets no CONNACK (it is a TLS port)
        assert not _mqtt_connect_plain(int(service_url.rsplit(":", 1)[1])).startswith(b"\x20")
        # positive control: a service with its own certificate works there
        svc = _service_client("shadow-service", service_url, registry)
        inbox = Inbox()
        svc.subscribe("$aws/things/+/shadow/update", inbox, qos=1)
        c = registry.register_device("plain-node", site=SITE)
        with DeviceClient("plain-node", broker.url, cert_path=c.cert_path, key_path=c.key_path, ca_path=c.ca_path,
                          site=SITE).connect() as dev:
            dev.publish("$aws/things/plain-node/shadow/update", b'{"state":{}}', qos=1, wait_s=5)
        assert inbox.wait_for("$aws/things/plain-node/shadow/update")
        svc.close()


def test_a_plain_listener_asked_for_by_name_may_only_read_alerts(registry):
    with _broker("embedded", registry, allow_plain_listener=True) as (broker, service_url):
        assert broker.plain_url is not None
        anon = ServiceClient("anon", broker.plain_url).connect()
        alerts = Inbox()
        anon.subscribe(f"firesight/v1/{SITE}/alerts", alerts, qos=1)
        for forbidden in ("firesight/v1/+/+/#", "$aws/things/+/shadow/#", "#"):
            with pytest.raises(AccessDeniedError):
                anon.subscribe(forbidden, Inbox(), qos=1)
        svc = _service_client("watcher", service_url, registry)
        seen = Inbox()
        svc.subscribe("firesight/v1/#", seen, qos=1)
        svc.subscribe("$aws/things/+/shadow/#", seen, qos=1)
        # forged alert and shadow rewrite from the plain listener ...
        anon.publish(f"firesight/v1/{SITE}/alerts", b'{"forged": true}', qos=1, wait_s=5)
        anon.publish("$aws/things/plain-node/shadow/update", b'{"state":{"desired":{"interval_s":3600}}}',
                     qos=1, wait_s=5)
        anon.publish(f"firesight/v1/{SITE}/plain-node/scd41",
                     encode_scd41(co2_ppm=5000.0, temperature_c=21.0, humidity_rh=40.0,
                                  ts_ms=int(time.time() * 1000), seq=1), qos=1, wait_s=5)
        # ... then a real alert from an authenticated service: it reaches both
        svc.publish(f"firesight/v1/{SITE}/alerts", b'{"real": true}', qos=1, wait_s=5)
        assert seen.wait_for(f"firesight/v1/{SITE}/alerts") and alerts.wait_for(f"firesight/v1/{SITE}/alerts")
        time.sleep(0.3)
        assert [p for t, p in seen.items if t.endswith("/alerts")] == [b'{"real": true}']
        assert "$aws/things/plain-node/shadow/update" not in seen.topics()
        assert f"firesight/v1/{SITE}/plain-node/scd41" not in seen.topics()
        anon.close()
        svc.close()
