"""Single files named by a path or URL, read and written through the object-store port.

Commands take single files as a local path or a URL (``--out run/features.parquet``,
``s3://bucket/run/features.parquet``). :func:`object_at` splits such a location into the
object store of its folder, made by :func:`firesight.bootstrap.object_store` (the one place
that picks adapters), and the file's key in it. Callers then read and write through the
:class:`~firesight.ports.ObjectStore` port like the dataset reader and writer do: local
writes are atomic (:mod:`firesight._atomic`), S3 writes are single PUTs with the
configured KMS key, and no caller opens fsspec or boto3 itself.
"""

from __future__ import annotations

import os

from firesight.errors import InvalidParameterError
from firesight.ports import ObjectStore


def split_location(url: str) -> tuple[str, str]:
    """The folder (path or URL) holding the file ``url``, and the file's name.

    A local path is made absolute first (``x.parquet`` -> the current folder). A URL must
    name a file below its bucket or root (``s3://bucket/x.parquet``, not ``s3://bucket``).
    """
    text = str(url)
    if "://" in text:
        scheme, rest = text.split("://", 1)
        folder, _, name = rest.rstrip("/").rpartition("/")
        if not name or not folder:
            raise InvalidParameterError("url", "a file URL below a bucket or folder", text)
        return f"{scheme}://{folder}", name
    path = os.path.abspath(text)
    return os.path.dirname(path), os.path.basename(path)


def object_at(url: str) -> tuple[ObjectStore, str]:
    """The object store of the folder that holds the file ``url``, and the file's key."""
    from firesight import bootstrap

    folder, name = split_location(url)
    return bootstrap.object_store(folder), name


def location_of(store: ObjectStore, key: str) -> str:
    """What to show a user for ``key`` of ``store``: its local path, else its URL."""
    return store.local_path(key) or store.fs_url(key)


def is_folder(url: str) -> bool:
    """Whether ``url`` is a folder (an object-store prefix with objects under it)."""
    text = str(url)
    if "://" not in text:
        return os.path.isdir(text)
    from firesight import bootstrap

    return bool(bootstrap.object_store(text.rstrip("/")).children(""))


def read_object(url: str) -> bytes:
    """The bytes of the file at ``url``; :class:`firesight.errors.NotFoundError` if absent."""
    store, key = object_at(url)
    return store.get_bytes(key)


def write_object(url: str, data: bytes) -> str:
    """Write ``data`` to the file at ``url`` atomically (old or new content, never half);
    return :func:`location_of` the written file."""
    store, key = object_at(url)
    store.put_bytes(key, data)
    return location_of(store, key)
