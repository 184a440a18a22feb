"""Opening an SQLite database that other processes may open at the same moment.

Switching a database to write-ahead logging needs an exclusive lock. When two connections
that both hold a shared lock ask for it at once, SQLite returns ``SQLITE_BUSY`` to one of them
at once instead of calling its busy handler (it would otherwise deadlock: SQLite, "File
Locking And Concurrency In SQLite Version 3", section 5, and the ``busy_timeout`` pragma's
note on deadlocks), so two processes starting together on a fresh file could fail with
"database is locked" whatever their timeout. :func:`enable_wal` retries that race.
"""

from __future__ import annotations

import sqlite3
import time

#: Longest wait for another process's lock while switching to WAL [s] (the connections'
#: own busy timeout in firesight is 30 s).
WAL_SWITCH_TIMEOUT_S = 30.0


def enable_wal(conn: sqlite3.Connection, timeout_s: float = WAL_SWITCH_TIMEOUT_S) -> None:
    """Put ``conn``'s database in WAL mode (a no-op when it already is), retrying with
    backoff while another connection holds the lock; the last ``OperationalError`` after
    ``timeout_s`` seconds, or at once for any other error."""
    deadline = time.monotonic() + timeout_s
    delay = 0.002
    while True:
        try:
            if str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(delay)
            delay = min(2.0 * delay, 0.1)
