"""Amazon SNS: alert fan-out topics and subscriptions, and a :class:`firesight.ports.Notifier`
that publishes to a topic.

One topic per alert stream; subscribers (e-mail, SMS, HTTPS webhooks / Slack via a relay,
SQS queues of other services) choose what they get with a filter policy on the message
attributes the notifier sets: ``severity`` (``alarm``, ``watch``, ``supervisory``,
``trouble``), ``site`` and ``thing``.

References
----------
1. Amazon SNS Developer Guide, "Amazon SNS message filtering" (filter policies on message
   attributes), "Publishing to a topic" (``Subject`` up to 100 characters, message up to
   256 KB), "Amazon SNS message delivery retries".
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from firesight.adapters.aws._session import AwsSettings, ClientFactory, error_code, translate
from firesight.errors import DeliveryError, InvalidParameterError, require
from firesight.ports import Notification, Notifier

#: Subscription protocols firesight uses.
PROTOCOLS = ("email", "email-json", "sms", "https", "http", "sqs", "lambda")
#: SNS error codes after which a retry may succeed.
_TRANSIENT = frozenset({"Throttling", "ThrottlingException", "InternalError", "InternalFailure",
                        "ServiceUnavailable", "KMSThrottling", "RequestTimeout"})
MAX_SUBJECT_CHARS = 100
MAX_MESSAGE_BYTES = 262_144


class SNSTopics:
    """Create topics and subscriptions (the template does this in a deployment; this is for
    development, tests and ``firesight`` commands that add a subscriber)."""

    def __init__(self, settings: AwsSettings | None = None):
        self._clients = ClientFactory(settings or AwsSettings())

    @property
    def client(self) -> Any:
        return self._clients.client("sns")

    def create_topic(self, name: str, *, kms_key_id: str = "") -> str:
        """Create (or find) topic ``name``; return its ARN."""
        attributes = {"KmsMasterKeyId": kms_key_id} if kms_key_id else {}
        try:
            return self.client.create_topic(Name=name, Attributes=attributes)["TopicArn"]
        except Exception as exc:
            raise translate(exc, f"create topic {name}") from exc

    def subscribe(self, topic_arn: str, protocol: str, endpoint: str, *,
                  filter_policy: Mapping[str, Any] | None = None, raw_delivery: bool = False) -> str:
        """Subscribe ``endpoint``; with ``filter_policy`` it receives only matching
        messages (e.g. ``{"severity": ["alarm"]}`` for an SMS to the fire brigade contact)."""
        require(protocol in PROTOCOLS, "protocol", f"one of {PROTOCOLS}", protocol)
        attributes: dict[str, str] = {}
        if filter_policy:
            attributes["FilterPolicy"] = json.dumps(dict(filter_policy))
        if raw_delivery:
            attributes["RawMessageDelivery"] = "true"
        try:
            return self.client.subscribe(TopicArn=topic_arn, Protocol=protocol, Endpoint=endpoint,
                                         Attributes=attributes, ReturnSubscriptionArn=True)["SubscriptionArn"]
        except Exception as exc:
            raise translate(exc, f"subscribe {protocol}:{endpoint}") from exc

    def subscriptions(self, topic_arn: str) -> list[dict[str, str]]:
        out = []
        paginator = self.client.get_paginator("list_subscriptions_by_topic")
        for page in paginator.paginate(TopicArn=topic_arn):
            out.extend({"arn": s["SubscriptionArn"], "protocol": s["Protocol"], "endpoint": s["Endpoint"]}
                       for s in page.get("Subscriptions", []))
        return out


class SNSNotifier(Notifier):
    """Publish each notification to one SNS topic, with ``severity`` / ``site`` / ``thing``
    message attributes for subscription filter policies.

    The message is SNS's JSON structure: the plain text by default, a short text for SMS
    and the JSON facts (``data``) for ``email-json``, ``sqs``, ``https`` and ``lambda``
    subscribers. The delivery key travels as the ``delivery_key`` attribute (and as the
    FIFO deduplication id on a ``.fifo`` topic) so receivers can drop a resend.
    """

    kind = "sns"

    def __init__(self, topic_arn: str, *, settings: AwsSettings | None = None):
        require(isinstance(topic_arn, str) and topic_arn.startswith("arn:"), "topic_arn",
                "an SNS topic ARN", topic_arn)
        self.topic_arn = topic_arn
        self._clients = ClientFactory(settings or AwsSettings())

    def message(self, notification: Notification) -> dict[str, Any]:
        """The ``Publish`` arguments for ``notification``."""
        data = {**notification.data, "delivery_key": notification.delivery_key,
                "severity": notification.severity, "subject": notification.subject}
        facts = json.dumps(data, sort_keys=True, default=str)
        body = json.dumps({"default": notification.text, "sms": notification.subject[:140],
                           "email-json": facts, "sqs": facts, "https": facts, "http": facts, "lambda": facts})
        if len(body.encode("utf-8")) > MAX_MESSAGE_BYTES:
            raise DeliveryError(f"notification {notification.delivery_key}: message over SNS's "
                                f"{MAX_MESSAGE_BYTES} bytes", transient=False)
        attributes = {"severity": notification.severity, "delivery_key": notification.delivery_key}
        for name in ("site", "thing"):
            if notification.data.get(name):
                attributes[name] = str(notification.data[name])
        args: dict[str, Any] = {
            "TopicArn": self.topic_arn, "Message": body, "MessageStructure": "json",
            "Subject": _subject(notification.subject),
            "MessageAttributes": {k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
        }
        if self.topic_arn.endswith(".fifo"):
            args["MessageDeduplicationId"] = notification.delivery_key[:128]
            args["MessageGroupId"] = str(notification.data.get("site", "firesight"))[:128]
        return args

    def send(self, notification: Notification) -> None:
        try:
            self._clients.client("sns").publish(**self.message(notification))
        except DeliveryError:
            raise
        except Exception as exc:
            code = error_code(exc)
            raise DeliveryError(f"SNS publish to {self.topic_arn}: {code or type(exc).__name__}: {exc}",
                                transient=code in _TRANSIENT or not code) from exc


def _subject(subject: str) -> str:
    """SNS subjects: 1..100 printable characters, no line breaks."""
    clean = " ".join(str(subject).split())
    if not clean:
        raise InvalidParameterError("subject", "a non-empty one-line subject", subject)
    return clean[:MAX_SUBJECT_CHARS]
