"""Object store over any fsspec URL (a local folder by default, ``s3://``, ``memory://``)."""

from __future__ import annotations

import os
import posixpath
import shutil

import fsspec

from firesight._atomic import write_bytes_atomic
from firesight.errors import NotFoundError
from firesight.ports import ObjectStore


class FsspecObjectStore(ObjectStore):
    """Objects under an fsspec URL. Local writes go to a temporary name then ``os.replace``
    (:func:`firesight._atomic.write_bytes_atomic`), so a reader never sees half an object;
    object stores (S3) are atomic per PUT."""

    def __init__(self, url: str, *, storage_options: dict | None = None):
        self.url = url.rstrip("/") if "://" in url else os.path.abspath(url)
        self._storage_options = dict(storage_options or {})
        self.fs, self.root = fsspec.core.url_to_fs(self.url, **self._storage_options)
        self._local = self.fs.protocol in ("file", ("file", "local")) or "file" in (
            self.fs.protocol if isinstance(self.fs.protocol, tuple) else (self.fs.protocol,))

    def _path(self, key: str) -> str:
        return posixpath.join(self.root, key) if key else self.root

    def put_bytes(self, key: str, data: bytes) -> None:
        path = self._path(key)
        if self._local:
            write_bytes_atomic(path, data)
        else:
            self.fs.pipe_file(path, data)

    def get_bytes(self, key: str) -> bytes:
        try:
            return self.fs.cat_file(self._path(key))
        except FileNotFoundError as exc:
            raise NotFoundError(f"no object {key!r} in {self.url}") from exc

    def exists(self, key: str) -> bool:
        return self.fs.exists(self._path(key))

    def list(self, prefix: str = "") -> list[str]:
        base = self._path(prefix)
        if not self.fs.exists(base):
            return []
        if self.fs.isfile(base):
            return [prefix]
        root = self.root.rstrip("/") + "/"
        return sorted(p[len(root):] if p.startswith(root) else p for p in self.fs.find(base))

    def delete(self, key: str) -> None:
        path = self._path(key)
        if self.fs.exists(path):
            self.fs.rm(path, recursive=True)

    def fs_url(self, key: str = "") -> str:
        return posixpath.join(self.url, key) if key else self.url

    @property
    def storage_options(self) -> dict:
        return dict(self._storage_options)

    def local_path(self, key: str = "") -> str | None:
        return self._path(key) if self._local else None

    def children(self, prefix: str = "") -> list[str]:
        base = self._path(prefix.strip("/"))
        if not self.fs.exists(base) or self.fs.isfile(base):
            return []
        return sorted(posixpath.basename(p.rstrip("/")) for p in self.fs.ls(base, detail=False))

    def put_folder(self, local_dir: str, key: str) -> None:
        target = self._path(key)
        if self._local:  # a rename within one filesystem: the folder appears whole
            if os.path.exists(target):
                shutil.rmtree(target)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            os.rename(local_dir, target)
            return
        self.delete(key)
        self.fs.put(local_dir.rstrip("/") + "/", target, recursive=True)
