"""The one place that picks adapters from configuration."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from firesight.config import Config, load_config
from firesight.errors import InvalidParameterError
from firesight.ports import MessageQueue, MetadataStore, ModelRegistry, Notifier, ObjectStore

if TYPE_CHECKING:
    from firesight.adapters.aws._session import AwsSettings
    from firesight.agents.alert_store import AlertStore


def aws_settings(config: Config | None = None) -> "AwsSettings":
    """Region and endpoint of the AWS adapters (``aws_region``, ``aws_endpoint_url``)."""
    from firesight.adapters.aws._session import AwsSettings

    cfg = (config or load_config()).resolved()
    return AwsSettings(region=cfg.aws_region, endpoint_url=cfg.aws_endpoint_url)


def _flag(query: Mapping[str, list[str]], name: str, default: bool) -> bool:
    values = query.get(name)
    if not values:
        return default
    value = values[-1].lower()
    if value not in ("true", "false", "1", "0"):
        raise InvalidParameterError(name, "true or false", values[-1])
    return value in ("true", "1")


def metadata_store(config: Config | None = None) -> MetadataStore:
    """The metadata store named by ``config.metadata_url``: ``sqlite:///PATH`` or
    ``dynamodb://TABLE_PREFIX[?create_tables=false]``."""
    cfg = (config or load_config()).resolved()
    url = cfg.metadata_url
    if url.startswith("sqlite:///"):
        from firesight.adapters.local.metadata import SQLiteMetadataStore

        return SQLiteMetadataStore(url[len("sqlite:///"):])
    if url.startswith("dynamodb://"):
        from firesight.adapters.aws.dynamodb import DynamoDBMetadataStore

        parts = urlsplit(url)
        return DynamoDBMetadataStore(parts.netloc + parts.path, settings=aws_settings(cfg),
                                     create_tables=_flag(parse_qs(parts.query), "create_tables", True))
    raise InvalidParameterError("metadata_url", "sqlite:///PATH or dynamodb://TABLE_PREFIX", url)


def object_store(url: str | None = None, config: Config | None = None) -> ObjectStore:
    """An object store at ``url`` (default: ``config.object_store_url``): ``s3://bucket/prefix``
    is the S3 adapter (SSE-KMS with ``config.kms_key_id``); a folder or any other fsspec URL
    the fsspec adapter."""
    cfg = (config or load_config()).resolved()
    target = url or cfg.object_store_url
    if target.startswith("s3://"):
        from firesight.adapters.aws.s3 import S3ObjectStore

        bucket, _, prefix = target[len("s3://"):].partition("/")
        return S3ObjectStore(bucket, prefix, settings=aws_settings(cfg), kms_key_id=cfg.kms_key_id)
    from firesight.adapters.local.objectstore import FsspecObjectStore

    return FsspecObjectStore(target)


def message_queue(config: Config | None = None) -> MessageQueue:
    """The durable queues named by ``config.queue_url``: ``sqlite:///PATH`` (default
    ``{home}/queue.db``) or ``sqs://NAME_PREFIX[?create_queues=false]``."""
    cfg = (config or load_config()).resolved()
    url = cfg.queue_url
    if url.startswith("sqlite:///"):
        from firesight.adapters.local.queue import SQLiteMessageQueue

        return SQLiteMessageQueue(url[len("sqlite:///"):])
    if url.startswith("sqs://"):
        from firesight.adapters.aws.sqs import SQSMessageQueue

        parts = urlsplit(url)
        return SQSMessageQueue(parts.netloc + parts.path, settings=aws_settings(cfg),
                               create_queues=_flag(parse_qs(parts.query), "create_queues", True))
    raise InvalidParameterError("queue_url", "sqlite:///PATH or sqs://NAME_PREFIX", url)


def model_registry(config: Config | None = None) -> ModelRegistry:
    """The model registry named by ``config.registry_uri``: ``sagemaker://GROUP`` (archives
    under ``model_artifacts_url``, packages naming ``serving_image_uri``) or any MLflow URI."""
    cfg = (config or load_config()).resolved()
    uri = cfg.registry_uri
    if uri.startswith("sagemaker://"):
        from firesight.adapters.aws.sagemaker import SageMakerModelRegistry

        if not cfg.model_artifacts_url.startswith("s3://"):
            raise InvalidParameterError("model_artifacts_url", "s3://bucket/prefix for a SageMaker registry",
                                        cfg.model_artifacts_url)
        return SageMakerModelRegistry(uri[len("sagemaker://"):].strip("/"),
                                      artifacts=object_store(cfg.model_artifacts_url, cfg),
                                      image_uri=cfg.serving_image_uri, settings=aws_settings(cfg))
    from firesight.model_registry.mlflow_registry import MLflowModelRegistry

    return MLflowModelRegistry(uri)


def sns_notifier(config: Config | None = None) -> Notifier:
    """The SNS alert channel on ``config.alerts_topic_arn``."""
    from firesight.adapters.aws.sns import SNSNotifier

    cfg = (config or load_config()).resolved()
    return SNSNotifier(cfg.alerts_topic_arn, settings=aws_settings(cfg))


def notifier_channels(channels: Mapping[str, Mapping[str, Any]],
                      environ: Mapping[str, str] | None = None) -> dict[str, Notifier]:
    """Notification channels by name from plain configuration.

    Each value is ``{"type": "console" | "email" | "webhook" | "slack", **options}`` with
    the options of :class:`firesight.notify.EmailConfig` or
    :class:`firesight.notify.WebhookConfig`. Secrets stay out of files: ``password_env``
    (e-mail) and ``secret_env`` (webhooks) name environment variables read here.
    """
    import os

    from firesight.notify.channels import build_notifier

    env = os.environ if environ is None else environ
    out: dict[str, Notifier] = {}
    for name, spec in channels.items():
        if not isinstance(spec, Mapping) or "type" not in spec:
            raise InvalidParameterError(f"channels.{name}", "a mapping with a 'type'", spec)
        options = {k: v for k, v in spec.items() if k != "type"}
        for option, target in (("password_env", "password"), ("secret_env", "secret")):
            if option in options:
                var = options.pop(option)
                if var not in env:
                    raise InvalidParameterError(f"channels.{name}.{option}", "a set environment variable", var)
                options[target] = env[var]
        out[str(name)] = build_notifier(str(spec["type"]), options)
    return out


def alert_store(config: Config | None = None) -> "AlertStore":
    """The alert history on the configured metadata store."""
    from firesight.agents.alert_store import AlertStore

    return AlertStore(metadata_store(config))
