"""Local adapters: fsspec folders and SQLite."""

from firesight.adapters.local.metadata import SQLiteMetadataStore
from firesight.adapters.local.objectstore import FsspecObjectStore
from firesight.adapters.local.queue import SQLiteMessageQueue

__all__ = ["FsspecObjectStore", "SQLiteMessageQueue", "SQLiteMetadataStore"]
