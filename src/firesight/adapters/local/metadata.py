"""SQLite implementation of :class:`firesight.ports.MetadataStore` (DynamoDB-like items)."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Mapping
from typing import Any

from firesight._sqlite import enable_wal
from firesight.errors import ConflictError, InvalidParameterError
from firesight.ports import Item, MetadataStore

_SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    tbl TEXT NOT NULL,
    pk TEXT NOT NULL,
    sk TEXT NOT NULL DEFAULT '',
    body TEXT NOT NULL,
    PRIMARY KEY (tbl, pk, sk)
)
"""


class SQLiteMetadataStore(MetadataStore):
    """Items as JSON rows in one SQLite table; every write is its own transaction.

    Attribute filters use SQLite's JSON functions, so a query by family or label does not
    load the whole table.
    """

    def __init__(self, path: str):
        self.path = path
        if path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(path)) or ".", exist_ok=True)
            # owner-only from the first byte (the registry's certificates and policies live here);
            # SQLite gives its -wal and -shm files the same mode. Only when the file is new:
            # closing any descriptor of an open database drops every POSIX lock this process
            # holds on it (SQLite, "How To Corrupt An SQLite Database File", 2.2), which let
            # another process write past our conditional writes
            try:
                os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
            except FileExistsError:
                pass
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(path, check_same_thread=False, timeout=30)
        if path != ":memory:":
            enable_wal(self._conn)  # two processes opening a fresh file at once: see firesight._sqlite
        else:
            self._conn.execute("PRAGMA journal_mode=MEMORY")
        self._conn.execute(_SCHEMA)
        self._conn.commit()

    def close(self) -> None:
        self._conn.close()

    def put(self, table: str, item: Item, *, key: str, sort_key: str | None = None,
            if_absent: bool = False, expected_version: int | None = None) -> None:
        pk, sk = _key_values(item, key, sort_key)
        try:
            body = json.dumps(item, sort_keys=True, allow_nan=False, default=str)
        except ValueError as exc:  # NaN / infinity: not JSON, and DynamoDB refuses them too
            raise InvalidParameterError("item", "JSON-serialisable values without NaN or infinity",
                                        str(exc)) from exc
        with self._lock:
            try:
                with self._conn:  # one transaction: the condition and the write are atomic
                    if expected_version is not None:
                        self._check_version(table, pk, sk, int(expected_version))
                    verb = "INSERT" if if_absent else "INSERT OR REPLACE"
                    self._conn.execute(f"{verb} INTO items (tbl, pk, sk, body) VALUES (?, ?, ?, ?)",
                                       (table, pk, sk, body))
            except sqlite3.IntegrityError as exc:
                raise ConflictError(f"{table} item {pk!r}/{sk!r} already exists") from exc

    def _check_version(self, table: str, pk: str, sk: str, expected: int) -> None:
        # BEGIN IMMEDIATE semantics: take the write lock before reading, so a second process
        # cannot write between this read and our write
        if not self._conn.in_transaction:
            self._conn.execute("BEGIN IMMEDIATE")
        row = self._conn.execute("SELECT json_extract(body, '$.version') FROM items "
                                 "WHERE tbl=? AND pk=? AND sk=?", (table, pk, sk)).fetchone()
        stored = 0 if row is None or row[0] is None else int(row[0])
        if stored != expected:
            raise ConflictError(f"{table} item {pk!r}/{sk!r} is at version {stored}, "
                                f"expected {expected}")

    def get(self, table: str, key: str, sort_key: str | None = None) -> Item | None:
        with self._lock:
            row = self._conn.execute("SELECT body FROM items WHERE tbl=? AND pk=? AND sk=?",
                                     (table, key, sort_key or "")).fetchone()
        return json.loads(row[0]) if row else None

    def delete(self, table: str, key: str, sort_key: str | None = None) -> None:
        with self._lock, self._conn:
            self._conn.execute("DELETE FROM items WHERE tbl=? AND pk=? AND sk=?",
                               (table, key, sort_key or ""))

    def query(self, table: str, key: str | None = None,
              where: Mapping[str, Any] | None = None, limit: int | None = None) -> list[Item]:
        sql, args = "SELECT body FROM items WHERE tbl=?", [table]
        if key is not None:
            sql += " AND pk=?"
            args.append(key)
        for name, value in (where or {}).items():
            if not name.replace("_", "").isalnum():
                raise InvalidParameterError("where", "attribute names of letters, digits and _", name)
            if isinstance(value, bool):
                value = int(value)
            sql += f" AND json_extract(body, '$.{name}') = ?"
            args.append(value)
        sql += " ORDER BY pk, sk"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(int(limit))
        with self._lock:
            rows = self._conn.execute(sql, args).fetchall()
        return [json.loads(r[0]) for r in rows]


def _key_values(item: Item, key: str, sort_key: str | None) -> tuple[str, str]:
    if key not in item:
        raise InvalidParameterError("item", f"a dict with the key attribute {key!r}", sorted(item))
    sk = ""
    if sort_key is not None:
        if sort_key not in item:
            raise InvalidParameterError("item", f"a dict with the sort key attribute {sort_key!r}", sorted(item))
        sk = str(item[sort_key])
    return str(item[key]), sk
