"""Mosquitto cuts off connected identities when the registry takes their access away.

Before, revocation and quarantine rewrote Mosquitto's ACL and CRL and sent SIGHUP: the
revoked or quarantined thing lost its rights but stayed connected (Mosquitto drops no
session on SIGHUP and checks the CRL only at the TLS handshake). Now the rights live in
Mosquitto's dynamic-security plugin, which firesight updates over an admin connection:
the thing is disconnected by the broker at once, and cannot come back (revoked: the
reloaded CRL refuses the handshake; quarantined: it may connect, but its deny-all role
lets it neither publish nor subscribe). A CA-signed certificate that was never registered
connects (Mosquitto 2.0 runs no authentication plugin for certificate identities) but
every SUBSCRIBE is refused and nothing it publishes arrives.

Everything is over the wire with real mTLS clients; revoke and quarantine run as separate
``firesight`` processes against the managed Mosquitto of a FIRESIGHT_HOME. Every "nothing
arrived" check has a positive control on the same subscriber.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from firesight.config import Config
from firesight.errors import AccessDeniedError
from firesight.iot import mosquitto_dir, open_registry
from firesight.iot.client import DeviceClient, ServiceClient
from firesight.iot.codec import encode_scd41
from firesight.iot.mosquitto import MosquittoBroker, find_mosquitto
from firesight.iot.mosquitto_dynsec import CONTROL_TOPIC
from support.mqtt import Inbox
from support.waiting import wait_until

pytestmark = pytest.mark.timeout(120)

SITE = "lab"
#: the broker must have closed the connection this soon after the command returned [s]
CUT_OFF_S = 3.0


def _cli() -> list[str]:
    exe = Path(sys.executable).with_name("firesight")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "firesight.cli"]


@pytest.fixture
def home(tmp_path):
    if find_mosquitto() is None:
        pytest.skip("mosquitto binary not installed (run `make system-deps` or apt-get install mosquitto)")
    cfg = Config(home=tmp_path / "home")
    registry = open_registry(cfg)
    for name in ("cut-node", "ok-node"):
        registry.register_device(name, site=SITE)
    watch_creds = registry.register_service("cut-watch")
    broker = MosquittoBroker(registry, workdir=mosquitto_dir(cfg))
    url = broker.start()
    watch = ServiceClient("cut-watch", url, cert_path=watch_creds.cert_path, key_path=watch_creds.key_path,
                          ca_path=watch_creds.ca_path, client_id="cut-watch").connect()
    inbox = Inbox()
    watch.subscribe("firesight/v1/#", inbox, qos=1)
    yield {"cfg": cfg, "registry": registry, "url": url, "broker": broker, "inbox": inbox, "tmp": tmp_path}
    watch.close()
    broker.stop()


def _device(home, name, **kw) -> DeviceClient:
    cert, key = home["registry"].ca.thing_paths(name)
    return DeviceClient(name, home["url"], cert_path=kw.pop("cert_path", cert), key_path=kw.pop("key_path", key),
                        ca_path=home["registry"].ca.ca_path, site=SITE, reconnect_min_s=0.3, reconnect_max_s=0.5,
                        **kw)


def _reading(seq):
    return encode_scd41(co2_ppm=600.0, temperature_c=21.0, humidity_rh=40.0, ts_ms=int(time.time() * 1000), seq=seq)


def _run(home, *args):
    env = dict(os.environ, FIRESIGHT_HOME=str(home["cfg"].home))
    out = subprocess.run([*_cli(), *args], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    return out


def _control_gets_through(home, seq):
    """Positive control: ok-node's reading reaches the same subscriber."""
    with _device(home, "ok-node").connect() as ok:
        ok.publish(ok.topic("scd41"), _reading(seq), qos=1, wait_s=5)
    assert home["inbox"].wait_for("firesight/v1/lab/ok-node/scd41")


@pytest.mark.parametrize("command", [("devices", "revoke", "cut-node"), ("devices", "deactivate", "cut-node")])
def test_a_connected_thing_is_disconnected_and_cannot_reconnect(home, command):
    cut = _device(home, "cut-node").connect()
    try:
        cut.publish(cut.topic("scd41"), _reading(1), qos=1, wait_s=5)   # before: it gets through
        assert home["inbox"].wait_for("firesight/v1/lab/cut-node/scd41")
        _run(home, *command)
        assert wait_until(lambda: cut.disconnects >= 1, CUT_OFF_S), "still connected after the command"
        # paho retries every 0.3-0.5 s; the reloaded CRL refuses every handshake
        time.sleep(1.5)
        assert not cut.is_connected and cut.disconnects == 1
        with pytest.raises(AccessDeniedError):
            _device(home, "cut-node").connect(timeout_s=5)
        _control_gets_through(home, 1)
        assert home["inbox"].topics().count("firesight/v1/lab/cut-node/scd41") == 1
    finally:
        cut.close()


def test_a_quarantined_thing_is_disconnected_and_gets_nothing_back(home):
    cut = _device(home, "cut-node").connect()
    try:
        cut.publish(cut.topic("scd41"), _reading(1), qos=1, wait_s=5)
        assert home["inbox"].wait_for("firesight/v1/lab/cut-node/scd41")
        _run(home, "defender", "quarantine", "cut-node")
        assert wait_until(lambda: cut.disconnects >= 1, CUT_OFF_S), "still connected after the quarantine"
        # its certificate is still ACTIVE, so it may reconnect (Mosquitto runs no
        # authentication plugin for certificate identities), but with a deny-all role
        assert wait_until(lambda: cut.is_connected, 10)
        with pytest.raises(AccessDeniedError):
            cut.subscribe("$aws/things/cut-node/shadow/update/delta", Inbox(), qos=1)   # its own shadow
        for seq in range(2, 5):
            cut.publish(cut.topic("scd41"), _reading(seq), qos=1, wait_s=5)
        _control_gets_through(home, 1)
        assert home["inbox"].topics().count("firesight/v1/lab/cut-node/scd41") == 1
    finally:
        cut.close()


def test_a_certificate_from_the_project_ca_that_was_never_registered_can_do_nothing(home):
    ghost = home["registry"].ca.issue_thing_certificate("ghost-node")  # signed with the CA key, never registered
    client = _device(home, "ghost-node", cert_path=ghost.cert_path, key_path=ghost.key_path).connect(timeout_s=5)
    try:
        for topic_filter in ("firesight/#", "firesight/v1/lab/ok-node/scd41", "$aws/things/ghost-node/shadow/#",
                             "$CONTROL/dynamic-security/#"):
            with pytest.raises(AccessDeniedError):
                client.subscribe(topic_filter, Inbox(), qos=1)
        client.publish("firesight/v1/lab/ghost-node/scd41", _reading(1), qos=1, wait_s=5)
        client.publish("firesight/v1/lab/alerts", b'{"forged": true}', qos=1, wait_s=5)
        _control_gets_through(home, 1)
        assert "firesight/v1/lab/ghost-node/scd41" not in home["inbox"].topics()
        assert "firesight/v1/lab/alerts" not in home["inbox"].topics()
    finally:
        client.close()


def test_a_service_cannot_use_the_dynamic_security_control_topic(home):
    """Services may publish anywhere under ``#``, which never matches ``$CONTROL``: a
    service that asks the plugin to delete a thing is ignored, and the thing stays."""
    registry = home["registry"]
    s = registry.register_service("rogue-svc")
    rogue = ServiceClient("rogue-svc", home["url"], cert_path=s.cert_path, key_path=s.key_path, ca_path=s.ca_path,
                          client_id="rogue-svc").connect()
    target = _device(home, "ok-node").connect()
    try:
        rogue.publish(CONTROL_TOPIC, json.dumps({"commands": [{"command": "deleteClient", "username": "ok-node"}]}),
                      qos=1, wait_s=5)
        target.publish(target.topic("scd41"), _reading(1), qos=1, wait_s=5)    # still there, rights intact
        assert home["inbox"].wait_for("firesight/v1/lab/ok-node/scd41")
        assert target.is_connected and target.disconnects == 0
    finally:
        rogue.close()
        target.close()


def test_registering_a_thing_live_gives_it_rights_and_disconnects_no_one(home):
    watcher_of = _device(home, "ok-node").connect()
    try:
        _run(home, "devices", "register", "late-node", "--site", SITE)
        with _device(home, "late-node").connect() as late:
            late.publish(late.topic("scd41"), _reading(1), qos=1, wait_s=5)
        assert home["inbox"].wait_for("firesight/v1/lab/late-node/scd41")
        assert watcher_of.is_connected and watcher_of.disconnects == 0
    finally:
        watcher_of.close()


def test_revoking_a_replaced_certificate_disconnects_its_holder_but_not_the_new_one(home):
    """A thing with two certificates (a rotation) is one identity on Mosquitto (the CN):
    revoking the old certificate closes every connection of that name; the holder of the
    new certificate reconnects and publishes, the holder of the old one is refused. (The
    registry of ``open_registry`` applies each change to the managed broker itself.)"""
    registry, tmp = home["registry"], home["tmp"]
    cert, key = registry.ca.thing_paths("cut-node")
    old_cert, old_key = shutil.copy(cert, tmp / "old.pem"), shutil.copy(key, tmp / "old.key")
    old_id = registry.list_certificates(thing_name="cut-node")[0]["certificate_id"]
    registry.register_device("cut-node", site=SITE)         # a second certificate, same thing
    old = _device(home, "cut-node", cert_path=old_cert, key_path=old_key).connect()
    try:
        old.publish(old.topic("scd41"), _reading(1), qos=1, wait_s=5)
        assert home["inbox"].wait_for("firesight/v1/lab/cut-node/scd41")
        registry.set_certificate_status(old_id, "REVOKED")
        assert wait_until(lambda: old.disconnects >= 1, CUT_OFF_S)
        with _device(home, "cut-node").connect() as new:
            new.publish(new.topic("status"), b'{"ts_ms": 1, "state": "online"}', qos=1, wait_s=5)
        assert home["inbox"].wait_for("firesight/v1/lab/cut-node/status")
        assert not old.is_connected
        with pytest.raises(AccessDeniedError):
            _device(home, "cut-node", cert_path=old_cert, key_path=old_key).connect(timeout_s=5)
    finally:
        old.close()
