"""The embedded MQTT broker: amqtt in-process, with mutual TLS, AWS IoT-style access and
AWS IoT Core's bounds.

- Who may connect and what they may do: :mod:`firesight.iot.access` (certificate, client
  id, last will topic at CONNECT; publish, subscribe, receive by policy; the will again
  when it is published).
- Sockets and per-connection bounds: :mod:`firesight.iot.broker_net` (connection cap,
  CONNECT within ``connect_timeout_s``, oversized packets refused by their fixed header,
  100 publishes/s per device connection).
- Queues: every per-session queue is bounded in messages and bytes
  (:class:`firesight.iot._amqtt_compat.QueueLimits`); overflows are counted as
  ``publish_throttled`` / ``deliver_dropped`` events (:meth:`EmbeddedBroker.event_counts`).
- Persistence: with ``state_dir`` set, persistent sessions (``clean_session = 0``) keep
  their subscriptions and queued QoS 1 messages across restarts
  (:mod:`firesight.iot.broker_store`); a PUBACK is sent after the message is routed and
  queued on disk.
- amqtt's private methods that firesight overrides are all in
  :mod:`firesight.iot._amqtt_compat`, checked against the installed amqtt at start.

No listener without authentication exists unless ``plain_port`` is set, and its clients
get ``plain_policy`` (by default read-only access to the site alerts).

References
----------
1. AWS IoT Core developer guide, "Authentication", "Authorization", "MQTT persistent
   sessions"; AWS IoT Core quotas (message broker).
2. amqtt 0.12 documentation, "Custom plugins" and "external" listeners.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from firesight.errors import FiresightError, InvalidParameterError
from firesight.iot._amqtt_compat import FiresightAmqttBroker, QueueLimits, check_amqtt_internals
from firesight.iot.access import (
    PLAIN_LISTENER_POLICY_NAME,
    AccessGate,
    BrokerEvent,
    FiresightAuthPlugin,
    FiresightTopicPlugin,
)
from firesight.iot.broker_net import ConnectionLimits, GuardedListener, GuardedReader, server_ssl_context
from firesight.iot.broker_store import SessionStore
from firesight.iot.codec import MAX_PAYLOAD_BYTES
from firesight.iot.device_registry import DeviceRegistry

log = logging.getLogger(__name__)

__all__ = ["AccessGate", "BrokerConfig", "BrokerEvent", "ConnectionLimits", "EmbeddedBroker", "QueueLimits"]


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
        Plain (unauthenticated) listener on ``host`` (None: none, the default; 0: a free
        port). Only when asked for by name.
    plain_policy : str
        Policy of plain-listener clients (default: read the site alerts only).
    server_hosts : tuple of str
        SANs of the broker certificate.
    identity_cache_s : float
        How long a certificate's status and policies are cached [s] before the registry is
        read again (changes made through the same registry object apply at once).
    max_payload_bytes : int
        Largest accepted PUBLISH payload [bytes] (AWS IoT Core: 128 KB).
    connections : ConnectionLimits
        Connection cap, CONNECT timeout, largest packet, publish rate.
    queues : QueueLimits
        Per-session queue bounds.
    state_dir : Path or None
        Where persistent sessions are kept (``sessions.db``); None: in memory only.
    session_expiry_s : float
        A disconnected persistent session is dropped after this long [s] (AWS IoT Core's
        default is one hour).
    """

    host: str = "127.0.0.1"
    tls_port: int = 0
    plain_port: int | None = None
    plain_policy: str = PLAIN_LISTENER_POLICY_NAME
    server_hosts: tuple[str, ...] = ("localhost", "127.0.0.1")
    identity_cache_s: float = 2.0
    max_payload_bytes: int = MAX_PAYLOAD_BYTES
    connections: ConnectionLimits = field(default_factory=ConnectionLimits)
    queues: QueueLimits = field(default_factory=QueueLimits)
    state_dir: Path | None = None
    session_expiry_s: float = 3600.0


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
        self.gate = AccessGate(registry, registry.ca, identity_cache_s=self.config.identity_cache_s,
                               plain_policy=self.config.plain_policy)
        self._listeners: list[Callable[[BrokerEvent], None]] = []
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._broker: FiresightAmqttBroker | None = None
        self._sockets: list[GuardedListener] = []
        self._store: SessionStore | None = None
        self.url: str | None = None
        self.plain_url: str | None = None
        self.restored_sessions = 0

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

    def open_connections(self) -> int:
        """Connections open now, over all listeners [-]."""
        return sum(s.open_connections for s in self._sockets)

    def _emit(self, event: BrokerEvent) -> None:
        with self._lock:
            self._counts[event.kind] += 1
            listeners = list(self._listeners)
        for cb in listeners:
            try:
                cb(event)
            except Exception:  # a listener must not take the broker down
                log.exception("broker event listener failed")

    def _net_event(self, guard: GuardedReader | None, kind: str, reason: str) -> None:
        if kind == "connection_closed" and guard is not None and guard.client_id is None:
            kind = "connect_refused"  # closed before it was admitted
        self._emit(BrokerEvent(kind, guard.client_id if guard else None, guard.principal if guard else None,
                               None, reason=reason))

    # ------------------------------------------------------------------ lifecycle
    def start(self, timeout_s: float = 30.0) -> str:
        """Start the broker; return its mTLS URL ``mqtts://host:port``.

        Raises
        ------
        FiresightError
            A port is taken, or amqtt no longer has the internals firesight overrides.
        """
        if self._thread is not None:
            return self.url or ""
        check_amqtt_internals()
        ca = self.registry.ca
        assert ca is not None
        ca.ensure_root()
        server = ca.issue_server_certificate(self.config.server_hosts)
        self.registry.write_crl()
        if self.config.state_dir is not None:
            self._store = SessionStore(Path(self.config.state_dir) / "sessions.db")
        names = ["tls"] + (["plain"] if self.config.plain_port is not None else [])
        amqtt_config = {
            "listeners": {"default": {"type": "external"}, **{n: {"type": "external"} for n in names}},
            "timeout_disconnect_delay": 2,
            "session_expiry_interval": int(self.config.session_expiry_s),
            "plugins": {f"{FiresightAuthPlugin.__module__}.FiresightAuthPlugin": {"gate": self.gate},
                        f"{FiresightTopicPlugin.__module__}.FiresightTopicPlugin": {"gate": self.gate,
                                                                                     "emit": self._emit}},
        }
        ssl_context = server_ssl_context(str(ca.ca_path), str(server.cert_path), str(server.key_path))
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="firesight-broker", daemon=True)
        self._thread.start()

        async def _start() -> dict[str, int]:
            self._broker = FiresightAmqttBroker(amqtt_config, gate=self.gate, emit=self._emit,
                                                max_payload_bytes=self.config.max_payload_bytes,
                                                limits=self.config.queues, store=self._store,
                                                loop=asyncio.get_running_loop())
            await self._broker.start()
            self.restored_sessions = self._broker.restore_sessions(self.config.session_expiry_s)
            ports = {}
            for name in names:
                sock = GuardedListener(name, self._broker.external_connected,
                                       ssl_context if name == "tls" else None, self.config.connections,
                                       self._net_event)
                self._sockets.append(sock)
                port = self.config.tls_port if name == "tls" else self.config.plain_port
                ports[name] = await sock.start(self.config.host, int(port or 0))
            return ports

        try:
            ports = asyncio.run_coroutine_threadsafe(_start(), self._loop).result(timeout_s)
        except Exception as exc:
            self.stop()
            raise FiresightError(f"embedded broker failed to start: {exc}") from exc
        host = self.config.host
        self.url = f"mqtts://{host}:{ports['tls']}"
        if "plain" in ports:
            self.plain_url = f"mqtt://{host}:{ports['plain']}"
            log.warning("embedded broker: plain listener without authentication on %s (policy %s)",
                        self.plain_url, self.config.plain_policy)
        log.info("embedded broker on %s", self.url)
        return self.url

    def stop(self, timeout_s: float = 10.0) -> None:
        """Close listeners, disconnect clients and stop the thread (persistent sessions
        stay on disk)."""
        if self._loop is None:
            return
        # amqtt logs the cancellation of its own loops at shutdown as errors with tracebacks;
        # they are expected here, so keep them out of the user's terminal while stopping.
        amqtt_log = logging.getLogger("amqtt")
        previous_level = amqtt_log.level
        amqtt_log.setLevel(logging.CRITICAL)
        try:
            for sock in self._sockets:
                with contextlib.suppress(Exception):
                    asyncio.run_coroutine_threadsafe(sock.close(), self._loop).result(timeout_s)
            self._sockets = []
            if self._broker is not None:
                with contextlib.suppress(Exception):
                    asyncio.run_coroutine_threadsafe(self._broker.shutdown(), self._loop).result(timeout_s)
            self._shutdown_loop()
        finally:
            amqtt_log.setLevel(previous_level)
            if self._store is not None:
                self._store.close()
                self._store = None

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
