"""Shadows, rules and Device Defender end to end over real brokers: the embedded amqtt broker
with mTLS (devices with their own certificates) and Mosquitto."""

import json
import queue as queue_mod
import time
from collections import Counter

import numpy as np
import pandas as pd
import pytest

from firesight.adapters.local.metadata import SQLiteMetadataStore
from firesight.adapters.local.objectstore import FsspecObjectStore
from firesight.adapters.local.queue import SQLiteMessageQueue
from firesight.datasets.reader import ScenarioData
from firesight.errors import AccessDeniedError
from firesight.iot.broker import BrokerConfig, EmbeddedBroker
from firesight.iot.ca import CertificateAuthority
from firesight.iot.client import DeviceClient, ServiceClient
from firesight.iot.codec import encode_scd41
from firesight.iot.defender import Defender, DefenderService, registry_quarantine
from firesight.iot.fleet import FleetSimulator, SimulatorSettings
from firesight.iot.mosquitto import MosquittoBroker, find_mosquitto
from firesight.iot.device_registry import DeviceRegistry
from firesight.iot.rules import RulesEngine, RulesService, load_rules
from firesight.iot.shadow import ShadowManager, ShadowRejected, ShadowService
from firesight.sensors.frames import LeptonFrames

SITE = "lab"
WAIT_S = 10.0


class Inbox:
    """Messages a client received, by topic."""

    def __init__(self):
        self.q = queue_mod.Queue()

    def __call__(self, topic, payload):
        self.q.put((topic, payload))

    def get(self, topic, timeout_s=WAIT_S):
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                got_topic, payload = self.q.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue_mod.Empty:
                break
            if got_topic == topic:
                return json.loads(payload)
        raise AssertionError(f"nothing on {topic} within {timeout_s} s")


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    root = tmp_path_factory.mktemp("iot-svc")
    store = SQLiteMetadataStore(str(root / "meta.db"))
    registry = DeviceRegistry(store, CertificateAuthority(root / "pki"))
    # the plain listener is asked for by name, with the service policy named too
    broker = EmbeddedBroker(registry, BrokerConfig(plain_port=0, plain_policy="firesight-service", identity_cache_s=0.0))
    broker.start()
    yield {"root": root, "store": store, "registry": registry, "broker": broker}
    broker.stop()


def _device(env, thing, broker_url=None):
    creds = env["registry"].register_device(thing, site=SITE)
    return DeviceClient(thing, broker_url or env["broker"].url, cert_path=creds.cert_path, key_path=creds.key_path,
                        ca_path=creds.ca_path, site=SITE).connect()


def _shadow_round_trip(device, app, thing):
    """get/update/delta/documents/409/413/null delete as a device and an application see them."""
    inbox = Inbox()
    for suffix in ("get/accepted", "get/rejected", "update/accepted", "update/rejected", "update/delta",
                   "update/documents"):
        device.subscribe(f"$aws/things/{thing}/shadow/{suffix}", inbox, qos=1)
    base = f"$aws/things/{thing}/shadow"
    device.publish(f"{base}/get", b'{"clientToken": "g1"}', qos=1)
    err = inbox.get(f"{base}/get/rejected")
    assert err["code"] == 404 and err["clientToken"] == "g1"
    # the application sets the configuration; the device gets a delta
    app.publish(f"{base}/update", json.dumps({"state": {"desired": {"edge_mode": "features",
                                                                    "ffc_interval_s": 300}}}).encode(), qos=1)
    delta = inbox.get(f"{base}/update/delta")
    assert delta["state"] == {"edge_mode": "features", "ffc_interval_s": 300} and delta["version"] == 1
    docs = inbox.get(f"{base}/update/documents")
    assert docs["previous"] is None and docs["current"]["version"] == 1
    # the device reports; documents carry previous and current
    device.publish(f"{base}/update", json.dumps({"state": {"reported": {"edge_mode": "features",
                                                                        "firmware": "1.0"}},
                                                 "clientToken": "r1"}).encode(), qos=1)
    acc = inbox.get(f"{base}/update/accepted")
    while acc.get("clientToken") != "r1":
        acc = inbox.get(f"{base}/update/accepted")
    assert acc["version"] == 2 and acc["metadata"]["reported"]["firmware"]["timestamp"] > 0
    docs = inbox.get(f"{base}/update/documents")
    while docs["current"]["version"] != 2:
        docs = inbox.get(f"{base}/update/documents")
    assert docs["previous"]["version"] == 1 and docs["current"]["state"]["reported"]["firmware"] == "1.0"
    # stale version -> 409, oversized -> 413
    device.publish(f"{base}/update", b'{"state": {"reported": {"x": 1}}, "version": 1, "clientToken": "c"}', qos=1)
    err = inbox.get(f"{base}/update/rejected")
    assert err == {"code": 409, "message": "Version conflict", "clientToken": "c",
                   "timestamp": pytest.approx(time.time(), abs=30)}
    device.publish(f"{base}/update", json.dumps({"state": {"reported": {"blob": "x" * 9000}}}).encode(), qos=1)
    assert inbox.get(f"{base}/update/rejected")["code"] == 413
    # null deletes a key
    device.publish(f"{base}/update", b'{"state": {"reported": {"firmware": null}}}', qos=1)
    device.publish(f"{base}/get", b"{}", qos=1)
    doc = inbox.get(f"{base}/get/accepted")
    assert doc["version"] == 3 and doc["state"]["reported"] == {"edge_mode": "features"}
    assert doc["state"]["delta"] == {"ffc_interval_s": 300}


def test_shadows_on_the_embedded_broker_with_mtls(env):
    manager = ShadowManager(SQLiteMetadataStore(str(env["root"] / "shadows.db")))
    service = ServiceClient("shadow-service", env["broker"].plain_url).connect()
    ShadowService(manager, service).start()
    device = _device(env, "shadow-node")
    app = ServiceClient("console", env["broker"].plain_url).connect()
    try:
        _shadow_round_trip(device, app, "shadow-node")
        # a device may not touch another device's shadow (policy), so nothing answers it
        with pytest.raises(AccessDeniedError):
            device.subscribe("$aws/things/other-node/shadow/update/delta", Inbox())
    finally:
        for c in (device, app, service):
            c.close()
    # persisted: a new manager on the same database (a restart) serves the same document
    restarted = ShadowManager(SQLiteMetadataStore(str(env["root"] / "shadows.db")))
    doc = restarted.get("shadow-node")
    assert doc["version"] == 3 and doc["state"]["desired"]["edge_mode"] == "features"


@pytest.mark.mosquitto
@pytest.mark.skipif(find_mosquitto() is None, reason="mosquitto is not installed (make system-deps)")
def test_shadows_on_mosquitto(env, tmp_path):
    registry = env["registry"]
    creds = registry.register_device("mosq-node", site=SITE)
    service_creds = registry.register_service("shadow-service")
    app_creds = registry.register_service("console")  # before start: the ACL is compiled then
    with MosquittoBroker(registry, workdir=tmp_path / "mosq") as mosq:
        manager = ShadowManager(SQLiteMetadataStore(str(tmp_path / "shadows.db")))
        service = ServiceClient("shadow-service", mosq.url, cert_path=service_creds.cert_path,
                                key_path=service_creds.key_path, ca_path=service_creds.ca_path,
                                client_id="shadow-service").connect()
        ShadowService(manager, service).start()
        device = DeviceClient("mosq-node", mosq.url, cert_path=creds.cert_path, key_path=creds.key_path,
                              ca_path=creds.ca_path, site=SITE).connect()
        app = ServiceClient("console", mosq.url, cert_path=app_creds.cert_path, key_path=app_creds.key_path,
                            ca_path=app_creds.ca_path, client_id="console").connect()
        try:
            _shadow_round_trip(device, app, "mosq-node")
        finally:
            for c in (device, app, service):
                c.close()


def test_rules_republish_store_and_queue_over_the_broker(env, tmp_path):
    store = FsspecObjectStore(str(tmp_path / "objects"))
    queue = SQLiteMessageQueue(str(tmp_path / "queue.db"))
    rules = load_rules([{
        "name": "co2_alarm",
        "sql": "SELECT co2_ppm, topic(4) AS thing, timestamp() AS rule_ms FROM 'firesight/v1/+/+/scd41' "
               "WHERE co2_ppm > 1000",
        "actions": [{"republish": {"topic": "firesight/v1/${topic(3)}/alerts"}},
                    {"object_store": {"key": "co2/${topic(4)}/${seq}.json"}},
                    {"queue": {"queue": "co2"}}]}])
    engine = RulesEngine(rules, object_store=store, queue=queue)
    service = ServiceClient("rules-engine", env["broker"].plain_url).connect()
    RulesService(engine, service).start()
    watcher = ServiceClient("watcher", env["broker"].plain_url).connect()
    alerts = Inbox()
    watcher.subscribe(f"firesight/v1/{SITE}/alerts", alerts, qos=1)
    device = _device(env, "rules-node")
    try:
        now_ms = int(time.time() * 1000)
        device.publish(device.topic("scd41"), encode_scd41(co2_ppm=600, temperature_c=21, humidity_rh=40,
                                                           ts_ms=now_ms, seq=1), qos=1)
        device.publish(device.topic("scd41"), encode_scd41(co2_ppm=1800, temperature_c=21, humidity_rh=40,
                                                           ts_ms=now_ms + 5000, seq=2), qos=1)
        alert = alerts.get(f"firesight/v1/{SITE}/alerts")
        assert alert["co2_ppm"] == 1800 and alert["thing"] == "rules-node" and alert["rule_ms"] >= now_ms
        assert json.loads(store.get_bytes("co2/rules-node/2.json"))["co2_ppm"] == 1800
        assert not store.exists("co2/rules-node/1.json")
        (msg,) = queue.receive("co2")
        assert json.loads(msg["body"])["thing"] == "rules-node"
    finally:
        for c in (device, watcher, service):
            c.close()


def _tiny_scenario(duration_s=6.0):
    n = int(duration_s * 8.7)
    time_s = np.arange(n) / 8.7
    frames = np.full((n, 120, 160), 29515, np.uint16)
    thermal = LeptonFrames(frames=frames, time_s=time_s, gain=np.zeros(n, np.uint8),
                           resolution_k=np.full(n, 0.01, np.float32), ffc_state=np.zeros(n, np.uint8),
                           frame_counter=np.arange(n, dtype=np.uint32), valid=np.ones(n, bool))
    t_scd = np.arange(0, duration_s, 5.0)
    scd41 = pd.DataFrame({"time_s": t_scd, "co2_ppm": 450.0, "temperature_c": 21.0, "humidity_rh": 45.0,
                          "status": np.zeros(len(t_scd), np.uint8)})
    truth = pd.DataFrame({"time_s": time_s, "state": 0, "hrr_kw": 0.0})
    return ScenarioData(id="quiet", family="test", label="normal", is_fire=False, ignition_time_s=None, meta={},
                        thermal=thermal, scd41=scd41, truth=truth)


def test_fleet_misbehaviour_raises_defender_violations_and_quarantine_blocks(env):
    registry, broker = env["registry"], env["broker"]
    profile = {"securityProfileName": "sim-nodes", "quarantineBehaviors": ["probing"], "behaviors": [
        {"name": "flood", "metric": "aws:num-messages-sent",
         "criteria": {"comparisonOperator": "greater-than", "value": {"count": 250}, "durationSeconds": 10}},
        {"name": "probing", "metric": "aws:num-authorization-failures",
         "criteria": {"comparisonOperator": "greater-than", "value": {"count": 3}, "durationSeconds": 10}},
        {"name": "storm", "metric": "aws:num-connection-attempts",
         "criteria": {"comparisonOperator": "greater-than", "value": {"count": 5}, "durationSeconds": 10}},
    ]}
    defender = Defender([profile], quarantine=registry_quarantine(registry),
                        principal_filter=lambda name: name.startswith("sim-node"))
    broker.add_listener(defender.record_broker_event)
    alert_client = ServiceClient("defender", broker.plain_url).connect()
    DefenderService(defender, alert_client)
    alerts = Inbox()
    watch = ServiceClient("alerts-watch", broker.plain_url).connect()
    watch.subscribe(f"firesight/v1/{SITE}/alerts", alerts, qos=1)
    settings = SimulatorSettings(devices=4, site=SITE, speed=1.0, duration_s=5.0, shadow_timeout_s=0.5,
                                 misbehave={"sim-node-001": "flood", "sim-node-002": "probe",
                                            "sim-node-003": "reconnect"},
                                 flood_rate_hz=100.0, probe_rate_hz=5.0, reconnect_period_s=0.4)
    fleet = FleetSimulator(settings, [_tiny_scenario()], broker.url, registry=registry)
    try:
        fleet.connect()
        stats = fleet.run()
        time.sleep(0.3)  # the broker's last events
        events = defender.evaluate()
    finally:
        fleet.close()
    assert stats["messages:thermal"] >= 4 * 40 and stats["flood_messages"] >= 200
    in_alarm = {(e["thingName"], e["behavior"]["name"]) for e in events if e["violationEventType"] == "in-alarm"}
    assert in_alarm == {("sim-node-001", "flood"), ("sim-node-002", "probing"), ("sim-node-003", "storm")}
    flood = next(e for e in events if e["thingName"] == "sim-node-001")
    assert flood["metricValue"]["count"] > 250
    alert = alerts.get(f"firesight/v1/{SITE}/alerts")
    assert alert["source"] == "defender" and alert["violation"]["violationEventType"] == "in-alarm"
    # quarantine: the prober's certificate now carries the deny-all policy; it cannot connect
    assert defender.quarantined == {"sim-node-002"}
    creds_cert, creds_key = registry.ca.thing_paths("sim-node-002")
    with pytest.raises(AccessDeniedError):
        DeviceClient("sim-node-002", broker.url, cert_path=creds_cert, key_path=creds_key,
                     ca_path=registry.ca.ca_path, site=SITE).connect()
    # a well-behaved node still can
    ok_cert, ok_key = registry.ca.thing_paths("sim-node-000")
    DeviceClient("sim-node-000", broker.url, cert_path=ok_cert, key_path=ok_key, ca_path=registry.ca.ca_path,
                 site=SITE).connect().close()
    # quiet windows (30 s later, nothing recorded) clear the alarms
    cleared = defender.evaluate(now_s=time.time() + 30)
    assert {e["thingName"] for e in cleared if e["violationEventType"] == "alarm-cleared"} == \
        {"sim-node-001", "sim-node-002", "sim-node-003"}
    watch.close()
    alert_client.close()


def test_fleet_nodes_follow_their_shadows(env, tmp_path):
    registry, broker = env["registry"], env["broker"]
    manager = ShadowManager(SQLiteMetadataStore(str(tmp_path / "fleet-shadows.db")))
    manager.update("cfg-node-000", {"state": {"desired": {"edge_mode": "features"}}})
    shadow_client = ServiceClient("shadow-service", broker.plain_url).connect()
    ShadowService(manager, shadow_client).start()
    seen = Inbox()
    watch = ServiceClient("stream-watch", broker.plain_url).connect()
    watch.subscribe(f"firesight/v1/{SITE}/+/+", seen)
    settings = SimulatorSettings(devices=2, site=SITE, thing_prefix="cfg-node", speed=10.0,
                                 shadow_timeout_s=5.0)
    fleet = FleetSimulator(settings, [_tiny_scenario()], broker.url, registry=registry)
    try:
        fleet.connect()
        assert fleet.counts["shadow_timeouts"] == 0
        # an application switches node 1 to low-power mode; the node gets the delta and reports
        shadow_client.publish("$aws/things/cfg-node-001/shadow/update",
                              b'{"state": {"desired": {"low_power_mode": true}}}', qos=1)
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            try:
                reported = manager.get("cfg-node-001")["state"].get("reported", {})
            except ShadowRejected:  # not created yet
                reported = {}
            if reported.get("low_power_mode"):
                break
            time.sleep(0.05)
        assert reported["low_power_mode"] is True and reported["measurement_interval_s"] == 30.0
        stats = fleet.run()
    finally:
        fleet.close()
        shadow_client.close()
    time.sleep(0.5)
    watch.close()
    streams = Counter()
    while not seen.q.empty():
        topic, _ = seen.q.get()
        streams[tuple(topic.split("/")[3:5])] += 1
    assert streams[("cfg-node-000", "thermal")] == 0 and streams[("cfg-node-000", "features")] >= 4
    assert streams[("cfg-node-001", "thermal")] == len(_tiny_scenario().thermal.time_s)
    assert streams[("cfg-node-000", "scd41")] == 2 and streams[("cfg-node-001", "scd41")] == 1
    assert stats["messages:features"] == streams[("cfg-node-000", "features")]
    doc = manager.get("cfg-node-000")
    assert doc["state"]["reported"]["edge_mode"] == "features"
    assert doc["state"]["reported"]["firmware"] == settings.firmware and "delta" not in doc["state"]


def test_rules_act_on_what_a_simulated_fleet_publishes(env, tmp_path):
    """The rules engine runs on the readings a fleet plays through the broker: every SCD41
    reading of every node lands in the object store and the queue, and nothing else does."""
    store = FsspecObjectStore(str(tmp_path / "fleet-objects"))
    queue = SQLiteMessageQueue(str(tmp_path / "fleet-queue.db"))
    rules = load_rules([{
        "name": "scd41_archive",
        "sql": "SELECT co2_ppm, temperature_c, topic(4) AS thing FROM 'firesight/v1/+/+/scd41' WHERE co2_ppm > 0",
        "actions": [{"object_store": {"key": "scd41/${topic(4)}/${seq}.json"}}, {"queue": {"queue": "scd41"}}]}])
    service = ServiceClient("rules-fleet", env["broker"].plain_url).connect()
    RulesService(RulesEngine(rules, object_store=store, queue=queue), service).start()
    settings = SimulatorSettings(devices=2, site=SITE, thing_prefix="rules-fleet", speed=10.0, shadow_timeout_s=0.5)
    fleet = FleetSimulator(settings, [_tiny_scenario(duration_s=11.0)], env["broker"].url, registry=env["registry"])
    try:
        fleet.connect()
        stats = fleet.run()
    finally:
        fleet.close()
    expected = stats["messages:scd41"]
    assert expected == 2 * len(_tiny_scenario(duration_s=11.0).scd41)
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline and len(store.list("scd41")) < expected:
        time.sleep(0.05)
    service.close()
    keys = store.list("scd41")
    assert len(keys) == expected and {k.split("/")[1] for k in keys} == {"rules-fleet-000", "rules-fleet-001"}
    bodies = [json.loads(m["body"]) for m in queue.receive("scd41", max_messages=10)]
    assert len(bodies) == expected and all(b["co2_ppm"] == 450.0 for b in bodies)
