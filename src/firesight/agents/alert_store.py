"""Alert history on a :class:`firesight.ports.MetadataStore`: alerts, their delivery log,
acknowledgements, feedback and maintenance windows.

Every change of an alert or a delivery is a conditional write on its ``version``
(read, change, write if the version is still the one read; otherwise read again), so two
processes (the response agent and ``firesight alerts ack`` in a shell) never overwrite
each other. Tables:

``alerts`` (key ``alert_id``)
    One record per alert: site, thing, signal, level, state, times, probability,
    explanation, model, the stages notified and the history of transitions.
``alert_events`` (key ``event_id``)
    Events already applied (idempotency: a redelivered event changes nothing).
``alert_active`` (key ``condition``)
    The open alert of each ``thing|signal|condition`` (de-duplication).
``alert_deliveries`` (key ``delivery_key`` = ``{alert_id}:{stage}:{channel}``)
    One record per notification: ``pending`` -> ``sending`` -> ``sent`` | ``failed`` |
    ``uncertain``; or ``suppressed``.
``alert_acks`` (key ``alert_id``, sort ``at_ms``)
    Acknowledgements and resolutions, who and when.
``alert_maintenance`` (key ``window_id``)
    Maintenance windows of a site or one thing.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable
from typing import Any

import numpy as np

from firesight.errors import ConflictError, InvalidParameterError, NotFoundError, require
from firesight.ports import Item, MetadataStore

ALERTS, EVENTS, ACTIVE = "alerts", "alert_events", "alert_active"
DELIVERIES, ACKS, MAINTENANCE = "alert_deliveries", "alert_acks", "alert_maintenance"

ALERT_STATES = ("active", "acknowledged", "resolved", "cleared")
DELIVERY_STATES = ("pending", "sending", "sent", "failed", "uncertain", "suppressed")
FEEDBACK_KINDS = ("false_alarm", "confirmed_fire", "missed_fire")
_MAX_HISTORY = 500
_MAX_RETRIES = 50


def alert_id_for(event_id: str) -> str:
    """The id of the alert an event opens: deterministic, so a redelivered opening event
    finds the alert it made."""
    return hashlib.sha256(event_id.encode()).hexdigest()[:12]


def condition_key(thing: str, signal: str, level: str) -> str:
    """De-duplication key: one open alert per thing and fire signal, or per thing, signal and
    condition for ``supervisory`` / ``trouble`` (an offline node and a failed sensor are two
    alerts)."""
    return f"{thing}|{signal}|{level if signal in ('supervisory', 'trouble') else ''}"


def delivery_key(alert_id: str, stage: str, channel: str) -> str:
    return f"{alert_id}:{stage}:{channel}"


class AlertStore:
    """Alerts and their deliveries, acknowledgements and maintenance windows.

    Parameters
    ----------
    metadata : MetadataStore
        Where the tables live (SQLite locally, DynamoDB on AWS).
    clock : callable
        Current time [s since epoch]; injected for tests.
    """

    def __init__(self, metadata: MetadataStore, clock: Callable[[], float] = time.time):
        self.metadata = metadata
        self.clock = clock

    # -- generic conditional update --------------------------------------------------------------
    def _update(self, table: str, key_name: str, key: str, change: Callable[[Item], Item | None]) -> Item:
        """Read the item, apply ``change`` (returns the new item, or None for no change) and
        write it if nobody wrote in between; retry on conflict."""
        for _ in range(_MAX_RETRIES):
            item = self.metadata.get(table, key)
            if item is None:
                raise NotFoundError(f"no {table} item {key!r}")
            version = int(item.get("version", 0))
            new = change(dict(item))
            if new is None:
                return item
            new["version"] = version + 1
            try:
                self.metadata.put(table, new, key=key_name, expected_version=version)
                return new
            except ConflictError:
                continue
        raise ConflictError(f"{table} item {key!r} kept changing during {_MAX_RETRIES} attempts")

    # -- alerts -----------------------------------------------------------------------------------
    def create_alert(self, alert: Item) -> bool:
        """Store a new alert; False if one with this id exists already."""
        alert = {**alert, "version": 1}
        try:
            self.metadata.put(ALERTS, alert, key="alert_id", if_absent=True)
            return True
        except ConflictError:
            return False

    def get(self, alert_id: str) -> Item:
        """The alert ``alert_id`` or the one alert whose id starts with it."""
        require(isinstance(alert_id, str) and len(alert_id) >= 4, "alert_id", "at least 4 characters",
                alert_id)
        item = self.metadata.get(ALERTS, alert_id)
        if item is not None:
            return item
        matches = [a for a in self.metadata.scan(ALERTS) if str(a["alert_id"]).startswith(alert_id)]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise NotFoundError(f"no alert {alert_id!r}")
        raise InvalidParameterError("alert_id", "a prefix of one alert id",
                                    f"{alert_id!r} (matches {len(matches)})")

    def update_alert(self, alert_id: str, change: Callable[[Item], Item | None]) -> Item:
        return self._update(ALERTS, "alert_id", alert_id, change)

    def list(self, *, site: str | None = None, thing: str | None = None, state: str | None = None,
             signal: str | None = None, since_s: float | None = None, until_s: float | None = None,
             limit: int | None = None) -> list[Item]:
        """Alerts matching every given filter, newest first (``since_s``/``until_s`` bound the
        time the alert opened [s since epoch])."""
        if state is not None:
            require(state in ALERT_STATES, "state", f"one of {ALERT_STATES}", state)
        where = {k: v for k, v in (("site", site), ("thing", thing), ("state", state), ("signal", signal))
                 if v is not None}
        items = [a for a in self.metadata.query(ALERTS, where=where)
                 if (since_s is None or a["opened_s"] >= since_s) and (until_s is None or a["opened_s"] <= until_s)]
        items.sort(key=lambda a: (a["opened_s"], a["alert_id"]), reverse=True)
        return items[:limit] if limit is not None else items

    def open_alerts(self) -> list[Item]:
        """Alerts that are not resolved (active, acknowledged or cleared)."""
        return [a for s in ("active", "acknowledged", "cleared") for a in self.metadata.query(ALERTS, where={"state": s})]

    # -- de-duplication index ----------------------------------------------------------------------
    def active_alert_id(self, condition: str) -> str | None:
        item = self.metadata.get(ACTIVE, condition)
        return (item or {}).get("alert_id") or None

    def claim_condition(self, condition: str, alert_id: str) -> str:
        """Make ``alert_id`` the open alert of ``condition`` unless another one is; return
        the open alert's id (``alert_id`` or the other)."""
        for _ in range(_MAX_RETRIES):
            item = self.metadata.get(ACTIVE, condition)
            if item is not None and item.get("alert_id"):
                return str(item["alert_id"])
            version = int((item or {}).get("version", 0))
            try:
                self.metadata.put(ACTIVE, {"condition": condition, "alert_id": alert_id, "version": version + 1},
                                  key="condition", expected_version=version)
                return alert_id
            except ConflictError:
                continue
        raise ConflictError(f"alert condition {condition!r} kept changing")

    def release_condition(self, condition: str, alert_id: str) -> None:
        """Forget that ``alert_id`` is the open alert of ``condition`` (if it still is)."""
        def change(item: Item) -> Item | None:
            return {**item, "alert_id": ""} if item.get("alert_id") == alert_id else None
        try:
            self._update(ACTIVE, "condition", condition, change)
        except NotFoundError:
            pass

    # -- events (idempotency) -----------------------------------------------------------------------
    def event_applied(self, event_id: str) -> bool:
        return self.metadata.get(EVENTS, event_id) is not None

    def mark_event(self, event_id: str, alert_id: str) -> None:
        try:
            self.metadata.put(EVENTS, {"event_id": event_id, "alert_id": alert_id, "at_s": self.clock()},
                              key="event_id", if_absent=True)
        except ConflictError:
            pass

    # -- deliveries ---------------------------------------------------------------------------------
    def plan_delivery(self, record: Item) -> bool:
        """Record a delivery (``pending`` or ``suppressed``) before anything is sent; False if
        it was planned already."""
        require(record.get("state") in ("pending", "suppressed"), "state", "'pending' or 'suppressed'",
                record.get("state"))
        try:
            self.metadata.put(DELIVERIES, {**record, "version": 1}, key="delivery_key", if_absent=True)
            return True
        except ConflictError:
            return False

    def delivery(self, key: str) -> Item | None:
        return self.metadata.get(DELIVERIES, key)

    def update_delivery(self, key: str, change: Callable[[Item], Item | None]) -> Item:
        return self._update(DELIVERIES, "delivery_key", key, change)

    def transition_delivery(self, key: str, from_state: str, to_state: str, **values: Any) -> Item | None:
        """Move a delivery from ``from_state`` to ``to_state``; None (nothing written) if it
        is not in ``from_state`` any more (another worker took it)."""
        require(to_state in DELIVERY_STATES, "to_state", f"one of {DELIVERY_STATES}", to_state)
        moved: list[bool] = []

        def change(item: Item) -> Item | None:
            if item.get("state") != from_state:
                return None
            moved.append(True)
            return {**item, "state": to_state, **values}
        item = self.update_delivery(key, change)
        return item if moved else None

    def deliveries(self, *, alert_id: str | None = None, state: str | None = None,
                   channel: str | None = None) -> list[Item]:
        where = {k: v for k, v in (("alert_id", alert_id), ("state", state), ("channel", channel)) if v is not None}
        return sorted(self.metadata.query(DELIVERIES, where=where),
                      key=lambda d: (d.get("created_s", 0.0), d["delivery_key"]))

    # -- people: acknowledge, resolve, feedback -----------------------------------------------------
    def acknowledge(self, alert_id: str, *, by: str, note: str = "") -> Item:
        """Acknowledge an alert (stops its escalation)."""
        alert_id = self.get(alert_id)["alert_id"]
        now = self.clock()

        def change(a: Item) -> Item | None:
            if a["state"] == "resolved":
                raise ConflictError(f"alert {alert_id} is resolved already")
            if a.get("acknowledged_s"):
                return None
            a.update(acknowledged_s=now, acknowledged_by=by, next_deadline_s=None, updated_s=now)
            if a["state"] == "active":
                a["state"] = "acknowledged"
            add_history(a, now, "acknowledged", by=by, note=note)
            return a
        before = self.get(alert_id)
        alert = self.update_alert(alert_id, change)
        if alert["version"] != before["version"]:
            self._record_person(alert_id, "acknowledge", by, note, now)
        return alert

    def resolve(self, alert_id: str, *, by: str, note: str = "") -> Item:
        """Close an alert; the next event of its condition opens a new one."""
        alert_id = self.get(alert_id)["alert_id"]
        now = self.clock()

        def change(a: Item) -> Item | None:
            if a["state"] == "resolved":
                return None
            a.update(state="resolved", resolved_s=now, resolved_by=by, next_deadline_s=None, updated_s=now)
            if not a.get("acknowledged_s"):
                a.update(acknowledged_s=now, acknowledged_by=by)
            add_history(a, now, "resolved", by=by, note=note)
            return a
        before = self.get(alert_id)
        alert = self.update_alert(alert_id, change)
        self.release_condition(alert["condition"], alert_id)
        if alert["version"] != before["version"]:
            self._record_person(alert_id, "resolve", by, note, now)
        return alert

    def add_feedback(self, alert_id: str, *, kind: str, by: str, note: str = "") -> Item:
        require(kind in FEEDBACK_KINDS, "kind", f"one of {FEEDBACK_KINDS}", kind)
        alert_id = self.get(alert_id)["alert_id"]
        now = self.clock()

        def change(a: Item) -> Item:
            a.setdefault("feedback", []).append({"kind": kind, "by": by, "note": note, "at_s": now})
            add_history(a, now, f"feedback:{kind}", by=by, note=note)
            a["updated_s"] = now
            return a
        alert = self.update_alert(alert_id, change)
        self._record_person(alert_id, f"feedback:{kind}", by, note, now)
        return alert

    def _record_person(self, alert_id: str, action: str, by: str, note: str, now: float) -> None:
        # sort key: the (injected) clock, then the wall clock in ns to order records of one ms
        sort = f"{int(now * 1000):015d}-{time.time_ns():020d}-{uuid.uuid4().hex[:4]}"
        record = {"alert_id": alert_id, "at_ms": sort, "action": action,
                  "by": by, "note": note, "at_s": now}
        self.metadata.put(ACKS, record, key="alert_id", sort_key="at_ms")

    def acknowledgements(self, alert_id: str) -> list[Item]:
        return self.metadata.query(ACKS, key=alert_id)

    # -- maintenance windows ---------------------------------------------------------------------------
    def add_maintenance(self, *, site: str, thing: str = "", from_s: float, until_s: float,
                        reason: str = "", by: str = "") -> Item:
        require(bool(site), "site", "a site name", site)
        require(until_s > from_s, "until_s", f"> from_s ({from_s})", until_s)
        window = {"window_id": uuid.uuid4().hex[:10], "site": site, "thing": thing or "", "from_s": float(from_s),
                  "until_s": float(until_s), "reason": reason, "by": by, "created_s": self.clock()}
        self.metadata.put(MAINTENANCE, window, key="window_id", if_absent=True)
        return window

    def maintenance_windows(self, *, at_s: float | None = None) -> list[Item]:
        windows = sorted(self.metadata.scan(MAINTENANCE), key=lambda w: (w["from_s"], w["window_id"]))
        if at_s is not None:
            windows = [w for w in windows if w["from_s"] <= at_s < w["until_s"]]
        return windows

    def remove_maintenance(self, window_id: str) -> None:
        if self.metadata.get(MAINTENANCE, window_id) is None:
            raise NotFoundError(f"no maintenance window {window_id!r}")
        self.metadata.delete(MAINTENANCE, window_id)

    def maintenance_for(self, site: str, thing: str, at_s: float) -> Item | None:
        """The maintenance window covering ``thing`` of ``site`` at ``at_s``, or None."""
        for w in self.maintenance_windows(at_s=at_s):
            if w["site"] == site and (not w["thing"] or w["thing"] == thing):
                return w
        return None

    # -- summaries ------------------------------------------------------------------------------------
    def latency_summary(self) -> dict[str, Any]:
        """Publish-to-notification latency of sent deliveries [s]: count, p50, p99, max."""
        values = [d["latency_s"] for d in self.deliveries(state="sent") if d.get("latency_s") is not None]
        if not values:
            return {"count": 0, "p50_s": None, "p99_s": None, "max_s": None}
        p50, p99 = np.percentile(values, [50, 99])
        return {"count": len(values), "p50_s": float(p50), "p99_s": float(p99), "max_s": float(max(values))}


def add_history(alert: Item, now: float, action: str, **values: Any) -> None:
    """Append a transition to the alert's history (bounded)."""
    history = alert.setdefault("history", [])
    history.append({"at_s": now, "action": action, "state": alert.get("state"), "level": alert.get("level"),
                    **{k: v for k, v in values.items() if v not in (None, "")}})
    if len(history) > _MAX_HISTORY:  # keep the first entry (how it opened) and the latest ones
        del history[1:len(history) - _MAX_HISTORY + 1]



def feedback_message(alert: Item, *, kind: str, by: str, note: str, at_s: float) -> Item:
    """The body of a :data:`~firesight.agents.events.FEEDBACK_QUEUE` message: the operator's
    verdict on an alert and what the learning agent needs to find the field window
    (site, thing, device time, stream time, model)."""
    require(kind in FEEDBACK_KINDS, "kind", f"one of {FEEDBACK_KINDS}", kind)
    return {"kind": kind, "by": by, "note": note, "at_s": at_s, "alert_id": alert["alert_id"],
            "site": alert["site"], "thing": alert["thing"], "signal": alert["signal"], "level": alert["level"],
            "opened_s": alert["opened_s"], "ts_ms": alert.get("ts_ms"), "scenario_time_s": alert.get("scenario_time_s"),
            "probability": alert.get("max_probability"), "variant": alert.get("variant", ""),
            "model_version": alert.get("model_version", ""), "explanation": alert.get("explanation") or {}}
