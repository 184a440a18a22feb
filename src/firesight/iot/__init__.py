"""firesight.iot: devices on MQTT like AWS IoT Core.

Topics (:mod:`.topics`), payload codec (:mod:`.codec`), device registry and certificates
(:mod:`.registry`, :mod:`.ca`), policies (:mod:`.policy`), the embedded broker
(:mod:`.broker`), Mosquitto (:mod:`.mosquitto`), MQTT clients (:mod:`.client`) and the
ingest gateway (:mod:`.gateway`). Importing this package opens no connection, reads no
environment variable and starts nothing; amqtt loads only with :mod:`.broker`.
"""

from __future__ import annotations

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
    from firesight.iot.registry import DeviceRegistry


def pki_dir(config: Config | None = None) -> Path:
    """``{home}/pki``: where the project CA and device credentials live."""
    from firesight.config import load_config

    cfg = (config or load_config()).resolved()
    return Path(cfg.home) / "pki"


def open_registry(config: Config | None = None) -> DeviceRegistry:
    """The device registry on the configured metadata store, with the project CA."""
    from firesight.bootstrap import metadata_store
    from firesight.config import load_config
    from firesight.iot.ca import CertificateAuthority
    from firesight.iot.registry import DeviceRegistry

    cfg = (config or load_config()).resolved()
    return DeviceRegistry(metadata_store(cfg), CertificateAuthority(pki_dir(cfg)))


__all__ = [
    "DecodedMessage", "FeaturesMessage", "IngestValidator", "PayloadRejected", "SCD41Message",
    "SequenceTracker", "StatusMessage", "ThermalMessage", "alerts_topic", "decode", "device_topic",
    "encode_features", "encode_scd41", "encode_status", "encode_thermal", "open_registry",
    "parse_device_topic", "parse_shadow_topic", "pki_dir", "shadow_topic",
]
