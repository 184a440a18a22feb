"""Two instances of one service (``firesight rules run`` twice) on one broker.

Mosquitto sets a client's id to its certificate's CN, so two instances sharing one
service certificate took over each other's connection in turn. Each instance now holds a
slot of its own (``rules-engine``, ``rules-engine-1``) with its own certificate; both stay
connected and both receive every reading. The Mosquitto here is the managed one of a
FIRESIGHT_HOME, so the second instance's new identity reaches its ACL at once.
"""

from __future__ import annotations

import time

import pytest

from firesight.commands.fleet import _service_client
from firesight.config import Config
from firesight.iot import mosquitto_dir, open_registry
from firesight.iot.broker import BrokerConfig, EmbeddedBroker
from firesight.iot.client import DeviceClient
from firesight.iot.codec import encode_scd41
from firesight.iot.mosquitto import MosquittoBroker, find_mosquitto
from support.mqtt import Inbox

pytestmark = pytest.mark.timeout(120)

SITE = "lab"


@pytest.fixture(params=["embedded", "mosquitto"])
def env(request, tmp_path):
    cfg = Config(home=tmp_path / "home")
    registry = open_registry(cfg)
    registry.register_device("svc-node", site=SITE)
    if request.param == "mosquitto":
        if find_mosquitto() is None:
            pytest.skip("mosquitto binary not installed")
        broker = MosquittoBroker(registry, workdir=mosquitto_dir(cfg))
    else:
        broker = EmbeddedBroker(registry, BrokerConfig())
    url = broker.start()
    yield {"registry": registry, "url": url, "cfg": cfg}
    broker.stop()


def test_two_instances_of_a_service_do_not_take_over_each_other(env):
    registry, url = env["registry"], env["url"]
    first = _service_client("rules-engine", url, registry)
    second = _service_client("rules-engine", url, open_registry(env["cfg"]))  # as a second process would
    inboxes = [Inbox(), Inbox()]
    try:
        assert first.service_name == "rules-engine" and second.service_name == "rules-engine-1"
        for client, inbox in zip((first, second), inboxes, strict=True):
            client.subscribe("firesight/v1/lab/+/scd41", inbox, qos=1)
        c = registry.register_device("svc-node", site=SITE)
        with DeviceClient("svc-node", url, cert_path=c.cert_path, key_path=c.key_path, ca_path=c.ca_path,
                          site=SITE).connect() as dev:
            for seq in range(3):
                dev.publish(dev.topic("scd41"), encode_scd41(co2_ppm=600.0, temperature_c=21.0, humidity_rh=40.0,
                                                             ts_ms=int(time.time() * 1000), seq=seq),
                            qos=1, wait_s=5)
        for inbox in inboxes:
            assert len(inbox.wait_count(3, 10)) == 3
        time.sleep(0.5)
        assert first.is_connected and second.is_connected
        assert first.disconnects == 0 and second.disconnects == 0
    finally:
        first.close()
        second.close()
