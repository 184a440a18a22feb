"""MQTT 3.1.1 and MQTT 5 clients over TLS 1.2+ with X.509 client certificates (paho-mqtt 2).

The same code reaches the embedded broker, Mosquitto and AWS IoT Core
(``mqtts://<prefix>-ats.iot.<region>.amazonaws.com:8883``, client id = thing name, CA =
Amazon Root CA 1). :class:`DeviceClient` is a thing; :class:`ServiceClient` is one of
firesight's own services (gateway, shadow service, rules engine), with a service
certificate or, on the embedded broker's plain internal listener, without one.

After the first successful connection, a dropped connection is retried by paho's network
thread with exponential backoff from ``reconnect_min_s`` doubling up to
``reconnect_max_s``; subscriptions are renewed on every reconnect.

:meth:`MqttClient.close` first waits (while connected, up to ``flush_timeout_s``) until the
broker has acknowledged every QoS 1 message published so far: paho's ``disconnect()``
sends DISCONNECT at once, ahead of the messages it still holds back beyond its in-flight
window (20), which would then never be sent.

Protocol: ``mqtt_version`` 311 (MQTT 3.1.1, the default; all the embedded broker speaks) or
5 (Mosquitto, AWS IoT Core) is the caller's choice, never probed. An MQTT 5 persistent
session (``clean_session=False``) connects with Clean Start 0 and a Session Expiry Interval
(``session_expiry_s``): the broker drops it that long after the client went; on MQTT 3.1.1
the broker's own setting decides (1 h on the embedded broker and our Mosquitto).

Acknowledgement after handling (``manual_ack=True``): a QoS 1 message is acknowledged
(PUBACK) once every callback that took it is done: a callback with an ``ack`` parameter gets
a one-shot ``ack()`` to call when it has handled the message (any thread), any other is done
when it returns (:mod:`firesight.iot.delivery`). If the client dies first, a persistent session gets the message again (DUP)
at the next connection, in order, ahead of what was queued. An ``ack()`` of a message from
an earlier connection is dropped (``acks_dropped``): the broker delivers it again on the
new one, and its packet id may by then name another message.

References
----------
1. AWS IoT Core developer guide, "Device communication protocols" (MQTT, port 8883, TLS
   1.2, ALPN not needed on 8883) and "Server authentication" (Amazon Root CA 1).
2. paho-mqtt 2.x documentation, ``Client.tls_set_context``, ``reconnect_delay_set``,
   ``Client(manual_ack=...)``, ``Client.ack``, ``connect(clean_start=..., properties=...)``.
3. OASIS MQTT Version 5.0 (2019), 3.1.2.4 "Clean Start", 3.1.2.11.2 "Session Expiry
   Interval", 4.4 "Message delivery retry", 4.8.2 "Shared Subscriptions".
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import paho.mqtt.client as mqtt
from paho.mqtt.matcher import MQTTMatcher
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from firesight.errors import AccessDeniedError, FiresightError, InvalidParameterError, require
from firesight.iot.codec import MAX_PAYLOAD_BYTES
from firesight.iot.delivery import Delivery, dispatch
from firesight.iot.topics import DEVICE_STREAMS, device_topic, validate_name

log = logging.getLogger(__name__)

MessageCallback = Callable[[str, bytes], None]

#: ``mqtt_version`` values: 311 (MQTT 3.1.1) and 5 (MQTT 5.0), as Mosquitto's clients name them.
MQTT_VERSIONS = {311: mqtt.MQTTv311, 5: mqtt.MQTTv5}
#: Session Expiry Interval of an MQTT 5 persistent session unless given (AWS IoT Core's
#: default persistent session expiry, and the generated Mosquitto configuration's) [s].
DEFAULT_SESSION_EXPIRY_S = 3600
#: Largest Session Expiry Interval (0xFFFFFFFF: the session never expires) [s].
MAX_SESSION_EXPIRY_S = 0xFFFFFFFF


class PayloadTooLargeError(InvalidParameterError):
    """A publish over the broker's payload limit (AWS IoT Core: 128 KB), refused before
    it is sent: a broker disconnects the sender of one, and a QoS 1 message would then be
    sent again after every reconnect, holding up everything published after it."""
DEFAULT_PORTS = {"mqtts": 8883, "mqtt": 1883, "ssl": 8883, "tcp": 1883}


@dataclass(frozen=True)
class BrokerAddress:
    """A parsed broker URL: ``mqtts://host:port`` (TLS) or ``mqtt://host:port`` (plain)."""

    host: str
    port: int
    tls: bool

    @classmethod
    def parse(cls, url: str) -> "BrokerAddress":
        u = urlparse(url)
        if u.scheme not in DEFAULT_PORTS or not u.hostname:
            raise InvalidParameterError("broker_url", "mqtts://HOST[:PORT] or mqtt://HOST[:PORT]", url)
        return cls(u.hostname, u.port or DEFAULT_PORTS[u.scheme], u.scheme in ("mqtts", "ssl"))


def tls_context(*, ca_path: str | Path | None, cert_path: str | Path | None = None,
                key_path: str | Path | None = None) -> ssl.SSLContext:
    """Client TLS context: server verified against ``ca_path`` (system CAs if None),
    hostname checked, TLS 1.2 minimum, optional client certificate."""
    ctx = ssl.create_default_context(cafile=str(ca_path) if ca_path else None)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if cert_path or key_path:
        if not (cert_path and key_path):
            raise InvalidParameterError("cert_path/key_path", "both or neither", (cert_path, key_path))
        ctx.load_cert_chain(str(cert_path), str(key_path))
    return ctx


class MqttClient:
    """A connected MQTT 3.1.1 or MQTT 5 client with callbacks per topic filter; thread-safe.

    Parameters
    ----------
    client_id : str
        MQTT client id (a thing name for devices).
    broker_url : str
        ``mqtts://host:port`` or ``mqtt://host:port``.
    cert_path, key_path, ca_path : path, optional
        Client certificate, its key, and the CA that signed the broker's certificate.
    keepalive_s : int
        MQTT keep-alive [s].
    reconnect_min_s, reconnect_max_s : float
        Reconnect backoff: first delay and cap [s] (doubling in between).
    max_queued : int
        Outgoing messages held while disconnected before new ones are refused.
    will : tuple (topic, payload, qos, retain), optional
        Last-will message the broker publishes if the connection drops.
    clean_session : bool
        False: a persistent session (the broker keeps the subscriptions and queues QoS 1
        messages while the client is away; register handlers with :meth:`add_handler`
        before :meth:`connect` to get what was queued).
    max_payload_bytes : int
        Largest payload :meth:`publish` sends [bytes].
    mqtt_version : int
        311 (MQTT 3.1.1) or 5 (MQTT 5.0); the broker must speak it (the embedded broker
        speaks 3.1.1 only).
    session_expiry_s : int, optional
        MQTT 5 persistent session: the broker keeps it this long after a disconnect [s]
        (default :data:`DEFAULT_SESSION_EXPIRY_S`). Not with MQTT 3.1.1 (no such field;
        the broker's setting applies) nor with a clean session.
    manual_ack : bool
        Acknowledge a QoS 1 message only when its callbacks are done with it (see the
        module docstring); False: on arrival, before the callbacks run.
    receive_maximum : int, optional
        MQTT 5 flow control: the Receive Maximum of the CONNECT (1-65535), the most QoS 1
        messages the broker sends this client before it has acknowledged them; with
        ``manual_ack`` a slow consumer so holds the backlog in the broker's session rather
        than in its own memory (MQTT 5.0, 3.1.2.11.3 and 4.9). None: the protocol's
        default (65,535). Not with MQTT 3.1.1 (no such field). Seen on Mosquitto 2.0.11:
        the bound holds until the first acknowledgement, after which each PUBACK lets up
        to Receive Maximum more through (the standard: one).
    """

    def __init__(self, client_id: str, broker_url: str, *, cert_path: str | Path | None = None,
                 key_path: str | Path | None = None, ca_path: str | Path | None = None,
                 keepalive_s: int = 30, reconnect_min_s: float = 1.0, reconnect_max_s: float = 60.0,
                 max_queued: int = 1000, will: tuple[str, bytes, int, bool] | None = None,
                 clean_session: bool = True, max_payload_bytes: int = MAX_PAYLOAD_BYTES,
                 mqtt_version: int = 311, session_expiry_s: int | None = None, manual_ack: bool = False,
                 receive_maximum: int | None = None):
        self.client_id = client_id
        self.broker_url = broker_url
        self.address = BrokerAddress.parse(broker_url)
        self.keepalive_s = keepalive_s
        self.mqtt_version = mqtt_version
        self.manual_ack = manual_ack
        self.session_expiry_s = _session_expiry(mqtt_version, clean_session, session_expiry_s)
        self._connect_kwargs: dict[str, object] = {}
        if receive_maximum is not None:
            if mqtt_version != 5:
                raise InvalidParameterError("receive_maximum", "only with mqtt_version 5", receive_maximum)
            require(1 <= receive_maximum <= 65535, "receive_maximum", "within 1..65535", receive_maximum)
        self.receive_maximum = receive_maximum
        if mqtt_version == 5:
            self._client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                                       protocol=mqtt.MQTTv5, manual_ack=manual_ack)
            self._connect_kwargs["clean_start"] = clean_session  # every connect, as clean_session
            if self.session_expiry_s or receive_maximum:
                props = Properties(PacketTypes.CONNECT)
                if self.session_expiry_s:
                    props.SessionExpiryInterval = self.session_expiry_s
                if receive_maximum:
                    props.ReceiveMaximum = int(receive_maximum)
                self._connect_kwargs["properties"] = props
        else:
            self._client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                                       protocol=mqtt.MQTTv311, clean_session=clean_session, manual_ack=manual_ack)
        self.max_payload_bytes = max_payload_bytes
        self.refused_too_large = 0
        if self.address.tls:
            self._client.tls_set_context(tls_context(ca_path=ca_path, cert_path=cert_path, key_path=key_path))
        elif cert_path:
            raise InvalidParameterError("broker_url", "mqtts:// when a client certificate is given", broker_url)
        if not 0 < reconnect_min_s <= reconnect_max_s:
            raise InvalidParameterError("reconnect_min_s/reconnect_max_s", "0 < min <= max",
                                        (reconnect_min_s, reconnect_max_s))
        self._client.reconnect_delay_set(min_delay=reconnect_min_s, max_delay=reconnect_max_s)  # type: ignore[arg-type]
        self._client.max_queued_messages_set(max_queued)
        if will is not None:
            self._client.will_set(will[0], will[1], qos=will[2], retain=will[3])
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_publish = self._on_publish
        self._client.on_message = self._on_message
        self._lock = threading.Lock()
        # callbacks by topic filter (our own table: a message is acknowledged once, after
        # every callback that matched it); the connection a delivery came on
        self._handlers = MQTTMatcher()
        self._handlers_lock = threading.Lock()
        self._generation = 0
        self.acks_dropped = 0
        self.session_present: bool | None = None
        # QoS 1 acknowledgements: mids not yet acknowledged; acknowledgements that came
        # before publish() registered their mid (kept only while a QoS 1 publish() runs)
        self._acks = threading.Condition()
        self._unacked: set[int] = set()
        self._acked_early: set[int] = set()
        self._publishing = 0
        self._first = threading.Event()
        self._connect_error: str | None = None
        self._connected = False
        self._subscriptions: dict[str, int] = {}
        self._suback: dict[int, tuple[threading.Event, list]] = {}
        self._started = False
        self.disconnects = 0

    # ------------------------------------------------------------------ callbacks
    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:  # noqa: ANN001
        if reason_code.is_failure:
            self._connect_error = f"CONNACK refused: {reason_code}"
            self._first.set()
            return
        sock = client.socket()
        if sock is not None:  # Nagle + delayed ACK would hold a frame's last segment ~40 ms
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                log.debug("TCP_NODELAY not set for %s", self.client_id)
        with self._lock:
            self._connected = True
            self._generation += 1
            self.session_present = bool(getattr(flags, "session_present", False))
            subs = dict(self._subscriptions)
        for topic_filter, qos in subs.items():  # renew after a reconnect (clean session)
            client.subscribe(topic_filter, qos)
        self._first.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:  # noqa: ANN001
        with self._lock:
            was = self._connected
            self._connected = False
        if was:
            self.disconnects += 1
        if not self._first.is_set():
            self._connect_error = f"connection closed by broker ({reason_code})"
            self._first.set()

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:  # noqa: ANN001
        with self._lock:
            waiter = self._suback.get(mid)
        if waiter is not None:
            waiter[1].extend(reason_codes)
            waiter[0].set()

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:  # noqa: ANN001
        # called by paho under its own message lock: take only self._acks here
        with self._acks:
            if mid in self._unacked:
                self._unacked.discard(mid)
                if not self._unacked:
                    self._acks.notify_all()
            elif self._publishing:
                self._acked_early.add(mid)

    def _on_message(self, client, userdata, message) -> None:  # noqa: ANN001
        """Network thread: every matching callback, then (``manual_ack``) the dispatch's
        own hold on the acknowledgement is released."""
        delivery = Delivery(self, message.mid, message.qos, self._generation) \
            if self.manual_ack and message.qos else None
        try:
            topic = message.topic
        except UnicodeDecodeError:  # no filter can match it; acknowledged, not redelivered
            log.warning("%s: message with a topic that is not UTF-8 dropped", self.client_id)
            topic = None
        if topic is not None:
            with self._handlers_lock:
                callbacks = list(self._handlers.iter_match(topic))
            for deliver in callbacks:
                deliver(message, delivery)
        if delivery is not None:
            delivery.release()

    def _send_ack(self, mid: int, qos: int, generation: int) -> None:
        with self._lock:  # _on_connect cannot start a new connection's generation meanwhile
            if generation == self._generation:
                self._client.ack(mid, qos)
                return
            self.acks_dropped += 1

    # ------------------------------------------------------------------ lifecycle
    def connect(self, timeout_s: float = 10.0) -> "MqttClient":
        """Connect and wait for CONNACK.

        Raises
        ------
        AccessDeniedError
            TLS handshake refused (no/unknown/revoked certificate) or CONNACK refused.
        FiresightError
            Broker unreachable or no answer within ``timeout_s``.
        """
        self._first.clear()
        self._connect_error = None
        try:
            self._client.connect(self.address.host, self.address.port, keepalive=self.keepalive_s,
                                 **self._connect_kwargs)  # type: ignore[arg-type]
        except ssl.SSLError as exc:
            raise AccessDeniedError(f"{self.client_id}: TLS handshake with {self.broker_url} failed: {exc}") from exc
        except OSError as exc:
            raise FiresightError(f"{self.client_id}: cannot reach {self.broker_url}: {exc}") from exc
        self._client.loop_start()
        self._started = True
        if not self._first.wait(timeout_s):
            self.close()
            raise FiresightError(f"{self.client_id}: no CONNACK from {self.broker_url} within {timeout_s} s")
        if self._connect_error is not None or not self.is_connected:
            error = self._connect_error or "connection closed"
            self.close()
            raise AccessDeniedError(f"{self.client_id}: {self.broker_url} refused the connection: {error}")
        return self

    @property
    def is_connected(self) -> bool:
        with self._lock:
            return self._connected

    @property
    def unacknowledged(self) -> int:
        """QoS 1 messages published but not yet acknowledged by the broker [-]."""
        with self._acks:
            return len(self._unacked)

    def flush(self, timeout_s: float = 10.0) -> int:
        """Wait until the broker has acknowledged every QoS 1 message published so far,
        for at most ``timeout_s`` [s] and only while connected (paho sends what is left
        after a reconnect). Returns how many are still unacknowledged."""
        deadline = time.monotonic() + timeout_s
        with self._acks:
            while self._unacked and self.is_connected and (left := deadline - time.monotonic()) > 0:
                self._acks.wait(min(left, 0.1))
            return len(self._unacked)

    def close(self, flush_timeout_s: float = 10.0) -> None:
        """Wait for the broker to acknowledge the QoS 1 messages published so far (see
        :meth:`flush`; ``flush_timeout_s`` [s]), then disconnect cleanly and stop the
        network thread."""
        if self._started:
            left = self.flush(flush_timeout_s)
            if left:
                log.warning("%s: closing with %d QoS 1 messages unacknowledged", self.client_id, left)
        try:
            self._client.disconnect()
        except Exception:  # already closed sockets raise from paho; closing is best effort
            log.debug("disconnect of %s failed", self.client_id, exc_info=True)
        if self._started:
            self._client.loop_stop()
            self._started = False
        with self._lock:
            self._connected = False

    def abort(self) -> None:
        """Drop the connection without DISCONNECT, as a power cut would (the broker then
        publishes the last will), and stop the network thread."""
        sock = self._client.socket()
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                log.debug("%s: socket already closed", self.client_id)
        if self._started:
            self._client.loop_stop()
            self._started = False
        with self._lock:
            self._connected = False

    def __enter__(self) -> "MqttClient":
        if not self._started:
            self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ messaging
    def publish(self, topic: str, payload: bytes | str, *, qos: int = 0, retain: bool = False,
                wait_s: float | None = None) -> mqtt.MQTTMessageInfo:
        """Publish; with ``wait_s`` (QoS >= 1) block until the broker acknowledged it."""
        if qos not in (0, 1):
            raise InvalidParameterError("qos", "0 or 1 (AWS IoT Core supports no QoS 2)", qos)
        size = len(payload.encode() if isinstance(payload, str) else payload)
        if size > self.max_payload_bytes:
            self.refused_too_large += 1
            raise PayloadTooLargeError("payload", f"at most {self.max_payload_bytes} bytes", f"{size} bytes")
        if qos == 0:
            info = self._client.publish(topic, payload, qos=qos, retain=retain)
        else:
            with self._acks:
                self._publishing += 1
            info = None
            try:
                info = self._client.publish(topic, payload, qos=qos, retain=retain)
            finally:
                with self._acks:
                    self._publishing -= 1
                    if info is not None and info.rc in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
                        if info.mid in self._acked_early:
                            self._acked_early.discard(info.mid)
                        else:
                            self._unacked.add(info.mid)
                    if not self._publishing:
                        self._acked_early.clear()
        if info.rc != mqtt.MQTT_ERR_SUCCESS and info.rc != mqtt.MQTT_ERR_NO_CONN:
            raise FiresightError(f"{self.client_id}: publish to {topic} failed: {mqtt.error_string(info.rc)}")
        if wait_s is not None:
            info.wait_for_publish(wait_s)
        return info

    def add_handler(self, topic_filter: str, callback: MessageCallback) -> None:
        """Route messages matching ``topic_filter`` to ``callback(topic, payload)`` without
        subscribing (for a persistent session's subscriptions, which the broker kept)."""
        with self._handlers_lock:
            self._handlers[topic_filter] = dispatch(callback, topic_filter)

    def _remove_handler(self, topic_filter: str) -> None:
        with self._handlers_lock:
            try:
                del self._handlers[topic_filter]
            except KeyError:
                pass

    def subscribe(self, topic_filter: str, callback: MessageCallback | None, *, qos: int = 0,
                  timeout_s: float = 10.0) -> int:
        """Subscribe and route matching messages to ``callback(topic, payload)`` (called on
        the network thread; keep it short); a callback with a ``retain`` parameter also gets
        the message's MQTT RETAIN flag, one with an ``ack`` parameter a one-shot ``ack()``
        it must call once done with the message (see the module docstring; a no-op unless
        ``manual_ack``). ``callback`` None subscribes only: the messages go
        to handlers added with :meth:`add_handler` (a client library routes by the topic a
        message carries, not by the subscription that brought it, so one handler on a
        wider filter can serve many subscriptions without delivering a message twice).
        Returns the granted QoS.

        Raises
        ------
        AccessDeniedError
            The broker refused the subscription (SUBACK 0x80).
        """
        if callback is not None:
            self.add_handler(topic_filter, callback)
        event: threading.Event = threading.Event()
        codes: list = []
        with self._lock:
            result, mid = self._client.subscribe(topic_filter, qos)
            self._suback[mid] = (event, codes)
        try:
            if result != mqtt.MQTT_ERR_SUCCESS or not event.wait(timeout_s):
                if callback is not None:
                    self._remove_handler(topic_filter)
                raise FiresightError(f"{self.client_id}: no SUBACK for {topic_filter} within {timeout_s} s")
        finally:
            with self._lock:
                self._suback.pop(mid, None)
        if not codes or codes[0].is_failure:
            if callback is not None:
                self._remove_handler(topic_filter)
            raise AccessDeniedError(f"{self.client_id}: broker refused subscription to {topic_filter}")
        with self._lock:
            self._subscriptions[topic_filter] = qos
        return int(codes[0].value)

    def unsubscribe(self, topic_filter: str) -> None:
        with self._lock:
            self._subscriptions.pop(topic_filter, None)
        self._client.unsubscribe(topic_filter)
        self._remove_handler(topic_filter)


class DeviceClient(MqttClient):
    """A thing: client id = thing name, authenticated by its own certificate.

    Parameters
    ----------
    thing_name : str
        Registered thing name (also the client id).
    broker_url : str
        ``mqtts://host:port``.
    cert_path, key_path, ca_path : path
        The thing's certificate and key, and the CA of the broker certificate.
    site : str, optional
        The thing's site, to build its own topics with :meth:`topic`.
    """

    def __init__(self, thing_name: str, broker_url: str, *, cert_path: str | Path, key_path: str | Path,
                 ca_path: str | Path | None, site: str | None = None, **kwargs: object):
        validate_name(thing_name)
        self.thing_name = thing_name
        self.site = site
        super().__init__(thing_name, broker_url, cert_path=cert_path, key_path=key_path, ca_path=ca_path,
                         **kwargs)  # type: ignore[arg-type]

    def topic(self, stream: str) -> str:
        """This device's topic for one of ``thermal``, ``scd41``, ``status``, ``features``."""
        if self.site is None:
            raise InvalidParameterError("site", f"set to build {DEVICE_STREAMS} topics", None)
        return device_topic(self.site, self.thing_name, stream)


class ServiceClient(MqttClient):
    """One of firesight's services. With certificate paths it authenticates as the
    service principal (``registry.register_service``); without, it must use a plain
    internal listener (``mqtt://``). The client id is the service name plus a short
    random suffix unless ``client_id`` is given, so several instances may run."""

    def __init__(self, service_name: str, broker_url: str, *, cert_path: str | Path | None = None,
                 key_path: str | Path | None = None, ca_path: str | Path | None = None,
                 client_id: str | None = None, **kwargs: object):
        validate_name(service_name, "service_name")
        self.service_name = service_name
        super().__init__(client_id or f"{service_name}-{uuid.uuid4().hex[:8]}", broker_url, cert_path=cert_path,
                         key_path=key_path, ca_path=ca_path, **kwargs)  # type: ignore[arg-type]


def _session_expiry(mqtt_version: int, clean_session: bool, session_expiry_s: int | None) -> int | None:
    """The Session Expiry Interval to send [s] (None: none is sent), checked."""
    if mqtt_version not in MQTT_VERSIONS:
        raise InvalidParameterError("mqtt_version", "311 (MQTT 3.1.1) or 5 (MQTT 5.0)", mqtt_version)
    if session_expiry_s is None:
        return DEFAULT_SESSION_EXPIRY_S if mqtt_version == 5 and not clean_session else None
    if mqtt_version != 5:
        raise InvalidParameterError("session_expiry_s", "None with MQTT 3.1.1 (the broker's setting applies)",
                                    session_expiry_s)
    if clean_session:
        raise InvalidParameterError("session_expiry_s", "None with clean_session=True", session_expiry_s)
    if not (isinstance(session_expiry_s, int) and 0 < session_expiry_s <= MAX_SESSION_EXPIRY_S):
        raise InvalidParameterError("session_expiry_s", f"an int within 1..{MAX_SESSION_EXPIRY_S}", session_expiry_s)
    return session_expiry_s
