"""Store-and-forward buffer of a node: every message goes to disk first and leaves it only
once the broker has acknowledged it, in the order it was written.

One SQLite file (WAL). Bounded by message count and bytes: when full, the *oldest* messages
are shed and counted (the count survives restarts), so a long outage keeps the most recent
readings. A status message is never shed in favour of frames: thermal frames go first.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from dataclasses import dataclass

from firesight._sqlite import enable_wal
from firesight.errors import require

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    qos INTEGER NOT NULL,
    sheddable INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


@dataclass(frozen=True)
class Buffered:
    id: int
    topic: str
    payload: bytes
    qos: int


class DiskBuffer:
    """Bounded FIFO of outgoing messages on disk.

    Parameters
    ----------
    path : str
        SQLite file (created with its folder).
    max_messages : int
        Messages kept at most [-].
    max_bytes : int
        Payload bytes kept at most [bytes].
    """

    def __init__(self, path: str, *, max_messages: int = 100_000, max_bytes: int = 512 * 1024 * 1024):
        require(max_messages >= 1, "max_messages", ">= 1", max_messages)
        require(max_bytes >= 1, "max_bytes", ">= 1", max_bytes)
        self.path, self.max_messages, self.max_bytes = path, int(max_messages), int(max_bytes)
        if path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(path)) or ".", exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(path, check_same_thread=False, timeout=30, isolation_level=None)
        enable_wal(self._conn)
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(_SCHEMA)
        self._count, self._bytes = self._conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(LENGTH(payload)), 0) FROM outbox").fetchone()

    def append(self, topic: str, payload: bytes, *, qos: int = 1, sheddable: bool = True) -> int:
        """Write one message (one transaction, shedding the oldest sheddable ones to make
        room); return how many were shed."""
        size = len(payload)
        shed = 0
        with self._lock:
            try:
                shed = self._append(topic, payload, size, qos, sheddable)
            except sqlite3.Error:
                # the transaction rolled back: take the counts from the file again
                self._count, self._bytes = self._conn.execute(
                    "SELECT COUNT(*), COALESCE(SUM(LENGTH(payload)), 0) FROM outbox").fetchone()
                raise
        return shed

    def _append(self, topic: str, payload: bytes, size: int, qos: int, sheddable: bool) -> int:
        shed = 0
        with self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            while self._count and (self._count + 1 > self.max_messages or self._bytes + size > self.max_bytes):
                row = self._conn.execute("SELECT id, LENGTH(payload) FROM outbox WHERE sheddable=1 "
                                         "ORDER BY id LIMIT 1").fetchone() or \
                    self._conn.execute("SELECT id, LENGTH(payload) FROM outbox ORDER BY id LIMIT 1").fetchone()
                self._conn.execute("DELETE FROM outbox WHERE id=?", (row[0],))
                self._count, self._bytes, shed = self._count - 1, self._bytes - row[1], shed + 1
            self._conn.execute("INSERT INTO outbox (topic, payload, qos, sheddable) VALUES (?, ?, ?, ?)",
                               (topic, sqlite3.Binary(payload), int(qos), int(bool(sheddable))))
            self._count, self._bytes = self._count + 1, self._bytes + size
            if shed:
                self._conn.execute("INSERT INTO counters VALUES ('shed', ?) ON CONFLICT(name) DO UPDATE "
                                   "SET value = value + excluded.value", (shed,))
        return shed

    def peek(self, limit: int = 32) -> list[Buffered]:
        """The oldest ``limit`` messages, oldest first (they stay until :meth:`remove`)."""
        with self._lock:
            rows = self._conn.execute("SELECT id, topic, payload, qos FROM outbox ORDER BY id LIMIT ?",
                                      (int(limit),)).fetchall()
        return [Buffered(int(i), t, bytes(p), int(q)) for i, t, p, q in rows]

    def remove(self, ids: list[int]) -> None:
        """Forget delivered messages."""
        if not ids:
            return
        with self._lock, self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            for i in ids:
                row = self._conn.execute("SELECT LENGTH(payload) FROM outbox WHERE id=?", (i,)).fetchone()
                if row is not None:
                    self._conn.execute("DELETE FROM outbox WHERE id=?", (i,))
                    self._count, self._bytes = self._count - 1, self._bytes - row[0]

    def __len__(self) -> int:
        with self._lock:
            return int(self._count)

    @property
    def bytes(self) -> int:
        with self._lock:
            return int(self._bytes)

    @property
    def shed(self) -> int:
        """Messages shed since the buffer was created (across restarts)."""
        with self._lock:
            row = self._conn.execute("SELECT value FROM counters WHERE name='shed'").fetchone()
        return int(row[0]) if row else 0

    def close(self) -> None:
        with self._lock:
            self._conn.close()
