"""Local adapters: fsspec folders and SQLite."""

from firesight.adapters.local.metadata import SQLiteMetadataStore
from firesight.adapters.local.objectstore import FsspecObjectStore

__all__ = ["FsspecObjectStore", "SQLiteMetadataStore"]
