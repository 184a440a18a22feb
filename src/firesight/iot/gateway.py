"""Ingest gateway: subscribe to device streams, validate every payload, hand readings on.

The MQTT network thread only enqueues ``(topic, payload, received_ns)``; a worker thread
decodes and validates (:class:`firesight.iot.codec.IngestValidator`) and calls the
handler. Nothing a payload or the handler does can end the worker: rejections are
counted by reason, handler and validator exceptions by type (``stats()["errors"]``), and a
supervisor restarts the worker with backoff should it ever fail. Queues are bounded: when the thermal-frame queue is full the *oldest frame* is
shed and counted; SCD41, status and feature messages have their own queue, so frames
never push them out (they are shed, oldest first and counted, only if that queue fills
too). Rejections are counted by reason.

Public API beyond start/stop: :meth:`IngestGateway.add_filter` / :meth:`~IngestGateway.remove_filter`
change the subscriptions at run time (a scale-out worker serving one more or one fewer
device) and :meth:`~IngestGateway.inject` hands one message in through the same bounded
queues and validation as a subscribed one.

Persistent sessions (``GatewayConfig.persistent_session``): the client was built with
``clean_session=False`` and a stable client id. :meth:`IngestGateway.start` routes the
filters to the gateway *before* it connects the client, so what the broker queued while
the gateway was away (QoS 1 messages on QoS 1 subscriptions, bounded by the broker) lands
in the queues first, in order; :meth:`IngestGateway.stop` keeps the subscriptions, so the
broker goes on queueing until the next start.

Acknowledgement after handling: on a client built with ``manual_ack=True``
(:class:`firesight.iot.client.MqttClient`) each QoS 1 message is acknowledged only once the
worker is done with it: handled, rejected (counted; a malformed message is never
delivered again), failed in the handler (counted), or shed from a full queue (counted). So a
message queued in memory when the process is killed was never acknowledged, and a
persistent session gets it again, in order, at the next connection. Messages left in the
queues at :meth:`IngestGateway.stop` (``shed["at_stop"]``) or arriving after it
(``shed["after_stop"]``) are not acknowledged either: a persistent session gets them again
at the next connection.

A handler may return the QoS 1 publishes it made for a message (objects with
``is_published()``, e.g. paho's ``MQTTMessageInfo``: the monitoring agent's windows). The
message is then acknowledged only once the broker has acknowledged all of them: a reading
counts as done only when what was derived from it is with the broker, so a process killed
in between gets the reading again (it then feeds the restarted agent's new windows; the
window that was in flight is not made again, since the feature history it came from was in
the killed process's memory). The worker polls such held messages between
items (every 50 ms when idle); at a stop it waits up to ``GatewayConfig.held_wait_s`` for
them, and those still held are not acknowledged (``shed["held_at_stop"]``).

References
----------
1. AWS IoT Core developer guide, "Rules for AWS IoT" (the gateway stands in for the
   message broker → rules hand-off when running locally).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from firesight.errors import InvalidParameterError
from firesight.iot.client import MqttClient
from firesight.iot.codec import DecodedMessage, IngestValidator, PayloadRejected
from firesight.iot.topics import DEVICE_STREAMS, device_filter

log = logging.getLogger(__name__)

#: ``handler(message)``: None, or the QoS 1 publishes it made for the message (see above)
Handler = Callable[[DecodedMessage], "Iterable[Published] | None"]
RejectHandler = Callable[[str, bytes, PayloadRejected], None]
Ack = Callable[[], None]
#: a queued message: topic, payload, receive time [ns], its acknowledgement (None: none owed)
_Item = tuple[str, bytes, int, Ack | None]


class Published(Protocol):
    """A publish the broker may not have acknowledged yet (paho's ``MQTTMessageInfo``)."""

    def is_published(self) -> bool: ...


@dataclass(frozen=True)
class GatewayConfig:
    """Ingest gateway settings.

    Parameters
    ----------
    streams : tuple of str
        Device streams to subscribe to.
    site : str
        Site to serve (``+``: every site).
    frame_queue_size : int
        Thermal frames held between the network thread and the worker [-].
    reading_queue_size : int
        Other messages held [-].
    qos : int
        Subscription QoS.
    frame_qos : int or None
        Subscription QoS of the thermal stream (None: ``qos``). 0 keeps frames out of a
        persistent session's queue (the broker delivers at min(published, subscribed) QoS
        and holds only QoS 1 for an absent subscriber), so they cannot crowd out readings.
    persistent_session : bool
        The client has a persistent session (see the module docstring): route before
        connecting, keep the subscriptions at stop.
    held_wait_s : float
        At a stop, how long the worker waits for the broker to acknowledge what handlers
        published for messages it still holds unacknowledged [s].
    """

    streams: tuple[str, ...] = DEVICE_STREAMS
    site: str = "+"
    frame_queue_size: int = 256
    reading_queue_size: int = 4096
    qos: int = 0
    frame_qos: int | None = None
    persistent_session: bool = False
    held_wait_s: float = 2.0

    def stream_qos(self, stream: str) -> int:
        """Subscription QoS of one device stream."""
        return self.frame_qos if stream == "thermal" and self.frame_qos is not None else self.qos


class IngestGateway:
    """Validated device messages from a broker, delivered to ``handler`` on a worker thread.

    Parameters
    ----------
    client : MqttClient
        A connected service client (its policy must allow subscribing to device topics);
        with ``config.persistent_session`` it may be not yet connected: :meth:`start`
        connects it once the gateway's handlers are in place.
    handler : callable
        ``handler(message)`` for each accepted :data:`DecodedMessage`; it may return the
        QoS 1 publishes it made for it (the message is acknowledged once they are).
    on_reject : callable, optional
        ``on_reject(topic, payload, error)`` for each rejected payload.
    observer : callable, optional
        ``observer(topic, payload)`` for every message the broker delivers, before it is
        queued or validated (on the client's network thread: it must be quick, e.g. Device
        Defender's message counts); an exception in it is counted and ignored.
    config : GatewayConfig, optional
    validator : IngestValidator, optional
        Shared validator (a new one by default).
    clock_ms : callable
        Receiver clock [ms since epoch] for the future-timestamp check.
    """

    def __init__(self, client: MqttClient, handler: Handler, *, on_reject: RejectHandler | None = None,
                 config: GatewayConfig | None = None, validator: IngestValidator | None = None,
                 clock_ms: Callable[[], int] = lambda: int(time.time() * 1000),
                 observer: Callable[[str, bytes], None] | None = None):
        self.client = client
        self.handler = handler
        self.on_reject = on_reject
        self.observer = observer
        self.config = config or GatewayConfig()
        for s in self.config.streams:
            if s not in DEVICE_STREAMS:
                raise InvalidParameterError("streams", f"a subset of {DEVICE_STREAMS}", self.config.streams)
        self.validator = validator or IngestValidator()
        self.clock_ms = clock_ms
        self._frames: deque[_Item] = deque()
        self._readings: deque[_Item] = deque()
        self._cond = threading.Condition()
        self._shed: Counter[str] = Counter()
        self._handler_errors = 0
        self._errors: Counter[str] = Counter()
        self._running = False
        self._accepting = False
        self._worker: threading.Thread | None = None
        self._filters: list[str] = []
        #: messages handled whose publishes the broker has not acknowledged (worker only)
        self._held: list[tuple[_Item, tuple[Published, ...]]] = []

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> "IngestGateway":
        """Start the supervised worker and subscribe to the configured streams (a persistent
        session's client is connected here, after its handlers are routed to the gateway).

        Raises
        ------
        FiresightError, AccessDeniedError
            The client could not connect or a subscription was refused; the worker is
            ended again.
        """
        if self._running:
            return self
        self._running = self._accepting = True
        self._worker = threading.Thread(target=self._supervise, name="firesight-gateway", daemon=True)
        self._worker.start()
        wanted = [(device_filter(s, self.config.site), self.config.stream_qos(s)) for s in self.config.streams]
        try:
            if self.config.persistent_session and not self.client.is_connected:
                for topic_filter, _ in wanted:  # route first: the queued messages come right after CONNACK
                    self.client.add_handler(topic_filter, self._enqueue)
                self.client.connect()
            for topic_filter, qos in wanted:
                self.add_filter(topic_filter, qos=qos)
        except BaseException:
            self._end_worker(1.0)
            raise
        return self

    def add_filter(self, topic_filter: str, *, qos: int | None = None, route: bool = True) -> None:
        """Subscribe to ``topic_filter`` (QoS ``qos``, default ``config.qos``) and hand its
        messages to the worker; a filter already held is left as it is. ``route`` False:
        subscribe only, the caller routes the messages (a handler on a wider filter that
        calls :meth:`inject`, added before a persistent session connects)."""
        if topic_filter in self._filters:
            return
        self.client.subscribe(topic_filter, self._enqueue if route else None,
                              qos=self.config.qos if qos is None else qos)
        self._filters.append(topic_filter)

    def remove_filter(self, topic_filter: str) -> None:
        """Unsubscribe from ``topic_filter`` (also on a persistent session: the broker stops
        queueing it); messages of it already queued are still handled."""
        if topic_filter not in self._filters:
            return
        self._filters.remove(topic_filter)
        try:
            self.client.unsubscribe(topic_filter)
        except Exception:  # the client may already be closed: nothing to stop
            log.debug("unsubscribe %s failed", topic_filter, exc_info=True)

    @property
    def filters(self) -> tuple[str, ...]:
        """The topic filters the gateway holds now."""
        return tuple(self._filters)

    def inject(self, topic: str, payload: bytes, ack: Ack | None = None) -> None:
        """Hand one message in as if it had come from a subscription: the same bounded
        queues (shed and counted when full, counted ``after_stop`` once stopped), the same
        validation, rejection counting and handler. Never raises for a bad payload.
        ``ack``: the message's acknowledgement, called once the worker is done with it
        (see the module docstring)."""
        self._enqueue(topic, payload, ack)

    def stop(self, drain_timeout_s: float = 5.0) -> None:
        """Staged stop: stop accepting (unsubscribe; later deliveries are dropped and
        counted), let the worker drain the queues for up to ``drain_timeout_s`` [s], then
        end it. Whatever is still queued after the timeout is dropped and counted in
        ``stats()["shed"]["at_stop"]``.

        With a persistent session the subscriptions stay (the broker queues what comes
        while the gateway is away) and deliveries are taken until the queues are drained;
        only what arrives between then and the client's disconnect counts as
        ``shed["after_stop"]``."""
        if not self.config.persistent_session:
            self._accepting = False
            for f in list(self._filters):
                self.remove_filter(f)
        self._filters.clear()
        self._end_worker(drain_timeout_s, drain_timeout_s=drain_timeout_s)

    def _end_worker(self, join_timeout_s: float, *, drain_timeout_s: float = 0.0) -> None:
        """Let the worker drain the queues for up to ``drain_timeout_s`` [s], stop accepting,
        drop and count what is still queued, end the worker and wait for it."""
        deadline = time.monotonic() + drain_timeout_s
        with self._cond:
            while (self._frames or self._readings) and time.monotonic() < deadline and self.worker_alive:
                self._cond.wait(0.05)
            self._accepting = False
            left = len(self._frames) + len(self._readings)
            if left:
                self._shed["at_stop"] += left
                self._frames.clear()
                self._readings.clear()
            self._running = False
            self._cond.notify_all()
        if self._worker is not None:
            self._worker.join(join_timeout_s)
            if self._worker.is_alive():
                log.warning("gateway worker still busy %.1f s after stop", join_timeout_s)
            self._worker = None

    def __enter__(self) -> "IngestGateway":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def worker_alive(self) -> bool:
        """Whether the worker thread runs (False before start and after stop)."""
        return self._worker is not None and self._worker.is_alive()

    # ------------------------------------------------------------------ queues
    def _enqueue(self, topic: str, payload: bytes, ack: Ack | None = None) -> None:
        if self.observer is not None:
            self._call(self.observer, "observer", topic, payload)
        item = (topic, payload, time.time_ns(), ack)
        is_frame = topic.endswith("/thermal")
        dropped = None
        with self._cond:
            if not self._accepting:
                self._shed["after_stop"] += 1  # not acknowledged: delivered again next session
                return
            queue, limit = ((self._frames, self.config.frame_queue_size) if is_frame
                            else (self._readings, self.config.reading_queue_size))
            if len(queue) >= limit:
                dropped = queue.popleft()
                self._shed["thermal" if is_frame else "other"] += 1
            queue.append(item)
            self._cond.notify()
        if dropped is not None:
            self._ack(dropped)

    def _ack(self, item: _Item) -> None:
        """Acknowledge a message the worker is done with (outside the queue lock)."""
        if item[3] is not None:
            try:
                item[3]()
            except Exception as exc:  # a closed client: the broker delivers it again
                self._count_error("ack", exc)

    def _supervise(self) -> None:
        """Run :meth:`_work`; if it ever ends by an exception, count, log and restart it
        after a capped exponential backoff (0.1 s doubling to 5 s) until stopped."""
        delay_s = 0.1
        while True:
            try:
                self._work()
                return
            except BaseException as exc:  # noqa: BLE001 - the worker must outlive anything it meets
                self._count_error("worker_restart", exc)
                log.exception("gateway worker failed; restarting in %.1f s", delay_s)
            with self._cond:
                if not self._running:
                    return
                self._cond.wait(delay_s)
            delay_s = min(delay_s * 2, 5.0)

    def _next(self) -> _Item | None:
        while True:
            if self._held:
                self._ack_published()  # outside the queue lock, as every acknowledgement
            with self._cond:
                if self._frames or self._readings:
                    item = (self._readings or self._frames).popleft()
                    self._cond.notify_all()
                    return item
                if not self._running:
                    return None
                self._cond.wait(0.05 if self._held else 0.5)

    def _work(self) -> None:
        while (item := self._next()) is not None:
            published: tuple[Published, ...] = ()
            try:
                published = self._handle(item[0], item[1])
            finally:  # handled, rejected or failed: never delivered again
                if published and item[3] is not None:
                    self._held.append((item, published))  # once the broker has what it produced
                else:
                    self._ack(item)
        self._release_held()

    def _ack_published(self) -> None:
        """Acknowledge the held messages whose publishes the broker has all acknowledged."""
        still: list[tuple[_Item, tuple[Published, ...]]] = []
        for item, published in self._held:
            try:
                done = all(p.is_published() for p in published)
            except Exception as exc:  # a publish that failed for good: nothing left to wait for
                self._count_error("publish", exc)
                done = True
            if done:
                self._ack(item)
            else:
                still.append((item, published))
        self._held = still

    def _release_held(self) -> None:
        """At the worker's end: wait up to ``held_wait_s`` for the held messages' publishes;
        those still unacknowledged are left for the broker to deliver again."""
        deadline = time.monotonic() + self.config.held_wait_s
        while self._held:
            self._ack_published()
            if not self._held or time.monotonic() >= deadline:
                break
            time.sleep(0.01)
        if self._held:
            with self._cond:
                self._shed["held_at_stop"] += len(self._held)
            self._held = []

    def _handle(self, topic: str, payload: bytes) -> tuple[Published, ...]:
        try:
            message = self.validator.validate(topic, payload, now_ms=self.clock_ms())
        except PayloadRejected as exc:
            if self.on_reject is not None:
                self._call(self.on_reject, "reject_handler", topic, payload, exc)
            return ()
        except Exception as exc:  # the validator turns data into PayloadRejected; belt and braces
            self._count_error("validator", exc)
            log.exception("gateway validator failed on %s", topic)
            return ()
        result = self._call(self.handler, "handler", message)
        if not result:
            return ()
        try:
            return tuple(result)  # type: ignore[arg-type]
        except TypeError as exc:  # a handler's bug: the message is acknowledged as handled
            self._count_error("handler_result", exc)
            return ()

    def _call(self, fn: Callable[..., object], kind: str, *args: object) -> object:
        try:
            return fn(*args)
        except Exception as exc:  # a consumer bug must not stop ingest; counted and logged
            self._count_error(kind, exc)
            log.exception("gateway %s failed", kind)
            return None

    def _count_error(self, kind: str, exc: BaseException) -> None:
        with self._cond:
            self._errors[f"{kind}:{type(exc).__name__}"] += 1
            if kind == "handler":
                self._handler_errors += 1

    # ------------------------------------------------------------------ stats
    def stats(self) -> dict[str, object]:
        """Accepted, rejected by reason, shed by queue, queue depths, messages held for their
        publishes' acknowledgement, handler errors,
        errors by ``kind:ExceptionType`` and whether the worker runs."""
        with self._cond:
            depth = {"thermal": len(self._frames), "other": len(self._readings)}
            shed = dict(self._shed)
            errors = dict(self._errors)
            handler_errors = self._handler_errors
        return {"accepted": self.validator.accepted, "rejected": self.validator.rejections(), "shed": shed,
                "queue_depth": depth, "held": len(self._held), "handler_errors": handler_errors,
                "errors": errors, "worker_alive": self.worker_alive}
