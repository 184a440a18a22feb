"""Feed the dashboard from the broker: device streams and alerts, for a dashboard that runs
apart from ``firesight run``.

Subscribes to ``firesight/v1/+/+/+`` (thermal, scd41, status), ``firesight/v1/+/alerts``
and ``firesight/v1/+/probability`` (the analysis agent's per-window fire probability
records, QoS 0, for the probability chart); device payloads go through the same codec
checks as the gateway, alerts are parsed as :class:`~firesight.agents.events.AlertEvent`,
probability records by :func:`parse_probability`. A payload that fails its checks is
counted in ``firesight_messages_rejected_total{kind="dashboard"}`` and skipped.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable
from typing import TypeVar

from firesight.agents.events import AlertEvent
from firesight.detection.alerts import LEVELS
from firesight.errors import DataError, FiresightError
from firesight.iot.codec import decode
from firesight.iot.topics import TOPIC_ROOT, validate_name
from firesight.ops import metrics
from firesight.web.feed import DashboardFeed

log = logging.getLogger(__name__)
_MAX_PROBABILITY_BYTES = 1024
_T = TypeVar("_T")


def parse_probability(topic: str, payload: bytes) -> dict:
    """A probability record of ``firesight/v1/{site}/probability`` as the keyword arguments
    of :meth:`DashboardFeed.push_probability` (plus ``site``), or :class:`DataError` naming
    what is wrong."""
    parts = topic.split("/")
    if len(parts) != 4 or parts[3] != "probability" or len(payload) > _MAX_PROBABILITY_BYTES:
        raise DataError(f"not a probability record: {topic} ({len(payload)} bytes)")
    try:
        site = validate_name(parts[2], "site")
        record = json.loads(payload)
        thing = validate_name(record["thing"], "thing")
    except (ValueError, TypeError, KeyError, FiresightError) as exc:
        raise DataError(f"probability record unreadable: {exc}") from None
    ts_ms, p, level = record.get("ts_ms"), record.get("probability"), record.get("level")
    if not isinstance(ts_ms, int) or isinstance(ts_ms, bool) or ts_ms <= 0:
        raise DataError(f"probability record ts_ms must be a positive integer, got {ts_ms!r}")
    if p is not None and (not isinstance(p, (int, float)) or isinstance(p, bool) or not math.isfinite(p)
                          or not 0.0 <= p <= 1.0):
        raise DataError(f"probability record probability must be in [0, 1] or null, got {p!r}")
    if level not in LEVELS:
        raise DataError(f"probability record level must be one of {LEVELS}, got {level!r}")
    variant, version = record.get("variant", ""), record.get("model_version", "")
    if not isinstance(variant, str) or not isinstance(version, str) or len(variant) > 32 or len(version) > 64:
        raise DataError("probability record variant and model_version must be short strings")
    return {"site": site, "thing": thing, "ts_ms": ts_ms, "probability": None if p is None else float(p),
            "level": level, "variant": variant, "model_version": version}


class BrokerBridge:
    """Subscribe ``feed`` to a broker; :meth:`stop` disconnects.

    Parameters
    ----------
    feed : DashboardFeed
        Where decoded messages go.
    client : firesight.iot.client.MqttClient
        A connected client (a service client of the broker, see
        :func:`firesight.agents.system.service_client`).
    """

    def __init__(self, feed: DashboardFeed, client):
        self.feed = feed
        self.client = client
        self.received = 0
        self.rejected = 0

    def start(self) -> "BrokerBridge":
        self.client.subscribe(f"{TOPIC_ROOT}/+/+/+", self._on_device, qos=0)
        self.client.subscribe(f"{TOPIC_ROOT}/+/alerts", self._on_alert, qos=1)
        self.client.subscribe(f"{TOPIC_ROOT}/+/probability", self._on_probability, qos=0)
        return self

    def _on_device(self, topic: str, payload: bytes) -> None:
        if topic.endswith("/features"):
            return
        try:
            message = decode(topic, payload, now_ms=int(time.time() * 1000))
        except FiresightError as exc:
            self.rejected += 1
            metrics.MESSAGES_REJECTED.labels(kind="dashboard", reason=getattr(exc, "reason_code", "invalid")).inc()
            return
        self.received += 1
        self.feed.push_message(message)

    def _on_alert(self, topic: str, payload: bytes) -> None:
        event = self._parsed(topic, "alert_malformed", lambda: AlertEvent.from_json(payload))
        if event is not None:
            self.feed.push_alert(event)

    def _on_probability(self, topic: str, payload: bytes) -> None:
        record = self._parsed(topic, "probability_malformed", lambda: parse_probability(topic, payload))
        if record is not None:
            site, thing = record.pop("site"), record.pop("thing")
            self.feed.push_probability(site, thing, **record)

    def _parsed(self, topic: str, reason: str, parse: Callable[[], _T]) -> _T | None:
        """``parse()``, counted as received; None for a payload it refuses, counted and
        logged as rejected for ``reason``."""
        try:
            value = parse()
        except FiresightError as exc:
            self.rejected += 1
            metrics.MESSAGES_REJECTED.labels(kind="dashboard", reason=reason).inc()
            log.warning("%s on %s: %s", reason, topic, exc)
            return None
        self.received += 1
        return value

    def stop(self) -> None:
        self.client.close(flush_timeout_s=2.0)
