"""Messages the agents exchange, and the names of the queues that carry them.

An :class:`AlertEvent` is what the analysis agent (fire probability -> alert level) and the
monitoring agent (device health: offline, degraded sensor) emit and the response agent
consumes. Events travel as JSON on the durable queue :data:`ALERT_EVENTS_QUEUE`
(at-least-once) and are published on ``firesight/v1/{site}/alerts``; consumers are
idempotent by ``event_id``.

Signals follow NFPA 72 (2022) 3.3.278: ``alarm`` (fire), ``supervisory`` (a protection
feature impaired, e.g. a node in degraded mode), ``trouble`` (a fault of the system itself:
offline node, failed sensor, failed notification). ``watch`` is the pre-alarm level that
asks for verification before it escalates.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any

from firesight.errors import DataError, require

#: Durable queue from the analysis and monitoring agents to the response agent.
ALERT_EVENTS_QUEUE = "alert-events"
#: Durable queue of operator feedback (false alarm / confirmed fire / missed fire) for the learning agent.
FEEDBACK_QUEUE = "feedback"
#: Durable queue of scored feature windows, sampled by the analysis agent, for the learning agent
#: (drift; :mod:`firesight.agents.field_windows`).
FIELD_WINDOWS_QUEUE = "field-windows"
#: Metadata table of the agents' per-device state (conditions, alert level, sequences, the
#: devices a scale-out worker serves).
STATE_TABLE = "agent-device-state"

def parse_json_object(body: str | bytes, what: str) -> dict[str, Any]:
    """The JSON object of a queue message body; :class:`DataError` saying that ``what`` (the
    message's name) is not JSON or not an object."""
    try:
        raw = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise DataError(f"{what} is not JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise DataError(f"{what} must be a JSON object, got {type(raw).__name__}")
    return raw


#: Signals, NFPA 72 conventions plus the pre-alarm ``watch``.
SIGNALS: tuple[str, ...] = ("alarm", "watch", "supervisory", "trouble")
#: Alert levels of the fire decision (as in :mod:`firesight.detection.alerts`).
LEVELS: tuple[str, ...] = ("normal", "watch", "alarm")


@dataclass(frozen=True)
class AlertEvent:
    """A change of one device's alert condition.

    Parameters
    ----------
    event_id : str
        Unique and deterministic for the change (``{thing}:{signal}:{seq}``): a redelivered
        event has the same id, so consumers de-duplicate by it.
    site, thing : str
        Where.
    signal : str
        One of :data:`SIGNALS`.
    state : str
        ``active`` when the condition starts (or its level rises), ``cleared`` when it ends.
    level : str
        For fire signals, the alert level after the change (:data:`LEVELS`); for
        ``supervisory`` / ``trouble`` the condition's name (``offline``, ``camera_failed``,
        ``scd41_failed``, ``degraded:gas``, ``notification_failed``, ...).
    previous : str
        The level or condition before the change.
    ts_ms : int
        Device time of the window or reading that caused the change [ms since epoch].
    scenario_time_s : float or None
        Time since the start of the device's stream [s] (the simulated fleet's scenario
        time; None for real devices).
    probability : float or None
        Fire probability of the window [0-1] (fire signals).
    variant : str
        Model variant (``full``, ``thermal``, ``gas``) or ``""``.
    model_version : str
        Registry version of the model that decided, or ``""``.
    explanation : dict
        What drove it: ``{"sensor": "thermal"|"scd41"|"both", "features": {name: value},
        "snapshot": {...}}`` (JSON-serialisable).
    correlation_id : str
        Follows one reading from the device to the notification (logs, metrics).
    published_ns : int
        Wall clock [ns] at which the device published the reading that caused it (latency
        measurement), or 0.
    """

    event_id: str
    site: str
    thing: str
    signal: str
    state: str
    level: str
    previous: str
    ts_ms: int
    scenario_time_s: float | None = None
    probability: float | None = None
    variant: str = ""
    model_version: str = ""
    explanation: dict[str, Any] = field(default_factory=dict)
    correlation_id: str = ""
    published_ns: int = 0

    def __post_init__(self) -> None:
        require(self.signal in SIGNALS, "signal", f"one of {SIGNALS}", self.signal)
        require(self.state in ("active", "cleared"), "state", "'active' or 'cleared'", self.state)
        require(bool(self.event_id) and bool(self.thing), "event_id/thing", "non-empty strings",
                (self.event_id, self.thing))
        if self.probability is not None:
            require(math.isfinite(self.probability) and 0.0 <= self.probability <= 1.0,
                    "probability", "a finite probability in [0, 1] or None", self.probability)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, allow_nan=False)

    @classmethod
    def from_json(cls, text: str | bytes) -> "AlertEvent":
        """Parse an event; raise :class:`DataError` with the reason if it is malformed."""
        values = parse_json_object(text, "alert event")
        known = {k: values[k] for k in cls.__dataclass_fields__ if k in values}
        try:
            return cls(**known)
        except (TypeError, ValueError) as exc:
            raise DataError(f"alert event is malformed: {exc}") from None
