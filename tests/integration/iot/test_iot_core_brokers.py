"""Real TLS connections to the embedded broker and to a real Mosquitto process.

Each refusal the issue lists is shown on both brokers: another device's topic, a revoked
certificate, an inactive certificate, no certificate, a certificate from an unknown CA.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from firesight.adapters.local.metadata import SQLiteMetadataStore
from firesight.errors import AccessDeniedError, FiresightError
from firesight.iot.broker import BrokerConfig, EmbeddedBroker
from firesight.iot.ca import CertificateAuthority
from firesight.iot.client import DeviceClient, MqttClient, ServiceClient
from firesight.iot.codec import SCD41Message, ThermalMessage, encode_scd41, encode_thermal
from firesight.iot.gateway import IngestGateway
from firesight.iot.device_registry import DeviceRegistry
from support.mqtt import Inbox, device_client

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    root = tmp_path_factory.mktemp("iot-core")
    registry = DeviceRegistry(SQLiteMetadataStore(str(root / "metadata.db")), CertificateAuthority(root / "pki"))
    creds = {name: registry.register_device(name, site="lab", attributes={"room": "r1", "mounting_height_m": 2.6})
             for name in ("node-a", "node-b", "node-revoked", "node-inactive", "node-live", "node-muted")}
    # an explicit Deny on top of the device policy: node-muted may not publish status
    registry.put_policy("no-status", {"Statement": [{"Effect": "Deny", "Action": "iot:Publish",
                                                      "Resource": "topic/firesight/v1/*/*/status"}]})
    registry.attach_policy("no-status", creds["node-muted"].certificate_id)
    registry.set_certificate_status(creds["node-revoked"].certificate_id, "REVOKED")
    registry.set_certificate_status(creds["node-inactive"].certificate_id, "INACTIVE")
    service = registry.register_service("gateway")
    # a look-alike CA with the same names: its "node-a" certificate must not be accepted
    rogue = CertificateAuthority(root / "rogue-pki").issue_thing_certificate("node-a")
    return {"registry": registry, "creds": creds, "service": service, "rogue": rogue}


@pytest.fixture
def service(pki, broker):
    s = pki["service"]
    client = ServiceClient("gateway", broker.url, cert_path=s.cert_path, key_path=s.key_path, ca_path=s.ca_path,
                           client_id="gateway").connect()
    inbox = Inbox()
    client.subscribe("firesight/v1/+/+/#", inbox, qos=1)
    client.subscribe("$aws/things/+/shadow/#", inbox, qos=1)
    yield client, inbox
    client.close()


def _scd41(seq: int) -> bytes:
    return encode_scd41(co2_ppm=650.0, temperature_c=22.5, humidity_rh=41.0, ts_ms=int(time.time() * 1000), seq=seq)


def test_registered_device_publishes_and_gateway_decodes(pki, broker):
    """A device with its own certificate publishes a full 38,400-byte Lepton frame and an
    SCD41 reading over mTLS; the gateway receives, decodes and validates both."""
    s = pki["service"]
    svc = ServiceClient("gateway", broker.url, cert_path=s.cert_path, key_path=s.key_path, ca_path=s.ca_path,
                        client_id="gateway").connect()
    got: list = []
    done = threading.Event()

    def handler(msg):
        got.append(msg)
        if len(got) == 2:
            done.set()

    gateway = IngestGateway(svc, handler).start()
    try:
        with device_client(pki, "node-a", broker.url).connect() as dev:
            frame = np.full((120, 160), 29_515, dtype=np.uint16)  # 22 C
            dev.publish(dev.topic("thermal"), encode_thermal(frame, ts_ms=int(time.time() * 1000), seq=1),
                        qos=1, wait_s=5)
            dev.publish(dev.topic("scd41"), _scd41(1), qos=1, wait_s=5)
            assert done.wait(10), gateway.stats()
    finally:
        gateway.stop()
        svc.close()
    kinds = {type(m) for m in got}
    assert kinds == {ThermalMessage, SCD41Message}
    thermal = next(m for m in got if isinstance(m, ThermalMessage))
    assert thermal.thing_name == "node-a" and thermal.pixels.shape == (120, 160)
    assert int(thermal.pixels[0, 0]) == 29_515
    assert gateway.stats()["rejected"] == {}


def test_publishing_to_another_devices_topic_is_not_delivered(pki, broker, service):
    _, inbox = service
    with device_client(pki, "node-a", broker.url).connect() as dev:
        dev.publish("firesight/v1/lab/node-b/scd41", _scd41(1), qos=1, wait_s=5)
        dev.publish("$aws/things/node-b/shadow/update", b'{"state":{}}', qos=1, wait_s=5)
        # a permitted message published afterwards arrives; the forged ones never do
        dev.publish("firesight/v1/lab/node-a/scd41", _scd41(2), qos=1, wait_s=5)
        dev.publish("$aws/things/node-a/shadow/update", b'{"state":{}}', qos=1, wait_s=5)
        assert inbox.wait_for("firesight/v1/lab/node-a/scd41")
        assert inbox.wait_for("$aws/things/node-a/shadow/update")
    time.sleep(0.3)
    assert "firesight/v1/lab/node-b/scd41" not in inbox.topics()
    assert "$aws/things/node-b/shadow/update" not in inbox.topics()


def test_device_cannot_read_another_devices_topics(pki, broker):
    """Both brokers refuse the SUBSCRIBE (SUBACK 0x80; on Mosquitto the dynamic-security
    role has no ``subscribePattern`` for it), and node-a never sees node-b's data."""
    with device_client(pki, "node-a", broker.url).connect() as spy, device_client(pki, "node-b", broker.url).connect() as b:
        inbox = Inbox()
        with pytest.raises(AccessDeniedError):
            spy.subscribe("firesight/v1/lab/node-b/#", inbox, qos=1)
        own = Inbox()
        b.subscribe("$aws/things/node-b/shadow/#", own, qos=1)  # its own shadow: allowed
        b.publish("firesight/v1/lab/node-b/scd41", _scd41(1), qos=1, wait_s=5)
        b.publish("$aws/things/node-b/shadow/get", b"{}", qos=1, wait_s=5)
        assert own.wait_for("$aws/things/node-b/shadow/get")
        time.sleep(0.3)
        assert inbox.topics() == []


def test_client_id_must_be_the_thing_name(pki, broker, service):
    """With node-a's certificate and client id node-b: the embedded broker refuses the
    connection (policy iot:Connect on client/${ThingName}); Mosquitto renames the client to
    its certificate CN. Either way it cannot publish as node-b."""
    _, inbox = service
    c = pki["creds"]["node-a"]
    forged = DeviceClient("node-b", broker.url, cert_path=c.cert_path, key_path=c.key_path, ca_path=c.ca_path,
                          site="lab")
    try:
        forged.connect()
    except AccessDeniedError:
        assert broker.kind == "embedded"
        return
    try:
        forged.publish("firesight/v1/lab/node-b/status", b'{"ts_ms": 1, "state": "online"}', qos=1, wait_s=5)
        forged.publish("firesight/v1/lab/node-a/status", b'{"ts_ms": 2, "state": "online"}', qos=1, wait_s=5)
        assert inbox.wait_for("firesight/v1/lab/node-a/status")
        assert "firesight/v1/lab/node-b/status" not in inbox.topics()
    finally:
        forged.close()


def test_explicit_deny_wins_over_the_device_policy(pki, broker, service):
    _, inbox = service
    with device_client(pki, "node-muted", broker.url).connect() as dev:
        dev.publish("firesight/v1/lab/node-muted/status", b'{"ts_ms": 1, "state": "online"}', qos=1, wait_s=5)
        dev.publish("firesight/v1/lab/node-muted/scd41", _scd41(1), qos=1, wait_s=5)
        assert inbox.wait_for("firesight/v1/lab/node-muted/scd41")
    time.sleep(0.3)
    assert "firesight/v1/lab/node-muted/status" not in inbox.topics()


@pytest.mark.parametrize("name", ["node-revoked", "node-inactive"])
def test_revoked_and_inactive_certificates_cannot_connect(pki, broker, name):
    with pytest.raises(AccessDeniedError):
        device_client(pki, name, broker.url).connect(timeout_s=5)


def test_no_certificate_cannot_connect(pki, broker):
    with pytest.raises(AccessDeniedError):
        MqttClient("node-a", broker.url, ca_path=pki["creds"]["node-a"].ca_path).connect(timeout_s=5)


def test_certificate_from_unknown_ca_cannot_connect(pki, broker):
    rogue = pki["rogue"]
    client = DeviceClient("node-a", broker.url, cert_path=rogue.cert_path, key_path=rogue.key_path,
                          ca_path=pki["creds"]["node-a"].ca_path)
    with pytest.raises(AccessDeniedError):
        client.connect(timeout_s=5)


def test_client_refuses_a_broker_it_cannot_verify(pki, broker, tmp_path):
    """The device checks the broker too: with a CA that did not sign the broker's
    certificate the TLS handshake fails on the client side."""
    c = pki["creds"]["node-a"]
    other_ca = CertificateAuthority(tmp_path / "other")
    other_ca.ensure_root()
    client = DeviceClient("node-a", broker.url, cert_path=c.cert_path, key_path=c.key_path,
                          ca_path=other_ca.ca_path)
    with pytest.raises(AccessDeniedError, match="TLS"):
        client.connect(timeout_s=5)


def test_oversized_payload_is_not_delivered(pki, broker, service):
    """AWS IoT Core's 128 KB limit: the embedded broker drops the message, Mosquitto
    (max_packet_size) drops the connection; the message never reaches subscribers."""
    _, inbox = service
    # the client's own 128 KB check is lifted here, so that the broker's is what is tested
    dev = device_client(pki, "node-a", broker.url, max_payload_bytes=1 << 20).connect()
    try:
        dev.publish("firesight/v1/lab/node-a/features", b"x" * (128 * 1024 + 10), qos=0)
        time.sleep(0.5)
    finally:
        dev.close()
    assert "firesight/v1/lab/node-a/features" not in inbox.topics()


def test_deactivating_a_connected_certificate_cuts_it_off(pki, broker, service):
    """A live change of certificate state: on the embedded broker the next publish is refused
    and the connection closed; Mosquitto applies the new CRL when reloaded (restart), after
    which the certificate cannot connect."""
    registry, cid = pki["registry"], pki["creds"]["node-live"].certificate_id
    _, inbox = service
    dev = device_client(pki, "node-live", broker.url, reconnect_min_s=1, reconnect_max_s=2).connect()
    try:
        dev.publish("firesight/v1/lab/node-live/scd41", _scd41(1), qos=1, wait_s=5)
        assert inbox.wait_for("firesight/v1/lab/node-live/scd41")
        registry.set_certificate_status(cid, "INACTIVE")
        if broker.kind == "mosquitto":
            broker.reload()
            time.sleep(0.5)
        else:
            dev.publish("firesight/v1/lab/node-live/status", b'{"ts_ms": 1, "state": "online"}', qos=1)
            deadline = time.monotonic() + 5
            while dev.is_connected and time.monotonic() < deadline:
                time.sleep(0.05)
            assert not dev.is_connected
        assert "firesight/v1/lab/node-live/status" not in inbox.topics()
        with pytest.raises(AccessDeniedError):
            device_client(pki, "node-live", broker.url).connect(timeout_s=5)
    finally:
        dev.close()
        registry.set_certificate_status(cid, "ACTIVE")
        if broker.kind == "mosquitto":
            broker.reload()
    # reactivated (INACTIVE is reversible, unlike REVOKED)
    with device_client(pki, "node-live", broker.url).connect() as again:
        assert again.is_connected


def test_embedded_broker_reports_events_for_device_defender(pki):
    """Connection attempts, refusals, publishes with their size, denials and disconnects
    reach listeners (Mosquitto has no such hook; its log is the record there)."""
    events = []
    broker = EmbeddedBroker(pki["registry"], BrokerConfig())
    broker.add_listener(events.append)
    broker.start()
    try:
        _exercise_events(pki, broker, events)
    finally:
        broker.stop()
    assert broker.event_counts()["connect_refused"] >= 1


def _exercise_events(pki, broker, events):
    with pytest.raises(AccessDeniedError):
        device_client(pki, "node-revoked", broker.url).connect(timeout_s=5)
    with device_client(pki, "node-a", broker.url).connect() as dev:
        dev.publish("firesight/v1/lab/node-a/scd41", _scd41(99), qos=1, wait_s=5)
        dev.publish("firesight/v1/lab/node-b/scd41", _scd41(99), qos=1, wait_s=5)
    deadline = time.monotonic() + 5
    while not any(e.kind == "disconnect" and e.principal == "node-a" for e in events) and time.monotonic() < deadline:
        time.sleep(0.05)
    kinds = [(e.kind, e.principal) for e in events]
    assert ("connect_refused", "node-revoked") in kinds
    assert ("connect", "node-a") in kinds and ("disconnect", "node-a") in kinds
    published = [e for e in events if e.kind == "publish" and e.principal == "node-a"]
    assert published and published[0].size_bytes == len(_scd41(99))
    assert any(e.kind == "publish_denied" and e.topic == "firesight/v1/lab/node-b/scd41" for e in events)
    assert all(e.source_ip == "127.0.0.1" for e in events if e.principal == "node-a")


def test_unreachable_broker_is_a_clear_error(pki):
    c = pki["creds"]["node-a"]
    from firesight.iot.mosquitto import free_port

    client = DeviceClient("node-a", f"mqtts://127.0.0.1:{free_port()}", cert_path=c.cert_path,
                          key_path=c.key_path, ca_path=c.ca_path)
    with pytest.raises(FiresightError, match="cannot reach"):
        client.connect(timeout_s=2)


def test_credentials_are_on_disk_with_private_keys_closed(pki):
    c = pki["creds"]["node-a"]
    assert Path(c.cert_path).read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
    assert Path(c.key_path).stat().st_mode & 0o077 == 0


def test_clients_reconnect_and_resubscribe_after_a_broker_restart(pki, broker):
    """A dropped connection is retried with backoff and subscriptions are renewed: the
    broker restarts on the same port and a message published afterwards still arrives."""
    import dataclasses

    s = pki["service"]
    svc = ServiceClient("gateway", broker.url, cert_path=s.cert_path, key_path=s.key_path, ca_path=s.ca_path,
                        client_id="gateway-restart", reconnect_min_s=1, reconnect_max_s=2).connect()
    inbox = Inbox()
    svc.subscribe("firesight/v1/lab/node-b/#", inbox, qos=1)
    try:
        if broker.kind == "mosquitto":
            broker.reload()                                 # stop + start on the same port
        else:
            port = int(broker.url.rsplit(":", 1)[1])
            broker.stop()
            broker.config = dataclasses.replace(broker.config, tls_port=port)
            broker.start()
        deadline = time.monotonic() + 15
        while not (svc.is_connected and svc.disconnects >= 1) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert svc.is_connected and svc.disconnects >= 1
        time.sleep(0.5)  # let the renewed SUBSCRIBE land
        with device_client(pki, "node-b", broker.url).connect() as dev:
            dev.publish("firesight/v1/lab/node-b/scd41", _scd41(1), qos=1, wait_s=5)
            assert inbox.wait_for("firesight/v1/lab/node-b/scd41", timeout_s=10)
    finally:
        svc.close()
