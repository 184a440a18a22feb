"""Amazon SQS implementation of :class:`firesight.ports.MessageQueue`.

Queue ``q`` is the SQS queue ``{name_prefix}q``; unless it is itself a dead-letter queue it
gets a redrive policy to ``{name_prefix}q-dlq`` (``maxReceiveCount = max_receives``), so a
message received ``max_receives`` times without a delete moves there on the next receive,
exactly as :class:`firesight.adapters.local.queue.SQLiteMessageQueue` does.

References
----------
1. Amazon SQS Developer Guide, "Amazon SQS visibility timeout", "Using dead-letter queues"
   (``RedrivePolicy``, ``maxReceiveCount``), "Amazon SQS quotas".
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Mapping
from typing import Any

from firesight.adapters.aws._session import AwsSettings, ClientFactory, error_code, translate
from firesight.adapters.local.queue import (MAX_BODY_BYTES, MAX_MESSAGES_PER_RECEIVE,
                                            MAX_VISIBILITY_TIMEOUT_S, check_queue_name)
from firesight.errors import NotFoundError, require
from firesight.ports import Item, MessageQueue


class SQSMessageQueue(MessageQueue):
    """Named SQS queues with dead-letter queues.

    Parameters
    ----------
    name_prefix : str
        Prepended to every queue name (``firesight-prod-``).
    settings : AwsSettings
        Region and endpoint.
    max_receives : int
        Default redrive ``maxReceiveCount`` [receives]; ``0``: no dead-letter queue by default.
    dead_letter_suffix : str
        The default dead-letter queue of ``q`` is ``q + dead_letter_suffix``.
    create_queues : bool
        Create missing queues (and their DLQs) on first use; ``False`` when the template did.
    """

    def __init__(self, name_prefix: str = "", *, settings: AwsSettings | None = None,
                 max_receives: int = 5, dead_letter_suffix: str = "-dlq", create_queues: bool = True):
        require(max_receives >= 0, "max_receives", ">= 0", max_receives)
        self.name_prefix = name_prefix
        self.settings = settings or AwsSettings()
        self.max_receives = int(max_receives)
        self.dead_letter_suffix = dead_letter_suffix
        self.create_queues = create_queues
        self._clients = ClientFactory(self.settings)
        self._urls: dict[str, str] = {}
        self._lock = threading.Lock()

    @property
    def client(self) -> Any:
        return self._clients.client("sqs")

    def queue_name(self, queue: str) -> str:
        check_queue_name(queue)
        name = self.name_prefix + queue
        check_queue_name(name)
        return name

    def queue_url(self, queue: str) -> str:
        """The URL of ``queue``, created with its dead-letter queue if allowed and absent."""
        with self._lock:
            cached = self._urls.get(queue)
        if cached:
            return cached
        name = self.queue_name(queue)
        try:
            url = self.client.get_queue_url(QueueName=name)["QueueUrl"]
        except Exception as exc:
            if error_code(exc) not in ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist") \
                    or not self.create_queues:
                raise translate(exc, f"queue {name}") from exc
            url = self._create(queue)
        with self._lock:
            self._urls[queue] = url
        return url

    def _create(self, queue: str) -> str:
        attributes = {"VisibilityTimeout": "30", "MessageRetentionPeriod": str(14 * 86400),
                      "SqsManagedSseEnabled": "true"}
        is_dlq = queue.endswith(self.dead_letter_suffix)
        if not is_dlq and self.max_receives:
            dlq_url = self.queue_url(queue + self.dead_letter_suffix)
            attributes["RedrivePolicy"] = self._redrive_policy(dlq_url, self.max_receives)
        try:
            return self.client.create_queue(QueueName=self.queue_name(queue), Attributes=attributes)["QueueUrl"]
        except Exception as exc:
            raise translate(exc, f"create queue {self.queue_name(queue)}") from exc

    def _redrive_policy(self, dlq_url: str, max_receives: int) -> str:
        arn = self.client.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])
        return json.dumps({"deadLetterTargetArn": arn["Attributes"]["QueueArn"],
                           "maxReceiveCount": int(max_receives)})

    def configure_redrive(self, queue: str, *, max_receives: int,
                          dead_letter_queue: str | None = None) -> None:
        require(max_receives >= 1, "max_receives", ">= 1", max_receives)
        dlq = dead_letter_queue or queue + self.dead_letter_suffix
        require(dlq != queue, "dead_letter_queue", "a queue other than the source", dlq)
        policy = self._redrive_policy(self.queue_url(dlq), max_receives)
        try:
            self.client.set_queue_attributes(QueueUrl=self.queue_url(queue),
                                             Attributes={"RedrivePolicy": policy})
        except Exception as exc:
            raise translate(exc, f"redrive policy of {self.queue_name(queue)}") from exc

    # -- the port -----------------------------------------------------------------------------------
    def send(self, queue: str, body: str, *, attributes: Mapping[str, str] | None = None,
             delay_s: float = 0.0) -> str:
        require(isinstance(body, str), "body", "a str", type(body).__name__)
        size = len(body.encode("utf-8"))
        require(size <= MAX_BODY_BYTES, "body", f"at most {MAX_BODY_BYTES} bytes", size)
        require(0.0 <= delay_s <= 900.0, "delay_s", "within 0..900 s", delay_s)
        args: dict[str, Any] = {"QueueUrl": self.queue_url(queue), "MessageBody": body,
                                "DelaySeconds": int(math.ceil(delay_s))}
        if attributes:
            args["MessageAttributes"] = {str(k): {"DataType": "String", "StringValue": str(v)}
                                         for k, v in attributes.items()}
        try:
            return self.client.send_message(**args)["MessageId"]
        except Exception as exc:
            raise translate(exc, f"send to {self.queue_name(queue)}") from exc

    def receive(self, queue: str, *, max_messages: int = 1,
                visibility_timeout_s: float = 30.0, wait_time_s: int = 0) -> list[Item]:
        """As the port; ``visibility_timeout_s`` is rounded up to whole seconds (SQS's unit)."""
        require(1 <= max_messages <= MAX_MESSAGES_PER_RECEIVE, "max_messages",
                f"within 1..{MAX_MESSAGES_PER_RECEIVE}", max_messages)
        require(0.0 <= visibility_timeout_s <= MAX_VISIBILITY_TIMEOUT_S, "visibility_timeout_s",
                f"within 0..{MAX_VISIBILITY_TIMEOUT_S:g} s", visibility_timeout_s)
        require(0 <= wait_time_s <= 20, "wait_time_s", "within 0..20 s (long polling)", wait_time_s)
        try:
            response = self.client.receive_message(
                QueueUrl=self.queue_url(queue), MaxNumberOfMessages=int(max_messages),
                VisibilityTimeout=int(math.ceil(visibility_timeout_s)), WaitTimeSeconds=int(wait_time_s),
                MessageSystemAttributeNames=["ApproximateReceiveCount", "SentTimestamp"],
                MessageAttributeNames=["All"])
        except Exception as exc:
            raise translate(exc, f"receive from {self.queue_name(queue)}") from exc
        out = []
        for m in response.get("Messages", []):
            system = m.get("Attributes", {})
            out.append({"message_id": m["MessageId"], "receipt_handle": m["ReceiptHandle"],
                        "body": m["Body"],
                        "attributes": {k: v.get("StringValue", "") for k, v in
                                       m.get("MessageAttributes", {}).items()},
                        "receive_count": int(system.get("ApproximateReceiveCount", 1)),
                        "sent_at_s": int(system.get("SentTimestamp", 0)) / 1000.0})
        return out

    def delete(self, queue: str, receipt_handle: str) -> None:
        """Acknowledge a message. SQS accepts a stale handle silently (the message is then
        not deleted); an unknown or malformed one raises :class:`NotFoundError`."""
        try:
            self.client.delete_message(QueueUrl=self.queue_url(queue), ReceiptHandle=receipt_handle)
        except Exception as exc:
            if error_code(exc) in ("ReceiptHandleIsInvalid", "InvalidParameterValue"):
                raise NotFoundError(f"no message in queue {queue!r} with receipt handle "
                                    f"{receipt_handle!r}") from exc
            raise translate(exc, f"delete from {self.queue_name(queue)}") from exc

    def change_visibility(self, queue: str, receipt_handle: str, visibility_timeout_s: float) -> None:
        """Extend (or end, with 0) the invisibility of a received message [s]."""
        require(0.0 <= visibility_timeout_s <= MAX_VISIBILITY_TIMEOUT_S, "visibility_timeout_s",
                f"within 0..{MAX_VISIBILITY_TIMEOUT_S:g} s", visibility_timeout_s)
        try:
            self.client.change_message_visibility(QueueUrl=self.queue_url(queue), ReceiptHandle=receipt_handle,
                                                  VisibilityTimeout=int(math.ceil(visibility_timeout_s)))
        except Exception as exc:
            raise translate(exc, f"change visibility in {self.queue_name(queue)}") from exc

    def counts(self, queue: str) -> dict[str, int]:
        """``{"visible": n, "in_flight": n}`` from SQS's approximate counters."""
        attrs = self.client.get_queue_attributes(
            QueueUrl=self.queue_url(queue),
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
        return {"visible": int(attrs["ApproximateNumberOfMessages"]),
                "in_flight": int(attrs["ApproximateNumberOfMessagesNotVisible"])}

    def purge(self, queue: str) -> None:
        """Delete every message of ``queue`` (SQS allows one purge per 60 s)."""
        try:
            self.client.purge_queue(QueueUrl=self.queue_url(queue))
        except Exception as exc:
            raise translate(exc, f"purge {self.queue_name(queue)}") from exc
