"""The one place that picks adapters from configuration."""

from __future__ import annotations

from pathlib import Path

from firesight.config import Config, load_config
from firesight.errors import InvalidParameterError
from firesight.ports import MessageQueue, MetadataStore, ObjectStore


def metadata_store(config: Config | None = None) -> MetadataStore:
    """The metadata store named by ``config.metadata_url`` (SQLite)."""
    cfg = (config or load_config()).resolved()
    url = cfg.metadata_url
    if url.startswith("sqlite:///"):
        from firesight.adapters.local.metadata import SQLiteMetadataStore

        return SQLiteMetadataStore(url[len("sqlite:///"):])
    raise InvalidParameterError("metadata_url", "sqlite:///PATH (the DynamoDB adapter is not part of this release)", url)


def object_store(url: str | None = None, config: Config | None = None) -> ObjectStore:
    """An object store at ``url`` (default: ``config.object_store_url``)."""
    from firesight.adapters.local.objectstore import FsspecObjectStore

    cfg = (config or load_config()).resolved()
    return FsspecObjectStore(url or cfg.object_store_url)


def message_queue(config: Config | None = None) -> MessageQueue:
    """The durable local queue (SQLite under ``config.home``), the SQS stand-in."""
    from firesight.adapters.local.queue import SQLiteMessageQueue

    cfg = (config or load_config()).resolved()
    return SQLiteMessageQueue(str(Path(cfg.home) / "queue.db"))
