"""Acknowledgement after handling for a ``manual_ack`` MQTT client
(:class:`firesight.iot.client.MqttClient`): the per-message hold count and the dispatch
around a message callback.

A QoS 1 message is acknowledged (PUBACK) once every callback that took it is done: a
callback with an ``ack`` parameter gets a one-shot ``ack()`` (:meth:`Delivery.hold`) to call
when it has handled the message, from any thread; any other is done when it returns. A
failing callback is logged and its ``ack`` released, so the network thread never dies on a
consumer's bug.
"""

from __future__ import annotations

import inspect
import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol

log = logging.getLogger(__name__)


class _Acknowledger(Protocol):
    def _send_ack(self, mid: int, qos: int, generation: int) -> None: ...


class Delivery:
    """The acknowledgement of one QoS 1 message on a ``manual_ack`` client: sent when the
    dispatch and every ``ack()`` handed out by :meth:`hold` have been released."""

    __slots__ = ("_owner", "_mid", "_qos", "_generation", "_holds", "_lock")

    def __init__(self, owner: _Acknowledger, mid: int, qos: int, generation: int):
        self._owner, self._mid, self._qos, self._generation = owner, mid, qos, generation
        self._holds = 1  # the dispatch's own, released after the last callback
        self._lock = threading.Lock()

    def hold(self) -> Callable[[], None]:
        """One more holder; returns its one-shot release (later calls do nothing)."""
        with self._lock:
            self._holds += 1
        done = threading.Event()

        def ack() -> None:
            with self._lock:
                if done.is_set():
                    return
                done.set()
            self.release()

        return ack

    def release(self) -> None:
        with self._lock:
            self._holds -= 1
            last = self._holds == 0
        if last:
            self._owner._send_ack(self._mid, self._qos, self._generation)


def no_ack() -> None:
    """``ack()`` of a client that acknowledges on arrival."""


def dispatch(callback: Callable, topic_filter: str) -> Callable:
    """The dispatch around ``callback(topic, payload[, retain=][, ack=])``: a failing
    consumer is logged and never kills the network thread (its ``ack`` is then released)."""
    try:
        params = inspect.signature(callback).parameters
    except (TypeError, ValueError):  # builtins without a signature
        params = {}  # type: ignore[assignment]
    wants_retain, wants_ack = "retain" in params, "ack" in params

    def _deliver(message: Any, delivery: Delivery | None) -> None:
        kwargs: dict[str, object] = {}
        if wants_retain:
            kwargs["retain"] = bool(message.retain)
        ack = None
        if wants_ack:
            ack = kwargs["ack"] = delivery.hold() if delivery is not None else no_ack
        try:
            callback(message.topic, message.payload, **kwargs)
        except Exception:
            log.exception("message callback for %s failed", topic_filter)
            if ack is not None:
                ack()

    return _deliver
