"""ObjectStore contract: the same assertions on a local folder and on S3 (moto)."""

from __future__ import annotations

import pytest

from firesight.errors import NotFoundError


def test_put_get_overwrite_and_missing(object_store):
    data = bytes(range(256)) * 17
    object_store.put_bytes("a/b/c.bin", data)
    assert object_store.get_bytes("a/b/c.bin") == data
    object_store.put_bytes("a/b/c.bin", b"second")
    assert object_store.get_bytes("a/b/c.bin") == b"second"
    object_store.put_bytes("empty", b"")
    assert object_store.get_bytes("empty") == b""
    with pytest.raises(NotFoundError, match="nothing-here"):
        object_store.get_bytes("nothing-here")


def test_exists_list_children_are_path_like(object_store):
    for key in ("ds/manifest.parquet", "ds/scenarios/s1/x.json", "ds/scenarios/s2/y.json",
                "ds2/other", "dsx"):
        object_store.put_bytes(key, key.encode())
    assert object_store.exists("ds/manifest.parquet")
    assert object_store.exists("ds/scenarios")              # a "folder" exists when it holds objects
    assert not object_store.exists("ds/nothing")
    assert object_store.list("ds") == ["ds/manifest.parquet", "ds/scenarios/s1/x.json",
                                       "ds/scenarios/s2/y.json"]   # not ds2/ nor dsx
    assert object_store.list("ds/manifest.parquet") == ["ds/manifest.parquet"]
    assert object_store.list("nope") == []
    assert object_store.list() == sorted(["ds/manifest.parquet", "ds/scenarios/s1/x.json",
                                          "ds/scenarios/s2/y.json", "ds2/other", "dsx"])
    assert object_store.children("ds/scenarios") == ["s1", "s2"]
    assert object_store.children("ds") == ["manifest.parquet", "scenarios"]
    assert object_store.children("none") == []


def test_delete_is_recursive_and_idempotent(object_store):
    object_store.put_bytes("f/one", b"1")
    object_store.put_bytes("f/sub/two", b"2")
    object_store.put_bytes("keep", b"k")
    object_store.delete("f")
    assert object_store.list("f") == []
    assert not object_store.exists("f/sub/two")
    object_store.delete("f")            # absent: no error
    object_store.delete("f/one")
    assert object_store.get_bytes("keep") == b"k"


def test_put_folder_replaces_the_prefix(object_store, tmp_path):
    object_store.put_bytes("scenarios/s1/stale.json", b"old")
    staged = tmp_path / "staged"
    (staged / "thermal.zarr").mkdir(parents=True)
    (staged / "scenario.json").write_bytes(b'{"id": "s1"}')
    (staged / "thermal.zarr" / "zarr.json").write_bytes(b"{}")
    object_store.put_folder(str(staged), "scenarios/s1")
    assert object_store.list("scenarios/s1") == ["scenarios/s1/scenario.json", "scenarios/s1/thermal.zarr/zarr.json"]
    assert object_store.get_bytes("scenarios/s1/scenario.json") == b'{"id": "s1"}'


def test_fs_url_opens_with_fsspec(object_store):
    import fsspec

    object_store.put_bytes("dir/file.txt", b"via fsspec")
    url = object_store.fs_url("dir/file.txt")
    assert url.startswith(object_store.url)
    with fsspec.open(url, "rb", **object_store.storage_options) as fh:
        assert fh.read() == b"via fsspec"
