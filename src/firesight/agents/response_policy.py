"""What the response agent does with each kind of alert: which channels hear it, how long
a person has to acknowledge it before the next tier hears it, what a maintenance window
may suppress, and how hard each channel retries.

Defaults follow fire-alarm practice (NFPA 72 (2022)): a pre-alarm (``watch``) asks for
verification within a deadline, then escalates; an ``alarm`` goes to every channel at
once and escalates when nobody acknowledges it; ``supervisory`` and ``trouble`` signals go
to maintenance. NFPA 72's positive alarm sequence gives 15 s to acknowledge
and up to 180 s to investigate; the defaults here (alarm 60 s, watch 180 s) allow for
e-mail and chat latency and are policy, not physics: set them per site.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from firesight.agents.events import SIGNALS
from firesight.errors import InvalidParameterError, require
from firesight.notify.retry import RetryPolicy

UNCERTAIN_ACTIONS = ("report", "resend")


@dataclass(frozen=True)
class Route:
    """The channels of one kind of alert, tier by tier.

    Parameters
    ----------
    tiers : tuple of tuple of str
        ``tiers[0]``: channels notified when the alert opens; ``tiers[n]``: channels
        notified at escalation ``n`` (the alert was not acknowledged within
        ``ack_deadline_s`` of the previous tier).
    ack_deadline_s : float or None
        Time to acknowledge each tier before the next one is notified [s]; None: no
        escalation.
    """

    tiers: tuple[tuple[str, ...], ...]
    ack_deadline_s: float | None = None

    def __post_init__(self) -> None:
        require(len(self.tiers) >= 1 and all(isinstance(t, tuple) for t in self.tiers), "tiers",
                "one or more tuples of channel names", self.tiers)
        require(self.ack_deadline_s is None or self.ack_deadline_s > 0, "ack_deadline_s", "> 0 or None",
                self.ack_deadline_s)

    def channels(self) -> set[str]:
        return {c for tier in self.tiers for c in tier}


@dataclass(frozen=True)
class ResponsePolicy:
    """Routing, escalation, suppression and delivery settings of the response agent.

    Parameters
    ----------
    routes : mapping of str to Route
        By ``"signal:level"`` first (e.g. ``"trouble:notification_failed"``), then by
        ``"signal"``, then ``"*"``. A signal without a route is recorded, not notified.
    retry : RetryPolicy
        Attempts and backoff of each delivery (each channel retries on its own).
    channel_retry : mapping of str to RetryPolicy
        Channel names whose retries differ from ``retry`` (e.g. more attempts for e-mail).
    notify_on_clear : bool
        Tell the channels that heard an alert when its condition clears.
    latch_alarms : bool
        A fire ``alarm`` keeps escalating after its condition clears until a person
        acknowledges it (as a fire alarm control unit latches an alarm until it is reset).
    never_suppress_probability : float
        An ``alarm`` with fire probability at or above this [0-1] is notified even inside a
        maintenance window.
    never_suppress_labels : tuple of str
        An ``alarm`` whose explanation (``fire_type``, ``label``, ``family``, ``class``) or
        variant contains one of these words is never suppressed (a flaming fire).
    uncertain : str
        What to do with a delivery that was being sent when the agent died (it may or may
        not have gone out): ``report`` (record it ``uncertain`` and raise a ``trouble``
        alert; never a duplicate) or ``resend`` (send again with the same idempotency key;
        never lost, the receiver may see it twice).
    ack_url_template : str
        Web acknowledgement link, ``str.format`` with ``{alert_id}`` ("" none).
    visibility_timeout_s : float
        Queue visibility timeout while an event is processed [s].
    poll_interval_s : float
        Idle wait of the background loop between queue polls [s]; it bounds the added
        publish-to-notification latency when the queue was empty.
    deadline_interval_s : float
        How often the background loop checks acknowledgement deadlines [s].
    escalate_failures : bool
        Raise a ``trouble`` alert (``notification_failed``) for every failed delivery.
    """

    routes: Mapping[str, Route]
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    channel_retry: Mapping[str, RetryPolicy] = field(default_factory=dict)
    notify_on_clear: bool = True
    latch_alarms: bool = True
    never_suppress_probability: float = 0.9
    never_suppress_labels: tuple[str, ...] = ("flaming",)
    uncertain: str = "report"
    ack_url_template: str = ""
    visibility_timeout_s: float = 60.0
    poll_interval_s: float = 0.05
    deadline_interval_s: float = 1.0
    escalate_failures: bool = True

    def __post_init__(self) -> None:
        for name in self.routes:
            require(name == "*" or name.split(":", 1)[0] in SIGNALS, "routes",
                    f"keys '*', a signal {SIGNALS} or 'signal:level'", name)
        require(0.0 <= self.never_suppress_probability <= 1.0, "never_suppress_probability",
                "a probability in [0, 1]", self.never_suppress_probability)
        require(self.uncertain in UNCERTAIN_ACTIONS, "uncertain", f"one of {UNCERTAIN_ACTIONS}",
                self.uncertain)
        require(self.visibility_timeout_s > 0, "visibility_timeout_s", "> 0", self.visibility_timeout_s)
        require(self.poll_interval_s > 0, "poll_interval_s", "> 0", self.poll_interval_s)
        require(self.deadline_interval_s > 0, "deadline_interval_s", "> 0", self.deadline_interval_s)

    def retry_for(self, channel: str) -> RetryPolicy:
        """The retry policy of ``channel``."""
        return self.channel_retry.get(channel, self.retry)

    def route(self, signal: str, level: str) -> Route | None:
        """The route of an alert, or None when it is not notified."""
        return self.routes.get(f"{signal}:{level}") or self.routes.get(signal) or self.routes.get("*")

    def channels(self) -> set[str]:
        """Every channel name the policy uses."""
        return {c for r in self.routes.values() for c in r.channels()}

    def never_suppress(self, signal: str, probability: float | None, variant: str,
                       explanation: Mapping[str, Any]) -> bool:
        """Whether a maintenance window must not silence this alert."""
        if signal != "alarm":
            return False
        if probability is not None and probability >= self.never_suppress_probability:
            return True
        words = [variant] + [str(explanation.get(k, "")) for k in ("fire_type", "label", "family", "class")]
        text = " ".join(words).lower()
        return any(label.lower() in text for label in self.never_suppress_labels)

    # -- construction --------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> "ResponsePolicy":
        """Build from plain data (a config file section); unknown keys are errors.

        ``routes`` maps a key to ``{"tiers": [[channel, ...], ...], "ack_deadline_s": s}``;
        ``retry`` holds the fields of :class:`RetryPolicy`.
        """
        require(isinstance(values, Mapping), "response policy", "a mapping", type(values).__name__)
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        require(not unknown, "response policy keys", f"among {sorted(known)}", unknown)
        kwargs = dict(values)
        routes = {}
        for name, spec in dict(values.get("routes") or {}).items():
            require(isinstance(spec, Mapping) and "tiers" in spec, f"routes.{name}",
                    "a mapping with 'tiers' (a list of channel lists)", spec)
            extra = sorted(set(spec) - {"tiers", "ack_deadline_s"})
            require(not extra, f"routes.{name} keys", "among ['ack_deadline_s', 'tiers']", extra)
            tiers = tuple(tuple(str(c) for c in _as_list(t, f"routes.{name}.tiers")) for t in spec["tiers"])
            routes[str(name)] = Route(tiers, spec.get("ack_deadline_s"))
        kwargs["routes"] = routes
        if "retry" in values:
            kwargs["retry"] = _retry(values["retry"], "retry")
        if "channel_retry" in values:
            spec = values["channel_retry"]
            require(isinstance(spec, Mapping), "channel_retry", "a mapping of channel name to retry fields", spec)
            kwargs["channel_retry"] = {str(k): _retry(v, f"channel_retry.{k}") for k, v in spec.items()}
        if "never_suppress_labels" in values:
            kwargs["never_suppress_labels"] = tuple(_as_list(values["never_suppress_labels"],
                                                             "never_suppress_labels"))
        try:
            return cls(**kwargs)
        except TypeError as exc:
            raise InvalidParameterError("response policy", "valid fields", str(exc)) from None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self)}
        out["routes"] = {k: {"tiers": [list(t) for t in r.tiers], "ack_deadline_s": r.ack_deadline_s}
                         for k, r in self.routes.items()}
        out["retry"] = _retry_dict(self.retry)
        out["channel_retry"] = {k: _retry_dict(v) for k, v in self.channel_retry.items()}
        out["never_suppress_labels"] = list(self.never_suppress_labels)
        return out


def default_policy(channels: Iterable[str], **overrides: Any) -> ResponsePolicy:
    """The recommended policy over the configured channel names.

    ``watch`` -> ``console`` (then ``email`` after 180 s without acknowledgement);
    ``alarm`` -> ``email``, ``webhook``, ``slack``, ``console`` at once, then every one of
    them again plus ``escalation`` after 60 s; ``supervisory`` and ``trouble`` ->
    ``maintenance`` (or ``email`` when there is no ``maintenance`` channel) and ``console``.
    Channels that are not configured are left out of each tier (a tier left empty is
    dropped).
    """
    have = set(channels)

    def tier(*names: str) -> tuple[str, ...]:
        return tuple(n for n in names if n in have)

    maintenance = "maintenance" if "maintenance" in have else "email"
    alarm_all = tier("email", "webhook", "slack", "console")
    routes = {
        "watch": _route([tier("console"), tier("email", "console")], 180.0),
        "alarm": _route([alarm_all, alarm_all + tier("escalation")], 60.0),
        "supervisory": _route([tier(maintenance, "console")], None),
        "trouble": _route([tier(maintenance, "console")], None),
    }
    return ResponsePolicy(routes={k: v for k, v in routes.items() if v is not None}, **overrides)


def _route(tiers: Sequence[tuple[str, ...]], deadline_s: float | None) -> Route | None:
    kept = tuple(t for t in tiers if t)
    return Route(kept, deadline_s if len(kept) > 1 else None) if kept else None


def _as_list(value: Any, name: str) -> list[Any]:
    require(isinstance(value, (list, tuple)), name, "a list", value)
    return list(value)


def _retry(value: Any, name: str) -> RetryPolicy:
    if isinstance(value, RetryPolicy):
        return value
    require(isinstance(value, Mapping), name, "a mapping of RetryPolicy fields", value)
    known = sorted(f.name for f in fields(RetryPolicy))
    bad = sorted(set(value) - set(known))
    require(not bad, f"{name} keys", f"among {known}", bad)
    return RetryPolicy(**value)


def _retry_dict(retry: RetryPolicy) -> dict[str, Any]:
    return {f.name: getattr(retry, f.name) for f in fields(RetryPolicy)}
