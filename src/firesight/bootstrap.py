"""The one place that picks adapters from configuration."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from firesight.config import Config, load_config
from firesight.errors import InvalidParameterError
from firesight.ports import MessageQueue, MetadataStore, Notifier, ObjectStore

if TYPE_CHECKING:
    from firesight.agents.alert_store import AlertStore


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
