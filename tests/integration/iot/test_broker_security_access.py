"""Attacks on who may connect and publish, from outside over mTLS, on both brokers.

Last wills on another thing's topics (checked at CONNECT and again when the will is
published), certificates signed by the project CA but never registered, and the
client-side 128 KB limit. Every "nothing arrived" check has a positive control in the same
test: a message that must arrive, on the same subscriber, after the forged one.
"""

from __future__ import annotations

import time

import pytest

from firesight.adapters.local.metadata import SQLiteMetadataStore
from firesight.errors import AccessDeniedError
from firesight.iot.ca import CertificateAuthority
from firesight.iot.client import DeviceClient, PayloadTooLargeError, ServiceClient
from firesight.iot.codec import encode_scd41
from firesight.iot.device_registry import DeviceRegistry
from support.mqtt import Inbox

pytestmark = pytest.mark.timeout(120)

SITE = "lab"


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    root = tmp_path_factory.mktemp("broker-security-access")
    registry = DeviceRegistry(SQLiteMetadataStore(str(root / "metadata.db")), CertificateAuthority(root / "pki"))
    names = ("will-a", "will-b", "will-ok", "big-a", "ghost-control")
    creds = {n: registry.register_device(n, site=SITE) for n in names}
    service = registry.register_service("watcher")
    return {"registry": registry, "creds": creds, "service": service, "root": root}


def _device(pki, name, url, **kw):
    c = pki["creds"][name]
    return DeviceClient(name, url, cert_path=c.cert_path, key_path=c.key_path, ca_path=c.ca_path, site=SITE, **kw)


@pytest.fixture
def watcher(pki, broker):
    s = pki["service"]
    client = ServiceClient("watcher", broker.url, cert_path=s.cert_path, key_path=s.key_path, ca_path=s.ca_path,
                           client_id="watcher").connect()
    inbox = Inbox()
    client.subscribe("firesight/v1/#", inbox, qos=1)
    client.subscribe("$aws/things/+/shadow/#", inbox, qos=1)
    yield inbox
    client.close()


def _apply(broker):
    """Registry changes made here reach the broker: Mosquitto by ACL/CRL reload, the
    embedded broker reads the registry itself."""
    if broker.kind == "mosquitto":
        broker.apply_registry()
        time.sleep(0.5)


def _reading(seq):
    return encode_scd41(co2_ppm=600.0, temperature_c=21.0, humidity_rh=40.0, ts_ms=int(time.time() * 1000), seq=seq)


@pytest.mark.parametrize("will_topic", ["$aws/things/will-b/shadow/update", "firesight/v1/lab/will-b/status",
                                        "firesight/v1/lab/alerts"])
def test_a_last_will_on_another_things_topic_is_refused(pki, broker, watcher, will_topic):
    """The attack: a will on thing B's shadow (low-power mode, a 3,600 s interval), B's
    status or the site alerts, then drop the socket. The embedded broker refuses the
    connection, as AWS IoT Core does; Mosquitto 2.0 accepts it and checks the will's topic
    against the ACL when it publishes it. Either way the will never arrives; the positive
    control, another thing's allowed will dropped afterwards, does."""
    will = (will_topic, b'{"state":{"desired":{"interval_s":3600}}}', 1, True)
    attacker = _device(pki, "will-a", broker.url, will=will)
    if broker.kind == "embedded":
        with pytest.raises(AccessDeniedError):
            attacker.connect(timeout_s=5)
    else:
        attacker.connect(timeout_s=5)
        attacker.abort()
    control = _device(pki, "will-ok", broker.url, will=("firesight/v1/lab/will-ok/status", b'{"online":false}', 1,
                                                        False)).connect()
    control.abort()
    assert watcher.wait_for("firesight/v1/lab/will-ok/status", 10), watcher.topics()
    assert will_topic not in watcher.topics()


def test_a_will_allowed_at_connect_is_not_published_once_the_certificate_is_revoked(pki, broker, watcher):
    """The will is checked again when it would be published: revoked in between, it is
    dropped (the embedded broker re-reads the registry; Mosquitto's reloaded ACL no
    longer grants the thing anything). Positive control: a reading sent before the
    revocation arrives."""
    registry, name = pki["registry"], f"will-late-{broker.kind}"  # revocation is final: one thing per broker
    pki["creds"][name] = registry.register_device(name, site=SITE)
    _apply(broker)
    dev = _device(pki, name, broker.url, will=(f"firesight/v1/lab/{name}/status", b"{}", 1, False)).connect()
    dev.publish(dev.topic("scd41"), _reading(1), qos=1, wait_s=5)
    assert watcher.wait_for(f"firesight/v1/lab/{name}/scd41")
    registry.set_thing_certificates_status(name, "REVOKED")
    _apply(broker)
    time.sleep(2.5)  # past the embedded broker's 2 s identity cache
    dev.abort()
    # a later will of an ACTIVE thing still arrives on the same subscriber ...
    other = _device(pki, "will-ok", broker.url, will=("firesight/v1/lab/will-ok/status", b'{"n":2}', 1,
                                                      False)).connect()
    other.abort()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and sum(t == "firesight/v1/lab/will-ok/status" for t in watcher.topics()) < 1:
        time.sleep(0.05)
    assert "firesight/v1/lab/will-ok/status" in watcher.topics()
    time.sleep(0.5)
    # ... and the revoked thing's never did
    assert f"firesight/v1/lab/{name}/status" not in watcher.topics()


def test_a_certificate_from_the_project_ca_that_was_never_registered_gets_nothing(pki, broker, watcher):
    """A certificate issued with the CA key but not registered: the embedded broker
    refuses the connection (the fingerprint is unknown); Mosquitto has no hook to refuse
    it, but its ACL grants an unknown identity nothing, so nothing it publishes arrives.
    Positive control: a registered thing's reading, published after it, arrives."""
    ghost = pki["registry"].ca.issue_thing_certificate("ghost-node")  # signed, never registered
    client = DeviceClient("ghost-node", broker.url, cert_path=ghost.cert_path, key_path=ghost.key_path,
                          ca_path=pki["registry"].ca.ca_path, site=SITE)
    if broker.kind == "embedded":
        with pytest.raises(AccessDeniedError):
            client.connect(timeout_s=5)
    else:
        client.connect(timeout_s=5)
        client.publish("firesight/v1/lab/ghost-node/scd41", _reading(1), qos=0)
        client.publish("firesight/v1/lab/alerts", b'{"forged": true}', qos=0)
        time.sleep(0.3)
        client.close()
    with _device(pki, "ghost-control", broker.url).connect() as control:
        control.publish(control.topic("scd41"), _reading(2), qos=1, wait_s=5)
        assert watcher.wait_for("firesight/v1/lab/ghost-control/scd41")
    assert "firesight/v1/lab/ghost-node/scd41" not in watcher.topics()
    assert "firesight/v1/lab/alerts" not in watcher.topics()


def test_the_device_client_refuses_a_publish_over_128_kb_and_keeps_serving(pki, broker, watcher):
    """A > 128 KB QoS 1 publish is refused before sending with a typed, counted error;
    the readings after it still go through (before the fix the broker disconnected the
    client and paho re-sent the message after every reconnect, blocking the rest)."""
    with _device(pki, "big-a", broker.url).connect() as dev:
        with pytest.raises(PayloadTooLargeError) as err:
            dev.publish(dev.topic("features"), b"x" * (128 * 1024 + 1), qos=1)
        assert err.value.name == "payload" and dev.refused_too_large == 1
        for seq in range(3):
            dev.publish(dev.topic("scd41"), _reading(seq), qos=1, wait_s=5)
        assert len([t for t in watcher.wait_count(3, 10) if t[0] == "firesight/v1/lab/big-a/scd41"]) == 3
        assert dev.is_connected and dev.unacknowledged == 0
    assert "firesight/v1/lab/big-a/features" not in watcher.topics()
