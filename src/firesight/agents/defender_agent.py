"""Device Defender in ``firesight run``: the detect loop of :mod:`firesight.iot.defender`
as a supervised agent, its violations as ``trouble`` alert events and as the
``firesight_defender_violations`` gauge.

The :class:`~firesight.iot.defender.Defender` (metrics, alarm states, quarantined things) is
built once per run by :func:`build_defender` and outlives restarts of the agent; it is fed
by the embedded broker's events (``broker.add_listener``) or, on a broker without event
hooks (Mosquitto), by the device messages a subscriber receives: the monitoring agent's
ingest gateway counts those it takes (``observer``, so no frame is delivered twice) and the
agent subscribes to the rest (the ``features`` stream; every device topic in a scale-out
worker, which sees only its share) (:meth:`DefenderService.observe_publishes`). :class:`DefenderAgent` runs
:class:`~firesight.iot.defender_service.DefenderService`'s evaluation loop and turns each
violation event into an :class:`~firesight.agents.events.AlertEvent`:

- signal ``trouble`` (NFPA 72: a fault of the system; a node whose traffic breaks its
  security profile cannot be trusted), condition ``defender:{behaviour}``;
- ``in-alarm`` -> state ``active``; ``alarm-cleared`` / ``alarm-invalidated`` -> ``cleared``;
- event id ``{thing}:trouble:defender:{behaviour}:{violationId}:{state}`` (one per change);
- on the durable queue ``alert-events`` (the response agent) and on
  ``firesight/v1/{site}/alerts`` (the dashboard shows it as a Device Defender violation of
  the device, :meth:`firesight.web.feed.DashboardFeed.push_alert`).

After every change the gauge ``firesight_defender_violations{behavior}`` is set to the
number of devices in alarm for each behaviour of the attached profiles (0 when none).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from firesight.agents.events import AlertEvent
from firesight.errors import FiresightError
from firesight.ops import metrics

log = logging.getLogger(__name__)

#: Prefix of the trouble condition of a Defender violation (``defender:message_flood``).
CONDITION_PREFIX = "defender:"
#: Sites of devices the registry does not place (the alert still goes out).
UNASSIGNED_SITE = "unassigned"


def violation_condition(behavior: str) -> str:
    """The trouble condition of a violation of ``behavior``."""
    return f"{CONDITION_PREFIX}{behavior}"


def violation_event(event: Mapping[str, Any], *, site: str) -> AlertEvent:
    """The :class:`AlertEvent` of one Defender violation event (``in-alarm``,
    ``alarm-cleared``, ``alarm-invalidated``)."""
    behavior = str(event["behavior"]["name"])
    active = event["violationEventType"] == "in-alarm"
    state = "active" if active else "cleared"
    condition = violation_condition(behavior)
    return AlertEvent(
        event_id=f"{event['thingName']}:trouble:{condition}:{event['violationId']}:{state}",
        site=site, thing=str(event["thingName"]), signal="trouble", state=state, level=condition,
        previous="ok" if active else condition, ts_ms=int(float(event["violationEventTime"]) * 1000),
        explanation={"detected_by": "defender", "behavior": behavior, "metric": event["behavior"]["metric"],
                     "metric_value": event.get("metricValue"), "profile": event["securityProfileName"],
                     "violation_id": event["violationId"], "violation_event": event["violationEventType"],
                     **({"statistical_threshold": event["violationEventAdditionalInfo"]["statisticalThreshold"]}
                        if "violationEventAdditionalInfo" in event else {})},
        correlation_id=f"{event['thingName']}/defender/{event['violationId']}")


def registered_things(registry: Any, *, ttl_s: float = 30.0, max_names: int = 100_000
                      ) -> Callable[[str], bool]:
    """``name -> bool``: whether ``name`` is a thing of the device registry (firesight's own
    services and unknown client ids are not), remembered for ``ttl_s`` [s] so the broker's
    event thread rarely touches the registry."""
    cache: dict[str, tuple[bool, float]] = {}
    lock = threading.Lock()

    def is_thing(name: str) -> bool:
        now = time.monotonic()
        with lock:
            hit = cache.get(name)
        if hit is not None and now - hit[1] < ttl_s:
            return hit[0]
        try:
            registry.describe_thing(name)
            known = True
        except FiresightError:
            known = False
        with lock:
            if len(cache) >= max_names:
                cache.clear()
            cache[name] = (known, now)
        return known

    return is_thing


def registry_site(registry: Any) -> Callable[[str], str | None]:
    """``thing -> site`` from the thing's registry attributes (None when it has none)."""
    def site_of(thing: str) -> str | None:
        site = registry.describe_thing(thing).get("attributes", {}).get("site")
        return str(site) if site else None
    return site_of


def faster_profile(profile: Mapping[str, Any], speed: float) -> dict[str, Any]:
    """``profile`` for devices that play their streams ``speed`` times faster than real
    time (a simulated fleet): every ``aws:num-messages-sent`` count threshold is multiplied
    by ``speed`` (at least 1), so an accelerated fleet is not a message flood."""
    import copy

    scaled = copy.deepcopy(dict(profile))
    for behavior in scaled.get("behaviors", []):
        value = behavior.get("criteria", {}).get("value", {})
        if behavior.get("metric") == "aws:num-messages-sent" and "count" in value:
            value["count"] = int(value["count"] * max(1.0, float(speed)))
    return scaled


def build_defender(profiles: Iterable[Mapping[str, Any]], *, registry: Any = None, quarantine: bool = True) -> Any:
    """The run's :class:`~firesight.iot.defender.Defender`: ``profiles`` (none: the built-in
    ``DEFAULT_PROFILE``), devices = the registry's things, the quarantine mitigation on the
    registry when ``quarantine``."""
    from firesight.iot.defender import DEFAULT_PROFILE, Defender, registry_quarantine

    chosen = list(profiles) or [DEFAULT_PROFILE]
    return Defender(chosen, quarantine=registry_quarantine(registry) if quarantine and registry is not None else None,
                    principal_filter=registered_things(registry) if registry is not None else None)


class DefenderAgent:
    """The supervised Device Defender of ``firesight run`` (module docstring).

    Parameters
    ----------
    defender : firesight.iot.defender.Defender
        Shared by every incarnation of the agent (its metrics and alarm states survive a
        restart).
    queue : firesight.ports.MessageQueue
        The durable queue of alert events.
    client : MQTT service client, optional
        Publishes the events on the site's alerts topic; with ``observe`` also counts the
        devices' messages through a subscription. Closed by the coordinator.
    period_s : float
        Evaluation period [s].
    site_of : callable, optional
        ``thing -> site`` for devices whose site the Defender has not learnt from a topic.
    observe : str or bool, optional
        A topic filter: count the device messages on it through ``client`` (brokers
        without event hooks); True: every device topic; None/False: none (the broker's
        events or the monitoring agent's ingest tap count them).
    backoff_s : (float, float)
        First and largest delay after a failed evaluation [s].
    """

    def __init__(self, defender: Any, queue: Any, client: Any = None, *, period_s: float = 5.0,
                 site_of: Callable[[str], str | None] | None = None, observe: str | bool | None = None,
                 backoff_s: tuple[float, float] = (1.0, 60.0)):
        from firesight.iot.defender_service import DefenderService

        self.defender, self.queue, self.client, self.observe = defender, queue, client, observe
        self.service = DefenderService(defender, None, period_s=period_s, site_of=site_of, backoff_s=backoff_s)
        self.counts: Counter[str] = Counter()
        self.last_error = ""

    def start(self) -> "DefenderAgent":
        self.defender.on_violation.append(self.on_violation)
        if self.observe and self.client is not None:
            if isinstance(self.observe, str):
                self.service.observe_publishes(self.client, self.observe)
            else:
                self.service.observe_publishes(self.client)
        self.report_gauge()
        self.service.start()
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        self.service.stop(timeout_s)
        try:
            self.defender.on_violation.remove(self.on_violation)
        except ValueError:  # stopped twice
            pass

    def alive(self) -> bool:
        return self.service.alive

    def health(self) -> dict:
        active = self.defender.active_violations()
        return {"evaluations": self.service.evaluations, "evaluation_failures": self.service.failures,
                "devices": len(self.defender.things), "active_violations": len(active),
                "violating": sorted({v["thingName"] for v in active})[:50],
                "quarantined": len(self.defender.quarantined), "events": dict(self.counts),
                "last_error": self.last_error}

    def on_violation(self, event: Mapping[str, Any]) -> None:
        """One violation event: the alert event to the queue and the alerts topic, the gauge."""
        from firesight.agents.monitoring import send_event

        thing = str(event["thingName"])
        alert = violation_event(event, site=self.service.site(thing) or UNASSIGNED_SITE)
        try:
            send_event(self.queue, self.client, alert)
        except Exception as exc:  # the queue is down: counted, the gauge still moves
            self.counts["send_failures"] += 1
            self.last_error = f"send: {type(exc).__name__}: {exc}"
            log.exception("Device Defender event %s could not be queued", alert.event_id)
        else:
            self.counts[alert.state] += 1
            if alert.state == "active":
                metrics.ALERTS.labels(signal="trouble", level=alert.level).inc()
            log.warning("Device Defender: %s %s %s", thing, alert.level, alert.state)
        self.report_gauge()

    def report_gauge(self) -> None:
        """``firesight_defender_violations{behavior}``: devices in alarm per behaviour."""
        report_violations(self.defender)


def report_violations(defender: Any) -> dict[str, int]:
    """Set ``firesight_defender_violations{behavior}`` from ``defender``'s active violations
    (every behaviour of its profiles, 0 when none); return the values."""
    values: Counter[str] = Counter({b.name: 0 for p in list(defender.profiles.values()) for b in p.behaviors})
    for violation in defender.active_violations():
        values[violation["behavior"]["name"]] += 1
    for behavior, n in values.items():
        metrics.DEFENDER_VIOLATIONS.labels(behavior=behavior).set(n)
    return dict(values)
