"""``firesight run`` runs Device Defender under the coordinator.

The running system (start_system: embedded mTLS broker, the agents, Device Defender with the
built-in ``firesight-nodes`` profile evaluated every 0.2 s, the response agent, the
dashboard and ``/metrics``) sees one registered node publish a 70,000-byte message (over
the profile's ``oversized_messages`` limit of 65,536 bytes; under the broker's 128 KiB
limit, so the broker accepts it) while another node sends ordinary SCD41 readings. The
violation shows in ``firesight_defender_violations{behavior="oversized_messages"}`` at
``/metrics`` (parsed with prometheus_client's parser), in the dashboard's device health
(``violations``) and as a ``trouble`` alert (``defender:oversized_messages``) that the
response agent records; the well-behaved node shows none. The Defender loop is killed and
the coordinator restarts it with the violation still known; the node's next ordinary
message clears the violation everywhere.
"""

from __future__ import annotations

import time
from functools import partial

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from firesight import bootstrap
from firesight.agents.alert_store import AlertStore
from firesight.agents.runtime_config import parse_run_config
from firesight.agents.system import start_system
from firesight.config import Config
from firesight.iot import open_registry
from firesight.iot.client import DeviceClient
from firesight.iot.codec import encode_scd41
from firesight.iot.defender import DEFAULT_PROFILE
from firesight.iot.topics import device_filter
from firesight.ops.tokens import TokenStore
from support.waiting import wait_until

pytestmark = pytest.mark.timeout(120)
BEHAVIORS = sorted(b["name"] for b in DEFAULT_PROFILE["behaviors"])


wait_until = partial(wait_until, timeout_s=15.0)


def test_the_running_system_reports_and_clears_a_defender_violation(tmp_path):
    home = tmp_path / "home"
    registry = open_registry(Config(home=home))
    creds = {name: registry.register_device(name, site="lab") for name in ("room-bad", "room-good")}
    cfg = parse_run_config({
        "home": str(home), "site": "lab", "model": {"poll_s": 0},
        "coordinator": {"health_interval_s": 0, "restart_min_s": 0.1},
        "alarms": {"enabled": False}, "learning": {"enabled": False},
        "response": {"policy": {"poll_interval_s": 0.05}},
        "defender": {"period_s": 0.2},
        "dashboard": {"enabled": True, "port": 0}, "metrics": {"enabled": True, "port": 0}}, environ={})
    system = start_system(cfg)
    devices: list[DeviceClient] = []
    token, _ = TokenStore(bootstrap.metadata_store(cfg.base_config())).create("op", "viewer")
    auth = {"Authorization": f"Bearer {token}"}
    alerts = AlertStore(system.metadata)

    def gauge() -> dict[str, float]:
        scrape = httpx.get(system.health()["metrics"]["url"], headers=auth)
        assert scrape.status_code == 200
        return {s.labels["behavior"]: s.value for family in text_string_to_metric_families(scrape.text)
                for s in family.samples if s.name == "firesight_defender_violations"}

    def health() -> dict[str, dict]:
        state = httpx.get(system.health()["dashboard"]["url"] + "/api/state", headers=auth)
        assert state.status_code == 200
        return {d["thing"]: d["health"] for d in state.json()["devices"]}

    def reading(seq: int) -> bytes:
        return encode_scd41(co2_ppm=600.0 + seq, temperature_c=21.0, humidity_rh=40.0,
                            ts_ms=int(time.time() * 1000), seq=seq)

    try:
        assert system.health()["agents"]["defender"]["alive"]
        for name in ("room-good", "room-bad"):
            devices.append(DeviceClient(name, system.device_url, cert_path=creds[name].cert_path,
                                        key_path=creds[name].key_path, ca_path=creds[name].ca_path,
                                        site="lab").connect())
        good, bad = devices
        for seq in range(1, 4):
            good.publish(good.topic("scd41"), reading(seq), qos=1)
        bad.publish(bad.topic("scd41"), b"x" * 70_000, qos=1)

        # /metrics: one device in alarm for oversized_messages, every other behaviour at 0
        assert wait_until(lambda: gauge().get("oversized_messages") == 1.0), gauge()
        # (the gauge is process-wide: behaviours of profiles other tests in this process set
        # may linger in it; the built-in profile's must read exactly this)
        assert {k: v for k, v in gauge().items() if k in BEHAVIORS} == {**dict.fromkeys(BEHAVIORS, 0.0),
                                                                        "oversized_messages": 1.0}
        # the dashboard: the violation on the violating node only
        assert wait_until(lambda: health().get("room-bad", {}).get("violations") == ["oversized_messages"]), health()
        assert wait_until(lambda: "room-good" in health())  # its readings arrived ...
        assert not health()["room-good"].get("violations")  # ... and it violates nothing
        assert "defender:oversized_messages" not in health()["room-bad"].get("conditions", [])
        # the response path: a trouble alert for the violating node, none for the other
        assert wait_until(lambda: alerts.list(signal="trouble", thing="room-bad"))
        [trouble] = alerts.list(signal="trouble", thing="room-bad")
        assert (trouble["level"], trouble["site"], trouble["state"]) == ("defender:oversized_messages", "lab",
                                                                         "active")
        assert not alerts.list(signal="trouble", thing="room-good")
        report = system.health()["agents"]["defender"]
        assert report["violating"] == ["room-bad"] and report["devices"] == 2 and report["quarantined"] == 0

        # supervision: the loop dies, the coordinator restarts it; the violation is still known
        system.coordinator.agent("defender").service.stop()
        assert wait_until(lambda: system.health()["agents"]["defender"]["restarts"] == 1
                          and system.health()["agents"]["defender"]["alive"])
        assert system.health()["agents"]["defender"]["active_violations"] == 1
        assert gauge()["oversized_messages"] == 1.0

        # an ordinary message from the node clears it everywhere
        bad.publish(bad.topic("scd41"), reading(1), qos=1)
        assert wait_until(lambda: gauge().get("oversized_messages") == 0.0), gauge()
        assert wait_until(lambda: health()["room-bad"].get("violations") == []), health()
        assert wait_until(lambda: alerts.get(trouble["alert_id"])["state"] == "cleared")
    finally:
        for device in devices:
            device.close()
        report = system.stop()
    assert report["status"] == "stopped"
    assert system.coordinator.agent("defender") is None


def test_defender_can_be_turned_off(tmp_path):
    cfg = parse_run_config({"home": str(tmp_path / "home"), "site": "lab", "model": {"poll_s": 0},
                            "coordinator": {"health_interval_s": 0}, "alarms": {"enabled": False},
                            "learning": {"enabled": False}, "response": {"enabled": False}},
                           environ={"FIRESIGHT_DEFENDER_ENABLED": "false"})
    system = start_system(cfg)
    try:
        assert "defender" not in system.health()["agents"]
    finally:
        system.stop()


def test_on_mosquitto_the_defender_counts_each_device_message_once_through_the_ingest_tap(tmp_path):
    """Mosquitto has no event hooks: the Defender counts the device messages the monitoring
    agent's ingest gateway receives (no second delivery of every frame to a subscription of
    its own) and subscribes only to the ``features`` stream, which the monitoring agent does
    not take. Each message is counted exactly once, an oversized one still raises the
    violation, and a ``features`` message still counts."""
    from firesight.iot.mosquitto import MosquittoBroker, find_mosquitto, free_port

    if find_mosquitto() is None:
        pytest.skip("mosquitto binary not installed (run `make system-deps`)")
    home = tmp_path / "home"
    registry = open_registry(Config(home=home))
    for name in ("monitoring-local", "analysis-local", "shadow-service", "defender-local"):
        registry.register_service(name)
    creds = {name: registry.register_device(name, site="lab") for name in ("room-bad", "room-good")}
    broker = MosquittoBroker(registry, port=free_port(), workdir=tmp_path / "mosq")
    broker.start()
    cfg = parse_run_config({
        "home": str(home), "site": "lab", "broker": {"url": broker.url}, "model": {"poll_s": 0},
        "coordinator": {"health_interval_s": 0, "restart_min_s": 0.1},
        "alarms": {"enabled": False}, "learning": {"enabled": False}, "response": {"enabled": False},
        "defender": {"period_s": 0.2}}, environ={})
    system = start_system(cfg)
    devices: list[DeviceClient] = []
    try:
        agent = system.coordinator.agent("defender")
        defender = agent.defender
        for name in ("room-good", "room-bad"):
            devices.append(DeviceClient(name, broker.url, cert_path=creds[name].cert_path,
                                        key_path=creds[name].key_path, ca_path=creds[name].ca_path,
                                        site="lab").connect())
        good, bad = devices
        monitoring = system.coordinator.agent("monitoring")
        assert wait_until(lambda: monitoring.gateway.filters)  # subscribed before the first publish
        for seq in range(1, 6):
            good.publish(good.topic("scd41"), reading_payload(seq), qos=1)
        good.publish(good.topic("features"), b'{"not": "checked by the counter"}', qos=1)
        bad.publish(bad.topic("scd41"), b"x" * 70_000, qos=1)

        def sent(thing: str) -> int:
            return defender.metric_value(thing, "aws:num-messages-sent", 3600.0)

        # positive control first: every message arrived and was counted ...
        assert wait_until(lambda: sent("room-good") >= 6 and sent("room-bad") >= 1), (sent("room-good"),
                                                                                    sent("room-bad"))
        time.sleep(1.0)  # ... and nothing is counted a second time once deliveries settle
        assert (sent("room-good"), sent("room-bad")) == (6, 1)
        # the frames reach this process once: the Defender's own client takes only features
        assert set(agent.client._subscriptions) == {device_filter("features", "lab")}  # noqa: SLF001
        assert wait_until(lambda: [v["thingName"] for v in defender.active_violations()] == ["room-bad"])
        assert defender.active_violations()[0]["behavior"]["name"] == "oversized_messages"
    finally:
        for device in devices:
            device.close()
        system.stop()
        broker.stop()


def reading_payload(seq: int) -> bytes:
    return encode_scd41(co2_ppm=600.0 + seq, temperature_c=21.0, humidity_rh=40.0,
                        ts_ms=int(time.time() * 1000), seq=seq)
