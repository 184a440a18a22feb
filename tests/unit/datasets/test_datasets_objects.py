"""Single files at a path or URL go through the object-store port (bootstrap picks it):
split into folder and name, read, written atomically, and folders told from files."""

from __future__ import annotations

import os
import uuid

import pytest

from firesight.datasets.objects import is_folder, object_at, read_object, split_location, write_object
from firesight.errors import InvalidParameterError, NotFoundError


def test_split_location(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert split_location("x.parquet") == (str(tmp_path), "x.parquet")
    assert split_location(str(tmp_path / "a" / "b.json")) == (str(tmp_path / "a"), "b.json")
    assert split_location("s3://bucket/run/features.parquet") == ("s3://bucket/run", "features.parquet")
    assert split_location("memory://box/f.bin") == ("memory://box", "f.bin")
    for bad in ("s3://bucket", "s3://bucket/", "memory://"):
        with pytest.raises(InvalidParameterError, match="a file URL"):
            split_location(bad)


def test_local_file_roundtrip_and_atomic_replace(tmp_path, monkeypatch):
    target = tmp_path / "sub" / "f.bin"
    assert write_object(str(target), b"old") == str(target)
    assert read_object(str(target)) == b"old"
    store, key = object_at(str(target))
    assert key == "f.bin" and store.local_path(key) == str(target)

    def full_disk(fd):
        os.ftruncate(fd, 1)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space"):
        write_object(str(target), b"new content")
    monkeypatch.undo()
    assert target.read_bytes() == b"old"
    assert os.listdir(target.parent) == ["f.bin"]  # no temporary file left
    with pytest.raises(NotFoundError):
        read_object(str(tmp_path / "missing.bin"))


def test_url_roundtrip_through_the_fsspec_adapter():
    root = f"memory://objects-{uuid.uuid4().hex}"
    url = f"{root}/run/f.bin"
    assert write_object(url, b"payload") == url  # no local path: the URL is shown
    assert read_object(url) == b"payload"
    assert is_folder(f"{root}/run") and is_folder(f"{root}/run/")
    assert not is_folder(url)
    assert not is_folder(f"{root}/nothing-here")
    with pytest.raises(NotFoundError):
        read_object(f"{root}/run/missing.bin")


def test_local_folders(tmp_path):
    (tmp_path / "f").write_bytes(b"")
    assert is_folder(str(tmp_path)) and not is_folder(str(tmp_path / "f"))
    assert not is_folder(str(tmp_path / "missing"))
