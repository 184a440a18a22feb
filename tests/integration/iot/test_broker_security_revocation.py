"""Revocation and quarantine reach a running broker within seconds, from another process.

The broker runs on a FIRESIGHT_HOME as ``firesight broker run`` would start it (Mosquitto
in ``{home}/mosquitto``, found through its pid file); ``firesight devices revoke`` and
``firesight defender quarantine`` run as separate processes. A connected thing is cut
off: what it publishes afterwards reaches no subscriber, while another thing's readings,
published after it, still do (the positive control); a revoked thing cannot connect again.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from firesight.config import Config
from firesight.errors import AccessDeniedError
from firesight.iot import mosquitto_dir, open_registry
from firesight.iot.broker import BrokerConfig, EmbeddedBroker
from firesight.iot.client import DeviceClient, ServiceClient
from firesight.iot.codec import encode_scd41
from firesight.iot.mosquitto import MosquittoBroker, find_mosquitto
from support.mqtt import Inbox

pytestmark = pytest.mark.timeout(120)

SITE = "lab"
#: the cut-off must hold from this long after the command returns [s] (the embedded
#: broker's identity cache is 2 s; Mosquitto reloads on SIGHUP at once)
CUT_OFF_S = {"embedded": 2.5, "mosquitto": 1.0}


def _cli() -> list[str]:
    exe = Path(sys.executable).with_name("firesight")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "firesight.cli"]


@pytest.fixture(params=["embedded", "mosquitto"])
def home(request, tmp_path):
    cfg = Config(home=tmp_path / "home")
    registry = open_registry(cfg)
    for name in ("cut-node", "ok-node"):
        registry.register_device(name, site=SITE)
    registry.register_service("cut-watch")
    if request.param == "mosquitto":
        if find_mosquitto() is None:
            pytest.skip("mosquitto binary not installed")
        broker = MosquittoBroker(registry, workdir=mosquitto_dir(cfg))
    else:
        broker = EmbeddedBroker(registry, BrokerConfig())
    url = broker.start()
    yield {"cfg": cfg, "registry": registry, "url": url, "kind": request.param}
    broker.stop()


def _creds(registry, name):
    certs = registry.list_certificates(thing_name=name)
    ca = registry.ca
    cert_path, key_path = ca.thing_paths(name)
    assert certs
    return cert_path, key_path, ca.ca_path


def _device(home, name):
    cert, key, ca = _creds(home["registry"], name)
    return DeviceClient(name, home["url"], cert_path=cert, key_path=key, ca_path=ca, site=SITE,
                        reconnect_min_s=0.5, reconnect_max_s=1.0)


def _reading(seq):
    return encode_scd41(co2_ppm=600.0, temperature_c=21.0, humidity_rh=40.0, ts_ms=int(time.time() * 1000), seq=seq)


def _run(home, *args):
    env = dict(os.environ, FIRESIGHT_HOME=str(home["cfg"].home))
    out = subprocess.run([*_cli(), *args], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    return out


@pytest.mark.parametrize("command", [("devices", "revoke", "cut-node"), ("defender", "quarantine", "cut-node")])
def test_a_connected_thing_is_cut_off_within_seconds(home, command):
    s = home["registry"].register_service("cut-watch")
    watch = ServiceClient("cut-watch", home["url"], cert_path=s.cert_path, key_path=s.key_path, ca_path=s.ca_path,
                          client_id="cut-watch").connect()
    inbox = Inbox()
    watch.subscribe("firesight/v1/lab/+/scd41", inbox, qos=1)
    cut = _device(home, "cut-node").connect()
    ok = _device(home, "ok-node").connect()
    try:
        cut.publish(cut.topic("scd41"), _reading(1), qos=1, wait_s=5)   # before: it gets through
        assert inbox.wait_for("firesight/v1/lab/cut-node/scd41")
        _run(home, *command)
        time.sleep(CUT_OFF_S[home["kind"]])
        before = inbox.topics().count("firesight/v1/lab/cut-node/scd41")
        for seq in range(2, 7):
            cut.publish(cut.topic("scd41"), _reading(seq), qos=0)
            time.sleep(0.1)
        ok.publish(ok.topic("scd41"), _reading(1), qos=1, wait_s=5)     # after: the control gets through
        assert inbox.wait_for("firesight/v1/lab/ok-node/scd41")
        time.sleep(0.5)
        assert inbox.topics().count("firesight/v1/lab/cut-node/scd41") == before == 1
        # and it cannot come back (the reloaded CRL, or the registry, refuses it)
        if command[1] == "revoke":
            cut.close()
            with pytest.raises(AccessDeniedError):
                _device(home, "cut-node").connect(timeout_s=5)
    finally:
        cut.close()
        ok.close()
        watch.close()
