"""MQTT topic names: format, parse and match.

Device topics carry the thing name so that AWS IoT policies can use
``${iot:Connection.Thing.ThingName}``::

    firesight/v1/{site}/{thing}/thermal     full-rate Lepton 3.5 frames
    firesight/v1/{site}/{thing}/scd41       SCD41 CO2 / T / RH readings
    firesight/v1/{site}/{thing}/status      device status (online, offline, firmware)
    firesight/v1/{site}/{thing}/features    edge-mode feature vectors
    firesight/v1/{site}/alerts              alerts for a site
    firesight/v1/{site}/probability         per-device fire probability records (dashboards)
    $aws/things/{thing}/shadow/...          AWS device shadows (classic and named)

References
----------
1. AWS IoT Core developer guide, "Topics" and "Reserved topics" (device shadow topics).
2. AWS IoT Core developer guide, "Thing names": ``[a-zA-Z0-9:_-]+``, at most 128 characters.
3. OASIS MQTT 3.1.1, section 4.7 "Topic names and topic filters".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from firesight.errors import InvalidParameterError

#: Prefix of every firesight device and alert topic; the version lets payloads evolve.
TOPIC_ROOT = "firesight/v1"
#: Per-device streams published by a device (the last topic level).
DEVICE_STREAMS = ("thermal", "scd41", "status", "features")
#: Shadow operations a device may request (AWS device shadow service).
SHADOW_OPERATIONS = ("get", "update", "delete")
#: Shadow response suffixes published by the shadow service.
SHADOW_RESULTS = ("accepted", "rejected", "delta", "documents")

#: AWS IoT thing names (and our site names): letters, digits, ``:``, ``_``, ``-`` [2].
_NAME_RE = re.compile(r"^[a-zA-Z0-9:_-]{1,128}$")


def validate_name(name: str, kind: str = "thing_name") -> str:
    """Return ``name`` if it is a valid AWS IoT thing (or site) name, else raise.

    Parameters
    ----------
    name : str
        Candidate name.
    kind : str
        Parameter name used in the error message.
    """
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise InvalidParameterError(kind, "1-128 characters of [a-zA-Z0-9:_-]", name)
    return name


def device_topic(site: str, thing_name: str, stream: str) -> str:
    """``firesight/v1/{site}/{thing_name}/{stream}`` for one of :data:`DEVICE_STREAMS`."""
    validate_name(site, "site")
    validate_name(thing_name)
    if stream not in DEVICE_STREAMS:
        raise InvalidParameterError("stream", f"one of {DEVICE_STREAMS}", stream)
    return f"{TOPIC_ROOT}/{site}/{thing_name}/{stream}"


def alerts_topic(site: str) -> str:
    """``firesight/v1/{site}/alerts``."""
    return f"{TOPIC_ROOT}/{validate_name(site, 'site')}/alerts"


def probability_topic(site: str) -> str:
    """``firesight/v1/{site}/probability``: the analysis agent's compact per-device fire
    probability records (QoS 0, throttled), read by dashboards. Four levels, like the alert
    topic, so no device filter (``firesight/v1/+/+/+``) matches it and no device policy
    lets a device publish on it."""
    return f"{TOPIC_ROOT}/{validate_name(site, 'site')}/probability"


def device_filter(stream: str = "+", site: str = "+") -> str:
    """Topic filter for one stream of every device (``firesight/v1/+/+/thermal``), or all
    streams with ``stream='#'``."""
    if stream not in (*DEVICE_STREAMS, "+", "#"):
        raise InvalidParameterError("stream", f"one of {DEVICE_STREAMS}, '+' or '#'", stream)
    if site != "+":
        validate_name(site, "site")
    return f"{TOPIC_ROOT}/{site}/+/{stream}" if stream != "#" else f"{TOPIC_ROOT}/{site}/+/#"


def shadow_topic(thing_name: str, operation: str, result: str | None = None,
                 shadow_name: str | None = None) -> str:
    """AWS shadow topic, e.g. ``$aws/things/T/shadow/update/delta`` or, for a named shadow,
    ``$aws/things/T/shadow/name/config/get/accepted``."""
    validate_name(thing_name)
    if operation not in SHADOW_OPERATIONS:
        raise InvalidParameterError("operation", f"one of {SHADOW_OPERATIONS}", operation)
    if result is not None and result not in SHADOW_RESULTS:
        raise InvalidParameterError("result", f"None or one of {SHADOW_RESULTS}", result)
    base = f"$aws/things/{thing_name}/shadow"
    if shadow_name is not None:
        validate_name(shadow_name, "shadow_name")
        base += f"/name/{shadow_name}"
    return f"{base}/{operation}" + (f"/{result}" if result else "")


@dataclass(frozen=True)
class DeviceTopic:
    """A parsed device topic."""

    site: str
    thing_name: str
    stream: str


@dataclass(frozen=True)
class ShadowTopic:
    """A parsed shadow topic; ``shadow_name`` is None for the classic (unnamed) shadow."""

    thing_name: str
    operation: str
    result: str | None
    shadow_name: str | None


def parse_device_topic(topic: str) -> DeviceTopic:
    """Split ``firesight/v1/{site}/{thing}/{stream}``; raise InvalidParameterError otherwise."""
    parts = topic.split("/") if isinstance(topic, str) else []
    if (len(parts) != 5 or "/".join(parts[:2]) != TOPIC_ROOT or parts[4] not in DEVICE_STREAMS
            or not _NAME_RE.match(parts[2]) or not _NAME_RE.match(parts[3])):
        raise InvalidParameterError(
            "topic", f"{TOPIC_ROOT}/{{site}}/{{thing}}/{{{'|'.join(DEVICE_STREAMS)}}}", topic)
    return DeviceTopic(site=parts[2], thing_name=parts[3], stream=parts[4])


def parse_shadow_topic(topic: str) -> ShadowTopic:
    """Split an AWS shadow topic; raise InvalidParameterError if it is not one."""
    parts = topic.split("/") if isinstance(topic, str) else []
    expected = "$aws/things/{thing}/shadow[/name/{name}]/{get|update|delete}[/{result}]"
    if len(parts) < 5 or parts[0] != "$aws" or parts[1] != "things" or parts[3] != "shadow":
        raise InvalidParameterError("topic", expected, topic)
    thing, rest, shadow_name = parts[2], parts[4:], None
    if rest[0] == "name":
        if len(rest) < 3:
            raise InvalidParameterError("topic", expected, topic)
        shadow_name, rest = rest[1], rest[2:]
    if (not _NAME_RE.match(thing) or not rest or rest[0] not in SHADOW_OPERATIONS or len(rest) > 2
            or (len(rest) == 2 and rest[1] not in SHADOW_RESULTS)
            or (shadow_name is not None and not _NAME_RE.match(shadow_name))):
        raise InvalidParameterError("topic", expected, topic)
    return ShadowTopic(thing_name=thing, operation=rest[0], result=rest[1] if len(rest) == 2 else None,
                       shadow_name=shadow_name)


def topic_matches(topic_filter: str, topic: str) -> bool:
    """True when ``topic`` matches the MQTT filter (``+`` one level, ``#`` the rest; a
    ``$``-topic never matches a filter starting with a wildcard [3]). Uses paho's matcher,
    imported here so that the codec (and domain code using it) does not load MQTT."""
    from paho.mqtt.client import topic_matches_sub

    return bool(topic_matches_sub(topic_filter, topic))
