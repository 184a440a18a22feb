"""A bounded queue and a supervised worker thread between an MQTT network thread and
blocking work (SQLite, object stores, publishing answers).

The network thread only calls :meth:`ServiceWorker.submit`, which never blocks: when the
queue is full the message is shed and counted. The worker calls ``handle(item)`` for each
item; an exception is counted by type and logged and the worker goes on; should the loop
itself end by an exception, a supervisor restarts it after a capped exponential backoff.
:meth:`ServiceWorker.stop` is staged: stop accepting, drain for up to a timeout, end the
thread (what is left is counted as shed at stop).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from firesight.errors import require

log = logging.getLogger(__name__)


class ServiceWorker:
    """One worker thread fed by a bounded queue.

    Parameters
    ----------
    name : str
        Thread name and log prefix.
    handle : callable
        ``handle(item)``, called on the worker thread for each submitted item.
    max_queue : int
        Items held before new ones are shed [-].
    backoff_s : tuple of float
        First and largest restart delay of the supervisor [s].
    """

    def __init__(self, name: str, handle: Callable[[Any], None], *, max_queue: int = 1000,
                 backoff_s: tuple[float, float] = (0.1, 5.0)):
        require(max_queue >= 1, "max_queue", ">= 1", max_queue)
        require(0 < backoff_s[0] <= backoff_s[1], "backoff_s", "0 < first <= largest", backoff_s)
        self.name, self.handle, self.backoff_s = name, handle, backoff_s
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=max_queue)
        self._lock = threading.Lock()
        self._accepting = False
        self._running = threading.Event()
        self._thread: threading.Thread | None = None
        self.counts: Counter[str] = Counter()

    def start(self) -> "ServiceWorker":
        if self._thread is None:
            self._accepting = True
            self._running.set()
            self._thread = threading.Thread(target=self._supervise, name=self.name, daemon=True)
            self._thread.start()
        return self

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def submit(self, item: Any) -> bool:
        """Queue one item without blocking; False (and counted) if refused."""
        if not self._accepting:
            self._count("shed:after_stop")
            return False
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            self._count("shed:queue_full")
            return False
        return True

    def stop(self, drain_timeout_s: float = 5.0) -> None:
        """Stop accepting, let the worker drain the queue for up to ``drain_timeout_s`` [s],
        then end it."""
        self._accepting = False
        deadline = time.monotonic() + drain_timeout_s
        while self._queue.unfinished_tasks and self.alive and time.monotonic() < deadline:
            time.sleep(0.02)
        self._running.clear()
        dropped = 0
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
            self._queue.task_done()
            dropped += 1
        if dropped:
            self._count("shed:at_stop", dropped)
        if self._thread is not None:
            self._thread.join(max(drain_timeout_s, 1.0))
            if self._thread.is_alive():
                log.warning("%s: worker still busy after stop", self.name)
            self._thread = None

    def count(self, key: str, n: int = 1) -> None:
        """Add ``n`` to the counter ``key`` (thread-safe; shown by :meth:`stats`)."""
        self._count(key, n)

    def stats(self) -> dict[str, Any]:
        with self._lock:
            counts = dict(self.counts)
        return {"queued": self._queue.qsize(), "worker_alive": self.alive, **counts}

    # -- internals -------------------------------------------------------------------------------
    def _count(self, key: str, n: int = 1) -> None:
        with self._lock:
            self.counts[key] += n

    def _supervise(self) -> None:
        delay_s = self.backoff_s[0]
        while self._running.is_set():
            try:
                self._loop()
                return
            except BaseException as exc:  # noqa: BLE001 - the worker must outlive anything it meets
                self._count(f"restarts:{type(exc).__name__}")
                log.exception("%s: worker failed; restarting in %.1f s", self.name, delay_s)
            if self._running.wait(0) and not _sleep_unless(self._running, delay_s):
                return
            delay_s = min(delay_s * 2, self.backoff_s[1])

    def _loop(self) -> None:
        while self._running.is_set():
            try:
                item = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            try:
                self.handle(item)
                self._count("processed")
            except Exception as exc:  # counted and logged; the next item is served
                self._count(f"errors:{type(exc).__name__}")
                log.exception("%s: handling an item failed", self.name)
            finally:
                self._queue.task_done()


def unsubscribe_and_drain(client: Any, filters: list[str], worker: ServiceWorker,
                          drain_timeout_s: float) -> None:
    """A service's staged stop: unsubscribe every filter in ``filters`` (stop accepting;
    ``filters`` is emptied), then let ``worker`` finish what is queued for up to
    ``drain_timeout_s`` [s] and end it. The client stays open (its owner closes it)."""
    for topic_filter in filters:
        try:
            client.unsubscribe(topic_filter)
        except Exception:  # the client may already be closed
            log.debug("unsubscribe %s failed", topic_filter, exc_info=True)
    filters.clear()
    worker.stop(drain_timeout_s)


def _sleep_unless(running: threading.Event, delay_s: float) -> bool:
    """Sleep ``delay_s`` [s]; False if ``running`` was cleared meanwhile."""
    deadline = time.monotonic() + delay_s
    while time.monotonic() < deadline:
        if not running.is_set():
            return False
        time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))
    return running.is_set()


def publish_with_backpressure(client: Any, topic: str, payload: bytes, *, qos: int,
                              max_unacknowledged: int = 200, wait_s: float = 30.0) -> None:
    """Publish from a worker thread, then, once ``max_unacknowledged`` QoS 1 messages wait
    for the broker's acknowledgement, wait (up to ``wait_s`` [s]) until they are
    acknowledged. A broker that throttles the service (AWS IoT Core: 100 publishes/s per
    connection) thus slows the worker, whose bounded queue then sheds new requests (counted),
    instead of the client's outgoing queue overflowing and refusing the answers."""
    client.publish(topic, payload, qos=qos)
    if qos and getattr(client, "unacknowledged", 0) >= max_unacknowledged:
        client.flush(wait_s)

