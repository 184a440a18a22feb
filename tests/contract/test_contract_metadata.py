"""MetadataStore contract, conditional writes included: the same assertions on SQLite and
on DynamoDB (moto), and two processes racing read-modify-write on each."""

from __future__ import annotations

import multiprocessing

import pytest

from firesight.errors import ConflictError, InvalidParameterError
from support.stores import increment_with_versions


def test_put_get_delete_roundtrip(metadata_store):
    item = {"id": "n1", "name": "kitchen", "count": 3, "ratio": 0.25, "ok": True, "none": None,
            "tags": ["a", "b"], "nested": {"co2_ppm": 412.5, "list": [1, 2.5]}}
    metadata_store.put("things", item, key="id")
    assert metadata_store.get("things", "n1") == item
    assert metadata_store.get("things", "absent") is None
    metadata_store.put("things", {**item, "count": 4}, key="id")          # plain put replaces
    assert metadata_store.get("things", "n1")["count"] == 4
    metadata_store.delete("things", "n1")
    assert metadata_store.get("things", "n1") is None
    metadata_store.delete("things", "n1")                                  # absent: no error


def test_sort_keys_query_filters_and_limit(metadata_store):
    for site, room, family, fire in [("s1", "b", "tf1", True), ("s1", "a", "toaster", False),
                                     ("s2", "a", "tf1", True), ("s1", "c", "tf1", False)]:
        metadata_store.put("rooms", {"site": site, "room": room, "family": family, "fire": fire},
                           key="site", sort_key="room")
    assert metadata_store.get("rooms", "s1", "a")["family"] == "toaster"
    assert [i["room"] for i in metadata_store.query("rooms", "s1")] == ["a", "b", "c"]
    assert [(i["site"], i["room"]) for i in metadata_store.query("rooms")] == \
        [("s1", "a"), ("s1", "b"), ("s1", "c"), ("s2", "a")]
    assert [(i["site"], i["room"]) for i in metadata_store.query("rooms", where={"family": "tf1"})] == \
        [("s1", "b"), ("s1", "c"), ("s2", "a")]
    assert [i["room"] for i in metadata_store.query("rooms", "s1", where={"fire": True})] == ["b"]
    assert [i["room"] for i in metadata_store.query("rooms", "s1", where={"fire": False})] == ["a", "c"]
    assert [i["room"] for i in metadata_store.query("rooms", "s1", limit=2)] == ["a", "b"]
    assert len(metadata_store.query("rooms", where={"family": "tf1"}, limit=1)) == 1
    assert metadata_store.query("rooms", "s9") == []
    assert len(list(metadata_store.scan("rooms"))) == 4


def test_if_absent(metadata_store):
    metadata_store.put("certs", {"id": "c1", "status": "ACTIVE"}, key="id", if_absent=True)
    with pytest.raises(ConflictError):
        metadata_store.put("certs", {"id": "c1", "status": "REVOKED"}, key="id", if_absent=True)
    assert metadata_store.get("certs", "c1")["status"] == "ACTIVE"   # the refused write left no trace


def test_expected_version(metadata_store):
    t = "shadows"
    metadata_store.put(t, {"id": "n1", "version": 1, "v": "a"}, key="id", expected_version=0)
    with pytest.raises(ConflictError):               # no longer absent
        metadata_store.put(t, {"id": "n1", "version": 1, "v": "b"}, key="id", expected_version=0)
    metadata_store.put(t, {"id": "n1", "version": 2, "v": "c"}, key="id", expected_version=1)
    with pytest.raises(ConflictError):               # a stale writer
        metadata_store.put(t, {"id": "n1", "version": 2, "v": "lost"}, key="id", expected_version=1)
    assert metadata_store.get(t, "n1") == {"id": "n1", "version": 2, "v": "c"}
    # an item without a version counts as version 0
    metadata_store.put(t, {"id": "n2", "v": "plain"}, key="id")
    metadata_store.put(t, {"id": "n2", "v": "versioned", "version": 1}, key="id", expected_version=0)
    assert metadata_store.get(t, "n2")["version"] == 1


def test_bad_items_are_refused_with_typed_errors(metadata_store):
    with pytest.raises(InvalidParameterError, match="id"):
        metadata_store.put("t", {"name": "no key"}, key="id")
    with pytest.raises(InvalidParameterError, match="where"):
        metadata_store.query("t", where={"x') OR 1=1 --": 1})
    with pytest.raises(InvalidParameterError):
        metadata_store.put("t", {"id": "nan", "value": float("nan")}, key="id")
    assert metadata_store.get("t", "nan") is None


def test_two_processes_racing_lose_no_update(metadata_spec):
    """Two processes each add 1 to a counter 15 times by read-modify-write guarded by
    ``expected_version``: the final count is 30 and version 30, whatever the interleaving."""
    times = 15
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        conflicts = pool.starmap(increment_with_versions, [(metadata_spec, "race", "k", times)] * 2)
    from support.stores import open_metadata_store

    item = open_metadata_store(metadata_spec).get("race", "k")
    assert item["count"] == 2 * times and item["version"] == 2 * times
    assert all(c >= 0 for c in conflicts)
