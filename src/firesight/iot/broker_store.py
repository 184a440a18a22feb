"""Persistent MQTT sessions of the embedded broker, in SQLite.

A client that connects with ``clean_session = 0`` keeps its subscriptions, and the QoS 1
messages published while it is offline are queued for it; both survive a broker restart
here (Mosquitto's ``persistence true`` does the same). Each change is one SQLite
transaction (WAL journal, ``synchronous = FULL``), written before the publisher's PUBACK,
so an acknowledged message is on disk.

Tables: ``sessions(client_id PK, certificate_id, subscriptions JSON, updated_ms)`` and
``queued(seq PK, client_id, topic, payload, qos)``.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from firesight._sqlite import enable_wal


@dataclass(frozen=True)
class StoredSession:
    """A persistent session as stored."""

    client_id: str
    certificate_id: str | None
    subscriptions: list[tuple[str, int]]
    updated_ms: int


class SessionStore:
    """SQLite store of persistent sessions and their queued messages; thread-safe.

    Parameters
    ----------
    path : Path
        Database file (created with mode 0600; its folder with 0700).
    """

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(self.path.parent, 0o700)
        try:  # owner-only from the first byte; never closes a descriptor of an open database
            os.close(os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        except FileExistsError:
            pass
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        enable_wal(self._db)
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("CREATE TABLE IF NOT EXISTS sessions (client_id TEXT PRIMARY KEY, certificate_id TEXT, "
                         "subscriptions TEXT NOT NULL, updated_ms INTEGER NOT NULL)")
        self._db.execute("CREATE TABLE IF NOT EXISTS queued (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
                         "client_id TEXT NOT NULL, topic TEXT NOT NULL, payload BLOB NOT NULL, qos INTEGER NOT NULL)")
        self._db.execute("CREATE INDEX IF NOT EXISTS queued_client ON queued (client_id, seq)")

    def save_session(self, client_id: str, certificate_id: str | None, subscriptions: list[tuple[str, int]]) -> None:
        """Create or replace a session's record (its queued messages stay)."""
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO sessions VALUES (?, ?, ?, ?)",
                             (client_id, certificate_id, json.dumps(sorted(subscriptions)), int(time.time() * 1000)))

    def touch(self, client_id: str) -> None:
        """Record that the session was in use now (its expiry counts from here)."""
        with self._lock:
            self._db.execute("UPDATE sessions SET updated_ms = ? WHERE client_id = ?",
                             (int(time.time() * 1000), client_id))

    def forget(self, client_id: str) -> None:
        """Delete a session and its queue (a clean session took its client id)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute("DELETE FROM sessions WHERE client_id = ?", (client_id,))
                self._db.execute("DELETE FROM queued WHERE client_id = ?", (client_id,))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def enqueue(self, client_id: str, topic: str, payload: bytes, qos: int) -> None:
        """Queue one message for an offline session."""
        with self._lock:
            self._db.execute("INSERT INTO queued (client_id, topic, payload, qos) VALUES (?, ?, ?, ?)",
                             (client_id, topic, bytes(payload), int(qos)))

    def clear_queue(self, client_id: str) -> None:
        """Drop a session's queue once it has been delivered."""
        with self._lock:
            self._db.execute("DELETE FROM queued WHERE client_id = ?", (client_id,))

    def sessions(self) -> list[StoredSession]:
        with self._lock:
            rows = self._db.execute("SELECT client_id, certificate_id, subscriptions, updated_ms FROM sessions "
                                    "ORDER BY client_id").fetchall()
        return [StoredSession(r[0], r[1], [(str(f), int(q)) for f, q in json.loads(r[2])], int(r[3])) for r in rows]

    def queued(self, client_id: str) -> list[tuple[str, bytes, int]]:
        """(topic, payload, qos) of a session's queue, oldest first."""
        with self._lock:
            rows = self._db.execute("SELECT topic, payload, qos FROM queued WHERE client_id = ? ORDER BY seq",
                                    (client_id,)).fetchall()
        return [(str(t), bytes(p), int(q)) for t, p, q in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()
