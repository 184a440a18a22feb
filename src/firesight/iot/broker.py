"""The embedded MQTT broker: amqtt in-process, with mutual TLS and AWS IoT-style access.

Identity comes from the client certificate (looked up by its SHA-256 id in the device
registry; the subject CN is the thing name); the TLS layer already refuses certificates
from unknown CAs. A connection is refused (CONNACK 5, "not authorized") when there is no
client certificate, when the certificate is unknown, INACTIVE or REVOKED, or when the
policy denies ``iot:Connect`` on ``client/{clientId}`` (the default device policy allows
only client id = thing name). Publish, subscribe and receive are checked against the
certificate's policies; a payload over 128 KB is dropped, as AWS IoT Core does. A
certificate deactivated while connected is refused on its next publish and disconnected.

An optional plain listener (bound to the broker host only) serves trusted internal
services; clients there get the service policy.

amqtt 0.12 deletes an existing session with the same client id, and replaces its
registration, before it authenticates a new connection; :class:`_FiresightAmqttBroker`
therefore authorizes right after reading CONNECT (its ``_initialize_client_session``
follows amqtt 0.12.1's with that check added). amqtt also refuses PUBLISH to any
``$``-topic; the override of ``_handle_message_delivery`` admits ``$aws/`` (shadow topics).

A PUBACK means the broker has taken responsibility for a message. amqtt 0.12.1 queues an
incoming QoS 1 message in the session and acknowledges it at once, then broadcasts the
queue one message at a time; when the client disconnected it stopped and dropped what was
still queued (a clean-session reconnect with the same client id cleared it too), and it
broadcast over the live subscription lists across awaits, so a subscription dropped
meanwhile made it skip the next subscriber. Here the message loop delivers everything
accepted, in order, before it handles the disconnect (and the last will),
``_delete_session`` lets that loop finish first, ``_run_broadcast`` iterates a snapshot,
and PUBLISH / DISCONNECT are taken in as they are read (:class:`_FiresightProtocolHandler`).

References
----------
1. AWS IoT Core developer guide, "Authentication" and "Authorization".
2. amqtt 0.12 documentation, "Custom plugins" (BaseAuthPlugin, BaseTopicPlugin).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from amqtt.broker import Broker
from amqtt.contexts import Action
from amqtt.errors import AMQTTError, MQTTError, NoDataError
from amqtt.mqtt.connack import NOT_AUTHORIZED, ConnackPacket
from amqtt.mqtt.constants import QOS_0, QOS_1, QOS_2
from amqtt.mqtt.protocol.broker_handler import BrokerProtocolHandler
from amqtt.mqtt.puback import PubackPacket
from amqtt.plugins.base import BaseAuthPlugin, BaseTopicPlugin
from amqtt.session import ApplicationMessage, IncomingApplicationMessage
from amqtt.utils import gen_client_id
from cryptography import x509

from firesight.errors import FiresightError, InvalidParameterError
from firesight.iot.ca import CertificateAuthority, certificate_id, common_name
from firesight.iot.codec import MAX_PAYLOAD_BYTES
from firesight.iot.policy import BUILTIN_POLICIES, SERVICE_POLICY_NAME, ConnectionContext, Policy, is_allowed
from firesight.iot.registry import DeviceRegistry, Identity

log = logging.getLogger(__name__)

_SESSION_KEY = "firesight.access"
#: session attribute: an asyncio.Event set when the session's message loop has ended
_LOOP_ENDED = "firesight.loop_ended"
#: longest wait for a replaced connection to deliver what it accepted [s]
_TAKEOVER_WAIT_S = 10.0
_ACTION_NAMES = {Action.PUBLISH: "iot:Publish", Action.SUBSCRIBE: "iot:Subscribe", Action.RECEIVE: "iot:Receive"}


@dataclass(frozen=True)
class BrokerConfig:
    """Embedded broker settings.

    Parameters
    ----------
    host : str
        Address the listeners bind to.
    tls_port : int
        mTLS listener port; 0 picks a free port.
    plain_port : int or None
        Plain listener for internal services (None: none; 0: a free port).
    server_hosts : tuple of str
        SANs of the broker certificate.
    identity_cache_s : float
        How long a certificate's status and policies are cached [s] before the registry is
        read again (changes made through the same registry object apply at once).
    max_payload_bytes : int
        Largest accepted PUBLISH payload [bytes] (AWS IoT Core: 128 KB).
    """

    host: str = "127.0.0.1"
    tls_port: int = 0
    plain_port: int | None = None
    server_hosts: tuple[str, ...] = ("localhost", "127.0.0.1")
    identity_cache_s: float = 2.0
    max_payload_bytes: int = MAX_PAYLOAD_BYTES


@dataclass(frozen=True)
class BrokerEvent:
    """Something a client did, as Device Defender counts it.

    ``kind``: ``connect``, ``connect_refused``, ``disconnect``, ``publish``,
    ``publish_denied``, ``subscribe``, ``subscribe_denied``, ``receive_denied``.
    ``principal`` is the thing (or service) name when the certificate is known.
    """

    kind: str
    client_id: str | None
    principal: str | None
    source_ip: str | None
    topic: str | None = None
    size_bytes: int = 0
    reason: str | None = None
    time_ms: int = field(default_factory=lambda: int(time.time() * 1000))


@dataclass
class _Access:
    """Per-connection access state kept in the amqtt session."""

    certificate_id: str | None      # None: plain (internal) listener
    context: ConnectionContext
    principal: str


class AccessGate:
    """Authentication and authorization against the registry; thread-safe.

    Parameters
    ----------
    registry : DeviceRegistry
        Certificates, things and policies.
    ca : CertificateAuthority
        Issuer that client certificates must chain to directly.
    identity_cache_s : float
        Cache lifetime of resolved identities [s].
    """

    def __init__(self, registry: DeviceRegistry, ca: CertificateAuthority, *, identity_cache_s: float = 2.0):
        self.registry = registry
        self.ca = ca
        self.identity_cache_s = identity_cache_s
        self._lock = threading.Lock()
        self._identities: dict[str, tuple[Identity | None, float, int, int]] = {}
        self._decisions: dict[tuple, bool] = {}
        self._epoch = 0
        self._service_policies = (Policy(SERVICE_POLICY_NAME, BUILTIN_POLICIES[SERVICE_POLICY_NAME]),)

    def identity(self, cert_id: str) -> Identity | None:
        """The registry identity of a certificate, cached for ``identity_cache_s``."""
        return self._identity(cert_id)[0]

    def _identity(self, cert_id: str) -> tuple[Identity | None, int]:
        now = time.monotonic()
        gen = self.registry.generation
        with self._lock:
            hit = self._identities.get(cert_id)
            if hit is not None and now - hit[1] < self.identity_cache_s and hit[2] == gen:
                return hit[0], hit[3]
        ident = self.registry.resolve_identity(cert_id)
        with self._lock:
            self._epoch += 1
            self._identities[cert_id] = (ident, now, gen, self._epoch)
            if len(self._decisions) > 100_000:
                self._decisions.clear()
            return ident, self._epoch

    def admit(self, peer_der: bytes | None, client_id: str, *, plain: bool) -> tuple[_Access | None, str, str | None]:
        """Decide a CONNECT: (access or None, reason, principal for accounting)."""
        if plain:
            ctx = ConnectionContext(client_id=client_id)
            return _Access(None, ctx, client_id), "ok", client_id
        if not peer_der:
            return None, "no client certificate", None
        cert = x509.load_der_x509_certificate(peer_der)
        if not self.ca.verify(cert):
            return None, "certificate not issued by the project CA or expired", None
        cid = certificate_id(cert)
        ident = self.identity(cid)
        if ident is None:
            return None, f"certificate {cid[:12]} is not registered", common_name(cert)
        if ident.status != "ACTIVE":
            return None, f"certificate {cid[:12]} is {ident.status}", ident.principal
        if ident.principal_type == "thing" and common_name(cert) != ident.principal:
            return None, "certificate CN does not name its thing", ident.principal
        attached = ident.principal_type == "thing" and client_id == ident.principal
        ctx = ConnectionContext(client_id=client_id, thing_name=ident.principal if attached else None,
                                thing_type=ident.thing_type if attached else None,
                                attributes=ident.attributes if attached else {})
        access = _Access(cid, ctx, ident.principal)
        if not self.allowed(access, "iot:Connect", client_id):
            return None, f"policy denies iot:Connect as client id {client_id!r}", ident.principal
        return access, "ok", ident.principal

    def allowed(self, access: _Access, action: str, target: str) -> bool:
        """Policy decision for a connected client (False once its certificate is not ACTIVE)."""
        if access.certificate_id is None:
            return is_allowed(self._service_policies, action, target, access.context)
        ident, epoch = self._identity(access.certificate_id)
        if ident is None or ident.status != "ACTIVE":
            return False
        key = (epoch, access.context.client_id, action, target)
        with self._lock:
            hit = self._decisions.get(key)
        if hit is None:
            hit = is_allowed(ident.policies, action, target, access.context)
            with self._lock:
                self._decisions[key] = hit
        return hit

    def active(self, access: _Access) -> bool:
        if access.certificate_id is None:
            return True
        ident = self.identity(access.certificate_id)
        return ident is not None and ident.status == "ACTIVE"


class FiresightAuthPlugin(BaseAuthPlugin):
    """amqtt auth plugin: accepts sessions the gate admitted after CONNECT."""

    @dataclass
    class Config:
        gate: Any = None

    async def authenticate(self, *, session: Any) -> bool | None:
        return isinstance(session.attributes.get(_SESSION_KEY), _Access)


class FiresightTopicPlugin(BaseTopicPlugin):
    """amqtt topic plugin: iot:Publish / iot:Subscribe / iot:Receive by policy."""

    @dataclass
    class Config:
        gate: Any = None
        emit: Any = None

    async def topic_filtering(self, *, session: Any = None, topic: str | None = None,
                              action: Action | None = None) -> bool | None:
        if session is None or topic is None or action is None:
            return False
        access = session.attributes.get(_SESSION_KEY)
        if not isinstance(access, _Access):
            return False
        ok = self.config.gate.allowed(access, _ACTION_NAMES[action], topic)
        if action != Action.PUBLISH:  # publish events are emitted with their size by the broker
            kind = f"{action.value}{'' if ok else '_denied'}"
            if not ok or action == Action.SUBSCRIBE:
                self.config.emit(BrokerEvent(kind, session.client_id, access.principal,
                                             session.remote_address, topic=topic))
        return ok


class _QuietBytes(bytes):
    """A payload whose repr is its size: amqtt 0.12 formats every broadcast into a debug
    f-string whether or not debug logging is on, and the repr of a 51 KB frame costs about
    0.4 ms per message."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"<{len(self)} bytes>"


class _FiresightProtocolHandler(BrokerProtocolHandler):
    """amqtt's broker-side protocol handler, with PUBLISH and DISCONNECT taken in when the
    reader reads them. amqtt's reader starts a task per packet and, at end of stream,
    cancels those not finished: a PUBLISH (or the DISCONNECT) read together with the end
    of the stream was then lost before its task ran (and a clean disconnect looked
    abnormal). Here the message is queued for delivery at once, in order; only the PUBACK
    is sent by the task."""

    def handle_publish(self, publish_packet):  # noqa: ANN001, ANN201  (returns the task's coroutine)
        qos, header = publish_packet.qos, publish_packet.variable_header
        if (self.session is None or qos not in (QOS_0, QOS_1) or (qos == QOS_0 and publish_packet.dup_flag)
                or publish_packet.topic_name is None or publish_packet.data is None):
            return super().handle_publish(publish_packet)  # QoS 2 and malformed packets: amqtt's way
        message = IncomingApplicationMessage(header.packet_id if header else None, publish_packet.topic_name, qos,
                                             publish_packet.data, publish_packet.retain_flag)
        message.publish_packet = publish_packet
        self.session.delivered_message_queue.put_nowait(message)  # unbounded: never full
        return self._acknowledge(message)

    async def _acknowledge(self, message: IncomingApplicationMessage) -> None:
        if message.qos == QOS_1:
            puback = PubackPacket.build(message.packet_id)
            await self._send_packet(puback)
            message.puback_packet = puback

    def handle_disconnect(self, disconnect):  # noqa: ANN001, ANN201  (returns an awaitable, as amqtt's)
        if self._disconnect_waiter is not None and not self._disconnect_waiter.done():
            self._disconnect_waiter.set_result(disconnect)
        self._disconnect_waiter = None
        return asyncio.sleep(0)


class _FiresightAmqttBroker(Broker):
    """amqtt's broker with authorization before session takeover and ``$aws/`` publishing."""

    def __init__(self, config: dict[str, Any], *, gate: AccessGate, emit: Callable[[BrokerEvent], None],
                 max_payload_bytes: int, loop: asyncio.AbstractEventLoop):
        super().__init__(config, loop=loop)
        self._gate, self._emit, self._max_payload = gate, emit, max_payload_bytes

    async def _initialize_client_session(self, reader, writer, remote_address, remote_port):  # noqa: ANN001
        try:
            handler, client_session = await _FiresightProtocolHandler.init_from_connect(reader, writer,
                                                                                         self.plugins_manager)
        except MQTTError as exc:
            with contextlib.suppress(OSError):
                await writer.close()
            raise MQTTError(exc) from exc
        except (AMQTTError, NoDataError) as exc:
            raise AMQTTError(exc) from exc
        ssl_object = client_session.ssl_object
        plain = ssl_object is None
        peer = None if plain else ssl_object.getpeercert(binary_form=True)
        client_id = client_session.client_id or ""
        access, reason, principal = self._gate.admit(peer, client_id, plain=plain)
        if access is None:
            self._emit(BrokerEvent("connect_refused", client_id, principal, remote_address, reason=reason))
            with contextlib.suppress(OSError, AMQTTError, MQTTError):
                await ConnackPacket.build(0, NOT_AUTHORIZED).to_stream(writer)
                await writer.close()
            raise MQTTError(f"connection from {remote_address} refused: {reason}")
        client_session.attributes[_SESSION_KEY] = access
        self._emit(BrokerEvent("connect", client_id, principal, remote_address))
        # --- as amqtt 0.12.1 Broker._initialize_client_session from here on
        if client_session.clean_session:
            if client_session.client_id:
                await self._delete_session(client_session.client_id)
            else:
                client_session.client_id = gen_client_id()
            client_session.parent = 0
        elif client_session.client_id in self._sessions:
            existing, _ = self._sessions[client_session.client_id]
            for attr in ("will_flag", "will_message", "will_topic", "will_qos", "keep_alive", "username",
                         "password"):
                setattr(existing, attr, getattr(client_session, attr))
            existing.attributes[_SESSION_KEY] = access
            client_session = existing
            client_session.parent = 1
        else:
            client_session.parent = 0
        delay = self.config.get("timeout-disconnect-delay", 0)
        if client_session.keep_alive > 0 and isinstance(delay, int):
            client_session.keep_alive += delay
        return handler, client_session

    async def _handle_client_session(self, reader, writer, client_session, handler, server, listener_name):  # noqa: ANN001
        try:
            await super()._handle_client_session(reader, writer, client_session, handler, server, listener_name)
        finally:
            access = client_session.attributes.get(_SESSION_KEY)
            self._emit(BrokerEvent("disconnect", client_session.client_id,
                                   access.principal if isinstance(access, _Access) else None,
                                   client_session.remote_address))

    async def _delete_session(self, client_id: str) -> None:
        """amqtt's, except that what the session accepted is delivered first: amqtt
        cleared its queue, so a clean-session reconnect with the same client id lost what
        the previous connection had published (and was acknowledged). A connection still
        open with that client id is closed first, as AWS IoT Core does; then its message
        loop delivers, before the new connection's messages, for at most
        ``_TAKEOVER_WAIT_S``."""
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

    async def _client_message_loop(self, client_session, handler) -> None:  # noqa: ANN001
        """amqtt 0.12.1's loop, except on disconnect: amqtt stops at once and leaves what
        the client published (and, at QoS 1, was already acknowledged) in the session's
        delivery queue; here everything accepted is delivered, in order, before the
        disconnect is handled (and so before any last will)."""
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
                if unsubscribe_waiter in done:
                    await self._handle_unsubscription(client_session, handler, unsubscribe_waiter)
                    unsubscribe_waiter = asyncio.ensure_future(handler.get_next_pending_unsubscription())
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

    async def _handle_message_delivery(self, client_session, handler, wait_deliver) -> bool:  # noqa: ANN001
        app_message = wait_deliver.result()
        if app_message is not None:
            await self._deliver_accepted(client_session, handler, app_message)
        return True

    async def _deliver_accepted(self, client_session, handler, app_message) -> None:  # noqa: ANN001
        """Check one message a client published and broadcast it (amqtt refuses every
        ``$`` topic; ``$aws/`` is admitted here)."""
        topic = app_message.topic
        access = client_session.attributes.get(_SESSION_KEY)
        principal = access.principal if isinstance(access, _Access) else None
        size = len(app_message.data or b"")

        def event(kind: str, reason: str | None = None) -> None:
            self._emit(BrokerEvent(kind, client_session.client_id, principal, client_session.remote_address,
                                   topic=topic, size_bytes=size, reason=reason))

        if not topic or "#" in topic or "+" in topic or (topic.startswith("$") and not topic.startswith("$aws/")):
            event("publish_denied", "invalid topic")
            if handler is not None:
                await handler.handle_connection_closed()  # [MQTT-3.3.2-2]: close the connection
            return
        if not isinstance(access, _Access) or not self._gate.active(access):
            event("publish_denied", "certificate not ACTIVE")
            if handler is not None:
                await handler.handle_connection_closed()  # the message loop then disconnects it
            return
        if size > self._max_payload:
            event("publish_denied", f"payload over {self._max_payload} bytes")
            return
        if not await self._topic_filtering(client_session, topic=topic, action=Action.PUBLISH):
            event("publish_denied", "policy")
            return
        event("publish")
        await self._broadcast_message(client_session, topic, _QuietBytes(app_message.data))
        if app_message.publish_packet and app_message.publish_packet.retain_flag:
            await self.retain_message(client_session, topic, app_message.data, app_message.qos)

    async def _run_broadcast(self, running_tasks) -> None:  # noqa: ANN001
        """amqtt 0.12.1's, over a snapshot of the subscriptions. amqtt iterates the live
        dict and lists across awaits: a subscription removed meanwhile (its session monitor
        drops disconnected clean sessions every second) made it skip the next subscriber,
        and a filter added or removed raised and lost the message for every subscriber left."""
        broadcast = await self._broadcast_queue.get()
        topic = broadcast["topic"]
        targets = [(target, sub_qos) for a_filter, subscriptions in list(self._subscriptions.items())
                   if self._matches(topic, a_filter) for target, sub_qos in list(subscriptions)]
        for target, sub_qos in targets:
            qos = broadcast.get("qos", sub_qos)
            if not await self._topic_filtering(target, topic=topic, action=Action.RECEIVE):
                continue
            connected = target.transitions.state == "connected"
            if not connected and not target.clean_session and qos in (QOS_1, QOS_2) and not target.is_anonymous:
                await self._retain_broadcast_message(broadcast, qos, target)  # [MQTT-3.1.2-4]
                continue
            handler = self._get_handler(target) if connected else None
            if handler:
                running_tasks.append(asyncio.ensure_future(handler.mqtt_publish(topic, broadcast["data"], qos,
                                                                                retain=False)))


def _take_accepted(session: Any) -> list[Any]:
    """Remove and return, in order, the messages a session accepted but has not delivered."""
    taken = []
    while True:
        try:
            taken.append(session.delivered_message_queue.get_nowait())
        except asyncio.QueueEmpty:
            return taken


class EmbeddedBroker:
    """amqtt broker on its own thread and event loop, with an mTLS listener.

    Parameters
    ----------
    registry : DeviceRegistry
        Registry with a CA (``registry.ca``) that issues the server certificate and
        verifies clients.
    config : BrokerConfig, optional

    Examples
    --------
    >>> with EmbeddedBroker(registry) as broker:      # doctest: +SKIP
    ...     url = broker.url                          # mqtts://127.0.0.1:PORT
    """

    def __init__(self, registry: DeviceRegistry, config: BrokerConfig | None = None):
        if registry.ca is None:
            raise InvalidParameterError("registry", "a DeviceRegistry with a CertificateAuthority", None)
        self.registry = registry
        self.config = config or BrokerConfig()
        self.gate = AccessGate(registry, registry.ca, identity_cache_s=self.config.identity_cache_s)
        self._listeners: list[Callable[[BrokerEvent], None]] = []
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._broker: _FiresightAmqttBroker | None = None
        self.url: str | None = None
        self.plain_url: str | None = None

    @classmethod
    def from_config(cls, config: Any = None, broker_config: BrokerConfig | None = None) -> "EmbeddedBroker":
        """Build the registry and CA from a :class:`firesight.config.Config`."""
        from firesight.iot import open_registry

        return cls(open_registry(config), broker_config)

    # ------------------------------------------------------------------ events
    def add_listener(self, callback: Callable[[BrokerEvent], None]) -> None:
        """Call ``callback(event)`` for every :class:`BrokerEvent` (on the broker thread;
        keep it fast and non-blocking)."""
        with self._lock:
            self._listeners.append(callback)

    def event_counts(self) -> dict[str, int]:
        """Events so far by kind."""
        with self._lock:
            return dict(self._counts)

    def _emit(self, event: BrokerEvent) -> None:
        with self._lock:
            self._counts[event.kind] += 1
            listeners = list(self._listeners)
        for cb in listeners:
            try:
                cb(event)
            except Exception:  # a listener must not take the broker down
                log.exception("broker event listener failed")

    # ------------------------------------------------------------------ lifecycle
    def start(self, timeout_s: float = 30.0) -> str:
        """Start the broker; return its mTLS URL ``mqtts://host:port``."""
        if self._thread is not None:
            return self.url or ""
        ca = self.registry.ca
        assert ca is not None
        ca.ensure_root()
        server = ca.issue_server_certificate(self.config.server_hosts)
        self.registry.write_crl()
        tls = {"type": "tcp", "bind": f"{self.config.host}:{self.config.tls_port}", "ssl": True,
               "cafile": str(ca.ca_path), "certfile": str(server.cert_path), "keyfile": str(server.key_path)}
        listeners = {"default": tls}
        if self.config.plain_port is not None:
            listeners = {"default": {"type": "tcp", "bind": f"{self.config.host}:{self.config.plain_port}"},
                         "tls": tls}
        amqtt_config = {
            "listeners": listeners,
            "timeout_disconnect_delay": 2,
            "plugins": {f"{__name__}.FiresightAuthPlugin": {"gate": self.gate},
                        f"{__name__}.FiresightTopicPlugin": {"gate": self.gate, "emit": self._emit}},
        }
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="firesight-broker", daemon=True)
        self._thread.start()

        async def _start() -> dict[str, int]:
            self._broker = _FiresightAmqttBroker(amqtt_config, gate=self.gate, emit=self._emit,
                                                 max_payload_bytes=self.config.max_payload_bytes,
                                                 loop=asyncio.get_running_loop())
            await self._broker.start()
            return {name: srv.instance.sockets[0].getsockname()[1] for name, srv in self._broker._servers.items()}

        try:
            ports = asyncio.run_coroutine_threadsafe(_start(), self._loop).result(timeout_s)
        except Exception as exc:
            self._shutdown_loop()
            raise FiresightError(f"embedded broker failed to start: {exc}") from exc
        host = self.config.host
        if self.config.plain_port is not None:
            self.url = f"mqtts://{host}:{ports['tls']}"
            self.plain_url = f"mqtt://{host}:{ports['default']}"
        else:
            self.url = f"mqtts://{host}:{ports['default']}"
        log.info("embedded broker on %s", self.url)
        return self.url

    def stop(self, timeout_s: float = 10.0) -> None:
        """Disconnect clients, close listeners and stop the thread."""
        if self._loop is None:
            return
        # amqtt logs the cancellation of its own loops at shutdown as errors with tracebacks;
        # they are expected here, so keep them out of the user's terminal while stopping.
        amqtt_log = logging.getLogger("amqtt")
        previous_level = amqtt_log.level
        amqtt_log.setLevel(logging.CRITICAL)
        try:
            if self._broker is not None:
                with contextlib.suppress(Exception):
                    asyncio.run_coroutine_threadsafe(self._broker.shutdown(), self._loop).result(timeout_s)
            self._shutdown_loop()
        finally:
            amqtt_log.setLevel(previous_level)

    def _shutdown_loop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None:
            return

        async def _cancel_rest() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(_cancel_rest(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            thread.join(5)
        if not loop.is_running():
            loop.close()
        self._loop, self._thread, self._broker = None, None, None

    def __enter__(self) -> "EmbeddedBroker":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
