"""SQLite implementation of :class:`firesight.ports.MessageQueue`, with SQS semantics.

A received message stays in its queue but is invisible for the visibility timeout; it is
gone only when the receiver deletes it with the receipt handle of that receive. A message
that is received more than ``max_receives`` times without being deleted moves to the
queue's dead-letter queue on the next receive attempt, as SQS's redrive policy does.

References
----------
1. Amazon SQS Developer Guide, "Amazon SQS visibility timeout" and "Using dead-letter
   queues in Amazon SQS" (``maxReceiveCount``, ``ApproximateReceiveCount``).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Mapping

from firesight._sqlite import enable_wal
from firesight.errors import InvalidParameterError, NotFoundError, require
from firesight.ports import Item, MessageQueue

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    message_id TEXT PRIMARY KEY,
    queue TEXT NOT NULL,
    body TEXT NOT NULL,
    attributes TEXT NOT NULL,
    sent_at_s REAL NOT NULL,
    visible_at_s REAL NOT NULL,
    receive_count INTEGER NOT NULL DEFAULT 0,
    receipt_handle TEXT
);
CREATE INDEX IF NOT EXISTS messages_visible ON messages (queue, visible_at_s, sent_at_s);
CREATE TABLE IF NOT EXISTS redrive (
    queue TEXT PRIMARY KEY,
    dead_letter_queue TEXT NOT NULL,
    max_receives INTEGER NOT NULL
);
"""

#: SQS limits: message body up to 256 KiB; visibility timeout 0 s to 12 h; 1 to 10 messages
#: per receive (Amazon SQS Developer Guide, "Amazon SQS quotas").
MAX_BODY_BYTES = 262_144
MAX_VISIBILITY_TIMEOUT_S = 43_200.0
MAX_MESSAGES_PER_RECEIVE = 10


class SQLiteMessageQueue(MessageQueue):
    """Durable named queues in one SQLite file (``:memory:`` for a throw-away queue).

    Parameters
    ----------
    path : str
        SQLite file; created with its folder if absent.
    max_receives : int
        Default redrive ``maxReceiveCount`` for queues without their own
        :meth:`configure_redrive` [receives]; ``0`` disables dead-lettering by default.
    dead_letter_suffix : str
        The default dead-letter queue of queue ``q`` is ``q + dead_letter_suffix``.
    clock : callable
        Returns the current time [s]; injected so tests can step time.
    """

    def __init__(self, path: str, *, max_receives: int = 5, dead_letter_suffix: str = "-dlq",
                 clock: Callable[[], float] = time.time):
        require(max_receives >= 0, "max_receives", ">= 0", max_receives)
        self.path = path
        self.max_receives = int(max_receives)
        self.dead_letter_suffix = dead_letter_suffix
        self._clock = clock
        if path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(path)) or ".", exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(path, check_same_thread=False, timeout=30,
                                     isolation_level=None)
        if path != ":memory:":
            enable_wal(self._conn)
        self._conn.executescript(_SCHEMA)

    def close(self) -> None:
        self._conn.close()

    # -- configuration -------------------------------------------------------------------
    def configure_redrive(self, queue: str, *, max_receives: int,
                          dead_letter_queue: str | None = None) -> None:
        """Set ``queue``'s redrive policy: after ``max_receives`` receives a message moves
        to ``dead_letter_queue`` (default ``queue + dead_letter_suffix``)."""
        require(max_receives >= 1, "max_receives", ">= 1", max_receives)
        dlq = dead_letter_queue or queue + self.dead_letter_suffix
        require(dlq != queue, "dead_letter_queue", "a queue other than the source", dlq)
        with self._lock:
            self._conn.execute("INSERT OR REPLACE INTO redrive VALUES (?, ?, ?)",
                               (queue, dlq, int(max_receives)))

    def _redrive(self, queue: str) -> tuple[str, int]:
        row = self._conn.execute("SELECT dead_letter_queue, max_receives FROM redrive WHERE queue=?",
                                 (queue,)).fetchone()
        if row:
            return row[0], int(row[1])
        if queue.endswith(self.dead_letter_suffix):  # a dead-letter queue has no DLQ of its own
            return "", 0
        return queue + self.dead_letter_suffix, self.max_receives

    # -- the port --------------------------------------------------------------------------
    def send(self, queue: str, body: str, *, attributes: Mapping[str, str] | None = None,
             delay_s: float = 0.0) -> str:
        """Enqueue ``body`` (visible after ``delay_s`` [s]); return the message id."""
        check_queue_name(queue)
        require(isinstance(body, str), "body", "a str", type(body).__name__)
        size = len(body.encode("utf-8"))
        require(size <= MAX_BODY_BYTES, "body", f"at most {MAX_BODY_BYTES} bytes", size)
        require(0.0 <= delay_s <= 900.0, "delay_s", "within 0..900 s", delay_s)
        attrs = {str(k): str(v) for k, v in (attributes or {}).items()}
        message_id = uuid.uuid4().hex
        now_s = self._clock()
        with self._lock:
            self._conn.execute(
                "INSERT INTO messages (message_id, queue, body, attributes, sent_at_s, visible_at_s)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (message_id, queue, body, json.dumps(attrs, sort_keys=True), now_s, now_s + delay_s))
        return message_id

    def receive(self, queue: str, *, max_messages: int = 1,
                visibility_timeout_s: float = 30.0) -> list[Item]:
        check_queue_name(queue)
        require(1 <= max_messages <= MAX_MESSAGES_PER_RECEIVE, "max_messages",
                f"within 1..{MAX_MESSAGES_PER_RECEIVE}", max_messages)
        require(0.0 <= visibility_timeout_s <= MAX_VISIBILITY_TIMEOUT_S, "visibility_timeout_s",
                f"within 0..{MAX_VISIBILITY_TIMEOUT_S:g} s", visibility_timeout_s)
        out: list[Item] = []
        with self._lock:
            now_s = self._clock()
            dlq, max_receives = self._redrive(queue)
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                while len(out) < max_messages:
                    rows = self._conn.execute(
                        "SELECT message_id, body, attributes, receive_count, sent_at_s FROM messages"
                        " WHERE queue=? AND visible_at_s<=? ORDER BY sent_at_s, rowid LIMIT ?",
                        (queue, now_s, max_messages - len(out))).fetchall()
                    if not rows:
                        break
                    for message_id, body, attributes, count, sent_at_s in rows:
                        if max_receives and count >= max_receives and dlq:
                            # SQS redrive: moved on the receive after the last allowed one;
                            # the dead-letter copy starts with a fresh receive count.
                            self._conn.execute(
                                "UPDATE messages SET queue=?, receive_count=0, receipt_handle=NULL,"
                                " visible_at_s=? WHERE message_id=?", (dlq, now_s, message_id))
                            continue
                        handle = uuid.uuid4().hex
                        self._conn.execute(
                            "UPDATE messages SET receive_count=?, receipt_handle=?, visible_at_s=?"
                            " WHERE message_id=?",
                            (count + 1, handle, now_s + visibility_timeout_s, message_id))
                        out.append({"message_id": message_id, "receipt_handle": handle, "body": body,
                                    "attributes": json.loads(attributes), "receive_count": count + 1,
                                    "sent_at_s": sent_at_s})
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        return out

    def delete(self, queue: str, receipt_handle: str) -> None:
        """Acknowledge a message. Only the handle of its latest receive deletes it: a handle
        from an earlier receive (the message timed out and was received again) raises
        :class:`NotFoundError`, so a slow consumer learns it lost the message."""
        with self._lock:
            cur = self._conn.execute("DELETE FROM messages WHERE queue=? AND receipt_handle=?",
                                     (queue, receipt_handle))
        if cur.rowcount == 0:
            raise NotFoundError(f"no message in queue {queue!r} with receipt handle {receipt_handle!r}"
                                " (deleted, or received again since)")

    # -- extras as SQS offers them -------------------------------------------------------------
    def change_visibility(self, queue: str, receipt_handle: str, visibility_timeout_s: float) -> None:
        """Extend (or end, with 0) the invisibility of a received message [s]."""
        require(0.0 <= visibility_timeout_s <= MAX_VISIBILITY_TIMEOUT_S, "visibility_timeout_s",
                f"within 0..{MAX_VISIBILITY_TIMEOUT_S:g} s", visibility_timeout_s)
        with self._lock:
            cur = self._conn.execute(
                "UPDATE messages SET visible_at_s=? WHERE queue=? AND receipt_handle=?",
                (self._clock() + visibility_timeout_s, queue, receipt_handle))
        if cur.rowcount == 0:
            raise NotFoundError(f"no message in queue {queue!r} with receipt handle {receipt_handle!r}")

    def counts(self, queue: str) -> dict[str, int]:
        """``{"visible": n, "in_flight": n}``, SQS's ApproximateNumberOfMessages and
        ApproximateNumberOfMessagesNotVisible."""
        with self._lock:
            now_s = self._clock()
            visible, total = self._conn.execute(
                "SELECT SUM(visible_at_s<=?), COUNT(*) FROM messages WHERE queue=?",
                (now_s, queue)).fetchone()
        visible = int(visible or 0)
        return {"visible": visible, "in_flight": int(total) - visible}

    def purge(self, queue: str) -> int:
        """Delete every message of ``queue``; return how many."""
        with self._lock:
            return self._conn.execute("DELETE FROM messages WHERE queue=?", (queue,)).rowcount

    def queues(self) -> list[str]:
        """Names of queues that hold messages."""
        with self._lock:
            return [r[0] for r in self._conn.execute(
                "SELECT DISTINCT queue FROM messages ORDER BY queue").fetchall()]


def check_queue_name(queue: str) -> None:
    """SQS queue names: 1 to 80 characters of letters, digits, ``-`` and ``_``."""
    if not (isinstance(queue, str) and 1 <= len(queue) <= 80
            and queue.replace("-", "").replace("_", "").isalnum() and queue.isascii()):
        raise InvalidParameterError("queue", "1..80 letters, digits, '-' or '_'", queue)
