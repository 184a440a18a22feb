"""The response agent's delivery outbox: plan a delivery record per (alert, stage,
channel) before anything is sent, claim it at the channel's commit point, send it with
retries, record the outcome, and settle what a dead worker left ``sending``.

See :mod:`firesight.agents.response` for the guarantees; :class:`DeliveryOutbox` is a
mixin of :class:`~firesight.agents.response.ResponseAgent` (it uses its store, policy,
channels, clock, pool and counters). :func:`check_event` is the agent's type check of an
incoming event.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import time
from typing import Any

from firesight.agents.alert_store import delivery_key
from firesight.agents.events import AlertEvent
from firesight.errors import DataError, NotFoundError
from firesight.notify.message import render
from firesight.notify.retry import DeliveryTaken, deliver
from firesight.ops import metrics
from firesight.ops.logs import correlation
from firesight.ports import Item

log = logging.getLogger("firesight.agents.response")

#: Conditions of the ``trouble`` alerts the agent raises about its own deliveries.
FAILED, UNCERTAIN = "notification_failed", "notification_uncertain"
_ATTEMPT_ALLOWANCE_S = 30.0  # assumed longest single channel attempt, for the sending lease
_EXPLANATION_MAX_BYTES = 32_768


class DeliveryOutbox:
    """Delivery records and sending (mixin of the response agent)."""

    def _plan_deliveries(self, alert: Item) -> list[str]:
        """Make sure every channel of every stage of ``alert`` has a delivery record; return
        the keys still ``pending``."""
        keys = []
        for stage in alert.get("stages", []):
            for channel in stage["channels"]:
                key = delivery_key(alert["alert_id"], stage["stage"], channel)
                record = {"delivery_key": key, "alert_id": alert["alert_id"], "stage": stage["stage"],
                          "channel": channel, "state": "suppressed" if stage["suppressed"] else "pending",
                          "site": alert["site"], "thing": alert["thing"], "signal": alert["signal"],
                          "level": alert["level"], "created_s": stage["at_s"], "published_ns": stage["published_ns"],
                          "scenario_time_s": stage.get("scenario_time_s"), "window_id": stage["window_id"],
                          "attempts": 0, "error": "", "sent_s": None, "latency_s": None}
                if self.store.plan_delivery(record):
                    if stage["suppressed"]:
                        self._count("suppressed")
                    else:
                        keys.append(key)
                else:
                    existing = self.store.delivery(key)
                    if existing and existing["state"] == "pending":
                        keys.append(key)
        return keys

    def _dispatch(self, keys: list[str], *, inline: bool = False) -> None:
        """Send the deliveries ``keys``, channels in parallel on the pool (``inline``: in this
        thread, for sends started from a pool thread, which must not wait on the pool)."""
        if not keys or self._stopped.is_set():  # stopping: pending deliveries wait for the next start
            return
        if inline:
            for key in keys:
                self._send_one(key)
            return
        futures = [self._pool.submit(self._send_one, key) for key in keys]
        for future in futures:
            future.result()

    def _send_one(self, key: str) -> None:
        try:
            self._send(key)
        except Exception as exc:  # the record stays pending/sending; recovery picks it up
            self._count("loop_errors")
            self.last_error = f"delivery {key}: {type(exc).__name__}: {exc}"
            log.exception("delivery %s failed unexpectedly", key)

    def _send(self, key: str) -> None:
        record = self.store.delivery(key)
        if record is None or record["state"] != "pending":
            return  # done, or another worker has it
        alert = self.store.get(record["alert_id"])
        # the reading's id, else the opening event's (the id the event was handled under)
        opened_by = (alert.get("event_ids") or [alert["alert_id"]])[0]
        with correlation(str(alert.get("correlation_id") or opened_by)):
            self._deliver(key, record, alert)

    def _deliver(self, key: str, record: Item, alert: Item) -> None:
        """Send one ``pending`` delivery of ``alert`` (correlation id bound) and record the outcome."""
        route = self.policy.route(alert["signal"], alert["level"])
        tier = alert.get("tier", 0)
        next_channels = route.tiers[tier + 1] if route and tier + 1 < len(route.tiers) else ()
        notification = render(alert, record["stage"], record["channel"], key,
                              ack_url_template=self.policy.ack_url_template, next_channels=next_channels)
        retry = self.policy.retry_for(record["channel"])
        lease_s = retry.budget_s() + retry.max_attempts * _ATTEMPT_ALLOWANCE_S
        committed: list[bool] = []

        def commit() -> None:
            """Called by the channel right before its irrevocable step: claim the delivery."""
            if committed:
                return  # a retry of a delivery this worker holds already
            now = self.clock()
            if self.store.transition_delivery(key, "pending", "sending", sending_since_s=now,
                                              lease_until_s=now + lease_s, worker=self.worker_id) is None:
                raise DeliveryTaken(key)
            committed.append(True)
        try:
            result = deliver(record["channel"], self.channels[record["channel"]], notification, retry,
                             sleep=self._sleep, rng=self._rng, should_stop=self._stopped.is_set, commit=commit)
        except DeliveryTaken:
            return  # another worker claimed it first; it sends it
        state = "sending" if committed else "pending"  # pending: no attempt reached its commit point
        done_s = self.clock()
        attempts = int(record.get("attempts") or 0) + result.attempts  # across runs, resends included
        if result.ok:
            published_ns = int(record.get("published_ns") or 0)
            latency_s = (time.time_ns() - published_ns) / 1e9 if published_ns > 0 else None
            self.store.transition_delivery(key, state, "sent", sent_s=done_s, attempts=attempts,
                                           latency_s=latency_s, elapsed_s=result.elapsed_s)
            self._count("sent")
            metrics.NOTIFICATIONS_SENT.labels(channel=record["channel"]).inc()
            log.info("delivery %s sent (%d attempts)", key, attempts)
            return
        if self._stopped.is_set() and not result.permanent:
            # stopping between retries: hand it back, the next start sends it
            self.store.transition_delivery(key, state, "pending", attempts=attempts, error=result.error)
            return
        log.error("delivery %s failed after %d attempts: %s", key, attempts, result.error)
        escalation = self._raise_trouble(alert, FAILED, record, result.error)
        self.store.transition_delivery(key, state, "failed", failed_s=done_s, attempts=attempts,
                                       error=result.error, permanent=result.permanent)
        self._count("failed")
        metrics.NOTIFICATION_FAILURES.labels(channel=record["channel"]).inc()
        self._dispatch(escalation, inline=True)

    def _settle_stale(self, now: float, *, include_own: bool) -> tuple[int, list[str]]:
        """Settle deliveries left ``sending`` by a dead worker: ``uncertain`` plus a trouble
        alert, or back to ``pending`` (``policy.uncertain``). Returns (settled, keys to send)."""
        settled, keys = 0, []
        for record in self.store.deliveries(state="sending"):
            own = record.get("worker") == self.worker_id
            if (own and not include_own) or (not own and (record.get("lease_until_s") or 0.0) > now):
                continue  # in flight here, or another live worker is sending it
            if self.policy.uncertain == "resend":
                if self.store.transition_delivery(record["delivery_key"], "sending", "pending", resent=True):
                    self._count("resent")
                    settled += 1
                continue
            if self.store.transition_delivery(record["delivery_key"], "sending", "uncertain", uncertain_s=now,
                                              error="the agent stopped while sending; it may or may not have "
                                                    "gone out") is None:
                continue
            self._count("uncertain")
            settled += 1
            log.error("delivery %s is uncertain (the agent died while sending)", record["delivery_key"])
            try:
                keys += self._raise_trouble(self.store.get(record["alert_id"]), UNCERTAIN, record,
                                            "the agent stopped while sending")
            except NotFoundError:
                pass
        return settled, keys


def check_event(event: AlertEvent) -> AlertEvent:
    """``event`` with the types the agent stores, or :class:`DataError` naming the field.

    Lenient where the meaning is plain, so that no alarm is lost to a type quibble: integral
    floats for ``ts_ms`` / ``published_ns``, numbers for names (``variant``...), a
    non-object explanation wrapped as ``{"raw": ...}``, an explanation over 32 KiB cut to
    its small entries (``sensor``, ``features``...; a big snapshot dropped, noted)."""
    changes: dict[str, Any] = {}
    for name in ("event_id", "site", "thing", "level", "previous"):
        if not isinstance(getattr(event, name), str):
            raise DataError(f"alert event field {name} must be a string, got {getattr(event, name)!r}"[:300])
    for name in ("variant", "model_version", "correlation_id"):
        value = getattr(event, name)
        if not isinstance(value, str):
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise DataError(f"alert event field {name} must be a string, got {value!r}"[:300])
            changes[name] = str(value)
    for name, unit in (("ts_ms", "ms"), ("published_ns", "ns")):
        value = getattr(event, name)
        if isinstance(value, float) and math.isfinite(value) and value == int(value):
            changes[name] = int(value)
        elif not isinstance(value, int) or isinstance(value, bool):
            raise DataError(f"alert event field {name} must be an integer [{unit}], got {value!r}"[:300])
    t = event.scenario_time_s
    if t is not None and (not isinstance(t, (int, float)) or isinstance(t, bool) or not math.isfinite(t)):
        raise DataError(f"alert event field scenario_time_s must be a number [s], got {t!r}"[:300])
    explanation = event.explanation
    if not isinstance(explanation, dict):
        explanation = {"raw": str(explanation)[:1000]}
    if len(json.dumps(explanation, default=str)) > _EXPLANATION_MAX_BYTES:
        kept = {k: v for k, v in explanation.items() if len(json.dumps(v, default=str)) <= 2048}
        kept["omitted"] = sorted(set(explanation) - set(kept))
        explanation = kept
    if explanation is not event.explanation:
        changes["explanation"] = explanation
    return dataclasses.replace(event, **changes) if changes else event


def event_times(event: AlertEvent | None) -> dict[str, Any]:
    """Publish time [ns] and stream time [s] of the event behind a stage (latency, demo summary);
    zero / None for stages the clock starts (escalations)."""
    if event is None:
        return {"published_ns": 0, "scenario_time_s": None}
    return {"published_ns": int(event.published_ns), "scenario_time_s": event.scenario_time_s}
