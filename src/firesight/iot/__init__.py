"""firesight.iot: devices on MQTT like AWS IoT Core.

Topics (:mod:`.topics`), payload codec (:mod:`.codec`), device registry and certificates
(:mod:`.device_registry`, :mod:`.ca`), policies (:mod:`.policy`), the embedded broker
(:mod:`.broker`), Mosquitto (:mod:`.mosquitto`), MQTT clients (:mod:`.client`) and the
ingest gateway (:mod:`.gateway`). Importing this package opens no connection, reads no
environment variable and starts nothing; amqtt loads only with :mod:`.broker`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from firesight.iot.codec import (
    DecodedMessage,
    FeaturesMessage,
    IngestValidator,
    PayloadRejected,
    SCD41Message,
    SequenceTracker,
    StatusMessage,
    ThermalMessage,
    decode,
    encode_features,
    encode_scd41,
    encode_status,
    encode_thermal,
)
from firesight.iot.topics import alerts_topic, device_topic, parse_device_topic, parse_shadow_topic, shadow_topic

if TYPE_CHECKING:
    from firesight.config import Config
    from firesight.iot.device_registry import DeviceRegistry


def pki_dir(config: Config | None = None) -> Path:
    """``{home}/pki``: where the project CA and device credentials live."""
    from firesight.config import load_config

    cfg = (config or load_config()).resolved()
    return Path(cfg.home) / "pki"


def open_registry(config: Config | None = None) -> DeviceRegistry:
    """The device registry on the configured metadata store, with the project CA; access
    changes made through it reach the managed Mosquitto (:func:`mosquitto_dir`) if one
    runs, within a second (ACL and CRL rewritten, SIGHUP)."""
    from firesight.bootstrap import metadata_store
    from firesight.config import load_config
    from firesight.iot.ca import CertificateAuthority
    from firesight.iot.device_registry import DeviceRegistry

    cfg = (config or load_config()).resolved()
    passphrase = os.environ.get("FIRESIGHT_CA_PASSPHRASE", "").encode() or None
    registry = DeviceRegistry(metadata_store(cfg), CertificateAuthority(pki_dir(cfg), passphrase=passphrase))
    registry.add_access_listener(_reload_managed_mosquitto(Path(cfg.home) / "mosquitto"))
    return registry


def mosquitto_dir(config: Config | None = None) -> Path:
    """``{home}/mosquitto``: the workdir of the Mosquitto that ``firesight broker run``
    manages (config, ACL, persistence, pid file)."""
    from firesight.config import load_config

    return Path((config or load_config()).resolved().home) / "mosquitto"


def _reload_managed_mosquitto(workdir: Path):  # noqa: ANN202
    """A registry listener that applies access changes to a running managed Mosquitto."""
    def _reload(registry: DeviceRegistry) -> None:
        from firesight.iot.mosquitto import reload_managed_mosquitto

        reload_managed_mosquitto(registry, workdir)

    return _reload


__all__ = [
    "DecodedMessage", "FeaturesMessage", "IngestValidator", "PayloadRejected", "SCD41Message",
    "SequenceTracker", "StatusMessage", "ThermalMessage", "alerts_topic", "decode", "device_topic",
    "encode_features", "encode_scd41", "encode_status", "encode_thermal", "open_registry",
    "mosquitto_dir", "parse_device_topic", "parse_shadow_topic", "pki_dir", "shadow_topic",
]
