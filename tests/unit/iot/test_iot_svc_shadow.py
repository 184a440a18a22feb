"""Device shadow semantics (AWS IoT Core Developer Guide, "Device Shadow service documents",
"Device Shadow error messages"), checked on the transport-free ShadowManager."""

import json

import pytest

from firesight.adapters.local.metadata import SQLiteMetadataStore
from firesight.iot.shadow import (ShadowManager, ShadowRejected, delta_state, effective_device_config,
                                  parse_shadow_topic, shadow_topic)


class Clock:
    def __init__(self, t=1_700_000_000.0):
        self.t = t

    def __call__(self):
        return self.t


@pytest.fixture()
def manager(tmp_path):
    return ShadowManager(SQLiteMetadataStore(str(tmp_path / "meta.db")), clock=Clock())


def _msgs(out):
    return {topic: json.loads(payload) for topic, payload in out}


def test_update_creates_versions_metadata_and_delta(manager):
    out = manager.update("node-1", {"state": {"desired": {"edge_mode": "features", "ffc_interval_s": 300}},
                                    "clientToken": "tok-1"})
    assert out["accepted"]["version"] == 1
    assert out["accepted"]["clientToken"] == "tok-1"
    assert out["accepted"]["metadata"]["desired"]["edge_mode"] == {"timestamp": 1_700_000_000}
    assert out["delta"]["state"] == {"edge_mode": "features", "ffc_interval_s": 300}
    assert out["documents"]["previous"] is None
    manager._clock.t += 10
    out = manager.update("node-1", {"state": {"reported": {"edge_mode": "features", "firmware": "1.2.0"}}})
    assert out["accepted"]["version"] == 2
    assert "delta" not in out  # reported-only updates publish no delta
    assert out["documents"]["previous"]["version"] == 1
    assert out["documents"]["current"]["state"]["reported"]["firmware"] == "1.2.0"
    doc = manager.get("node-1")
    assert doc["state"]["delta"] == {"ffc_interval_s": 300}
    assert doc["metadata"]["reported"]["firmware"] == {"timestamp": 1_700_000_010}
    assert doc["metadata"]["desired"]["ffc_interval_s"] == {"timestamp": 1_700_000_000}


def test_null_deletes_a_key_and_a_section(manager):
    manager.update("n", {"state": {"desired": {"a": 1, "b": {"c": 2, "d": 3}}, "reported": {"x": 1}}})
    manager.update("n", {"state": {"desired": {"a": None, "b": {"c": None}}}})
    doc = manager.get("n")
    assert doc["state"]["desired"] == {"b": {"d": 3}}
    assert "a" not in doc["metadata"]["desired"] and "c" not in doc["metadata"]["desired"]["b"]
    manager.update("n", {"state": {"reported": None}})
    assert "reported" not in manager.get("n")["state"]


def test_version_conflict_is_409_and_leaves_the_document(manager):
    manager.update("n", {"state": {"desired": {"a": 1}}})
    with pytest.raises(ShadowRejected) as err:
        manager.update("n", {"state": {"desired": {"a": 2}}, "version": 7})
    assert err.value.code == 409 and err.value.message == "Version conflict"
    assert manager.get("n")["state"]["desired"] == {"a": 1}
    assert manager.update("n", {"state": {"desired": {"a": 2}}, "version": 1})["accepted"]["version"] == 2


def test_state_over_8_kb_is_413(manager):
    with pytest.raises(ShadowRejected) as err:
        manager.update("n", {"state": {"reported": {"blob": "x" * 8200}}})
    assert err.value.code == 413
    manager.update("n", {"state": {"reported": {"blob": "x" * 4000}}})
    with pytest.raises(ShadowRejected) as err:  # the merged document counts, not just the request
        manager.update("n", {"state": {"desired": {"blob": "y" * 4200}}})
    assert err.value.code == 413


@pytest.mark.parametrize("payload, message", [
    (b"{not json", "Invalid JSON"),
    (b"[1, 2]", "Invalid JSON"),
    (b'{"desired": {}}', "Missing required node: state"),
    (b'{"state": 5}', "State node must be an object"),
    (b'{"state": {"desired": 5}}', "Desired node must be an object"),
    (b'{"state": {"delta": {}}}', "State contains an invalid node: 'delta'"),
    (b'{"state": {"desired": {"a": 1}}, "version": "3"}', "Invalid version"),
    (b'{"state": {"desired": {"a":{"b":{"c":{"d":{"e":{"f":{"g":1}}}}}}}}}',
     "JSON contains too many levels of nesting; maximum is 6"),
    (b'{"state": {"desired": {"edge_mode": "video"}}}', None),
    (b'{"state": {"desired": {"measurement_interval_s": 1}}}', None),
])
def test_bad_requests_are_rejected_with_400(manager, payload, message):
    out = _msgs(manager.handle("$aws/things/n/shadow/update", payload))
    err = out["$aws/things/n/shadow/update/rejected"]
    assert err["code"] == 400
    if message:
        assert err["message"] == message
    assert manager.counts["rejected_400"] == 1


def test_mqtt_handle_publishes_accepted_delta_documents_with_client_token(manager):
    out = _msgs(manager.handle("$aws/things/n/shadow/update",
                               b'{"state": {"desired": {"low_power_mode": true}}, "clientToken": "c9"}'))
    assert set(out) == {"$aws/things/n/shadow/update/accepted", "$aws/things/n/shadow/update/delta",
                        "$aws/things/n/shadow/update/documents"}
    assert all(doc["clientToken"] == "c9" for doc in out.values())
    got = _msgs(manager.handle("$aws/things/n/shadow/get", b'{"clientToken": "g"}'))
    assert got["$aws/things/n/shadow/get/accepted"]["state"]["delta"] == {"low_power_mode": True}
    missing = _msgs(manager.handle("$aws/things/ghost/shadow/get", b""))
    assert missing["$aws/things/ghost/shadow/get/rejected"]["code"] == 404
    assert manager.handle("$aws/things/n/shadow/update/accepted", b"{}") == []  # its own answers


def test_delete_then_recreate_continues_the_version(manager):
    manager.update("n", {"state": {"desired": {"a": 1}}})
    manager.update("n", {"state": {"desired": {"a": 2}}})
    assert manager.delete("n")["version"] == 2
    with pytest.raises(ShadowRejected) as err:
        manager.get("n")
    assert err.value.code == 404
    with pytest.raises(ShadowRejected):
        manager.delete("n")
    assert manager.update("n", {"state": {"reported": {"a": 2}}})["accepted"]["version"] == 3


def test_named_shadows_are_separate(manager):
    out = _msgs(manager.handle("$aws/things/n/shadow/name/health/update", b'{"state": {"reported": {"ok": true}}}'))
    assert "$aws/things/n/shadow/name/health/update/accepted" in out
    with pytest.raises(ShadowRejected):
        manager.get("n")
    assert manager.get("n", "health")["state"]["reported"] == {"ok": True}


def test_persisted_across_restart(tmp_path):
    path = str(tmp_path / "meta.db")
    first = ShadowManager(SQLiteMetadataStore(path), clock=Clock())
    first.update("n", {"state": {"desired": {"edge_mode": "features"}}})
    first.store.close()
    second = ShadowManager(SQLiteMetadataStore(path), clock=Clock())
    doc = second.get("n")
    assert doc["version"] == 1 and doc["state"]["desired"] == {"edge_mode": "features"}


def test_topics_and_delta_helpers():
    assert parse_shadow_topic("$aws/things/a-1/shadow/update").operation == "update"
    assert parse_shadow_topic("$aws/things/a/shadow/name/cfg/get").shadow_name == "cfg"
    assert parse_shadow_topic("$aws/things/a/shadow/get/accepted") is None
    assert shadow_topic("a", "update", "delta", "cfg") == "$aws/things/a/shadow/name/cfg/update/delta"
    assert delta_state({"a": 1, "b": {"c": 1, "d": 2}, "e": [1]}, {"a": 1, "b": {"c": 1}, "e": [2]}) == \
        {"b": {"d": 2}, "e": [1]}
    assert delta_state({"a": 1}, {"a": True}) == {"a": 1}  # JSON 1 is not true


def test_effective_config_honours_low_power_floor():
    cfg = effective_device_config({"desired": {"low_power_mode": True, "measurement_interval_s": 5}})
    assert cfg["measurement_interval_s"] == 30.0 and cfg["edge_mode"] == "frames"
