"""Ports: the small abstract interfaces that domain code depends on.

Each port has a local adapter (``firesight.adapters.local``) and an AWS adapter
(``firesight.adapters.aws``); :mod:`firesight.bootstrap` is the one place that picks them.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator, Mapping
from typing import Any

Item = dict[str, Any]


class ObjectStore(abc.ABC):
    """Bytes under keys, like S3. Keys use ``/`` separators, relative to the store root."""

    url: str

    @abc.abstractmethod
    def put_bytes(self, key: str, data: bytes) -> None:
        """Write ``data`` atomically: readers see the old object or the new, never half."""

    @abc.abstractmethod
    def get_bytes(self, key: str) -> bytes:
        """Read an object; raise :class:`firesight.errors.NotFoundError` if absent."""

    @abc.abstractmethod
    def exists(self, key: str) -> bool: ...

    @abc.abstractmethod
    def list(self, prefix: str = "") -> list[str]:
        """Keys under ``prefix``, sorted."""

    @abc.abstractmethod
    def delete(self, key: str) -> None:
        """Delete one object (no error if absent)."""

    @abc.abstractmethod
    def fs_url(self, key: str = "") -> str:
        """The fsspec URL of ``key`` (for libraries that open paths themselves: zarr, parquet)."""


class MetadataStore(abc.ABC):
    """Items in tables with a partition key and an optional sort key, like DynamoDB.

    Items are JSON-serialisable dicts. Two conditional writes (optimistic concurrency), each
    raising :class:`firesight.errors.ConflictError` when its condition fails, atomically with
    the write (DynamoDB's ``ConditionExpression``; one SQLite transaction):

    - ``if_absent=True``: only if no item has this key;
    - ``expected_version=N``: only if the stored item's ``version`` attribute equals ``N``
      (``expected_version=0``: only if the item is absent or has no ``version``).
    """

    @abc.abstractmethod
    def put(self, table: str, item: Item, *, key: str, sort_key: str | None = None,
            if_absent: bool = False, expected_version: int | None = None) -> None: ...

    @abc.abstractmethod
    def get(self, table: str, key: str, sort_key: str | None = None) -> Item | None: ...

    @abc.abstractmethod
    def delete(self, table: str, key: str, sort_key: str | None = None) -> None: ...

    @abc.abstractmethod
    def query(self, table: str, key: str | None = None,
              where: Mapping[str, Any] | None = None, limit: int | None = None) -> list[Item]:
        """Items of ``table`` (of partition ``key`` if given) whose top-level attributes equal
        every value in ``where``; sorted by (key, sort key)."""

    def scan(self, table: str) -> Iterator[Item]:
        yield from self.query(table)


class MessageQueue(abc.ABC):
    """A durable queue with visibility timeouts and a dead-letter queue, like SQS."""

    @abc.abstractmethod
    def send(self, queue: str, body: str, *, attributes: Mapping[str, str] | None = None) -> str:
        """Enqueue ``body``; return the message id."""

    @abc.abstractmethod
    def receive(self, queue: str, *, max_messages: int = 1,
                visibility_timeout_s: float = 30.0) -> list[Item]:
        """Up to ``max_messages`` messages as ``{"message_id", "receipt_handle", "body",
        "attributes", "receive_count"}``; they stay invisible for the timeout."""

    @abc.abstractmethod
    def delete(self, queue: str, receipt_handle: str) -> None:
        """Acknowledge a received message."""
