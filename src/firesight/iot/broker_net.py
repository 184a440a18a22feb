"""The embedded broker's sockets: accept, TLS, and the bounds a connection must keep.

amqtt's own TCP listener keeps a connection open for as long as the peer likes before
CONNECT, and reads a packet's whole body before anything looks at its size. Here the
broker's listeners are plain asyncio servers that hand each connection to amqtt through
its public ``external`` listener interface (``Broker.external_connected``) after:

- a connection cap (``max_connections``): one over the cap is closed at once, before TLS;
- TLS with the project CA, with the handshake and the first packet (which must be
  CONNECT) both due within ``connect_timeout_s`` of the accept;
- a framing guard (:class:`GuardedReader`) that follows the MQTT fixed headers of the byte
  stream and closes the connection as soon as a packet's remaining length exceeds
  ``max_packet_bytes`` (the 128 KB AWS IoT Core payload plus header room), before the body
  is read;
- AWS IoT Core's publish rate per device connection (``publish_rate_per_s``, token bucket
  with a burst of as many; firesight's own services get ``service_publish_rate_per_s``
  instead, once their CONNECT is admitted), applied to every packet but acknowledgements and DISCONNECT (so a
  SUBSCRIBE or PINGREQ flood is bounded too): a faster client is slowed by not reading its
  socket (TCP flow control pushes back), so nothing it sends piles up in the broker; every
  delayed packet counts as ``publish_throttled``;
- a pause before each packet while the session's queue of accepted messages is full
  (``GuardedReader.room``), so a fast sender is held back instead of dropped.

References
----------
1. OASIS MQTT 3.1.1, section 2.2 (fixed header, remaining length encoding) and 3.1
   ("If the Server does not receive a CONNECT Packet within a reasonable amount of time
   after the Network Connection is established, the Server SHOULD close the connection").
2. AWS IoT Core quotas: "Publish requests per connection: 100 per second", "Message size:
   128 KB".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from amqtt.adapters import ReaderAdapter, StreamWriterAdapter

log = logging.getLogger(__name__)

_CONNECT = 1
#: CONNECT, acknowledgements (PUBACK, PUBREC, PUBREL, PUBCOMP) and DISCONNECT are not rate-limited:
#: every other packet (PUBLISH, SUBSCRIBE, UNSUBSCRIBE, PINGREQ) takes a token
_UNMETERED = frozenset({_CONNECT, 4, 5, 6, 7, 14})
_TYPE, _LENGTH, _BODY = 0, 1, 2


@dataclass(frozen=True)
class ConnectionLimits:
    """Bounds every connection of the embedded broker keeps.

    Parameters
    ----------
    connect_timeout_s : float
        Longest time from accept to a complete CONNECT packet, TLS handshake included [s].
    max_connections : int
        Open connections per listener [-]; more are closed at once.
    max_packet_bytes : int
        Largest MQTT remaining length accepted [bytes].
    publish_rate_per_s : float or None
        PUBLISH (and SUBSCRIBE, UNSUBSCRIBE, PINGREQ) packets per second and *device*
        connection (AWS IoT Core's per-connection limit; None: unlimited) [1/s].
    service_publish_rate_per_s : float or None
        The same for a connection of one of firesight's own services (authenticated by a
        service certificate, ``registry.register_service``): a service answers for the whole
        fleet, so it gets a separate, higher bound, still metered and counted as
        ``publish_throttled`` (None: unlimited) [1/s].
    """

    connect_timeout_s: float = 10.0
    max_connections: int = 1000
    max_packet_bytes: int = 128 * 1024 + 1024
    publish_rate_per_s: float | None = 100.0
    service_publish_rate_per_s: float | None = 5000.0


class GuardedReader(ReaderAdapter):
    """An amqtt reader over an asyncio stream that enforces :class:`ConnectionLimits`.

    It parses only the fixed header of each packet, whatever sizes the reads have; a
    violation aborts the transport and reads as end of stream, which amqtt handles as a
    closed connection. ``on_event(kind, reason)`` is called for ``publish_throttled`` and
    ``connection_closed`` events.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, limits: ConnectionLimits,
                 on_event: Callable[[GuardedReader, str, str], None], *, deadline: float):
        self._reader, self._writer, self.limits, self._on_event = reader, writer, limits, on_event
        self._state, self._multiplier, self._length, self._left, self._type = _TYPE, 1, 0, 0, 0
        self._deadline: float | None = deadline
        self.closed_reason: str | None = None
        self.use_rate(limits.publish_rate_per_s)
        self.client_id: str | None = None
        self.principal: str | None = None
        self.throttled = 0
        #: close after this long without a packet (1.5 x the CONNECT keep-alive) [s]
        self.idle_timeout_s: float | None = None
        #: packets that took a token of the rate bucket so far [-]
        self.metered = 0
        #: ``await room()`` before each packet (set by the broker: the session's in-queue has room)
        self.room: Callable[[], Awaitable[object]] | None = None

    def use_rate(self, rate_per_s: float | None) -> None:
        """Meter this connection at ``rate_per_s`` from now on (burst = one second's
        worth; None: unlimited), e.g. a service's limit once CONNECT named a service."""
        self.rate_per_s = rate_per_s
        self._tokens = float(rate_per_s or 0)
        self._last_refill = asyncio.get_running_loop().time()

    def close(self, reason: str) -> None:
        """Abort the connection (idempotent)."""
        if self.closed_reason is None:
            self.closed_reason = reason
            self._writer.transport.abort()
            self._on_event(self, "connection_closed", reason)

    async def read(self, n: int = -1) -> bytes:
        if self.closed_reason is not None:
            return b""
        if self.room is not None and self._state == _TYPE and self._deadline is None:
            await self.room()
        coro = self._reader.read(n) if n < 0 else self._reader.readexactly(n)
        if self._deadline is not None:
            left = self._deadline - asyncio.get_running_loop().time()
            try:
                data = await asyncio.wait_for(coro, max(left, 0.0))
            except asyncio.TimeoutError:
                self.close(f"no CONNECT within {self.limits.connect_timeout_s} s")
                return b""
        elif self.idle_timeout_s is not None and self._state == _TYPE:
            try:
                data = await asyncio.wait_for(coro, self.idle_timeout_s)
            except asyncio.TimeoutError:
                self.close(f"nothing received for {self.idle_timeout_s:g} s (1.5 x keep-alive)")
                return b""
        else:
            data = await coro
        starts = self.metered
        if not self._advance(data):
            return b""
        if self.metered > starts and self._deadline is None and self.rate_per_s:
            await self._throttle()
        return data

    def feed_eof(self) -> None:
        self._reader.feed_eof()

    async def _throttle(self) -> None:
        """Wait for a token of the publish rate bucket (burst = one second's worth)."""
        rate = float(self.rate_per_s or 0)
        if rate <= 0:
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        self._tokens = min(rate, self._tokens + (now - self._last_refill) * rate)
        self._last_refill = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return
        self.throttled += 1
        self._on_event(self, "publish_throttled", f"over {rate:g} publishes/s")
        await asyncio.sleep((1.0 - self._tokens) / rate)
        self._tokens, self._last_refill = 0.0, loop.time()

    def _advance(self, data: bytes) -> bool:
        """Follow the packet framing over ``data``; False (and the connection closed) on a
        violation."""
        i, n = 0, len(data)
        while i < n:
            if self._state == _BODY:
                take = min(self._left, n - i)
                i += take
                self._left -= take
                if self._left == 0:
                    self._packet_done()
            elif self._state == _TYPE:
                self._type = data[i] >> 4
                i += 1
                self.metered += self._type not in _UNMETERED
                self._state, self._multiplier, self._length = _LENGTH, 1, 0
                if self._deadline is not None and self._type != _CONNECT:
                    self.close("first packet is not CONNECT")
                    return False
            else:
                byte = data[i]
                i += 1
                self._length += (byte & 0x7F) * self._multiplier
                self._multiplier *= 128
                if self._length > self.limits.max_packet_bytes:
                    self.close(f"packet of over {self.limits.max_packet_bytes} bytes")
                    return False
                if not byte & 0x80:
                    self._left = self._length
                    self._state = _BODY
                    if self._left == 0:
                        self._packet_done()
                elif self._multiplier > 128 ** 3:
                    self.close("malformed remaining length")
                    return False
        return True

    def _packet_done(self) -> None:
        self._state = _TYPE
        if self._deadline is not None and self._type == _CONNECT:
            self._deadline = None  # CONNECT complete: keep-alive takes over


class GuardedWriter(StreamWriterAdapter):
    """amqtt's stream writer adapter that carries the connection's :class:`GuardedReader`
    (so the broker can label it and lift the publish rate of services)."""

    def __init__(self, writer: asyncio.StreamWriter, guard: GuardedReader):
        super().__init__(writer)
        self.guard = guard


class GuardedListener:
    """One listening socket that hands guarded connections to amqtt.

    Parameters
    ----------
    name : str
        The amqtt listener name (``type: external`` in the broker configuration).
    connected : callable
        ``await connected(reader, writer, name)``: ``Broker.external_connected``.
    ssl_context : SSLContext or None
        Server TLS context (None: a plain listener).
    limits : ConnectionLimits
    on_event : callable
        ``on_event(guard_or_None, kind, reason)``: ``connect_refused`` (over the cap),
        ``connection_closed`` and ``publish_throttled``.
    """

    def __init__(self, name: str, connected: Callable, ssl_context: ssl.SSLContext | None, limits: ConnectionLimits,
                 on_event: Callable[[GuardedReader | None, str, str], None]):
        self.name, self._connected, self._ssl, self.limits, self._on_event = (name, connected, ssl_context, limits,
                                                                              on_event)
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task] = set()
        self.open_connections = 0

    async def start(self, host: str, port: int) -> int:
        """Listen; return the bound port."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _CappedProtocol(self), host, port, reuse_address=True)
        return int(self._server.sockets[0].getsockname()[1])

    def admit_socket(self, transport: asyncio.BaseTransport) -> bool:
        """At accept, before TLS: False (and the socket closed) over the connection cap."""
        if self.open_connections >= self.limits.max_connections:
            self._on_event(None, "connect_refused", f"over {self.limits.max_connections} connections")
            transport.abort()  # type: ignore[attr-defined]
            return False
        self.open_connections += 1
        if self._ssl is not None:  # nothing may reach the plain-text reader before the TLS upgrade
            transport.pause_reading()  # type: ignore[attr-defined]
        return True

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.limits.connect_timeout_s
        try:
            if self._ssl is not None:
                try:
                    await writer.start_tls(self._ssl, ssl_handshake_timeout=self.limits.connect_timeout_s)
                except (asyncio.TimeoutError, ssl.SSLError, OSError, ConnectionError) as exc:
                    reason = "TLS handshake timed out" if isinstance(exc, asyncio.TimeoutError) else "TLS failed"
                    self._on_event(None, "connection_closed", reason)
                    writer.transport.abort()
                    return
            guard = GuardedReader(reader, writer, self.limits, self._on_event, deadline=deadline)
            await self._connected(guard, GuardedWriter(writer, guard), self.name)
        except Exception:  # one connection's failure must not reach the server
            log.debug("connection on %s ended with an error", self.name, exc_info=True)
        finally:
            self.open_connections -= 1
            if task is not None:
                self._tasks.discard(task)
            if not writer.is_closing():
                writer.transport.abort()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
            self._server = None


class _CappedProtocol(asyncio.StreamReaderProtocol):
    """asyncio's stream protocol, with the connection cap applied (and reading paused
    until the TLS upgrade) as the socket is accepted."""

    def __init__(self, listener: GuardedListener):
        self._listener = listener
        super().__init__(asyncio.StreamReader(limit=2 ** 16), listener._accept)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self._listener.admit_socket(transport):
            super().connection_made(transport)


def server_ssl_context(cafile: str, certfile: str, keyfile: str) -> ssl.SSLContext:
    """TLS 1.2+ server context that asks for a client certificate signed by ``cafile``
    (optional at the TLS layer, so that a client without one gets CONNACK 5)."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=cafile)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(certfile, keyfile)
    ctx.verify_mode = ssl.CERT_OPTIONAL
    return ctx
