"""Shadow and rules services under malformed input, over real brokers (embedded amqtt with
mTLS, and Mosquitto), from a device with its own certificate: every bad request gets an
AWS-style answer, hostile messages do not skip rules, blocking store I/O does not hold the
MQTT network thread, and a retained shadow update is not replayed on a restart. Each test
ends with a positive control that must arrive."""

from __future__ import annotations

import json
import queue as queue_mod
import threading
import time

import pytest

from firesight.adapters.local.metadata import SQLiteMetadataStore
from firesight.adapters.local.objectstore import FsspecObjectStore
from firesight.iot.ca import CertificateAuthority
from firesight.iot.client import ServiceClient
from firesight.iot.device_registry import DeviceRegistry
from firesight.iot.rules import RulesEngine, RulesService, load_rules
from firesight.iot.shadow import ShadowManager, ShadowService
from support.mqtt import device_client

pytestmark = pytest.mark.timeout(120)

THING = "hard-node"
WAIT_S = 10.0


class Answers:
    """Messages received, by topic, in order."""

    def __init__(self) -> None:
        self.q: queue_mod.Queue = queue_mod.Queue()

    def __call__(self, topic, payload, *_):  # noqa: ANN001
        self.q.put((topic, payload))

    def next(self, suffixes: tuple[str, ...], timeout_s: float = WAIT_S) -> tuple[str, dict]:
        deadline = time.monotonic() + timeout_s
        while (left := deadline - time.monotonic()) > 0:
            try:
                topic, payload = self.q.get(timeout=left)
            except queue_mod.Empty:
                break
            if topic.endswith(suffixes):
                return topic, json.loads(payload)
        raise AssertionError(f"nothing on *{suffixes} within {timeout_s} s")


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    root = tmp_path_factory.mktemp("hardening-svc")
    store = SQLiteMetadataStore(str(root / "metadata.db"))
    registry = DeviceRegistry(store, CertificateAuthority(root / "pki"))
    return {"root": root, "registry": registry, "creds": {THING: registry.register_device(THING, site="lab")},
            "service": registry.register_service("shadow-service"), "rules": registry.register_service("rules"),
            "listener": registry.register_service("listener")}


def _service(pki, url: str, name: str = "service") -> ServiceClient:
    """A service client with its own certificate (Mosquitto takes the client id from the
    certificate's CN, so two clients sharing one certificate would take over each other)."""
    s = pki[name]
    return ServiceClient(name, url, cert_path=s.cert_path, key_path=s.key_path, ca_path=s.ca_path).connect()


def _shadow_base(name: str) -> str:
    return f"$aws/things/{THING}/shadow/name/{name}"


def test_five_malformed_shadow_requests_get_rejected_answers(pki, broker, tmp_path):
    manager = ShadowManager(SQLiteMetadataStore(str(tmp_path / "shadows.db")))
    client = _service(pki, broker.url)
    service = ShadowService(manager, client).start()
    device = device_client(pki, THING, broker.url).connect()
    base = _shadow_base(f"m{broker.kind}")
    answers = Answers()
    for suffix in ("update/accepted", "update/rejected", "get/rejected"):
        device.subscribe(f"{base}/{suffix}", answers, qos=1)
    try:
        cases = [
            ("update", b'{"state":' + b'{"a":' * 1_000 + b"1" + b"}" * 1_001, 400, "nesting"),
            ("update", b"[" * 100_000, 413, "maximum size"),
            ("get", b"[" * 100_000, 413, "maximum size"),
            ("update", b'{"clientToken":"\\ud800","state":{"reported":{"a":1}}}', 400, "Invalid JSON"),
            ("update", b'{"state":{"reported":{"t":NaN}}}', 400, "Invalid JSON"),
            ("update", b'{"state":{"reported":{"t":1e999}}}', 400, "Invalid JSON"),
            ("update", '{"state":{"reported":{"t":1}}}'.encode("utf-16"), 415, "UTF-8"),
        ]
        for op, body, code, words in cases:
            device.publish(f"{base}/{op}", body, qos=1)
            topic, err = answers.next(("/rejected",))
            assert topic == f"{base}/{op}/rejected"
            assert err["code"] == code and words in err["message"], (body[:40], err)
            assert "clientToken" not in err
        device.publish(f"{base}/update", b'{"clientToken":"ok","state":{"reported":{"t":21.5}}}', qos=1)
        topic, doc = answers.next(("/accepted", "/rejected"))
        assert topic == f"{base}/update/accepted" and doc["version"] == 1 and doc["clientToken"] == "ok"
        assert service.worker.alive
    finally:
        device.close()
        service.stop()
        client.close()
    assert not service.worker.alive


def test_retained_update_is_not_replayed_when_the_service_restarts(pki, broker, tmp_path):
    """The service's own ServiceClient passes the RETAIN flag, so the shadow service
    ignores a retained update that the broker replays on every (re)subscription."""
    manager = ShadowManager(SQLiteMetadataStore(str(tmp_path / "shadows.db")))
    name = f"r{broker.kind}"
    base = _shadow_base(name)
    device = device_client(pki, THING, broker.url).connect()
    answers = Answers()
    device.subscribe(f"{base}/update/accepted", answers, qos=1)
    first = _service(pki, broker.url)
    service = ShadowService(manager, first).start()
    try:
        device.publish(f"{base}/update", b'{"state":{"reported":{"mode":"live"}}}', qos=1, retain=True)
        assert answers.next(("/accepted",))[1]["version"] == 1     # live delivery: applied once
        service.stop()
        first.close()
        for _ in range(2):                                           # two restarts
            client = _service(pki, broker.url)
            service = ShadowService(manager, client).start()
            device.publish(f"{base}/get", b"{}", qos=1)              # a request after the replay
            deadline = time.monotonic() + WAIT_S
            while service.stats()["worker"].get("processed", 0) < 1 and time.monotonic() < deadline:
                time.sleep(0.02)
            assert service.stats()["worker"]["retained_ignored"] == 1
            service.stop()
            client.close()
        assert manager.get(THING, name)["version"] == 1              # no replay moved it
        client = _service(pki, broker.url)
        service = ShadowService(manager, client).start()
        device.publish(f"{base}/update", b'{"state":{"reported":{"mode":"next"}}}', qos=1)
        assert answers.next(("/accepted",))[1]["version"] == 2     # positive control
        service.stop()
        client.close()
    finally:
        device.publish(f"{base}/update", b"", qos=1, retain=True)   # clear the retained message
        device.close()


class GatedStore(FsspecObjectStore):
    """A real local object store whose writes wait until ``gate`` opens (a slow disk or S3)."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.gate = threading.Event()

    def put_bytes(self, key: str, data: bytes) -> None:
        self.gate.wait(30)
        super().put_bytes(key, data)


RULES = [
    {"name": "scaled", "sql": "SELECT round(co2_ppm * 1e308) AS r, floor(co2_ppm) AS f "
                              "FROM 'firesight/v1/+/+/scd41'",
     "actions": [{"republish": {"topic": "hardening/out/scaled"}}]},
    {"name": "archive", "sql": "SELECT co2_ppm FROM 'firesight/v1/+/+/scd41'",
     "actions": [{"object_store": {"key": "raw/${topic(4)}/${timestamp()}-${co2_ppm}.json"}},
                 {"republish": {"topic": "hardening/out/archive"}}]},
]


def test_hostile_messages_do_not_skip_rules_and_store_io_does_not_hold_the_network_thread(pki, broker, tmp_path):
    store = GatedStore(str(tmp_path / "objects"))
    engine = RulesEngine(load_rules(RULES), object_store=store)
    client = _service(pki, broker.url, "rules")
    service = RulesService(engine, client, qos=1).start()
    out = Answers()
    client.subscribe("hardening/out/#", out, qos=1)
    probe = Answers()
    client.subscribe("hardening/probe", probe, qos=1)
    listener = _service(pki, broker.url, "listener")
    device = device_client(pki, THING, broker.url).connect()
    topic = device.topic("scd41")
    try:
        for body in (b"[" * 1_000, b'{"co2_ppm":' + b"9" * 400 + b"}", b'{"co2_ppm":Infinity}',
                     b'{"co2_ppm":NaN}', b'{"co2_ppm":1,"co2_ppm":2}'):
            device.publish(topic, body, qos=1)
        device.publish(topic, b'{"co2_ppm": 1e308}', qos=1)   # round(Infinity) in rule 1
        # the archive rule now waits on the store; the service's network thread must not
        listener.publish("hardening/probe", b'{"ping": 1}', qos=1)
        assert probe.next(("probe",))[1] == {"ping": 1}
        store.gate.set()
        got = {out.next(("scaled", "archive"))[0].rsplit("/", 1)[-1] for _ in range(2)}
        assert got == {"scaled", "archive"}                  # rule 2 ran after rule 1's overflow
        device.publish(topic, b'{"co2_ppm": 650.0}', qos=1)   # positive control through both rules
        got = {out.next(("scaled", "archive"))[0].rsplit("/", 1)[-1] for _ in range(2)}
        assert got == {"scaled", "archive"}
        counts = engine.counts
        assert counts["payload_rejected:too_deep"] == 1
        assert counts["payload_rejected:number_too_large"] == 1
        assert counts["payload_rejected:not_finite"] == 2
        assert counts["payload_rejected:duplicate_key"] == 1
        assert counts["matched:archive"] == 2 and counts["objects_written"] == 2
        assert counts["rule_failures"] == 0
        assert len(store.list("raw/")) == 2
    finally:
        store.gate.set()
        device.close()
        listener.close()
        service.stop()
        client.close()
    assert not service.worker.alive
