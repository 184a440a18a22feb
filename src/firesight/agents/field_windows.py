"""Field windows of the learning agent kept behind the object-store port, so a restart keeps
the evidence for drift and retraining.

Layout under ``prefix`` (default ``learning/field-windows``), every object a Parquet file
written in one atomic PUT (:meth:`firesight.ports.ObjectStore.put_bytes`):

- ``day=YYYY-MM-DD/part-{seq}.parquet``: one appended batch of windows (UTC day of the
  write), never rewritten;
- ``base-{seq}.parquet``: a compaction, the bounded set of windows held when it was written,
  standing for every part with a sequence number up to ``seq``.

Sequence numbers are 20-digit nanosecond times, strictly increasing per writer. A reader
takes the newest base and the parts after it, in order; parts and bases it supersedes are
deleted only after the base is written, so a crash at any point loses nothing and counts
nothing twice. Each row holds ``thing``, ``recorded_s`` (wall clock [s]) and the window's
numeric features. One writer per prefix (the learning agent); an unreadable object is
skipped and counted, never fatal.
"""

from __future__ import annotations

import io
import logging
import posixpath
import re
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import pandas as pd

from firesight.errors import FiresightError, NotFoundError

log = logging.getLogger(__name__)

DEFAULT_PREFIX = "learning/field-windows"
#: Columns every stored row has besides the features.
KEY_COLUMNS = ("thing", "recorded_s")
_PART = re.compile(r"(?:^|/)day=\d{4}-\d{2}-\d{2}/part-(\d{20})\.parquet$")
_BASE = re.compile(r"(?:^|/)base-(\d{20})\.parquet$")


class FieldWindowStore:
    """Append-only Parquet parts of field windows with compaction, on an object store.

    Parameters
    ----------
    objects : ObjectStore
    prefix : str
        Key prefix of the windows.
    clock_ns : callable
        Wall clock [ns since epoch] (sequence numbers and day folders).
    """

    def __init__(self, objects: Any, prefix: str = DEFAULT_PREFIX, *,
                 clock_ns: Callable[[], int] = time.time_ns):
        self.objects = objects
        self.prefix = prefix.strip("/")
        self.clock_ns = clock_ns
        self._last_seq = 0
        self.unreadable = 0

    # ------------------------------------------------------------------ naming
    def _next_seq(self) -> int:
        self._last_seq = max(int(self.clock_ns()), self._last_seq + 1)
        return self._last_seq

    def _scan(self) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
        """(parts, bases) as sorted (seq, key) lists."""
        parts, bases = [], []
        for key in self.objects.list(self.prefix):
            rel = key[len(self.prefix) + 1:] if key.startswith(self.prefix + "/") else key
            if (m := _PART.search(rel)) is not None:
                parts.append((int(m.group(1)), key))
            elif (m := _BASE.search(rel)) is not None and "/" not in rel:
                bases.append((int(m.group(1)), key))
        self._last_seq = max([self._last_seq, *(s for s, _ in parts), *(s for s, _ in bases)])
        return sorted(parts), sorted(bases)

    # ------------------------------------------------------------------ write
    def append(self, rows: pd.DataFrame) -> str | None:
        """Write ``rows`` (``thing``, ``recorded_s`` and feature columns) as one new part;
        return its key (None for no rows)."""
        if rows.empty:
            return None
        missing = [c for c in KEY_COLUMNS if c not in rows.columns]
        if missing:
            raise FiresightError(f"field window rows need the columns {list(KEY_COLUMNS)}, missing {missing}")
        seq = self._next_seq()
        day = datetime.fromtimestamp(seq / 1e9, timezone.utc).strftime("%Y-%m-%d")
        key = posixpath.join(self.prefix, f"day={day}", f"part-{seq:020d}.parquet")
        self.objects.put_bytes(key, _to_parquet(rows))
        return key

    def compact(self, rows: pd.DataFrame, *, upto_seq: int | None = None) -> str:
        """Write ``rows`` as a base standing for every part up to ``upto_seq`` (default:
        every part written or read so far; a new sequence number when there is none), then
        delete the parts and bases it supersedes. Returns the base's key."""
        parts, bases = self._scan()
        seq = self._last_seq if upto_seq is None else int(upto_seq)
        if seq <= 0 or any(s == seq for s, _ in bases):
            seq = self._next_seq()
        key = posixpath.join(self.prefix, f"base-{seq:020d}.parquet")
        self.objects.put_bytes(key, _to_parquet(rows if not rows.empty else pd.DataFrame(columns=list(KEY_COLUMNS))))
        for s, old in (*parts, *bases):
            if s <= seq and old != key:
                self.objects.delete(old)
        return key

    def clear(self) -> str:
        """Supersede everything stored so far with an empty base."""
        return self.compact(pd.DataFrame(columns=list(KEY_COLUMNS)), upto_seq=self._next_seq())

    # ------------------------------------------------------------------ read
    def load(self) -> pd.DataFrame:
        """Every stored row in write order: the newest base, then the parts after it."""
        parts, bases = self._scan()
        base_seq, frames = -1, []
        for seq, key in reversed(bases):  # the newest readable base
            frame = self._read(key)
            if frame is not None:
                base_seq = seq
                frames.append(frame)
                break
        for seq, key in parts:
            if seq > base_seq and (frame := self._read(key)) is not None:
                frames.append(frame)
        frames = [f for f in frames if not f.empty]
        if not frames:
            return pd.DataFrame(columns=list(KEY_COLUMNS))
        return pd.concat(frames, ignore_index=True)

    def parts_after_base(self) -> int:
        """Parts a reader has to read beyond the newest base [-]."""
        parts, bases = self._scan()
        base_seq = bases[-1][0] if bases else -1
        return sum(1 for s, _ in parts if s > base_seq)

    def _read(self, key: str) -> pd.DataFrame | None:
        try:
            frame = pd.read_parquet(io.BytesIO(self.objects.get_bytes(key)))
        except NotFoundError:  # deleted by a compaction between list and read
            return None
        except Exception as exc:  # a damaged object must not stop the agent: skipped, counted
            self.unreadable += 1
            log.warning("field windows %s unreadable, skipped: %s", key, exc)
            return None
        if any(c not in frame.columns for c in KEY_COLUMNS):
            self.unreadable += 1
            log.warning("field windows %s lack %s, skipped", key, list(KEY_COLUMNS))
            return None
        return frame


def _to_parquet(rows: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    rows.reset_index(drop=True).to_parquet(buf, index=False)
    return buf.getvalue()
