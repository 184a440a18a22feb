"""The local adapters behind the ports: SQLite metadata items and fsspec objects."""

import os
import threading

import pytest

from firesight.adapters.local import FsspecObjectStore, SQLiteMetadataStore
from firesight.bootstrap import metadata_store, object_store
from firesight.config import load_config
from firesight.errors import ConflictError, InvalidParameterError, NotFoundError


@pytest.fixture
def store(tmp_path):
    s = SQLiteMetadataStore(str(tmp_path / "meta.db"))
    yield s
    s.close()


def test_metadata_put_get_query_roundtrip(store):
    store.put("scenarios", {"id": "a", "family": "tf1", "label": "fire", "n": 2}, key="id")
    store.put("scenarios", {"id": "b", "family": "gas_stove", "label": "nuisance", "n": 3}, key="id")
    assert store.get("scenarios", "a")["family"] == "tf1"
    assert store.get("scenarios", "zzz") is None
    assert [i["id"] for i in store.query("scenarios", where={"label": "nuisance"})] == ["b"]
    assert [i["id"] for i in store.query("scenarios", where={"n": 2})] == ["a"]
    assert [i["id"] for i in store.query("scenarios")] == ["a", "b"]
    assert store.query("other") == []


def test_metadata_sort_key_and_conditional_put(store):
    store.put("versions", {"model": "m", "v": 1}, key="model", sort_key="v")
    store.put("versions", {"model": "m", "v": 2}, key="model", sort_key="v")
    assert [i["v"] for i in store.query("versions", key="m")] == [1, 2]
    with pytest.raises(ConflictError):
        store.put("versions", {"model": "m", "v": 2}, key="model", sort_key="v", if_absent=True)
    store.delete("versions", "m", "1")
    assert [i["v"] for i in store.query("versions", key="m")] == [2]


def test_metadata_rejects_bad_items_and_filters(store):
    with pytest.raises(InvalidParameterError, match="key attribute 'id'"):
        store.put("t", {"name": "x"}, key="id")
    with pytest.raises(InvalidParameterError, match="where"):
        store.query("t", where={"a'); DROP TABLE items; --": 1})
    with pytest.raises(ValueError):  # NaN is not JSON: refused, nothing stored
        store.put("t", {"id": "x", "v": float("nan")}, key="id")
    assert store.get("t", "x") is None


def test_metadata_is_shared_across_threads_and_reopens(tmp_path):
    path = str(tmp_path / "m.db")
    s = SQLiteMetadataStore(path)
    threads = [threading.Thread(target=lambda i=i: s.put("t", {"id": str(i)}, key="id")) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    s.close()
    again = SQLiteMetadataStore(path)
    assert len(again.query("t")) == 20


def test_object_store_atomic_put_list_delete(tmp_path):
    s = FsspecObjectStore(str(tmp_path / "objs"))
    s.put_bytes("a/b/c.bin", b"123")
    s.put_bytes("a/d.bin", b"4")
    assert s.get_bytes("a/b/c.bin") == b"123"
    assert s.list("a") == ["a/b/c.bin", "a/d.bin"]
    assert sorted(os.listdir(tmp_path / "objs" / "a")) == ["b", "d.bin"]  # no temporary file left
    with pytest.raises(NotFoundError):
        s.get_bytes("nope")
    s.delete("a/d.bin")
    assert not s.exists("a/d.bin")
    assert s.fs_url("x/y").endswith("objs/x/y")


def test_object_store_memory_url():
    s = FsspecObjectStore("memory://firesight-test")
    s.put_bytes("k", b"v")
    assert s.get_bytes("k") == b"v"


def test_bootstrap_uses_config(tmp_path):
    cfg = load_config({"FIRESIGHT_HOME": str(tmp_path)})
    assert cfg.metadata_url == f"sqlite:///{tmp_path / 'metadata.db'}"
    meta = metadata_store(cfg)
    meta.put("t", {"id": "1"}, key="id")
    assert (tmp_path / "metadata.db").exists()
    assert object_store(config=cfg).url == str(tmp_path / "objects")
    with pytest.raises(InvalidParameterError, match="metadata_url"):
        metadata_store(load_config({"FIRESIGHT_HOME": str(tmp_path), "FIRESIGHT_METADATA_URL": "mongo://x"}))
