"""Scale-out of the monitoring agent: which worker serves which device.

Several workers share the devices through an MQTT 5 shared subscription on the device
status topic (``$share/{group}/firesight/v1/{site}/+/status``, each status message goes to
one worker of the group). The worker that gets a device's status while nobody serves it
claims the device with a retained message on ``firesight/internal/v1/owners/{site}/{thing}``
(:func:`owner_topic`) and subscribes to that device's topics: each device is served by one
worker, in order. Workers announce themselves retained on ``firesight/internal/v1/workers/{id}``
(:func:`worker_topic`) with an ``offline`` last will; when a worker goes, its devices are
claimed again at their next status message.

Scale-out downtime: each worker's client has a persistent session too (stable client id
``monitoring-{worker}``; built so by :func:`firesight.agents.system.start_system`), so the
broker keeps its per-device subscriptions and queues the QoS 1 readings (SCD41, status) of
the devices it serves while it is away. The devices it serves are kept in the metadata
store; a restarted worker routes them (one handler per stream on the site-wide filter,
added before it connects) to its gateway, so the queued readings are handled first and in
order, and it claims no other device before the retained ownership and worker messages
have arrived. A worker that vanished (its last will ``offline``) keeps its devices for
``takeover_after_s``: other workers claim them only after that, so a worker restarted
within it resumes without loss or duplicates; one that stops cleanly (``stopped``)
unsubscribes its devices and hands them over at once. After a takeover, what the broker
had queued for the vanished worker is handled by it when (if) it comes back, before it
learns of the takeover and releases the device: at-least-once, with the deterministic
event ids of the downstream consumers.
"""

from __future__ import annotations

import logging
import queue as queue_module
import threading
import time
from collections import deque
from collections.abc import Callable

from firesight.agents.events import STATE_TABLE
from firesight.errors import FiresightError
from firesight.iot.codec import StatusMessage, decode
from firesight.iot.topics import device_topic

log = logging.getLogger(__name__)

INTERNAL_ROOT = "firesight/internal/v1"


def owner_topic(site: str, thing: str) -> str:
    return f"{INTERNAL_ROOT}/owners/{site}/{thing}"


def worker_topic(worker: str) -> str:
    return f"{INTERNAL_ROOT}/workers/{worker}"


class SharedDevices:
    """Device ownership of a monitoring agent in a ``shared_group`` (mixed into
    :class:`firesight.agents.monitoring.MonitoringAgent`, which provides ``client``,
    ``gateway``, ``store``, ``site``, ``worker_id``, ``shared_group``, ``takeover_after_s``,
    ``clock``, ``counts``, ``_lock``, ``_stop`` and ``_report_states``)."""

    def _init_shared(self) -> None:
        self._owners: dict[tuple[str, str], str] = {}
        self._workers: dict[str, str] = {}
        self._served: set[tuple[str, str]] = set()
        self._claims: queue_module.Queue = queue_module.Queue()
        self._claims_thread: threading.Thread | None = None
        self._claims_ready = threading.Event()
        self._announced = False
        self._resumed: set[tuple[str, str]] = set()
        self._worker_since: dict[str, float] = {}

    def _shared_status_filter(self) -> str:
        return f"$share/{self.shared_group}/firesight/v1/{self.site}/+/status"

    def _route_before_connect(self) -> None:
        """The devices served before a restart (metadata store), and one handler per
        stream on the site-wide filter: what the persistent session queued for them is
        routed to the gateway as soon as the client connects."""
        self._claims_ready.clear()
        self._announced = False
        self._served = set(self._load_served())
        self._resumed = set(self._served)
        for stream in ("status", "scd41", "thermal"):
            self.client.add_handler(f"firesight/v1/{self.site}/+/{stream}", self._route)

    def _route(self, topic: str, payload: bytes, ack: Callable[[], None]) -> None:
        """Network thread: a served device's message to the gateway (acknowledged once
        handled there); another device's status (the shared subscription) to the claims
        loop (acknowledged once the claim is decided); anything else counted and
        acknowledged."""
        parts = topic.split("/")
        key = (parts[2], parts[3]) if len(parts) == 5 else None
        if key is not None and key in self._served:
            self.gateway.inject(topic, payload, ack)
        elif key is not None and parts[4] == "status":
            self._claims.put(("status", topic, payload, ack))
        else:
            self.counts["unrouted"] += 1
            ack()

    def _start_shared(self) -> None:
        self._claims_thread = threading.Thread(target=self._claims_loop, name=f"monitoring-claims-{self.worker_id}",
                                               daemon=True)
        self._claims_thread.start()
        self.client.subscribe(f"{INTERNAL_ROOT}/workers/+", self._claims_enqueue("worker"), qos=1)
        self.client.subscribe(f"{INTERNAL_ROOT}/owners/+/+", self._claims_enqueue("owner"), qos=1)
        with self._lock:
            for key in sorted(self._served):  # renewed: the persistent session keeps them anyway
                self._subscribe_device(key)
        self._announced = True
        # our own "online" comes back after the retained messages of the subscriptions above
        self.client.publish(worker_topic(self.worker_id), b"online", qos=1, retain=True)
        # a client library routes messages by the topic they carry, which never starts with
        # $share/: the handler is on the plain filter (_route), the subscription shared
        self.client.subscribe(self._shared_status_filter(), None, qos=1)

    def _claims_enqueue(self, kind: str) -> Callable[[str, bytes], None]:
        def put(topic: str, payload: bytes) -> None:  # on the network thread: hand over, never block
            self._claims.put((kind, topic, payload, None))
        return put

    def _claims_loop(self) -> None:
        """Ownership messages in order; device statuses (claims) wait until the retained
        worker and owner messages have arrived (our own ``online`` came back, or 3 s)."""
        handlers = {"worker": self._on_worker, "owner": self._on_owner, "status": self._on_shared_status}
        held: deque[tuple[str, str, bytes, Callable[[], None] | None]] = deque()
        started = time.monotonic()
        while not self._stop.is_set():
            if not self._claims_ready.is_set() and time.monotonic() - started > 3.0:
                self._claims_ready.set()
            if held and self._claims_ready.is_set():
                item = held.popleft()
            else:
                try:
                    item = self._claims.get(timeout=0.25)
                except queue_module.Empty:
                    continue
            kind, topic, payload, ack = item
            if kind == "status" and not self._claims_ready.is_set():
                held.append(item)
                continue
            try:
                handlers[kind](topic, payload)
            except Exception:  # one bad claim message must not end the ownership loop
                self.counts["claim_errors"] += 1
                log.exception("ownership message on %s failed", topic)
            finally:
                if ack is not None:
                    ack()

    def _on_worker(self, topic: str, payload: bytes) -> None:
        worker = topic.rsplit("/", 1)[-1]
        state = payload.decode(errors="replace")
        if worker == self.worker_id and state == "online" and self._announced:
            self._claims_ready.set()
        with self._lock:
            if self._workers.get(worker) != state:
                self._worker_since[worker] = self.clock()
            self._workers[worker] = state
            # vanished (last will): its devices wait takeover_after_s for it to come back
            if state != "online" and (state != "offline" or self.takeover_after_s <= 0):
                for key, owner in list(self._owners.items()):
                    if owner == worker:
                        del self._owners[key]

    def _on_owner(self, topic: str, payload: bytes) -> None:
        parts = topic.split("/")
        key = (parts[-2], parts[-1])
        owner = payload.decode(errors="replace")
        with self._lock:
            resumed = key in self._resumed
            self._resumed.discard(key)
            if not owner:
                self._owners.pop(key, None)
                return
            self._owners[key] = owner
            if key in self._served and owner != self.worker_id:
                # taken over while we were away, or two claims crossed (the lower worker id keeps it)
                if resumed or owner < self.worker_id:
                    self._release(key)
                else:
                    self.client.publish(owner_topic(*key), self.worker_id.encode(), qos=1, retain=True)
            elif owner == self.worker_id and key not in self._served:
                self._serve(key)  # our own claim from before a restart

    def _on_shared_status(self, topic: str, payload: bytes) -> None:
        try:
            msg = decode(topic, payload, now_ms=int(time.time() * 1000))
        except FiresightError:
            self.counts["shared_status_rejected"] += 1
            return
        if not isinstance(msg, StatusMessage) or msg.state == "offline":
            return
        key = (msg.site, msg.thing_name)
        with self._lock:
            owner = self._owners.get(key)
            if key in self._served:
                return
            if owner and owner != self.worker_id:
                state = self._workers.get(owner)
                if state == "online":
                    return
                if state == "offline" and self.clock() - self._worker_since.get(owner, 0.0) < self.takeover_after_s:
                    self.counts["claims_deferred"] += 1
                    return
            self._owners[key] = self.worker_id
            self.client.publish(owner_topic(*key), self.worker_id.encode(), qos=1, retain=True)
            self._serve(key)
            self.counts["claims"] += 1
        # the status that brought the claim is the device's first message here
        self.gateway.inject(topic, payload)

    def _subscribe_device(self, key: tuple[str, str]) -> None:
        for stream in ("status", "scd41", "thermal"):  # routed by _route, not per subscription
            self.gateway.add_filter(device_topic(key[0], key[1], stream), qos=self.gateway.config.stream_qos(stream),
                                    route=False)

    def _serve(self, key: tuple[str, str]) -> None:
        self._served.add(key)
        self._subscribe_device(key)
        self._save_served()
        self._report_states()

    def _release(self, key: tuple[str, str]) -> None:
        self._served.discard(key)
        self._resumed.discard(key)
        for stream in ("status", "scd41", "thermal"):
            self.gateway.remove_filter(device_topic(key[0], key[1], stream))
        self._save_served()
        self.counts["released"] += 1
        self._report_states()

    def _load_served(self) -> list[tuple[str, str]]:
        if self.store is None:
            return []
        item = self.store.get(STATE_TABLE, f"worker/{self.worker_id}", "monitoring-served")
        return [tuple(d.split("/", 1)) for d in (item or {}).get("served", []) if "/" in d]  # type: ignore[misc]

    def _save_served(self) -> None:
        if self.store is not None:
            self.store.put(STATE_TABLE, {"device": f"worker/{self.worker_id}", "agent": "monitoring-served",
                                         "served": sorted(f"{s}/{t}" for s, t in self._served)},
                           key="device", sort_key="agent")

    def served(self) -> list[str]:
        with self._lock:
            return sorted(f"{s}/{t}" for s, t in self._served)
