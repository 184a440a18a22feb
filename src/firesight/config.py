"""Configuration: one typed object with defaults, read from the environment on request
(never at import time)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path


@dataclass(frozen=True)
class Config:
    """Where firesight keeps its state and which adapters it uses.

    Every field has an embedded default that works on one machine with nothing installed.
    ``FIRESIGHT_<FIELD>`` environment variables override them (see :func:`load_config`).
    """

    home: Path = field(default_factory=lambda: Path.home() / ".firesight")
    #: ``sqlite:///PATH`` (default: ``{home}/metadata.db``) or ``dynamodb://TABLE_PREFIX``
    #: (``?create_tables=false`` when the template made the tables)
    metadata_url: str = ""
    #: object store root: a folder, ``s3://bucket/prefix`` (the S3 adapter) or any fsspec URL
    object_store_url: str = ""
    #: durable queues: ``sqlite:///PATH`` (default: ``{home}/queue.db``) or ``sqs://NAME_PREFIX``
    #: (``?create_queues=false`` when the template made them)
    queue_url: str = ""
    #: MQTT broker: ``embedded`` (in-process) or ``mqtt://host:port`` / ``mqtts://host:8883``
    broker_url: str = "embedded"
    #: model registry: an MLflow URI (default: ``sqlite:///{home}/mlflow.db``) or
    #: ``sagemaker://MODEL_PACKAGE_GROUP`` (archives under ``model_artifacts_url``)
    registry_uri: str = ""
    #: where the SageMaker registry keeps model archives (``s3://bucket/prefix``)
    model_artifacts_url: str = ""
    #: the serving container image named in SageMaker model packages (ECR URI)
    serving_image_uri: str = ""
    #: AWS endpoint override (a moto server in tests); empty means AWS itself
    aws_endpoint_url: str = ""
    aws_region: str = "eu-west-1"
    #: KMS key (id or ARN) for SSE-KMS on S3 writes; empty: the bucket's default encryption
    kms_key_id: str = ""
    #: SNS topic of the ``sns`` alert channel (``arn:aws:sns:...``)
    alerts_topic_arn: str = ""

    def resolved(self) -> "Config":
        """Fill the defaults that depend on ``home``.

        Raises
        ------
        InvalidParameterError
            ``home`` (``FIRESIGHT_HOME``) is a file, or lies under one.
        """
        home = Path(self.home)
        existing = next((p for p in (home, *home.parents) if p.exists()), None)
        if existing is not None and not existing.is_dir():
            from firesight.errors import InvalidParameterError
            raise InvalidParameterError("FIRESIGHT_HOME", "a folder", str(home))
        return replace(
            self,
            home=home,
            metadata_url=self.metadata_url or f"sqlite:///{home / 'metadata.db'}",
            object_store_url=self.object_store_url or str(home / "objects"),
            queue_url=self.queue_url or f"sqlite:///{home / 'queue.db'}",
            registry_uri=self.registry_uri or f"sqlite:///{home / 'mlflow.db'}",
        )


def load_config(environ: dict[str, str] | None = None, **overrides) -> Config:
    """Build a :class:`Config` from ``FIRESIGHT_*`` environment variables and overrides."""
    env = os.environ if environ is None else environ
    values: dict = {}
    for name in Config.__dataclass_fields__:
        key = f"FIRESIGHT_{name.upper()}"
        if key in env:
            values[name] = Path(env[key]) if name == "home" else env[key]
    values.update({k: v for k, v in overrides.items() if v is not None})
    return Config(**values).resolved()
