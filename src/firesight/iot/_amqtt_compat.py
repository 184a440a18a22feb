"""Every override of an amqtt private method, in one place (amqtt 0.12.1).

amqtt's public extension points (auth and topic plugins, the ``external`` listener,
``Broker.external_connected``, ``BrokerContext``) carry authentication, authorization and
the sockets (:mod:`firesight.iot.access`, :mod:`firesight.iot.broker_net`). What they
cannot express is overridden here, each method following amqtt 0.12.1's own with the
change named in its docstring:

- authorization right after CONNECT, before amqtt deletes or takes over a session with the
  same client id, including the last will's topic (``_initialize_client_session``);
- the last will checked again when it is published (``_handle_disconnect``);
- ``$aws/`` topics admitted, a PUBACK sent only after the message has been routed (and
  queued on disk for offline persistent sessions), everything accepted delivered before a
  disconnect is handled (``_client_message_loop``, ``_handle_message_delivery``,
  ``_delete_session``; :class:`FiresightProtocolHandler`);
- bounded queues: per session in (messages, bytes; when full the connection's reader
  pauses, so TCP pushes back on the sender), per subscriber pending and in flight
  (messages, bytes) and offline (messages, bytes), each overflow counted (``_run_broadcast``);
- delivery at ``min(published QoS, subscribed QoS)`` over a snapshot of the subscriptions;
- retained messages sent on (re)connect only where the receiver may receive them
  (``_publish_retained_messages_for_subscription``: amqtt sends the retained messages of
  every filter anyone subscribed to).

:func:`check_amqtt_internals` verifies that each overridden method and each private
attribute used still exists with the expected parameters; the broker calls it at start
and a unit test calls it, so an amqtt upgrade that moves them fails loudly instead of
silently bypassing a check. The dependency stays pinned below 0.13.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import amqtt
from amqtt.broker import Broker, RetainedApplicationMessage
from amqtt.contexts import Action
from amqtt.errors import AMQTTError, MQTTError, NoDataError
from amqtt.events import BrokerEvents
from amqtt.mqtt.connack import NOT_AUTHORIZED, ConnackPacket
from amqtt.mqtt.constants import QOS_0, QOS_1
from amqtt.mqtt.disconnect import DisconnectPacket
from amqtt.mqtt.protocol.broker_handler import BrokerProtocolHandler
from amqtt.mqtt.puback import PubackPacket
from amqtt.session import ApplicationMessage, IncomingApplicationMessage, Session
from amqtt.utils import gen_client_id

from firesight.errors import FiresightError
from firesight.iot.access import SESSION_KEY, Access, AccessGate, BrokerEvent, valid_publish_topic
from firesight.iot.broker_store import SessionStore

log = logging.getLogger(__name__)

AMQTT_TESTED_VERSION = "0.12.1"
_LOOP_ENDED = "firesight.loop_ended"
_IN_BYTES, _OUT, _OFFLINE_BYTES = "firesight.in_bytes", "firesight.out", "firesight.offline_bytes"
#: session attribute: an asyncio.Event set while the session's in-queue has room; the
#: connection's reader waits on it before the next packet (TCP then pushes back)
_ROOM = "firesight.room"
_TAKEOVER_WAIT_S = 10.0

#: (class, method, parameter names after self) that this module overrides
OVERRIDDEN: tuple[tuple[type, str, tuple[str, ...]], ...] = (
    (BrokerProtocolHandler, "handle_publish", ("publish_packet",)),
    (BrokerProtocolHandler, "handle_disconnect", ("disconnect",)),
    (Broker, "_initialize_client_session", ("reader", "writer", "remote_address", "remote_port")),
    (Broker, "_handle_client_session", ("reader", "writer", "client_session", "handler", "server",
                                        "listener_name")),
    (Broker, "_delete_session", ("client_id",)),
    (Broker, "_client_message_loop", ("client_session", "handler")),
    (Broker, "_handle_message_delivery", ("client_session", "handler", "wait_deliver")),
    (Broker, "_handle_disconnect", ("client_session", "handler", "disconnect_waiter")),
    (Broker, "_run_broadcast", ("running_tasks",)),
    (Broker, "_publish_retained_messages_for_subscription", ("subscription", "session")),
)
#: private amqtt methods called (not overridden) and instance attributes used
CALLED = ("_handle_subscription", "_handle_unsubscription", "_del_all_subscriptions", "_topic_filtering",
          "_broadcast_message", "_get_handler", "_matches", "_stop_handler",
          "create_offline_session", "external_connected", "retain_message")
ATTRIBUTES = ("_sessions", "_subscriptions", "_broadcast_queue", "_tasks_queue", "plugins_manager", "config")


class AmqttIncompatibleError(FiresightError):
    """The installed amqtt no longer has the internals this module overrides."""


def check_amqtt_internals() -> None:
    """Raise :class:`AmqttIncompatibleError` naming what moved, if anything did."""
    problems = []
    for cls, name, params in OVERRIDDEN:
        fn = getattr(cls, name, None)
        if fn is None:
            problems.append(f"{cls.__name__}.{name} is gone")
            continue
        got = tuple(p for p in inspect.signature(fn).parameters if p != "self")
        if got[:len(params)] != params:
            problems.append(f"{cls.__name__}.{name}{got} != {params}")
    problems += [f"Broker.{n} is gone" for n in CALLED if not hasattr(Broker, n)]
    src = inspect.getsource(Broker.__init__)
    problems += [f"Broker.{a} is no longer set" for a in ATTRIBUTES if f"self.{a}" not in src]
    session = Session()
    problems += [f"Session.{a} is gone" for a in ("delivered_message_queue", "retained_messages", "attributes",
                                                  "transitions", "clean_session", "will_flag", "will_topic")
                 if not hasattr(session, a)]
    if problems:
        raise AmqttIncompatibleError(f"amqtt {getattr(amqtt, '__version__', '?')} differs from the tested "
                                     f"{AMQTT_TESTED_VERSION}: " + "; ".join(problems))


@dataclass(frozen=True)
class QueueLimits:
    """Per-session queue bounds [messages] and [bytes].

    ``in_*``: accepted from a client, not yet routed. ``inflight_messages``: sent to a
    subscriber and not yet acknowledged (AWS IoT Core allows 100); ``pending_*``: routed
    to a connected subscriber and not yet acknowledged or written, in flight included.
    ``offline_*``: queued for a disconnected persistent session.
    """

    in_messages: int = 100
    in_bytes: int = 2 * 1024 * 1024
    inflight_messages: int = 100
    pending_messages: int = 1000
    pending_bytes: int = 8 * 1024 * 1024
    offline_messages: int = 1000
    offline_bytes: int = 16 * 1024 * 1024


class _QuietBytes(bytes):
    """A payload whose repr is its size: amqtt formats every broadcast into a debug
    f-string whether or not debug logging is on."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"<{len(self)} bytes>"


class FiresightProtocolHandler(BrokerProtocolHandler):
    """amqtt's broker-side protocol handler with PUBLISH and DISCONNECT taken in when the
    reader reads them (amqtt starts a task per packet and cancels unfinished ones at end of
    stream, which lost a PUBLISH read together with the close). A PUBLISH goes into the
    session's bounded queue; its PUBACK is sent by the broker once it has been routed."""

    broker: "FiresightAmqttBroker | None" = None

    def handle_publish(self, publish_packet):  # noqa: ANN001, ANN201  (returns an awaitable, as amqtt's)
        qos, header = publish_packet.qos, publish_packet.variable_header
        if self.session is not None and qos not in (QOS_0, QOS_1):
            # AWS IoT Core has no QoS 2; amqtt would hold each one until a PUBREL that may never come
            if self.broker is not None:
                self.broker.event(self.session, "publish_denied", publish_packet.topic_name,
                                  len(publish_packet.data or b""), "QoS 2 is not supported")
            return self.handle_connection_closed()
        if (self.session is None or (qos == QOS_0 and publish_packet.dup_flag)
                or publish_packet.topic_name is None or publish_packet.data is None):
            return super().handle_publish(publish_packet)  # malformed packets: amqtt's way
        message = IncomingApplicationMessage(header.packet_id if header else None, publish_packet.topic_name, qos,
                                             publish_packet.data, publish_packet.retain_flag)
        message.publish_packet = publish_packet
        size = len(publish_packet.data)
        attrs, limits = self.session.attributes, (self.broker.limits if self.broker else QueueLimits())
        queue = self.session.delivered_message_queue
        # the reader pauses once the queue is full (at most one packet more arrives), so this
        # only catches a connection without that pause
        if queue.qsize() > limits.in_messages or attrs.get(_IN_BYTES, 0) > limits.in_bytes:
            if self.broker is not None:
                self.broker.event(self.session, "publish_throttled", publish_packet.topic_name, size,
                                  "session queue full: dropped")
            return asyncio.sleep(0)  # dropped, not acknowledged: a QoS 1 sender sends it again
        attrs[_IN_BYTES] = attrs.get(_IN_BYTES, 0) + size
        queue.put_nowait(message)
        room = attrs.get(_ROOM)
        if room is not None and room.is_set() and _queue_full(self.session, limits):
            room.clear()
            if self.broker is not None:
                self.broker.event(self.session, "publish_throttled", publish_packet.topic_name, size,
                                  "session queue full: reading paused")
        return asyncio.sleep(0)

    def handle_disconnect(self, disconnect):  # noqa: ANN001, ANN201
        if self._disconnect_waiter is not None and not self._disconnect_waiter.done():
            self._disconnect_waiter.set_result(disconnect)
        self._disconnect_waiter = None
        return asyncio.sleep(0)


class FiresightAmqttBroker(Broker):
    """amqtt's broker with firesight's checks, bounds and persistence (module docstring)."""

    def __init__(self, config: dict[str, Any], *, gate: AccessGate, emit: Callable[[BrokerEvent], None],
                 max_payload_bytes: int, limits: QueueLimits, store: SessionStore | None,
                 loop: asyncio.AbstractEventLoop):
        super().__init__(config, loop=loop)
        self._gate, self._emit, self._max_payload, self.limits, self._store = (gate, emit, max_payload_bytes,
                                                                               limits, store)

    def event(self, session: Session | None, kind: str, topic: str | None = None, size: int = 0,
              reason: str | None = None) -> None:
        access = session.attributes.get(SESSION_KEY) if session is not None else None
        self._emit(BrokerEvent(kind, session.client_id if session else None,
                               access.principal if isinstance(access, Access) else None,
                               session.remote_address if session else None, topic=topic, size_bytes=size,
                               reason=reason))

    # ------------------------------------------------------------------ connect
    async def _initialize_client_session(self, reader, writer, remote_address, remote_port):  # noqa: ANN001
        """amqtt's, with the gate's decision (certificate, client id, last will) before
        any session with the same client id is touched."""
        try:
            handler, client_session = await FiresightProtocolHandler.init_from_connect(reader, writer,
                                                                                        self.plugins_manager)
        except MQTTError as exc:
            with contextlib.suppress(OSError):
                await writer.close()
            raise MQTTError(exc) from exc
        except (AMQTTError, NoDataError) as exc:
            raise AMQTTError(exc) from exc
        handler.broker = self
        ssl_object = client_session.ssl_object
        plain = ssl_object is None
        peer = None if plain else ssl_object.getpeercert(binary_form=True)
        client_id = client_session.client_id or ""
        will_topic = client_session.will_topic if client_session.will_flag else None
        access, reason, principal = self._gate.admit(peer, client_id, plain=plain, will_topic=will_topic)
        guard = getattr(writer, "guard", None)
        if access is None:
            self._emit(BrokerEvent("connect_refused", client_id, principal, remote_address, reason=reason))
            with contextlib.suppress(OSError, AMQTTError, MQTTError):
                await ConnackPacket.build(0, NOT_AUTHORIZED).to_stream(writer)
                await writer.close()
            raise MQTTError(f"connection from {remote_address} refused: {reason}")
        if guard is not None:
            guard.client_id, guard.principal = client_id, principal
            if access.principal_type == "service":
                # firesight's own services answer for the whole fleet: their own, higher bound
                guard.use_rate(guard.limits.service_publish_rate_per_s)
            if client_session.keep_alive > 0:
                guard.idle_timeout_s = 1.5 * client_session.keep_alive
        client_session.attributes[SESSION_KEY] = access
        self._emit(BrokerEvent("connect", client_id, principal, remote_address))
        if client_session.clean_session:
            if client_session.client_id:
                await self._delete_session(client_session.client_id)
                if self._store is not None:
                    self._store.forget(client_session.client_id)
            else:
                client_session.client_id = gen_client_id()
            client_session.parent = 0
        elif client_session.client_id in self._sessions:
            existing, _ = self._sessions[client_session.client_id]
            for attr in ("will_flag", "will_message", "will_topic", "will_qos", "will_retain", "keep_alive",
                         "username", "password", "remote_address", "remote_port", "ssl_object"):
                setattr(existing, attr, getattr(client_session, attr))
            existing.attributes[SESSION_KEY] = access
            client_session = existing
            client_session.parent = 1
        else:
            client_session.parent = 0
        if not client_session.clean_session and self._store is not None:
            self._store.save_session(client_session.client_id, access.certificate_id,
                                     self.subscriptions_of(client_session))
        room = client_session.attributes.get(_ROOM)
        if room is None:
            room = client_session.attributes[_ROOM] = asyncio.Event()
        room.set()
        if guard is not None:
            guard.room = room.wait
        delay = self.config.get("timeout-disconnect-delay", 0)
        if client_session.keep_alive > 0 and isinstance(delay, int):
            client_session.keep_alive += delay
        return handler, client_session

    async def _handle_client_session(self, reader, writer, client_session, handler, server,  # noqa: ANN001
                                     listener_name):  # noqa: ANN001
        """amqtt's, and a ``disconnect`` event when it ends."""
        try:
            await super()._handle_client_session(reader, writer, client_session, handler, server, listener_name)
        finally:
            self.event(client_session, "disconnect")
            if self._store is not None and not client_session.clean_session and client_session.client_id:
                self._store.touch(client_session.client_id)  # the session's expiry counts from here

    async def _delete_session(self, client_id: str) -> None:
        """amqtt's, except that what the old session accepted is delivered first (for at
        most ``_TAKEOVER_WAIT_S``), after closing a connection still open with that id."""
        session, handler = self._sessions.pop(client_id, (None, None))
        if session is None:
            return
        if handler is not None and session.transitions.is_connected():
            await handler.handle_connection_closed()
        ended = session.attributes.get(_LOOP_ENDED)
        if ended is not None:
            try:
                await asyncio.wait_for(ended.wait(), _TAKEOVER_WAIT_S)
            except asyncio.TimeoutError:
                log.warning("%s: previous connection still delivering after %s s", client_id, _TAKEOVER_WAIT_S)
        await self._del_all_subscriptions(session)
        session.clear_queues()

    # ------------------------------------------------------------------ message loop
    async def _client_message_loop(self, client_session, handler) -> None:  # noqa: ANN001
        """amqtt's loop, except that on disconnect everything accepted is delivered, in
        order, before the disconnect (and the last will) is handled; subscription changes
        of a persistent session are stored."""
        if self._store is not None and not client_session.clean_session:
            self._store.clear_queue(client_session.client_id)  # amqtt has just sent the queue
            client_session.attributes[_OFFLINE_BYTES] = 0
        disconnect_waiter = asyncio.ensure_future(handler.wait_disconnect())
        subscribe_waiter = asyncio.ensure_future(handler.get_next_pending_subscription())
        unsubscribe_waiter = asyncio.ensure_future(handler.get_next_pending_unsubscription())
        wait_deliver = asyncio.ensure_future(handler.mqtt_deliver_next_message())
        ended = client_session.attributes[_LOOP_ENDED] = asyncio.Event()
        try:
            while True:
                done, _ = await asyncio.wait([disconnect_waiter, subscribe_waiter, unsubscribe_waiter, wait_deliver],
                                             return_when=asyncio.FIRST_COMPLETED)
                if wait_deliver in done:
                    await self._handle_message_delivery(client_session, handler, wait_deliver)
                    wait_deliver = asyncio.ensure_future(handler.mqtt_deliver_next_message())
                if subscribe_waiter in done:
                    await self._handle_subscription(client_session, handler, subscribe_waiter)
                    subscribe_waiter = asyncio.ensure_future(handler.get_next_pending_subscription())
                    self._save_subscriptions(client_session)
                if unsubscribe_waiter in done:
                    await self._handle_unsubscription(client_session, handler, unsubscribe_waiter)
                    unsubscribe_waiter = asyncio.ensure_future(handler.get_next_pending_unsubscription())
                    self._save_subscriptions(client_session)
                if disconnect_waiter in done:
                    wait_deliver.cancel()  # a message it already took is returned, not lost
                    held = (await asyncio.gather(wait_deliver, return_exceptions=True))[0]
                    backlog = [held] if isinstance(held, ApplicationMessage) else []
                    for app_message in backlog + _take_accepted(client_session):
                        await self._deliver_accepted(client_session, handler, app_message)
                    await self._handle_disconnect(client_session, handler, disconnect_waiter)
                    break
        except asyncio.CancelledError:
            log.debug("message loop of %s cancelled", client_session.client_id)
        finally:
            waiters = [disconnect_waiter, subscribe_waiter, unsubscribe_waiter, wait_deliver]
            for waiter in waiters:
                waiter.cancel()
            await asyncio.gather(*waiters, return_exceptions=True)
            ended.set()

    def _save_subscriptions(self, session: Session) -> None:
        access = session.attributes.get(SESSION_KEY)
        if self._store is not None and not session.clean_session and isinstance(access, Access):
            self._store.save_session(session.client_id, access.certificate_id, self.subscriptions_of(session))

    def subscriptions_of(self, session: Session) -> list[tuple[str, int]]:
        return [(a_filter, qos) for a_filter, subs in list(self._subscriptions.items())
                for s, qos in list(subs) if s.client_id == session.client_id]

    async def _handle_message_delivery(self, client_session, handler, wait_deliver) -> bool:  # noqa: ANN001
        app_message = wait_deliver.result()
        if app_message is not None:
            await self._deliver_accepted(client_session, handler, app_message)
        return True

    async def _deliver_accepted(self, client_session, handler, app_message) -> None:  # noqa: ANN001
        """Check one message a client published, route it, then acknowledge it (QoS 1)."""
        topic = app_message.topic
        access = client_session.attributes.get(SESSION_KEY)
        size = len(app_message.data or b"")
        attrs = client_session.attributes
        attrs[_IN_BYTES] = max(0, attrs.get(_IN_BYTES, 0) - size)
        room = attrs.get(_ROOM)
        if room is not None and not room.is_set() and not _queue_full(client_session, self.limits):
            room.set()
        if not valid_publish_topic(topic):
            self.event(client_session, "publish_denied", topic, size, "invalid topic")
            if handler is not None:
                await handler.handle_connection_closed()  # [MQTT-3.3.2-2]: close the connection
            return
        if not isinstance(access, Access) or not self._gate.active(access):
            self.event(client_session, "publish_denied", topic, size, "certificate not ACTIVE")
            if handler is not None:
                await handler.handle_connection_closed()
            return
        if size > self._max_payload:
            self.event(client_session, "publish_denied", topic, size, f"payload over {self._max_payload} bytes")
        elif not await self._topic_filtering(client_session, topic=topic, action=Action.PUBLISH):
            self.event(client_session, "publish_denied", topic, size, "policy")
        else:
            self.event(client_session, "publish", topic, size)
            data = _QuietBytes(app_message.data)
            await self._dispatch({"session": client_session, "topic": topic, "data": data, "qos": app_message.qos},
                                 self._tasks_queue)
            if app_message.publish_packet and app_message.publish_packet.retain_flag:
                await self.retain_message(client_session, topic, app_message.data, app_message.qos)
        if app_message.qos == QOS_1 and app_message.packet_id is not None and handler is not None:
            with contextlib.suppress(Exception):  # the client may be gone; it sends again on reconnect
                await handler._send_packet(PubackPacket.build(app_message.packet_id))  # noqa: SLF001

    async def _handle_disconnect(self, client_session, handler, disconnect_waiter) -> None:  # noqa: ANN001
        """amqtt's, with the last will checked against the policy again when it is
        published (the certificate may have been revoked since CONNECT)."""
        result = disconnect_waiter.result()
        if not isinstance(result, DisconnectPacket) and client_session.will_flag:
            topic, access = client_session.will_topic, client_session.attributes.get(SESSION_KEY)
            data = client_session.will_message or b""
            if (isinstance(access, Access) and valid_publish_topic(topic) and self._gate.active(access)
                    and len(data) <= self._max_payload
                    and await self._topic_filtering(client_session, topic=topic, action=Action.PUBLISH)):
                self.event(client_session, "will", topic, len(data))
                await self._broadcast_message(client_session, topic, data, client_session.will_qos)
                if client_session.will_retain:
                    await self.retain_message(client_session, topic, data, client_session.will_qos)
            else:
                self.event(client_session, "will_denied", topic, len(data), "policy")
        await self._stop_handler(handler)
        client_session.transitions.disconnect()
        await self.plugins_manager.fire_event(BrokerEvents.CLIENT_DISCONNECTED, client_id=client_session.client_id,
                                              client_session=client_session)

    # ------------------------------------------------------------------ routing
    async def _run_broadcast(self, running_tasks) -> None:  # noqa: ANN001
        """amqtt's, through :meth:`_dispatch`."""
        broadcast = await self._broadcast_queue.get()
        await self._dispatch(broadcast, running_tasks)

    async def _dispatch(self, broadcast: dict[str, Any], running_tasks: Any) -> None:
        """Deliver one message to every subscriber that may receive it, at
        min(published, subscribed) QoS, over a snapshot of the subscriptions; queue it (on
        disk too) for offline persistent sessions; every bound overflow is counted."""
        topic, data = broadcast["topic"], broadcast["data"]
        size = len(data or b"")
        targets = [(target, sub_qos) for a_filter, subscriptions in list(self._subscriptions.items())
                   if self._matches(topic, a_filter) for target, sub_qos in list(subscriptions)]
        for target, sub_qos in targets:
            qos = min(broadcast.get("qos", sub_qos) or 0, sub_qos)
            if not await self._topic_filtering(target, topic=topic, action=Action.RECEIVE):
                continue
            if target.transitions.state != "connected":
                if not target.clean_session and qos == QOS_1 and not target.is_anonymous:
                    self._queue_offline(target, topic, data, qos)
                continue
            handler = self._get_handler(target)
            if handler is None:
                continue
            out = target.attributes.get(_OUT)
            if out is None:
                out = target.attributes[_OUT] = _Outbound(asyncio.Semaphore(self.limits.inflight_messages))
            if out.messages >= self.limits.pending_messages or out.bytes + size > self.limits.pending_bytes:
                self.event(target, "deliver_dropped", topic, size, "subscriber too far behind")
                continue
            out.messages += 1
            out.bytes += size
            running_tasks.append(asyncio.ensure_future(_send(handler, out, topic, data, qos, size)))

    def _queue_offline(self, target: Session, topic: str, data: bytes, qos: int) -> None:
        attrs = target.attributes
        if (target.retained_messages.qsize() >= self.limits.offline_messages
                or attrs.get(_OFFLINE_BYTES, 0) + len(data) > self.limits.offline_bytes):
            self.event(target, "deliver_dropped", topic, len(data), "offline queue full")
            return
        if self._store is not None:
            self._store.enqueue(target.client_id, topic, data, qos)
        attrs[_OFFLINE_BYTES] = attrs.get(_OFFLINE_BYTES, 0) + len(data)
        target.retained_messages.put_nowait(RetainedApplicationMessage(None, topic, data, qos))

    async def _publish_retained_messages_for_subscription(self, subscription, session) -> None:  # noqa: ANN001
        """amqtt's, but only the retained topics ``session`` may receive."""
        topic_filter, qos = subscription
        handler = self._get_handler(session)
        if handler is None:
            return
        tasks = []
        for topic, retained in list(self._retained_messages.items()):
            if self._matches(topic, topic_filter) and await self._topic_filtering(session, topic=topic,
                                                                                 action=Action.RECEIVE):
                tasks.append(asyncio.ensure_future(handler.mqtt_publish(retained.topic, retained.data,
                                                                        min(qos, retained.qos or qos), retain=True)))
        if tasks:
            await asyncio.wait(tasks)

    # ------------------------------------------------------------------ persistence
    def restore_sessions(self, expiry_s: float) -> int:
        """Recreate the stored persistent sessions (offline, with their subscriptions and
        queued messages); sessions whose certificate is no longer ACTIVE, or unused for
        more than ``expiry_s`` [s], are dropped. Returns how many were restored."""
        if self._store is None:
            return 0
        restored, now_ms = 0, time.time() * 1000
        for stored in self._store.sessions():
            access = self._gate.restore(stored.certificate_id, stored.client_id)
            if access is None or now_ms - stored.updated_ms > expiry_s * 1000:
                self._store.forget(stored.client_id)
                continue
            handler, session = self.create_offline_session(stored.client_id)
            session.clean_session = False
            session.attributes[SESSION_KEY] = access
            self._sessions[stored.client_id] = (session, handler)
            for a_filter, qos in stored.subscriptions:
                self._subscriptions.setdefault(a_filter, []).append((session, qos))
            for topic, payload, qos in self._store.queued(stored.client_id):
                session.retained_messages.put_nowait(RetainedApplicationMessage(None, topic, payload, qos))
                session.attributes[_OFFLINE_BYTES] = session.attributes.get(_OFFLINE_BYTES, 0) + len(payload)
            restored += 1
        return restored


def _queue_full(session: Session, limits: QueueLimits) -> bool:
    return (session.delivered_message_queue.qsize() >= limits.in_messages
            or session.attributes.get(_IN_BYTES, 0) >= limits.in_bytes)


class _Outbound:
    """What a subscriber has pending: at most ``inflight_messages`` in flight at once."""

    __slots__ = ("bytes", "inflight", "messages")

    def __init__(self, inflight: asyncio.Semaphore):
        self.inflight, self.messages, self.bytes = inflight, 0, 0


async def _send(handler: Any, out: _Outbound, topic: str, data: bytes, qos: int, size: int) -> None:
    try:
        async with out.inflight:
            await handler.mqtt_publish(topic, data, qos, retain=False)
    finally:
        out.messages -= 1
        out.bytes -= size


def _take_accepted(session: Any) -> list[Any]:
    """Remove and return, in order, the messages a session accepted but has not routed."""
    taken = []
    while True:
        try:
            taken.append(session.delivered_message_queue.get_nowait())
        except asyncio.QueueEmpty:
            return taken
