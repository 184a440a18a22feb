"""The response agent: alert events in, notifications to people out, everything recorded.

It consumes :class:`~firesight.agents.events.AlertEvent` messages from the durable queue
:data:`~firesight.agents.events.ALERT_EVENTS_QUEUE` and, by its
:class:`~firesight.agents.response_policy.ResponsePolicy`, opens, updates (de-duplicates)
and clears alerts in the :class:`~firesight.agents.alert_store.AlertStore`, notifies the
channels of each alert's tier, escalates to the next tier when nobody acknowledges in
time, suppresses notifications inside maintenance windows (never a flaming-fire alarm)
and escalates failed deliveries as ``trouble`` alerts. It publishes nothing itself.

Delivery guarantees
-------------------
In: at least once. A message is deleted from the queue only after the alert change and
its planned deliveries are stored; a redelivered event is recognised by ``event_id``.

Out: one send per delivery key ``{alert_id}:{stage}:{channel}``. The key is stored as
``pending`` before anything is sent. The channel prepares the send (an SMTP channel
connects, negotiates TLS, authenticates and has MAIL FROM / RCPT TO accepted) and, right
before its irrevocable step (SMTP DATA, the HTTP request), calls back: the delivery moves
to ``sending`` by a conditional write (one worker wins; a loser sends nothing), then to
``sent`` / ``failed`` right after. A ``pending`` delivery left by a crash is sent on
restart (an SMTP session that never reached DATA delivered nothing). The one window in
which a crash leaves the outcome unknown is that last step itself: such a delivery is
found in ``sending`` on restart and, by ``policy.uncertain``, either recorded
``uncertain`` and escalated as a ``trouble`` alert (``report``, default: never a
duplicate, never silent) or sent again with the same idempotency key (``resend``: never
lost).

Observability: each event is handled with its correlation id bound
(:func:`firesight.ops.logs.correlation`; the event's ``correlation_id``, else its
``event_id``), each delivery with its alert's, so the log lines of the response path carry
the id of the reading that raised the alert. Deliveries are counted in
``firesight_notifications_sent_total`` / ``firesight_notification_failures_total`` by
channel (a failure once its retries are spent), the ``trouble`` events the agent raises
itself in ``firesight_alerts_total``.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from firesight.agents.alert_store import AlertStore, add_history, alert_id_for, condition_key
from firesight.agents.events import ALERT_EVENTS_QUEUE, AlertEvent
from firesight.agents.response_outbox import FAILED, UNCERTAIN, DeliveryOutbox, check_event, event_times
from firesight.agents.response_policy import ResponsePolicy
from firesight.errors import DataError, InvalidParameterError, NotFoundError, require
from firesight.ops import metrics
from firesight.ops.logs import correlation
from firesight.ports import Item, MessageQueue, MetadataStore, Notifier

log = logging.getLogger("firesight.agents.response")

__all__ = ["FAILED", "UNCERTAIN", "ResponseAgent", "check_channels", "check_event"]


class ResponseAgent(DeliveryOutbox):
    """Turns alert events into notifications by policy and records everything.

    ``SWEEP_INTERVAL_S`` [s]: how often the timer loop looks for deliveries a failure left
    ``pending`` or ``sending`` (a restart looks at once).

    Parameters
    ----------
    queue : MessageQueue
        The durable queue that carries :data:`ALERT_EVENTS_QUEUE`.
    store : AlertStore or MetadataStore
        Alert history (a bare MetadataStore is wrapped in an :class:`AlertStore`).
    channels : mapping of str to Notifier
        Channels by the names the policy routes to.
    policy : ResponsePolicy
    clock : callable
        Current time [s since epoch] (alert times, deadlines); injected for tests.
    queue_name : str
        Queue to consume (default :data:`ALERT_EVENTS_QUEUE`).
    worker_id : str
        Name of this worker; a restarted worker with the same name takes over the
        deliveries its previous incarnation left in ``sending`` at once.
    sleep : callable
        Waits between retries [s]; injected so tests do not wait.
    rng : numpy.random.Generator, optional
        Retry jitter.
    """

    SWEEP_INTERVAL_S = 30.0

    def __init__(self, queue: MessageQueue, store: AlertStore | MetadataStore, channels: Mapping[str, Notifier],
                 policy: ResponsePolicy, clock: Callable[[], float] = time.time, *,
                 queue_name: str = ALERT_EVENTS_QUEUE, worker_id: str = "response",
                 sleep: Callable[[float], None] | None = None, rng: np.random.Generator | None = None):
        check_channels(channels)
        missing = sorted(policy.channels() - set(channels))
        require(not missing, "channels", f"every channel the policy routes to ({sorted(policy.channels())})",
                f"missing {missing}")
        self.queue, self.channels, self.policy, self.clock = queue, dict(channels), policy, clock
        self.store = store if isinstance(store, AlertStore) else AlertStore(store, clock)
        self.queue_name, self.worker_id = queue_name, worker_id
        self._rng = rng
        self._stop_receiving = threading.Event()
        self._stopped = threading.Event()
        self._sleep = sleep or (lambda s: self._stopped.wait(s))
        self._thread: threading.Thread | None = None
        self._pool = ThreadPoolExecutor(max_workers=max(1, min(8, len(self.channels))),
                                        thread_name_prefix="notify")
        self._recovered = False
        self._last_deadline_check = float("-inf")
        self._last_sweep = float("-inf")
        self.counters: dict[str, int] = {k: 0 for k in (
            "events", "events_duplicate", "events_malformed", "alerts_opened", "alerts_updated",
            "alerts_cleared", "escalations", "sent", "failed", "suppressed", "uncertain", "resent",
            "loop_errors", "loop_restarts")}
        self.last_error = ""
        self._lock = threading.Lock()

    # -- the queue -------------------------------------------------------------------------------
    def process_available(self, max_messages: int = 10) -> int:
        """Receive and handle up to ``max_messages`` events now; return how many were handled."""
        require(max_messages >= 1, "max_messages", ">= 1", max_messages)
        if not self._recovered:
            self.recover()
        handled = 0
        while handled < max_messages and not self._stop_receiving.is_set():
            messages = self.queue.receive(self.queue_name, max_messages=min(10, max_messages - handled),
                                          visibility_timeout_s=self.policy.visibility_timeout_s)
            if not messages:
                break
            for message in messages:
                self._handle_message(message)
                handled += 1
        return handled

    def handle_event(self, event: AlertEvent) -> int:
        """Apply one event that arrived some other way (an SQS-triggered Lambda, a test) and
        send its notifications; return how many deliveries it planned. Raises
        :class:`DataError` for an event of the wrong types (the caller's queue keeps it)."""
        if not self._recovered:
            self.recover()
        event = check_event(event)
        with correlation(event.correlation_id or event.event_id):
            keys = self.apply_event(event)
            self._dispatch(keys)
        return len(keys)

    def _handle_message(self, message: Item) -> None:
        try:
            event = check_event(AlertEvent.from_json(message["body"]))
        except DataError as exc:
            with correlation(f"malformed:{message.get('message_id')}"):
                self._dead_letter(message, str(exc))
            return
        with correlation(event.correlation_id or event.event_id):
            keys = self.apply_event(event)
            self._delete(message)  # the effects are stored: the event is done even if a send fails below
            self._dispatch(keys)

    def _dead_letter(self, message: Item, reason: str) -> None:
        """A malformed event never becomes valid: park it on the dead-letter queue with the
        reason and raise a ``trouble`` alert (``malformed_event``), since it may have been an
        alarm."""
        self._count("events_malformed")
        message_id = str(message.get("message_id"))
        log.error("malformed alert event %s: %s", message_id, reason)
        self.queue.send(self.queue_name + "-dlq", message["body"],
                        attributes={"error": reason[:500], "source_message_id": message_id})
        try:
            values = json.loads(message["body"])
        except (ValueError, RecursionError):
            values = {}
        values = values if isinstance(values, dict) else {}

        def text(name: str) -> str:
            value = values.get(name)
            return value[:200] if isinstance(value, str) and value else "unknown"
        trouble = AlertEvent(
            event_id=f"malformed:{message_id}", site=text("site"), thing=text("thing"), signal="trouble",
            state="active", level="malformed_event", previous="", ts_ms=int(self.clock() * 1000),
            explanation={"reason": f"an alert event could not be read: {reason}"[:500],
                         "signal": text("signal"), "dead_letter_queue": self.queue_name + "-dlq",
                         "message_id": message_id})
        keys = self.apply_event(trouble, raised_here=True)
        self._delete(message)
        self._dispatch(keys)

    def _delete(self, message: Item) -> None:
        try:
            self.queue.delete(self.queue_name, message["receipt_handle"])
        except NotFoundError:  # received again by another worker meanwhile; it is idempotent
            log.warning("event message %s was redelivered before it was deleted", message.get("message_id"))

    # -- alerts ----------------------------------------------------------------------------------
    def apply_event(self, event: AlertEvent, *, raised_here: bool = False) -> list[str]:
        """Record the change ``event`` brings and plan its notifications; return the keys of
        the deliveries to send (none for an event already applied). ``raised_here``: a
        trouble this agent raises itself, counted in ``firesight_alerts_total`` when new."""
        self._count("events")
        if self.store.event_applied(event.event_id):
            self._count("events_duplicate")
            return []
        if raised_here and event.state == "active":
            metrics.ALERTS.labels(signal=event.signal, level=event.level).inc()
        now = self.clock()
        cond = condition_key(event.thing, event.signal, event.level)
        if event.state == "active":
            alert_id = self.store.claim_condition(cond, alert_id_for(event.event_id))
            alert = self._open_or_update(alert_id, cond, event, now)
            if event.signal == "alarm":
                self._supersede_watch(event, alert_id, now)
        else:
            alert_id = self.store.active_alert_id(cond)
            if not alert_id:  # a clear for an alert that is not open (resolved already, or never seen)
                self.store.mark_event(event.event_id, "")
                return []
            alert = self._clear(alert_id, cond, event, now)
        keys = self._plan_deliveries(alert)
        self.store.mark_event(event.event_id, alert_id)
        return keys

    def _open_or_update(self, alert_id: str, cond: str, event: AlertEvent, now: float) -> Item:
        if self.store.create_alert(self._new_alert(alert_id, cond, event, now)):
            self._count("alerts_opened")
            log.info("alert %s opened: %s/%s %s %s", alert_id, event.site, event.thing, event.signal, event.level)
            return self.store.get(alert_id)

        def change(a: Item) -> Item | None:
            if event.event_id in a.get("event_ids", []):
                return None  # applied before a crash; the planned stages are in the record
            a["event_ids"] = (a.get("event_ids", []) + [event.event_id])[-100:]
            a.update(level=event.level, updated_s=now, updates=a.get("updates", 0) + 1)
            if event.probability is not None:
                a["probability"] = event.probability
                a["max_probability"] = max(event.probability, a.get("max_probability") or 0.0)
            if event.explanation:
                a["explanation"] = event.explanation
            add_history(a, now, "updated", event_id=event.event_id, probability=event.probability)
            self._unsuppress_if_due(a, now, event)
            return a
        self._count("alerts_updated")
        return self.store.update_alert(alert_id, change)

    def _new_alert(self, alert_id: str, cond: str, event: AlertEvent, now: float) -> Item:
        route = self.policy.route(event.signal, event.level)
        alert: Item = {
            "alert_id": alert_id, "condition": cond, "site": event.site, "thing": event.thing,
            "signal": event.signal, "level": event.level, "previous": event.previous, "state": "active",
            "opened_s": now, "updated_s": now, "acknowledged_s": None, "acknowledged_by": "",
            "resolved_s": None, "resolved_by": "", "cleared_s": None,
            "probability": event.probability, "max_probability": event.probability,
            "variant": event.variant, "model_version": event.model_version, "explanation": event.explanation,
            "ts_ms": event.ts_ms, "scenario_time_s": event.scenario_time_s, "published_ns": event.published_ns,
            "correlation_id": event.correlation_id, "event_ids": [event.event_id], "updates": 0,
            "tier": 0, "next_deadline_s": None, "stages": [], "suppressed_by": "", "feedback": [], "history": [],
        }
        add_history(alert, now, "opened", event_id=event.event_id, probability=event.probability)
        if route is None:
            add_history(alert, now, "not routed", note="no route for this signal in the policy")
            return alert
        if route.ack_deadline_s is not None and len(route.tiers) > 1:
            alert["next_deadline_s"] = now + route.ack_deadline_s
        self._add_stage(alert, "open", route.tiers[0], now, event)
        return alert

    def _add_stage(self, alert: Item, stage: str, channels: tuple[str, ...], now: float,
                   event: AlertEvent | None = None) -> None:
        """Plan a notification stage in the alert record, suppressed inside a maintenance window
        unless the policy forbids it."""
        window = self.store.maintenance_for(alert["site"], alert["thing"], now)
        suppressed = window is not None and not self._never_suppress(alert)
        if window is not None and not suppressed:
            add_history(alert, now, "not suppressed", note=f"maintenance window {window['window_id']} "
                        "does not silence a flaming, probable or confirmed fire")
        alert["stages"].append({"stage": stage, "channels": list(channels), "at_s": now,
                                "suppressed": suppressed, "window_id": window["window_id"] if suppressed else "",
                                **event_times(event)})
        if suppressed:
            alert["suppressed_by"] = window["window_id"]
            add_history(alert, now, f"suppressed {stage}", note=f"maintenance window {window['window_id']}")
        else:
            add_history(alert, now, f"notify {stage}", note=", ".join(channels))

    def _never_suppress(self, alert: Item) -> bool:
        """The policy's rule (probable or flaming alarm), or an operator confirmed the fire."""
        confirmed = alert["signal"] in ("alarm", "watch") and any(
            f.get("kind") == "confirmed_fire" for f in alert.get("feedback", []))
        return confirmed or self.policy.never_suppress(alert["signal"], alert.get("probability"),
                                                       alert.get("variant", ""), alert.get("explanation") or {})

    def _unsuppress_if_due(self, alert: Item, now: float, event: AlertEvent | None = None) -> bool:
        """An alert whose first notice was suppressed is notified once it may not be any more
        (the window ended, the probability rose past ``never_suppress_probability``, or an
        operator confirmed the fire: ``firesight alerts feedback ID --kind confirmed_fire``)."""
        stages = alert.get("stages", [])
        if not stages or any(not s["suppressed"] for s in stages) or alert["state"] not in ("active", "cleared"):
            return False
        if alert["state"] == "cleared" and not (self.policy.latch_alarms and alert["signal"] == "alarm"):
            return False
        route = self.policy.route(alert["signal"], alert["level"])
        if route is None:
            return False
        window = self.store.maintenance_for(alert["site"], alert["thing"], now)
        if window is not None and not self._never_suppress(alert):
            return False
        tier = min(alert.get("tier", 0), len(route.tiers) - 1)
        self._add_stage(alert, "open-after-suppression", route.tiers[tier], now, event)
        # the acknowledgement deadline runs from the first notice a person actually gets
        alert["next_deadline_s"] = (now + route.ack_deadline_s if route.ack_deadline_s and tier + 1 < len(route.tiers)
                                    else None)
        return True

    def _supersede_watch(self, event: AlertEvent, alarm_id: str, now: float) -> None:
        """An alarm ends the pre-alarm of the same device: its verification timer stops."""
        cond = condition_key(event.thing, "watch", "")
        watch_id = self.store.active_alert_id(cond)
        if not watch_id:
            return

        def change(a: Item) -> Item | None:
            if a["state"] not in ("active", "acknowledged"):
                return None
            a.update(state="cleared", cleared_s=now, next_deadline_s=None, updated_s=now)
            add_history(a, now, "superseded", note=f"escalated to alarm {alarm_id}")
            return a
        try:
            self.store.update_alert(watch_id, change)
        except NotFoundError:
            pass
        self.store.release_condition(cond, watch_id)

    def _clear(self, alert_id: str, cond: str, event: AlertEvent, now: float) -> Item:
        latch = self.policy.latch_alarms and event.signal == "alarm"

        def change(a: Item) -> Item | None:
            if event.event_id in a.get("event_ids", []):
                return None
            a["event_ids"] = (a.get("event_ids", []) + [event.event_id])[-100:]
            a.update(level=event.level, updated_s=now)
            if event.probability is not None:
                a["probability"] = event.probability
            if a["state"] in ("active", "acknowledged"):
                a.update(state="cleared", cleared_s=now)
                if not (latch and not a.get("acknowledged_s")):
                    a["next_deadline_s"] = None
            add_history(a, now, "cleared", event_id=event.event_id, level=event.level)
            notified = sorted({c for s in a["stages"] if not s["suppressed"] for c in s["channels"]})
            if self.policy.notify_on_clear and notified and not any(s["stage"] == "cleared" for s in a["stages"]):
                a["stages"].append({"stage": "cleared", "channels": notified, "at_s": now, "suppressed": False,
                                    "window_id": "", **event_times(event)})
            return a
        alert = self.store.update_alert(alert_id, change)
        self.store.release_condition(cond, alert_id)
        self._count("alerts_cleared")
        return alert

    # -- deliveries ------------------------------------------------------------------------------
    def _raise_trouble(self, alert: Item, condition: str, record: Item, error: str) -> list[str]:
        """Open (or update) a ``trouble`` alert about a delivery; return its delivery keys.
        Troubles about the agent's own trouble notifications are recorded, not escalated again."""
        if not self.policy.escalate_failures or alert["signal"] == "trouble" and alert["level"] in (FAILED, UNCERTAIN):
            return []
        event = AlertEvent(
            event_id=f"{alert['thing']}:trouble:{condition}:{record['delivery_key']}", site=alert["site"],
            thing=alert["thing"], signal="trouble", state="active", level=condition, previous="",
            ts_ms=int(self.clock() * 1000), correlation_id=str(alert.get("correlation_id") or ""),
            explanation={"reason": f"{record['channel']} {condition.replace('_', ' ')} for alert "
                                   f"{alert['alert_id']} ({alert['signal']})",
                         "detail": error[:300], "alert_id": alert["alert_id"], "channel": record["channel"],
                         "delivery_key": record["delivery_key"]})
        return self.apply_event(event, raised_here=True)

    def recover(self) -> int:
        """Finish what a previous run left: plan the deliveries of every open alert, settle the
        ``sending`` ones whose worker died (this worker's previous run, or any whose lease
        ran out) and send the ``pending`` ones; return how many were settled."""
        self._recovered = True
        keys: list[str] = []
        for alert in self.store.open_alerts():
            keys += self._plan_deliveries(alert)
        settled, more = self._settle_stale(self.clock(), include_own=True)
        keys += more + [d["delivery_key"] for d in self.store.deliveries(state="pending")]
        self._dispatch(list(dict.fromkeys(keys)))
        return settled

    # -- deadlines -------------------------------------------------------------------------------
    def check_deadlines(self, now: float | None = None) -> int:
        """Escalate every alert whose acknowledgement deadline has passed and notify alerts
        whose suppression has ended; every :attr:`SWEEP_INTERVAL_S` also send deliveries left
        ``pending`` and settle other workers' stale ``sending`` ones. Returns the number of
        escalations."""
        now = self.clock() if now is None else float(now)
        self._last_deadline_check = now
        escalated, keys = 0, []
        for alert in self.store.open_alerts():
            stages = alert.get("stages", [])
            if stages and all(s["suppressed"] for s in stages):
                # nobody has been told yet: no escalation; notify once suppression ends
                updated = self.store.update_alert(
                    alert["alert_id"], lambda a: a if self._unsuppress_if_due(a, now) else None)
                if len(updated.get("stages", [])) > len(stages):
                    keys += self._plan_deliveries(updated)
                continue
            deadline = alert.get("next_deadline_s")
            if deadline is not None and deadline <= now and not alert.get("acknowledged_s"):
                tiers: list[int] = []  # the tier this worker's write moved to (none if another worker did)
                updated = self.store.update_alert(alert["alert_id"], lambda a: self._escalate(a, now, tiers))
                if tiers:
                    escalated += 1
                    self._count("escalations")
                    keys += self._plan_deliveries(updated)
        if now - self._last_sweep >= self.SWEEP_INTERVAL_S:
            # deliveries are sent inline; only a failure of the agent itself leaves one behind
            self._last_sweep = now
            keys += self._settle_stale(now, include_own=False)[1]
            keys += [d["delivery_key"] for d in self.store.deliveries(state="pending")]
        self._dispatch(list(dict.fromkeys(keys)))
        return escalated

    def _escalate(self, a: Item, now: float, tiers: list[int]) -> Item | None:
        """The change of an overdue alert (called again on a write conflict, so ``tiers`` says
        what the last call did)."""
        tiers.clear()
        deadline = a.get("next_deadline_s")
        latched = a["state"] == "cleared" and self.policy.latch_alarms and a["signal"] == "alarm"
        if deadline is None or deadline > now or a.get("acknowledged_s") or not (a["state"] == "active" or latched):
            return None
        route = self.policy.route(a["signal"], a["level"])
        tier = a.get("tier", 0) + 1
        if route is None or tier >= len(route.tiers):
            a["next_deadline_s"] = None
            return a
        a["tier"] = tier
        tiers[:] = [tier]
        a["next_deadline_s"] = now + route.ack_deadline_s if (route.ack_deadline_s and tier + 1 < len(route.tiers)) else None
        add_history(a, now, "escalated", note=f"not acknowledged by the deadline; tier {tier}")
        self._add_stage(a, f"escalation-{tier}", route.tiers[tier], now)
        return a

    # -- service ---------------------------------------------------------------------------------
    def start(self) -> "ResponseAgent":
        """Run the receive / deadline loop in a supervised background thread."""
        require(self._thread is None, "start", "a response agent that is not running", "running")
        self._thread = threading.Thread(target=self._run, name=f"response-agent-{self.worker_id}", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        backoff_s = self.policy.poll_interval_s
        while not self._stop_receiving.is_set():
            try:
                handled = self.process_available(10)
                if (not self._stop_receiving.is_set()
                        and self.clock() - self._last_deadline_check >= self.policy.deadline_interval_s):
                    self.check_deadlines()
                backoff_s = self.policy.poll_interval_s
                if handled == 0:
                    self._stop_receiving.wait(self.policy.poll_interval_s)
            except Exception as exc:  # supervised: log, count, back off, go on
                self._count("loop_errors")
                self._count("loop_restarts")
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("response agent loop failed; retrying in %.1f s", backoff_s)
                self._stop_receiving.wait(backoff_s)
                backoff_s = min(30.0, backoff_s * 2.0)

    def stop(self, timeout_s: float = 10.0) -> bool:
        """Staged stop: stop receiving, let the event in hand finish (its deliveries included)
        within ``timeout_s`` [s], then stop retries and close the channels. Returns True if
        the loop ended in time. Deliveries not finished stay ``pending`` for the next start."""
        require(timeout_s >= 0, "timeout_s", ">= 0", timeout_s)
        self._stop_receiving.set()
        finished = True
        if self._thread is not None:
            self._thread.join(timeout_s)
            finished = not self._thread.is_alive()
            if not finished:
                self._stopped.set()  # interrupt retry waits; unfinished deliveries go back to pending
                self._thread.join(max(1.0, timeout_s))
                finished = not self._thread.is_alive()
        self._stopped.set()
        self._pool.shutdown(wait=finished)
        for notifier in self.channels.values():
            try:
                notifier.close()
            except Exception:  # closing is best effort
                log.warning("closing a channel failed", exc_info=True)
        return finished

    def health(self) -> dict[str, Any]:
        """Running state and counters (for the coordinator)."""
        with self._lock:
            counters = dict(self.counters)
        return {"running": self._thread is not None and self._thread.is_alive() and not self._stop_receiving.is_set(),
                "worker_id": self.worker_id, "counters": counters, "last_error": self.last_error}

    def _count(self, name: str) -> None:
        with self._lock:
            self.counters[name] = self.counters.get(name, 0) + 1


def check_channels(channels: Mapping[str, Any]) -> None:
    """Raise :class:`InvalidParameterError` unless every value is a :class:`Notifier`."""
    for name, notifier in channels.items():
        if not isinstance(notifier, Notifier):
            raise InvalidParameterError(f"channels[{name!r}]", "a Notifier", type(notifier).__name__)
