"""Device Defender as a running service: periodic supervised evaluation, alerts on the
site's alerts topic, the quarantine mitigation on the device registry, and the default
security profile of firesight nodes. The detection logic is :mod:`firesight.iot.defender`.

References
----------
1. AWS IoT Device Defender Developer Guide, "Detect", "Mitigation actions" (add things to a
   thing group / replace the default policy version: here, attach a deny-all policy).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from firesight.errors import require
from firesight.iot.topics import alerts_topic

log = logging.getLogger(__name__)


def registry_quarantine(registry: Any) -> Callable[[str], None]:
    """The quarantine mitigation for a :class:`firesight.iot.device_registry.DeviceRegistry`:
    attach the deny-all ``firesight-quarantine`` policy to every ACTIVE certificate of the
    thing. An explicit Deny wins over any Allow, so the broker refuses the device's next
    publish, subscribe and connection."""
    from firesight.iot.policy import QUARANTINE_POLICY_NAME

    def quarantine(thing_name: str) -> None:
        for cert in registry.list_certificates(thing_name=thing_name, status="ACTIVE"):
            registry.attach_policy(QUARANTINE_POLICY_NAME, cert["certificate_id"])

    return quarantine


def registry_release(registry: Any, thing_name: str) -> None:
    """Lift a quarantine: detach the deny-all policy from every certificate of the thing."""
    from firesight.iot.policy import QUARANTINE_POLICY_NAME

    for cert in registry.list_certificates(thing_name=thing_name):
        registry.detach_policy(QUARANTINE_POLICY_NAME, cert["certificate_id"])


def device_message_counter(defender: Any) -> Callable[[str, bytes], None]:
    """``count(topic, payload)``: record one device message a subscriber received on
    ``firesight/v1/{site}/{thing}/{stream}`` as a publish of the thing (the topic's fourth
    level) to ``defender``, and learn the thing's site. Other topics are ignored. For a
    subscription of the Defender's own, or as a tap on a subscriber that already receives
    the device streams (the monitoring agent's ingest gateway), so that no message is
    delivered twice for counting."""
    def count(topic: str, payload: bytes) -> None:
        parts = topic.split("/")
        if len(parts) == 5:
            thing = parts[3]
            if defender.principal_filter is None or defender.principal_filter(thing):
                defender.record_publish(thing, len(payload))
                defender.sites.setdefault(thing, parts[2])

    return count


class DefenderService:
    """Evaluates a :class:`~firesight.iot.defender.Defender` every ``period_s`` [s] on a
    supervised background thread and publishes each violation as an alert on
    ``firesight/v1/{site}/alerts`` through ``client`` (an MQTT client with
    ``publish(topic, payload, qos=...)``; None: callbacks only). The site comes from the
    topics the device published on, else ``site_of(thing)``.

    An evaluation that raises is logged and counted (``failures``, ``counts`` by exception
    type) and the loop goes on after a capped exponential backoff (``backoff_s``: first and
    largest delay [s]; reset by the next success), so a registry or broker outage cannot end
    Device Defender silently.
    """

    def __init__(self, defender: Any, client: Any = None, *, period_s: float = 5.0,
                 site_of: Callable[[str], str | None] | None = None,
                 backoff_s: tuple[float, float] = (1.0, 60.0)):
        require(period_s > 0, "period_s", "> 0", period_s)
        require(0 < backoff_s[0] <= backoff_s[1], "backoff_s", "0 < first <= largest", backoff_s)
        self.defender, self.client, self.period_s, self.site_of = defender, client, float(period_s), site_of
        self.backoff_s = (float(backoff_s[0]), float(backoff_s[1]))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.alerts_published = 0
        self.evaluations = 0
        self.failures = 0
        self.counts: Counter[str] = Counter()
        if client is not None:
            defender.on_violation.append(self.publish_alert)

    def site(self, thing: str) -> str | None:
        site = self.defender.sites.get(thing)
        if site is None and self.site_of is not None:
            try:
                site = self.site_of(thing)
            except Exception:  # an unknown thing has no site; the alert goes out without one
                site = None
        return site

    def publish_alert(self, event: Mapping[str, Any]) -> None:
        site = self.site(event["thingName"]) or "unassigned"
        alert = violation_alert(event, site=site, now_ms=int(time.time() * 1000))
        self.client.publish(alerts_topic(site), json.dumps(alert).encode("utf-8"), qos=1)
        self.alerts_published += 1

    def observe_publishes(self, client: Any, topic_filter: str = "firesight/v1/+/+/#") -> None:
        """Count device messages seen by subscribing (for brokers without event hooks:
        Mosquitto, AWS IoT): the thing name is the topic's fourth level. Only messages the
        broker accepted arrive, so authorization failures, connects and disconnects need
        the broker's own events; do not combine with :meth:`Defender.record_broker_event`
        on the same broker (messages would count twice)."""
        client.subscribe(topic_filter, device_message_counter(self.defender))

    def start(self) -> "DefenderService":
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="firesight-defender", daemon=True)
        self._thread.start()
        return self

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _loop(self) -> None:
        delay_s, in_a_row = self.period_s, 0
        while not self._stop.wait(delay_s):
            try:
                self.defender.evaluate()
            except Exception as exc:  # supervised: count, log, retry after a growing delay
                self.failures += 1
                self.counts[f"evaluate_failures:{type(exc).__name__}"] += 1
                delay_s = min(self.backoff_s[0] * 2 ** in_a_row, self.backoff_s[1])
                in_a_row += 1
                log.exception("Device Defender evaluation failed; next try in %.1f s", delay_s)
                continue
            self.evaluations += 1
            delay_s, in_a_row = self.period_s, 0

    def stop(self, timeout_s: float = 10.0) -> None:
        """Staged stop: no new evaluation starts; the one running finishes (up to
        ``timeout_s`` [s]); the thread ends."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                log.warning("Device Defender evaluation still running %.1f s after stop", timeout_s)
            self._thread = None


def violation_alert(event: Mapping[str, Any], *, site: str | None, now_ms: int) -> dict[str, Any]:
    """The alert the response path receives for a violation event (JSON-ready).

    ``level`` is ``security`` for ``in-alarm`` and ``cleared`` otherwise.
    """
    return {"ts_ms": int(now_ms), "source": "defender", "kind": "security_violation",
            "level": "security" if event["violationEventType"] == "in-alarm" else "cleared",
            "site": site, "thing_name": event["thingName"], "violation": dict(event)}


#: A starting security profile for firesight nodes. A node sends ~8.7 thermal frames per
#: second plus one SCD41 reading every 5 s (ARCHITECTURE.md, "Devices"), ~2,620 messages in
#: 300 s; four times that is a flood. Frames are ~51 KB encoded; AWS IoT's limit is 128 KB.
DEFAULT_PROFILE: dict[str, Any] = {
    "securityProfileName": "firesight-nodes",
    "securityProfileDescription": "Behaviour of Lepton 3.5 + SCD41 nodes",
    "behaviors": [
        {"name": "message_flood", "metric": "aws:num-messages-sent",
         "criteria": {"comparisonOperator": "greater-than", "value": {"count": 10_500},
                      "durationSeconds": 300, "consecutiveDatapointsToAlarm": 1,
                      "consecutiveDatapointsToClear": 2}},
        {"name": "oversized_messages", "metric": "aws:message-byte-size",
         "criteria": {"comparisonOperator": "greater-than", "value": {"count": 65_536},
                      "consecutiveDatapointsToAlarm": 1, "consecutiveDatapointsToClear": 1}},
        {"name": "topic_probing", "metric": "aws:num-authorization-failures",
         "criteria": {"comparisonOperator": "greater-than", "value": {"count": 5},
                      "durationSeconds": 300, "consecutiveDatapointsToAlarm": 1,
                      "consecutiveDatapointsToClear": 2}},
        {"name": "reconnect_storm", "metric": "aws:num-connection-attempts",
         "criteria": {"comparisonOperator": "greater-than", "value": {"count": 20},
                      "durationSeconds": 300, "consecutiveDatapointsToAlarm": 1,
                      "consecutiveDatapointsToClear": 2}},
        {"name": "disconnect_storm", "metric": "aws:num-disconnects",
         "criteria": {"comparisonOperator": "greater-than", "value": {"count": 20},
                      "durationSeconds": 300, "consecutiveDatapointsToAlarm": 1,
                      "consecutiveDatapointsToClear": 2}},
    ],
    "quarantineBehaviors": ["topic_probing"],
}
