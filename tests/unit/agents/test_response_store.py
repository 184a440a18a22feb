"""The alert store on real SQLite files: conditional writes between two store instances
(two processes' view of one file), queries, id prefixes, maintenance windows, feedback."""

from __future__ import annotations

import pytest

from firesight.adapters.local import SQLiteMetadataStore
from firesight.agents.alert_store import AlertStore, alert_id_for, condition_key
from firesight.errors import ConflictError, InvalidParameterError, NotFoundError


def _alert(alert_id, thing="a", signal="alarm", state="active", opened_s=100.0, site="hq"):
    return {"alert_id": alert_id, "condition": condition_key(thing, signal, signal), "site": site, "thing": thing,
            "signal": signal, "level": signal, "state": state, "opened_s": opened_s, "stages": [], "history": []}


@pytest.fixture()
def two(tmp_path):
    path = str(tmp_path / "metadata.db")
    return AlertStore(SQLiteMetadataStore(path), lambda: 500.0), AlertStore(SQLiteMetadataStore(path), lambda: 600.0)


def test_a_write_in_between_is_not_overwritten(two):
    agent, shell = two
    agent.create_alert(_alert("abc123456789"))
    calls = []

    def change(a):  # the other process acknowledges between our read and our write
        calls.append(a["version"])
        if len(calls) == 1:
            shell.acknowledge("abc123456789", by="alice")
        a["note"] = "agent update"
        return a
    updated = agent.update_alert("abc123456789", change)
    assert calls == [1, 2]  # read again after the conflict
    assert updated["acknowledged_by"] == "alice" and updated["note"] == "agent update" and updated["version"] == 3
    with pytest.raises(ConflictError):  # a stale version is refused by the store itself
        agent.metadata.put("alerts", {**updated, "version": 3}, key="alert_id", expected_version=1)


def test_condition_is_claimed_once_and_released(two):
    a, b = two
    assert a.claim_condition("x|alarm|", "id-one") == "id-one"
    assert b.claim_condition("x|alarm|", "id-two") == "id-one"
    b.release_condition("x|alarm|", "id-two")  # not the owner: no effect
    assert a.active_alert_id("x|alarm|") == "id-one"
    a.release_condition("x|alarm|", "id-one")
    assert b.claim_condition("x|alarm|", "id-two") == "id-two"
    assert alert_id_for("e1") == alert_id_for("e1") != alert_id_for("e2")
    assert condition_key("n", "trouble", "offline") != condition_key("n", "trouble", "camera_failed")
    assert condition_key("n", "alarm", "alarm") == "n|alarm|"


def test_queries_filter_and_sort_newest_first(two):
    store, _ = two
    store.create_alert(_alert("aaaa00000001", thing="a", opened_s=100))
    store.create_alert(_alert("aaaa00000002", thing="b", signal="trouble", opened_s=200))
    store.create_alert(_alert("bbbb00000003", thing="a", state="resolved", opened_s=300, site="annex"))
    assert [x["alert_id"] for x in store.list()] == ["bbbb00000003", "aaaa00000002", "aaaa00000001"]
    assert [x["alert_id"] for x in store.list(thing="a", state="active")] == ["aaaa00000001"]
    assert [x["alert_id"] for x in store.list(site="annex")] == ["bbbb00000003"]
    assert [x["alert_id"] for x in store.list(signal="trouble")] == ["aaaa00000002"]
    assert [x["alert_id"] for x in store.list(since_s=150, until_s=250)] == ["aaaa00000002"]
    assert store.get("bbbb")["alert_id"] == "bbbb00000003"
    with pytest.raises(InvalidParameterError, match="prefix of one alert"):
        store.get("aaaa")
    with pytest.raises(NotFoundError):
        store.get("cccc")
    with pytest.raises(InvalidParameterError, match="state"):
        store.list(state="open")
    assert not store.create_alert(_alert("aaaa00000001"))  # ids are unique


def test_ack_resolve_feedback_and_their_record(two):
    store, _ = two
    store.create_alert(_alert("abcd00000001"))
    store.claim_condition(condition_key("a", "alarm", "alarm"), "abcd00000001")
    store.acknowledge("abcd", by="alice", note="going")
    again = store.acknowledge("abcd", by="bob")  # idempotent: the first acknowledgement stands
    assert again["acknowledged_by"] == "alice"
    resolved = store.resolve("abcd", by="carol", note="toaster")
    assert resolved["state"] == "resolved" and resolved["resolved_by"] == "carol"
    assert store.active_alert_id(condition_key("a", "alarm", "alarm")) is None
    with pytest.raises(ConflictError, match="resolved"):
        store.acknowledge("abcd", by="dave")
    fb = store.add_feedback("abcd", kind="false_alarm", by="carol")
    assert fb["feedback"][0]["kind"] == "false_alarm"
    with pytest.raises(InvalidParameterError, match="kind"):
        store.add_feedback("abcd", kind="maybe", by="x")
    actions = [r["action"] for r in store.acknowledgements("abcd00000001")]
    assert actions == ["acknowledge", "resolve", "feedback:false_alarm"]  # the no-op second ack is not a record


def test_maintenance_windows(two):
    store, _ = two
    site = store.add_maintenance(site="hq", from_s=100, until_s=200, reason="works")
    one = store.add_maintenance(site="annex", thing="boiler", from_s=150, until_s=400)
    assert store.maintenance_for("hq", "any", 150)["window_id"] == site["window_id"]
    assert store.maintenance_for("hq", "any", 200) is None  # the end is exclusive
    assert store.maintenance_for("annex", "boiler", 300)["window_id"] == one["window_id"]
    assert store.maintenance_for("annex", "kitchen", 300) is None
    store.remove_maintenance(site["window_id"])
    assert [w["window_id"] for w in store.maintenance_windows()] == [one["window_id"]]
    with pytest.raises(NotFoundError):
        store.remove_maintenance("nope")
    with pytest.raises(InvalidParameterError, match="until_s"):
        store.add_maintenance(site="hq", from_s=10, until_s=5)
