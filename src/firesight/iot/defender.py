"""Device Defender: per-device behaviour metrics, security profiles, violations, quarantine.

Metrics carry AWS IoT Device Defender's cloud-side names and are fed by whatever sees the
traffic (the broker's hooks, a Mosquitto log follower, a gateway subscriber) through the
``record_*`` methods. :meth:`Defender.evaluate` turns them into datapoints every evaluation
period and applies each security profile's behaviours:

- count metrics (``aws:num-messages-sent``, ``aws:num-authorization-failures``,
  ``aws:num-connection-attempts``, ``aws:num-disconnects``): one datapoint per device and
  evaluation, the count over the behaviour's ``durationSeconds``;
- ``aws:message-byte-size``: one datapoint per message [bytes];
- ``aws:source-ip-address``: one datapoint per connection (``in-cidr-set`` /
  ``not-in-cidr-set``).

A behaviour compares the datapoint with a static ``value`` or with a fleet
``statisticalThreshold`` (``p90``, ``p99``, ...), computed over the datapoints of every
device in earlier evaluations. ``consecutiveDatapointsToAlarm`` breaching datapoints raise
an ``in-alarm`` violation; ``consecutiveDatapointsToClear`` non-breaching ones clear it
(``alarm-cleared``); removing a profile or forgetting a device invalidates its active
violations (``alarm-invalidated``). Violations go to callbacks (the response path) and,
for behaviours listed in the profile's ``quarantineBehaviors``, to the quarantine
mitigation (attach the deny-all policy). A failing callback or quarantine is counted
(``callback_failures``, ``quarantine_failures``) and logged, never stops an evaluation.
The periodic service, its alerts, the registry mitigations and the default profile are in
:mod:`firesight.iot.defender_service`.

Deviation from AWS: cloud-side durations must be 300 to 3600 s on AWS; here any positive
duration is accepted so tests and demos run in seconds. :meth:`SecurityProfile.to_aws`
checks AWS's values before emitting a ``CreateSecurityProfile`` request.

References
----------
1. AWS IoT Device Defender Developer Guide, "Cloud-side metrics", "Behaviors",
   "Detect metrics statistical thresholds" and "Detect concepts" (violation events
   ``in-alarm``, ``alarm-cleared``, ``alarm-invalidated``).
2. AWS IoT API Reference, ``CreateSecurityProfile``, ``BehaviorCriteria``, ``ViolationEvent``.
"""

from __future__ import annotations

import copy
import ipaddress
import logging
import re
import threading
import time
import uuid
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from firesight.errors import InvalidParameterError, NotFoundError, require

log = logging.getLogger(__name__)

COUNT_METRICS = ("aws:num-messages-sent", "aws:num-authorization-failures",
                 "aws:num-connection-attempts", "aws:num-disconnects")
MESSAGE_SIZE_METRIC = "aws:message-byte-size"
SOURCE_IP_METRIC = "aws:source-ip-address"
METRICS = (*COUNT_METRICS, MESSAGE_SIZE_METRIC, SOURCE_IP_METRIC)
OPERATORS = ("less-than", "less-than-equals", "greater-than", "greater-than-equals",
             "in-cidr-set", "not-in-cidr-set")
#: Durations AWS accepts for cloud-side metric behaviours [s] (reference 2).
AWS_DURATIONS_S = (300, 600, 900, 1800, 3600)
_STATISTIC = re.compile(r"^p(\d+(?:\.\d+)?)$")
_PROFILE_NAME = re.compile(r"^[A-Za-z0-9:_-]{1,128}$")
EVENT_TYPES = ("in-alarm", "alarm-cleared", "alarm-invalidated")


@dataclass(frozen=True)
class Behavior:
    """One behaviour of a security profile, in AWS's shape."""

    name: str
    metric: str
    operator: str
    duration_s: float = 300.0
    count: float | None = None
    cidrs: tuple[str, ...] = ()
    statistic: str | None = None
    to_alarm: int = 1
    to_clear: int = 1
    _networks: tuple = field(default=(), repr=False, compare=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Behavior":
        """Parse ``{"name", "metric", "criteria": {comparisonOperator, value |
        statisticalThreshold, durationSeconds, consecutiveDatapointsToAlarm,
        consecutiveDatapointsToClear}}``."""
        require(isinstance(data, Mapping) and {"name", "metric", "criteria"} <= set(data), "behavior",
                "a mapping with name, metric and criteria", data)
        name, metric, crit = data["name"], data["metric"], data["criteria"]
        require(metric in METRICS, f"behavior {name}: metric", f"one of {METRICS}", metric)
        require(isinstance(crit, Mapping), f"behavior {name}: criteria", "a mapping", crit)
        op = crit.get("comparisonOperator")
        require(op in OPERATORS, f"behavior {name}: comparisonOperator", f"one of {OPERATORS}", op)
        value = crit.get("value") or {}
        stat = (crit.get("statisticalThreshold") or {}).get("statistic")
        count, cidrs = value.get("count", value.get("number")), tuple(value.get("cidrs", ()))
        if metric == SOURCE_IP_METRIC:
            require(op in ("in-cidr-set", "not-in-cidr-set") and cidrs, f"behavior {name}: criteria",
                    "in-cidr-set / not-in-cidr-set with value.cidrs", dict(crit))
        else:
            require(op not in ("in-cidr-set", "not-in-cidr-set"), f"behavior {name}: comparisonOperator",
                    "a numeric comparison", op)
            require((count is None) != (stat is None), f"behavior {name}: criteria",
                    "exactly one of value.count and statisticalThreshold.statistic", dict(crit))
            if count is not None:
                require(isinstance(count, (int, float)) and not isinstance(count, bool) and count >= 0,
                        f"behavior {name}: value.count", "a number >= 0", count)
            if stat is not None:
                match = _STATISTIC.match(str(stat))
                require(bool(match) and 0 <= float(match.group(1)) <= 100,
                        f"behavior {name}: statistic", "p0..p100 (e.g. p90, p99.9)", stat)
        duration = float(crit.get("durationSeconds", 300))
        if metric in COUNT_METRICS:
            require(duration > 0, f"behavior {name}: durationSeconds", "> 0", duration)
        to_alarm = int(crit.get("consecutiveDatapointsToAlarm", 1))
        to_clear = int(crit.get("consecutiveDatapointsToClear", 1))
        require(1 <= to_alarm <= 10, f"behavior {name}: consecutiveDatapointsToAlarm", "1..10", to_alarm)
        require(1 <= to_clear <= 10, f"behavior {name}: consecutiveDatapointsToClear", "1..10", to_clear)
        try:
            networks = tuple(ipaddress.ip_network(c, strict=False) for c in cidrs)
        except ValueError as exc:
            raise InvalidParameterError(f"behavior {name}: value.cidrs", "CIDR blocks", list(cidrs)) from exc
        return cls(name=str(name), metric=metric, operator=op, duration_s=duration,
                   count=None if count is None else float(count), cidrs=cidrs, statistic=stat,
                   to_alarm=to_alarm, to_clear=to_clear, _networks=networks)

    def to_dict(self) -> dict[str, Any]:
        """The behaviour in AWS's ``Behavior`` shape."""
        crit: dict[str, Any] = {"comparisonOperator": self.operator,
                                "consecutiveDatapointsToAlarm": self.to_alarm,
                                "consecutiveDatapointsToClear": self.to_clear}
        if self.metric in COUNT_METRICS:
            crit["durationSeconds"] = int(self.duration_s) if self.duration_s.is_integer() else self.duration_s
        if self.cidrs:
            crit["value"] = {"cidrs": list(self.cidrs)}
        elif self.statistic:
            crit["statisticalThreshold"] = {"statistic": self.statistic}
        else:
            crit["value"] = {"count": int(self.count) if float(self.count).is_integer() else self.count}
        return {"name": self.name, "metric": self.metric, "criteria": crit}

    def breaches(self, value: Any, threshold: float | None) -> bool:
        """True when the datapoint ``value`` violates the behaviour."""
        if self.metric == SOURCE_IP_METRIC:
            try:
                address = ipaddress.ip_address(value)
            except ValueError:
                return self.operator == "in-cidr-set"  # an unparsable address is outside any set
            inside = any(address in net for net in self._networks)
            return inside if self.operator == "in-cidr-set" else not inside
        limit = self.count if threshold is None else threshold
        return {"less-than": value < limit, "less-than-equals": value <= limit,
                "greater-than": value > limit, "greater-than-equals": value >= limit}[self.operator]


@dataclass(frozen=True)
class SecurityProfile:
    """A named set of behaviours; ``quarantine_behaviors`` name those whose violation
    quarantines the device (firesight's mitigation; AWS runs mitigations as tasks)."""

    name: str
    behaviors: tuple[Behavior, ...]
    description: str = ""
    quarantine_behaviors: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "SecurityProfile":
        name = data.get("securityProfileName") if isinstance(data, Mapping) else None
        require(isinstance(name, str) and bool(_PROFILE_NAME.match(name)), "securityProfileName",
                "1..128 characters of [A-Za-z0-9:_-]", name)
        behaviors = tuple(Behavior.from_dict(b) for b in data.get("behaviors") or ())
        require(len(behaviors) >= 1, f"profile {name}: behaviors", "at least one behaviour", [])
        names = [b.name for b in behaviors]
        require(len(set(names)) == len(names), f"profile {name}: behaviors", "unique names", names)
        quarantine = tuple(data.get("quarantineBehaviors") or ())
        unknown = sorted(set(quarantine) - set(names))
        require(not unknown, f"profile {name}: quarantineBehaviors", "names of its behaviours", unknown)
        return cls(name=name, behaviors=behaviors, description=str(data.get("securityProfileDescription", "")),
                   quarantine_behaviors=quarantine)

    def to_dict(self) -> dict[str, Any]:
        """The profile as firesight stores it (AWS's shape plus ``quarantineBehaviors``)."""
        return {"securityProfileName": self.name, "securityProfileDescription": self.description,
                "behaviors": [b.to_dict() for b in self.behaviors],
                "quarantineBehaviors": list(self.quarantine_behaviors)}

    def to_aws(self) -> dict[str, Any]:
        """``CreateSecurityProfile`` request body; refuses durations AWS does not accept."""
        for b in self.behaviors:
            if b.metric in COUNT_METRICS and b.duration_s not in AWS_DURATIONS_S:
                raise InvalidParameterError(f"behavior {b.name}: durationSeconds",
                                            f"one of {AWS_DURATIONS_S} on AWS", b.duration_s)
        return {"securityProfileName": self.name, "securityProfileDescription": self.description,
                "behaviors": [b.to_dict() for b in self.behaviors]}


@dataclass
class _AlarmState:
    breaches: int = 0
    clears: int = 0
    violation: dict[str, Any] | None = None


class Defender:
    """Metrics, profiles and violations for one fleet.

    Parameters
    ----------
    profiles : iterable of SecurityProfile or dicts
    clock : callable returning the time [s since the epoch]
    on_violation : callables receiving each violation event (the response path)
    quarantine : ``callable(thing_name)`` applying the deny-all mitigation, or None
    min_statistical_datapoints : fewest fleet datapoints before a statistical threshold is
        used; behaviours are not evaluated until then [datapoints]
    history_datapoints : fleet datapoints kept per behaviour for statistical thresholds
    retention_s : how long raw events are kept [s]; at least the longest duration
    principal_filter : ``callable(name) -> bool`` choosing which broker principals are
        devices (default: all)
    """

    def __init__(self, profiles: Iterable[SecurityProfile | Mapping[str, Any]] = (), *,
                 clock: Callable[[], float] = time.time,
                 on_violation: Iterable[Callable[[dict[str, Any]], None]] = (),
                 quarantine: Callable[[str], None] | None = None,
                 min_statistical_datapoints: int = 20, history_datapoints: int = 10_000,
                 retention_s: float = 3600.0, principal_filter: Callable[[str], bool] | None = None):
        require(min_statistical_datapoints >= 1, "min_statistical_datapoints", ">= 1", min_statistical_datapoints)
        self._clock = clock
        self._lock = threading.RLock()
        self.profiles: dict[str, SecurityProfile] = {}
        self.on_violation = list(on_violation)
        self.quarantine_fn = quarantine
        self.min_statistical_datapoints = int(min_statistical_datapoints)
        self.history_datapoints = int(history_datapoints)
        self.retention_s = float(retention_s)
        self._events: dict[tuple[str, str], deque[float]] = defaultdict(deque)  # (thing, metric) -> times
        self._pending: dict[str, list[tuple[str, Any]]] = defaultdict(list)  # per-message datapoints
        self._history: dict[tuple[str, str], deque[float]] = {}
        self._states: dict[tuple[str, str, str], _AlarmState] = defaultdict(_AlarmState)
        self.things: set[str] = set()
        self.quarantined: set[str] = set()
        self.last_source_ip: dict[str, str] = {}
        #: site of each device, learnt from the topics it publishes on
        self.sites: dict[str, str] = {}
        self.principal_filter = principal_filter
        #: events recorded per metric, and violations per type
        self.counts: Counter[str] = Counter()
        self.violations: list[dict[str, Any]] = []
        for profile in profiles:
            self.add_profile(profile)

    # -- profiles ---------------------------------------------------------------------------------
    def add_profile(self, profile: SecurityProfile | Mapping[str, Any]) -> SecurityProfile:
        """Attach (or replace) a profile; a replaced profile's dropped behaviours invalidate
        their active violations."""
        if not isinstance(profile, SecurityProfile):
            profile = SecurityProfile.from_dict(profile)
        with self._lock:
            old = self.profiles.get(profile.name)
            if old is not None:
                for b in old.behaviors:
                    if b not in profile.behaviors:
                        self._invalidate(lambda key, b=b: key[0] == profile.name and key[1] == b.name)
            self.profiles[profile.name] = profile
        return profile

    def remove_profile(self, name: str) -> None:
        """Detach a profile; its active violations become ``alarm-invalidated``."""
        with self._lock:
            if name not in self.profiles:
                raise NotFoundError(f"no security profile {name!r}")
            self._invalidate(lambda key: key[0] == name)
            del self.profiles[name]

    def forget_thing(self, thing_name: str) -> None:
        """Drop a device (deleted from the registry); its active violations are invalidated."""
        with self._lock:
            self._invalidate(lambda key: key[2] == thing_name)
            self.things.discard(thing_name)
            for key in [k for k in self._events if k[0] == thing_name]:
                del self._events[key]
            self._pending.pop(thing_name, None)

    # -- metrics ------------------------------------------------------------------------------------
    def _record(self, thing_name: str, metric: str, time_s: float | None) -> None:
        t = self._clock() if time_s is None else float(time_s)
        with self._lock:
            self.things.add(thing_name)
            self._events[(thing_name, metric)].append(t)
            self.counts[metric] += 1

    def record_connect(self, thing_name: str, *, source_ip: str | None = None,
                       time_s: float | None = None) -> None:
        """A connection attempt (successful or refused) by ``thing_name`` (its client id)."""
        self._record(thing_name, "aws:num-connection-attempts", time_s)
        if source_ip:
            with self._lock:
                self._pending[thing_name].append((SOURCE_IP_METRIC, source_ip))
                self.last_source_ip[thing_name] = source_ip

    def record_disconnect(self, thing_name: str, *, time_s: float | None = None) -> None:
        self._record(thing_name, "aws:num-disconnects", time_s)

    def record_publish(self, thing_name: str, size_bytes: int, *, time_s: float | None = None) -> None:
        """A message the device sent (and the broker authorised) of ``size_bytes`` [bytes]."""
        require(size_bytes >= 0, "size_bytes", ">= 0", size_bytes)
        self._record(thing_name, "aws:num-messages-sent", time_s)
        with self._lock:
            self._pending[thing_name].append((MESSAGE_SIZE_METRIC, float(size_bytes)))

    def record_auth_failure(self, thing_name: str, *, time_s: float | None = None) -> None:
        """The broker refused the device an action (publish, subscribe, receive, connect)."""
        self._record(thing_name, "aws:num-authorization-failures", time_s)

    def record_broker_event(self, event: Any) -> None:
        """Feed one broker event (:class:`firesight.iot.broker.BrokerEvent`: ``kind``,
        ``client_id``, ``principal``, ``source_ip``, ``topic``, ``size_bytes``, ``reason``,
        ``time_ms``); wire with ``broker.add_listener(defender.record_broker_event)``.

        ``connect`` and ``connect_refused`` are connection attempts (a refused one is also an
        authorization failure); ``publish`` is a message sent; ``publish_denied``,
        ``subscribe_denied`` and ``receive_denied`` are authorization failures, except a
        payload over the size limit, which counts as a message of that size. Principals
        refused by :attr:`principal_filter` (firesight's own services) are ignored.
        """
        thing = event.principal or event.client_id
        if not thing or (self.principal_filter is not None and not self.principal_filter(thing)):
            return
        t = event.time_ms / 1000.0 if getattr(event, "time_ms", None) else None
        kind = event.kind
        if kind in ("connect", "connect_refused"):
            self.record_connect(thing, source_ip=_ip_of(event.source_ip), time_s=t)
            if kind == "connect_refused":
                self.record_auth_failure(thing, time_s=t)
        elif kind == "disconnect":
            self.record_disconnect(thing, time_s=t)
        elif kind == "publish":
            self.record_publish(thing, int(event.size_bytes or 0), time_s=t)
            if event.topic:
                self._learn_site(thing, event.topic)
        elif kind == "publish_denied" and str(event.reason or "").startswith("payload over"):
            self.record_publish(thing, int(event.size_bytes or 0), time_s=t)
        elif kind in ("publish_denied", "subscribe_denied", "receive_denied"):
            self.record_auth_failure(thing, time_s=t)

    def _learn_site(self, thing: str, topic: str) -> None:
        parts = topic.split("/")
        if len(parts) == 5 and parts[0] == "firesight" and parts[3] == thing:
            self.sites[thing] = parts[2]

    # -- evaluation ---------------------------------------------------------------------------------
    def metric_value(self, thing_name: str, metric: str, duration_s: float, now_s: float | None = None) -> int:
        """Count of ``metric`` events of a device in ``(now - duration, now]``."""
        now_s = self._clock() if now_s is None else now_s
        with self._lock:
            times = self._events.get((thing_name, metric), ())
            return sum(1 for t in reversed(times) if now_s - duration_s < t <= now_s) if times else 0

    def evaluate(self, now_s: float | None = None) -> list[dict[str, Any]]:
        """Take one round of datapoints, apply every behaviour; return the violation events."""
        events: list[dict[str, Any]] = []
        to_quarantine: list[str] = []
        with self._lock:
            now_s = self._clock() if now_s is None else float(now_s)
            horizon = max([self.retention_s] + [b.duration_s for p in self.profiles.values() for b in p.behaviors])
            for q in self._events.values():
                while q and q[0] <= now_s - horizon:
                    q.popleft()
            pending, self._pending = self._pending, defaultdict(list)
            for profile in self.profiles.values():
                for b in profile.behaviors:
                    datapoints: dict[str, list[Any]] = {}
                    for thing in sorted(self.things):
                        if b.metric in COUNT_METRICS:
                            datapoints[thing] = [self.metric_value(thing, b.metric, b.duration_s, now_s)]
                        else:
                            datapoints[thing] = [v for m, v in pending.get(thing, ()) if m == b.metric]
                    threshold = self._threshold(profile.name, b)
                    if b.statistic is not None and threshold is None:
                        self._remember(profile.name, b, datapoints)
                        continue
                    for thing, values in datapoints.items():
                        for value in values:
                            event = self._step(profile, b, thing, value, threshold, now_s)
                            if event is not None:
                                events.append(event)
                                if (event["violationEventType"] == "in-alarm"
                                        and b.name in profile.quarantine_behaviors):
                                    to_quarantine.append(thing)
                    self._remember(profile.name, b, datapoints)
        self._emit(events)
        for thing in dict.fromkeys(to_quarantine):
            try:
                self.quarantine(thing)
            except Exception:  # counted and logged by quarantine(); the other things still go
                continue
        return events

    def _threshold(self, profile: str, b: Behavior) -> float | None:
        if b.statistic is None:
            return None
        history = self._history.get((profile, b.name))
        if history is None or len(history) < self.min_statistical_datapoints:
            return None
        q = float(_STATISTIC.match(b.statistic).group(1))
        return float(np.percentile(np.fromiter(history, float), q))

    def _remember(self, profile: str, b: Behavior, datapoints: dict[str, list[Any]]) -> None:
        if b.statistic is None:
            return
        history = self._history.setdefault((profile, b.name), deque(maxlen=self.history_datapoints))
        for values in datapoints.values():
            history.extend(float(v) for v in values)

    def _step(self, profile: SecurityProfile, b: Behavior, thing: str, value: Any,
              threshold: float | None, now_s: float) -> dict[str, Any] | None:
        state = self._states[(profile.name, b.name, thing)]
        if b.breaches(value, threshold):
            state.breaches, state.clears = state.breaches + 1, 0
            if state.violation is None and state.breaches >= b.to_alarm:
                state.violation = {"violationId": uuid.uuid4().hex, "thingName": thing,
                                   "securityProfileName": profile.name, "behavior": b.to_dict(),
                                   "violationStartTime": now_s}
                return self._event(state.violation, "in-alarm", value, threshold, now_s, b)
            if state.violation is not None:
                state.violation["lastViolationValue"] = _metric_value(b, value)
        else:
            state.clears, state.breaches = state.clears + 1, 0
            if state.violation is not None and state.clears >= b.to_clear:
                violation, state.violation = state.violation, None
                return self._event(violation, "alarm-cleared", value, threshold, now_s, b)
        return None

    def _event(self, violation: dict[str, Any], event_type: str, value: Any, threshold: float | None,
               now_s: float, b: Behavior | None) -> dict[str, Any]:
        event = {k: copy.deepcopy(violation[k]) for k in
                 ("violationId", "thingName", "securityProfileName", "behavior")}
        if value is not None and b is not None:
            event["metricValue"] = _metric_value(b, value)
            violation["lastViolationValue"] = event["metricValue"]
        if threshold is not None:
            event["violationEventAdditionalInfo"] = {"statisticalThreshold": threshold}
        event["violationEventType"] = event_type
        event["violationEventTime"] = now_s
        self.counts[f"violation:{event_type}"] += 1
        self.violations.append(event)
        return event

    def _invalidate(self, match: Callable[[tuple[str, str, str]], bool]) -> None:
        events = []
        for key, state in self._states.items():
            if state.violation is not None and match(key):
                events.append(self._event(state.violation, "alarm-invalidated", None, None, self._clock(), None))
                state.violation, state.breaches, state.clears = None, 0, 0
        self._emit(events)

    def _emit(self, events: list[dict[str, Any]]) -> None:
        for event in events:
            for callback in self.on_violation:
                try:
                    callback(event)
                except Exception:  # one failing consumer must not hide the event from the others
                    self.counts["callback_failures"] += 1
                    log.exception("violation callback %r failed", callback)

    # -- mitigation and queries ---------------------------------------------------------------------
    def quarantine(self, thing_name: str) -> None:
        """Apply the quarantine mitigation to a device (once)."""
        with self._lock:
            if thing_name in self.quarantined:
                return
            self.quarantined.add(thing_name)
        if self.quarantine_fn is not None:
            try:
                self.quarantine_fn(thing_name)
            except Exception:  # e.g. the registry is unreachable: retried on the next violation
                with self._lock:
                    self.quarantined.discard(thing_name)
                self.counts["quarantine_failures"] += 1
                log.exception("quarantine of %s failed", thing_name)
                raise
        self.counts["quarantined"] += 1

    def active_violations(self, thing_name: str | None = None) -> list[dict[str, Any]]:
        """Violations in alarm now, as ``ListActiveViolations`` returns them."""
        with self._lock:
            return [copy.deepcopy(s.violation) for (_, _, thing), s in sorted(self._states.items())
                    if s.violation is not None and (thing_name is None or thing == thing_name)]


def _metric_value(b: Behavior, value: Any) -> dict[str, Any]:
    if b.metric == SOURCE_IP_METRIC:
        return {"cidrs": [str(value)]}
    if b.metric == MESSAGE_SIZE_METRIC:
        return {"number": float(value)}
    return {"count": int(value)}


def _ip_of(address: Any) -> str | None:
    """The IP of a peer address given as ``"ip"``, ``"ip:port"``, ``"[v6]:port"`` or a tuple."""
    if address is None:
        return None
    if isinstance(address, (tuple, list)):
        return str(address[0]) if address else None
    text = str(address)
    if text.startswith("["):
        return text[1:text.index("]")] if "]" in text else text
    if text.count(":") == 1:
        return text.split(":")[0]
    return text


# the service side lives in its own module; re-exported so existing imports keep working
from firesight.iot.defender_service import (  # noqa: E402
    DEFAULT_PROFILE,
    DefenderService,
    registry_quarantine,
    registry_release,
    violation_alert,
)

__all__ = ["COUNT_METRICS", "DEFAULT_PROFILE", "EVENT_TYPES", "METRICS", "MESSAGE_SIZE_METRIC", "OPERATORS",
           "SOURCE_IP_METRIC", "Behavior", "Defender", "DefenderService", "SecurityProfile", "registry_quarantine",
           "registry_release", "violation_alert"]
