"""Ports: the small abstract interfaces that domain code depends on.

Each of the five ports has a local and an AWS adapter (``firesight.adapters.aws``):

- ``ObjectStore``: ``adapters.local.FsspecObjectStore``; ``S3ObjectStore``.
- ``MetadataStore``: ``adapters.local.SQLiteMetadataStore``; ``DynamoDBMetadataStore``.
- ``MessageQueue``: ``adapters.local.SQLiteMessageQueue``; ``SQSMessageQueue``.
- ``ModelRegistry``: ``registry.mlflow_registry.MLflowModelRegistry``;
  ``SageMakerModelRegistry``.
- ``Notifier``: ``notify.channels`` (e-mail, webhook, console); ``SNSNotifier``.

:mod:`firesight.bootstrap` picks them for the services and commands; benchmarks and the
fuzzer build throwaway local stores in temporary folders. The other AWS clients (IoT Core
and IoT Data, the SageMaker endpoint, CloudWatch, Step Functions) have no port: their
local counterparts are the embedded broker, ``firesight serve``, ``firesight.ops`` and the
local state-machine runner.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
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

    @property
    def storage_options(self) -> dict[str, Any]:
        """fsspec ``storage_options`` that open :meth:`fs_url` URLs (endpoint, region)."""
        return {}

    def local_path(self, key: str = "") -> str | None:
        """The local filesystem path of ``key`` when the store is a local folder, else None."""
        return None

    def children(self, prefix: str = "") -> list[str]:
        """Names of the immediate children (objects and "folders") under ``prefix``, sorted."""
        base = prefix.strip("/")
        cut = len(base) + 1 if base else 0
        return sorted({k[cut:].split("/", 1)[0] for k in self.list(base) if k[cut:]})

    def put_folder(self, local_dir: str, key: str) -> None:
        """Replace everything under ``key`` with the files of the local folder ``local_dir``,
        which the store may consume (a local store renames it into place)."""
        import os

        self.delete(key)
        for root, _dirs, files in os.walk(local_dir):
            for name in sorted(files):
                path = os.path.join(root, name)
                rel = os.path.relpath(path, local_dir).replace(os.sep, "/")
                with open(path, "rb") as fh:
                    self.put_bytes(f"{key.rstrip('/')}/{rel}", fh.read())


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

    @abc.abstractmethod
    def configure_redrive(self, queue: str, *, max_receives: int,
                          dead_letter_queue: str | None = None) -> None:
        """After ``max_receives`` receives without a delete, a message of ``queue`` moves to
        ``dead_letter_queue`` (default ``queue + "-dlq"``) on the next receive attempt."""


class ModelRegistry(abc.ABC):
    """Versions of the detector model with SageMaker Model Registry approval states
    (``PendingManualApproval`` when registered, then ``Approved`` or ``Rejected``).

    A version is listed as ``{"version", "status", "created_ms", "source", "data_ref",
    "code_version", "metrics", ...}``; versions are strings of increasing integers.
    """

    model_name: str

    @abc.abstractmethod
    def register(self, bundle_dir: Any, *, metrics: Mapping[str, float], params: Mapping[str, Any],
                 feature_names: Mapping[str, list[str]], data_ref: str, code_version: str,
                 description: str = "") -> str:
        """Store the model folder ``bundle_dir`` as a new ``PendingManualApproval`` version;
        return its version."""

    @abc.abstractmethod
    def list_versions(self) -> list[Item]:
        """Every version, newest first."""

    @abc.abstractmethod
    def set_status(self, version: str, status: str) -> Item:
        """Set the approval state of ``version``; return its listing entry. Raises
        :class:`firesight.errors.NotFoundError` for an unknown version."""

    @abc.abstractmethod
    def fetch(self, version: str, dst: Any) -> Any:
        """Copy the model folder of ``version`` into the folder ``dst``; return its path."""

    def approve(self, version: str) -> Item:
        return self.set_status(version, "Approved")

    def reject(self, version: str) -> Item:
        return self.set_status(version, "Rejected")

    def approved_version(self) -> Item | None:
        """The newest ``Approved`` version, or None."""
        return next((v for v in self.list_versions() if v["status"] == "Approved"), None)

    def exists(self) -> bool:
        """Whether the registry has been created (loading a model never creates one)."""
        return True


@dataclass(frozen=True)
class Notification:
    """One message to one person or system, as a notification channel sends it.

    Parameters
    ----------
    delivery_key : str
        Unique per (alert, stage, channel); channels pass it on as an idempotency key
        (``Idempotency-Key`` header, e-mail ``Message-ID``) so a receiver can drop a resend.
    subject : str
        One line: what, where, how serious.
    text : str
        The plain-text body an operator reads.
    severity : str
        The alert signal (``alarm``, ``watch``, ``supervisory``, ``trouble``).
    data : dict
        The same facts as JSON (alert id, site, thing, probability, times, ack command...).
    """

    delivery_key: str
    subject: str
    text: str
    severity: str
    data: dict[str, Any] = field(default_factory=dict)


class Notifier(abc.ABC):
    """A notification channel (SMTP e-mail, webhook, Slack, console; SNS on AWS).

    ``send`` delivers one notification once, without retrying (the caller retries with
    backoff), and raises :class:`firesight.errors.DeliveryError` when the channel did not
    accept it (``transient=True`` when a retry may succeed).
    """

    #: Channel kind (``email``, ``webhook``, ``slack``, ``console``, ``sns``).
    kind: str = ""

    @abc.abstractmethod
    def send(self, notification: Notification) -> None: ...

    def send_committing(self, notification: Notification, commit: Callable[[], None]) -> None:
        """Send like :meth:`send`, calling ``commit()`` just before the step after which the
        notification may count as delivered (an SMTP channel: after connecting, TLS, AUTH,
        MAIL and RCPT, before DATA). The caller records "sending" in ``commit``; if
        ``commit`` raises, nothing is sent. Default: ``commit()`` then :meth:`send`."""
        commit()
        self.send(notification)

    def close(self) -> None:
        """Release connections (nothing by default)."""
