"""Two processes opening the same fresh SQLite store at the same moment both succeed.

Switching a new database to WAL needs an exclusive lock; when two connections ask for it
together SQLite answers one of them SQLITE_BUSY at once, without its busy timeout (the
deadlock case of "File Locking And Concurrency In SQLite Version 3"). Before
``firesight._sqlite.enable_wal`` this failed the metadata contract's two-process race in CI
with "database is locked" (about 1 pair in 40 on the 2-core machine).
"""

from __future__ import annotations

import multiprocessing
import sqlite3

PAIRS = 40


def _open_all(kind: str, paths: list[str], barrier, results) -> None:
    from firesight.adapters.local.metadata import SQLiteMetadataStore
    from firesight.adapters.local.queue import SQLiteMessageQueue

    opener = SQLiteMetadataStore if kind == "metadata" else SQLiteMessageQueue
    failures = []
    for path in paths:
        barrier.wait()
        try:
            opener(path).close()
        except sqlite3.OperationalError as exc:
            failures.append(f"{path}: {exc}")
    results.put(failures)


def _race(kind: str, tmp_path) -> list[str]:
    ctx = multiprocessing.get_context("spawn")
    paths = [str(tmp_path / f"{kind}-{i}.db") for i in range(PAIRS)]
    barrier, results = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_open_all, args=(kind, paths, barrier, results)) for _ in range(2)]
    for p in procs:
        p.start()
    failures = results.get(timeout=120) + results.get(timeout=120)
    for p in procs:
        p.join(30)
    return failures


def test_two_processes_open_fresh_metadata_stores_together(tmp_path):
    assert _race("metadata", tmp_path) == []
    # both opened the same database: WAL mode, one schema
    conn = sqlite3.connect(str(tmp_path / "metadata-0.db"))
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_two_processes_open_fresh_queues_together(tmp_path):
    assert _race("queue", tmp_path) == []
    conn = sqlite3.connect(str(tmp_path / "queue-0.db"))
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
