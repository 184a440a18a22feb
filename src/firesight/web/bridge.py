"""Feed the dashboard from the broker: device streams and alerts, for a dashboard that runs
apart from ``firesight run``.

Subscribes to ``firesight/v1/+/+/+`` (thermal, scd41, status) and ``firesight/v1/+/alerts``;
device payloads go through the same codec checks as the gateway (a payload that fails them
is counted in ``firesight_messages_rejected_total{kind="dashboard"}`` and skipped), alerts
are parsed as :class:`~firesight.agents.events.AlertEvent`.
"""

from __future__ import annotations

import logging
import time

from firesight.agents.events import AlertEvent
from firesight.errors import FiresightError
from firesight.iot.codec import decode
from firesight.iot.topics import TOPIC_ROOT
from firesight.ops import metrics
from firesight.web.feed import DashboardFeed

log = logging.getLogger(__name__)


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
        try:
            event = AlertEvent.from_json(payload)
        except FiresightError as exc:
            self.rejected += 1
            metrics.MESSAGES_REJECTED.labels(kind="dashboard", reason="alert_malformed").inc()
            log.warning("alert on %s is malformed: %s", topic, exc)
            return
        self.received += 1
        self.feed.push_alert(event)

    def stop(self) -> None:
        self.client.close(flush_timeout_s=2.0)
