"""The learning agent's field windows: taken from the durable queue, kept per device in a
bounded buffer, persisted and reloaded (mixed into
:class:`firesight.agents.learning.LearningAgent`; see that module for the whole story).

A received message stays invisible (``field_hold_s``, extended while it waits) and is
deleted only once its window is written to the store (:class:`FieldWindowStore`), so a crash
loses no window: the messages come back and a window already held (same ``thing`` and
``ts_ms``) is dropped, counted ``field_windows_duplicate``. Malformed messages are counted
(``field_windows_rejected``) and deleted.
"""

from __future__ import annotations

import logging
from collections import deque
from typing import Any

import pandas as pd

from firesight.agents.events import FIELD_WINDOWS_QUEUE
from firesight.agents.field_windows import (KEY_COLUMNS, META_COLUMNS, FieldWindowStore, group_field_windows,
                                            window_key)
from firesight.errors import DataError, FiresightError, require

log = logging.getLogger(__name__)


class FieldWindowIntake:
    """Field windows of a learning agent (which provides ``queue``, ``settings``, ``clock``,
    ``counters`` and ``_lock``)."""

    def _init_field_windows(self, objects: Any, field_prefix: str) -> None:
        self._windows: dict[str, deque] = {}
        self._keys: dict[str, set[int]] = {}  # ts_ms of the windows held, per device (de-duplication)
        self._unacked: dict[tuple[str, int], str] = {}  # received, not yet written: receipt by window
        self._last_extend_s = self.clock()
        self.field_store = None if objects is None else FieldWindowStore(objects, field_prefix)
        self._pending: list[pd.DataFrame] = []
        self._pending_rows = 0
        self._last_flush_s = self.clock()
        if self.field_store is not None:
            self._load_field_windows()

    def record_field_windows(self, thing: str, features_df: pd.DataFrame) -> int:
        """Keep a device's latest feature windows (one row per window: numeric feature
        columns, and the columns of :data:`META_COLUMNS` when present) for drift checks;
        return how many the device now holds. A window with a ``ts_ms`` the device already
        holds is dropped (counted ``field_windows_duplicate``)."""
        return self._record(thing, features_df, {})

    def _record(self, thing: str, features_df: pd.DataFrame, receipts: dict[int, str]) -> int:
        """:meth:`record_field_windows`; ``receipts`` maps a window's ``ts_ms`` to the receipt
        of the queue message that brought it (deleted once the window is written)."""
        require(isinstance(thing, str) and bool(thing), "thing", "a non-empty device name", thing)
        if not isinstance(features_df, pd.DataFrame):
            raise DataError(f"field windows must be a pandas DataFrame, got {type(features_df).__name__}")
        keep = [c for c in features_df.columns if c not in KEY_COLUMNS and (
            c in META_COLUMNS or (pd.api.types.is_numeric_dtype(features_df[c])
                                  and not pd.api.types.is_bool_dtype(features_df[c])))]
        records = features_df[keep].to_dict("records")
        with self._lock:
            buf = self._windows.setdefault(thing, deque(maxlen=self.settings.max_windows_per_device))
            keys = self._keys.setdefault(thing, set())
            new = []
            for record in records:
                key = window_key(record)
                if key is not None and key in keys:
                    self.counters["field_windows_duplicate"] += 1
                    self._ack_duplicate(thing, key, receipts.get(key))
                    continue
                if len(buf) == buf.maxlen and (old := window_key(buf[0])) is not None:
                    keys.discard(old)
                buf.append(record)
                new.append(record)
                if key is None:
                    continue
                keys.add(key)
                if key in receipts:  # acknowledged once written; in memory only: now
                    if self.field_store is not None:
                        self._unacked[(thing, key)] = receipts[key]
                    else:
                        self._delete_receipt(receipts[key])
            self.counters["field_windows"] += len(new)
            held = len(buf)
            if self.field_store is not None and new:
                rows = pd.DataFrame(new[-self.settings.max_windows_per_device:])
                rows.insert(0, "recorded_s", float(self.clock()))
                rows.insert(0, "thing", thing)
                self._pending.append(rows)
                self._pending_rows += len(rows)
        if self._pending_rows >= self.settings.field_flush_rows or \
                self.clock() - self._last_flush_s >= self.settings.field_flush_s:
            self.flush_field_windows()
        return held

    def poll_field_windows(self) -> int:
        """Take the analysis agent's sampled windows from :data:`FIELD_WINDOWS_QUEUE` (at most
        ``field_poll_max``); return how many new windows were recorded. Each message is
        deleted once its window is written (or at once when malformed or already held)."""
        taken = recorded = 0
        hold_s = self.settings.field_hold_s
        while taken < self.settings.field_poll_max:
            messages = self.queue.receive(FIELD_WINDOWS_QUEUE, max_messages=10, visibility_timeout_s=hold_s)
            if not messages:
                break
            taken += len(messages)
            by_thing, rejected, repeated = group_field_windows(messages)
            self.counters["field_windows_rejected"] += len(rejected)
            self.counters["field_windows_duplicate"] += len(repeated)
            for receipt in (*rejected, *repeated):
                self._delete_receipt(receipt)
            for thing, (rows, receipts) in by_thing.items():
                before = self.counters["field_windows"]
                self._record(thing, pd.DataFrame(rows), receipts)
                recorded += self.counters["field_windows"] - before
        self.counters["field_windows_received"] += taken
        return recorded

    def _ack_duplicate(self, thing: str, key: int, receipt: str | None) -> None:
        """A redelivered window already held: its new receipt replaces the old one while the
        window waits to be written; written already, the message is deleted now."""
        if receipt is None:
            return
        if (thing, key) in self._unacked:
            self._unacked[(thing, key)] = receipt
        else:
            self._delete_receipt(receipt)

    def _delete_receipt(self, receipt: str) -> None:
        try:
            self.queue.delete(FIELD_WINDOWS_QUEUE, receipt)
        except (FiresightError, OSError) as exc:  # it comes back and is dropped as a duplicate
            self.counters["field_ack_errors"] += 1
            log.warning("field window message not deleted: %s", exc)

    def _extend_holds(self) -> None:
        """Keep the received, not yet written messages invisible (every third of
        ``field_hold_s``)."""
        change = getattr(self.queue, "change_visibility", None)
        now = self.clock()
        if change is None or now - self._last_extend_s < self.settings.field_hold_s / 3.0:
            return
        self._last_extend_s = now
        with self._lock:
            receipts = list(self._unacked.values())
        for receipt in receipts:
            try:
                change(FIELD_WINDOWS_QUEUE, receipt, self.settings.field_hold_s)
            except (FiresightError, OSError) as exc:  # it may come back: dropped as a duplicate
                self.counters["field_hold_errors"] += 1
                log.debug("field window hold not extended: %s", exc)

    def field_windows(self) -> pd.DataFrame:
        with self._lock:
            rows = [r for buf in self._windows.values() for r in buf]
        return pd.DataFrame(rows)

    # -- field window persistence -------------------------------------------------------
    def flush_field_windows(self) -> int:
        """Write the windows recorded since the last write as one part (compacting once
        ``field_max_parts`` parts are beyond the last base); return the rows written. A
        failed write keeps them for the next try (counted ``field_write_errors``)."""
        if self.field_store is None:
            return 0
        with self._lock:
            pending, self._pending, self._pending_rows = self._pending, [], 0
            receipts, self._unacked = self._unacked, {}
            self._last_flush_s = self.clock()
            if not pending:
                self._unacked = receipts
                return 0
            rows = pd.concat(pending, ignore_index=True)
            try:
                self.field_store.append(rows)
            except (FiresightError, OSError) as exc:
                self._unacked = {**receipts, **self._unacked}
                self._pending, self._pending_rows = [rows, *self._pending], len(rows) + self._pending_rows
                self.counters["field_write_errors"] += 1
                log.warning("field windows not written (kept for the next try): %s", exc)
                while self._pending_rows > 10 * self.settings.field_flush_rows and len(self._pending) > 1:
                    dropped = self._pending.pop(0)  # bounded while the store fails: the oldest go
                    self._pending_rows -= len(dropped)
                    self.counters["field_windows_unwritten"] += len(dropped)
                return 0
            self.counters["field_windows_written"] += len(rows)
            for receipt in receipts.values():  # written: the messages are done with
                self._delete_receipt(receipt)
            try:  # the rows are stored: a failed compaction only leaves more parts to read
                if self.field_store.parts_after_base() > self.settings.field_max_parts:
                    self.field_store.compact(self._held_rows())
                    self.counters["field_compactions"] += 1
            except (FiresightError, OSError) as exc:
                self.counters["field_compaction_errors"] += 1
                log.warning("field windows not compacted: %s", exc)
        return len(rows)

    def _held_rows(self) -> pd.DataFrame:
        """The windows held now, as stored rows (``thing``, ``recorded_s``, features)."""
        frames = []
        for thing, buf in self._windows.items():
            if buf:
                frame = pd.DataFrame(list(buf))
                frame.insert(0, "recorded_s", float("nan"))
                frame.insert(0, "thing", thing)
                frames.append(frame)
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(KEY_COLUMNS))

    def _load_field_windows(self) -> None:
        """Reload the stored windows into the bounded per-device buffers."""
        try:
            rows = self.field_store.load()
        except (FiresightError, OSError) as exc:  # a store that cannot be read: start empty, say so
            self.counters["field_load_errors"] += 1
            log.warning("stored field windows not loaded: %s", exc)
            return
        self.counters["field_parts_unreadable"] += self.field_store.unreadable
        features = [c for c in rows.columns if c not in KEY_COLUMNS]
        with self._lock:
            for thing, group in rows.groupby("thing", sort=False):
                buf = self._windows.setdefault(str(thing), deque(maxlen=self.settings.max_windows_per_device))
                buf.extend(group[features].to_dict("records"))
                self._keys[str(thing)] = {k for r in buf if (k := window_key(r)) is not None}
            self.counters["field_windows_loaded"] += sum(len(b) for b in self._windows.values())
