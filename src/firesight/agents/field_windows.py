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
skipped and counted, never fatal. Rows fed from the running system also hold the columns
:data:`META_COLUMNS` (device time, model variant, probability, alert level, why sampled).

How windows get here in a running system: the analysis agent offers every window it scores
to a :class:`FieldWindowSampler`, which sends a bounded sample of them (every ``every_n``-th
window of each device, and ``around_change`` windows on each side of every alert-level
change) as JSON (:func:`field_window_message`) on the durable queue
:data:`~firesight.agents.events.FIELD_WINDOWS_QUEUE`; the learning agent receives them
(:meth:`firesight.agents.learning.LearningAgent.poll_field_windows`), keeps them here and
deletes each message only once its window is written, so a crash loses none (at-least-once;
the learning agent drops a window it already holds by ``(thing, ts_ms)``).
"""

from __future__ import annotations

import io
import json
import logging
import math
import posixpath
import re
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any

import pandas as pd

from firesight.agents.events import FIELD_WINDOWS_QUEUE, LEVELS, parse_json_object
from firesight.errors import DataError, FiresightError, NotFoundError, require

log = logging.getLogger(__name__)

DEFAULT_PREFIX = "learning/field-windows"
#: Columns every stored row has besides the features.
KEY_COLUMNS = ("thing", "recorded_s")
#: Columns a window sent by the analysis agent carries besides its features: ``site``,
#: ``ts_ms`` (device time of the window end [ms since epoch]), ``time_s`` (device stream time
#: [s]), ``variant``, ``probability`` [0-1], ``level`` (after the window), ``model_version``,
#: ``sampled`` (one of :data:`SAMPLE_REASONS`).
META_COLUMNS = ("site", "ts_ms", "time_s", "variant", "probability", "level", "model_version", "sampled")
#: Why a window was sampled: the regular every-N-th sample (the only one drift is judged on:
#: unbiased), or around an alert-level change (before it, the change, after it).
SAMPLE_REASONS = ("every_n", "before_change", "change", "after_change")
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


# --------------------------------------------------------------------------- messages
def field_window_message(*, site: str, thing: str, ts_ms: int, time_s: float, features: Mapping[str, float],
                         variant: str, probability: float, level: str, model_version: str, sampled: str) -> str:
    """JSON body of one sampled window on :data:`FIELD_WINDOWS_QUEUE` (non-finite feature
    values as null)."""
    return json.dumps({"site": site, "thing": thing, "ts_ms": int(ts_ms), "time_s": float(time_s),
                       "variant": variant, "probability": round(float(probability), 6), "level": level,
                       "model_version": model_version, "sampled": sampled,
                       "features": {str(k): (float(v) if math.isfinite(v) else None) for k, v in features.items()}},
                      separators=(",", ":"), allow_nan=False)


def parse_field_window(body: str | bytes) -> dict[str, Any]:
    """One flat row (meta columns, then features as floats, NaN for null) of a message
    :func:`field_window_message` built; :class:`DataError` naming what is wrong."""
    raw = parse_json_object(body, "field window")
    thing = raw.get("thing")
    if not isinstance(thing, str) or not thing:
        raise DataError(f"field window needs a non-empty thing, got {thing!r}")
    for name in ("site", "variant", "model_version"):
        if not isinstance(raw.get(name, ""), str):
            raise DataError(f"field window {name} must be a string, got {raw.get(name)!r}")
    ts_ms = raw.get("ts_ms")
    if not isinstance(ts_ms, int) or isinstance(ts_ms, bool):
        raise DataError(f"field window ts_ms must be an integer [ms], got {ts_ms!r}")
    time_s, probability = raw.get("time_s"), raw.get("probability")
    if not _is_number(time_s):
        raise DataError(f"field window time_s must be a number [s], got {time_s!r}")
    if not (_is_number(probability) and 0.0 <= probability <= 1.0):
        raise DataError(f"field window probability must be a number in [0, 1], got {probability!r}")
    if raw.get("level") not in LEVELS:
        raise DataError(f"field window level must be one of {LEVELS}, got {raw.get('level')!r}")
    if raw.get("sampled") not in SAMPLE_REASONS:
        raise DataError(f"field window sampled must be one of {SAMPLE_REASONS}, got {raw.get('sampled')!r}")
    features = raw.get("features")
    if not isinstance(features, dict) or not features:
        raise DataError("field window features must be a non-empty object")
    reserved = set(KEY_COLUMNS) | set(META_COLUMNS)
    row: dict[str, Any] = {"thing": thing, "site": raw.get("site", ""), "ts_ms": ts_ms, "time_s": float(time_s),
                           "variant": raw.get("variant", ""), "probability": float(probability),
                           "level": raw["level"], "model_version": raw.get("model_version", ""),
                           "sampled": raw["sampled"]}
    for name, value in features.items():
        if name in reserved:
            raise DataError(f"field window feature {name!r} has a reserved name")
        if value is not None and not _is_number(value):
            raise DataError(f"field window feature {name!r} must be a number or null, got {value!r}")
        row[name] = math.nan if value is None else float(value)
    return row


def group_field_windows(messages: list[dict]) -> tuple[dict[str, tuple[list[dict], dict[int, str]]], list[str],
                                                        list[str]]:
    """Received queue messages by device: ``{thing: (rows, {ts_ms: receipt})}``, the receipts
    of malformed messages (each logged with its reason) and of windows repeated within the
    batch (the later one kept)."""
    by_thing: dict[str, tuple[list[dict], dict[int, str]]] = {}
    rejected, repeated = [], []
    for msg in messages:
        try:
            row = parse_field_window(msg["body"])
        except DataError as exc:
            log.warning("field window message %s rejected: %s", msg.get("message_id"), exc)
            rejected.append(msg["receipt_handle"])
            continue
        rows, receipts = by_thing.setdefault(row["thing"], ([], {}))
        if row["ts_ms"] in receipts:
            repeated.append(receipts[row["ts_ms"]])
            rows[:] = [r for r in rows if r["ts_ms"] != row["ts_ms"]]
        rows.append(row)
        receipts[row["ts_ms"]] = msg["receipt_handle"]
    return by_thing, rejected, repeated


def window_key(record: Mapping) -> int | None:
    """A window's device time [ms] (its identity within a device), if it has a finite one."""
    value = record.get("ts_ms")
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return int(number) if math.isfinite(number) else None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


# --------------------------------------------------------------------------- sampling
class _Sampled:
    """Per device: scored windows seen, recent unsent windows, windows still to send after
    a change."""

    def __init__(self, around: int):
        self.n = 0
        self.before: deque[dict] = deque(maxlen=max(1, around))
        self.after = 0


class FieldWindowSampler:
    """Which of the analysis agent's scored windows go to the learning agent, sent once each.

    Per device: every ``every_n``-th scored window (``sampled="every_n"``, the unbiased sample
    drift is judged on), and on each alert-level change the ``around_change`` windows before
    it, the changing window and the ``around_change`` after it (the evidence around a
    decision). Bounded: at ``every_n`` = 10 and 1 s windows one message per device per 10 s;
    when the queue already holds ``max_queued`` messages (its ``counts``, looked at every
    ``check_s`` [s]) nothing is sent until it drains, and every window not sent is counted
    (``shed``; ``firesight_messages_shed_total{queue="field-windows"}``). A failed send is
    counted and never reaches the caller: the alert decision stands without it.

    Parameters
    ----------
    queue : MessageQueue
    every_n : int
        Regular sample period in scored windows per device [-] (0: none).
    around_change : int
        Windows sent on each side of a level change [-] (0: the changing window only).
    max_queued : int
        Messages on the queue above which sending pauses [-].
    check_s : float
        How often the queue depth is looked at [s].
    clock : callable
        Monotonic clock [s].
    """

    def __init__(self, queue: Any, *, every_n: int = 10, around_change: int = 5, max_queued: int = 100_000,
                 check_s: float = 5.0, clock: Callable[[], float] = time.monotonic,
                 queue_name: str = FIELD_WINDOWS_QUEUE):
        require(every_n >= 0, "every_n", ">= 0 (0: no regular sample)", every_n)
        require(around_change >= 0, "around_change", ">= 0", around_change)
        require(max_queued >= 1, "max_queued", ">= 1", max_queued)
        require(check_s > 0, "check_s", "> 0", check_s)
        from firesight.ops import metrics

        self.queue, self.queue_name = queue, queue_name
        self.every_n, self.around_change, self.max_queued = int(every_n), int(around_change), int(max_queued)
        self.check_s, self.clock = float(check_s), clock
        self.counts: Counter[str] = Counter()
        self._devices: dict[tuple[str, str], _Sampled] = {}
        self._full = False
        self._next_check = -math.inf
        self._shed = metrics.MESSAGES_SHED.labels(queue=queue_name)
        self._depth = metrics.QUEUE_DEPTH.labels(queue=queue_name)

    def offer(self, *, site: str, thing: str, ts_ms: int, time_s: float, features: Mapping[str, float],
              variant: str, probability: float, level: str, model_version: str, changed: bool) -> int:
        """Take one decided window (``changed``: its level differs from the previous
        window's); return how many windows were sent now. A window that was not scored
        (probability not finite) is no evidence and is ignored."""
        if not math.isfinite(probability):
            return 0
        dev = self._devices.get((site, thing))
        if dev is None:
            dev = self._devices[(site, thing)] = _Sampled(self.around_change)
        dev.n += 1
        row = {"site": site, "thing": thing, "ts_ms": int(ts_ms), "time_s": float(time_s), "features": features,
               "variant": variant, "probability": float(probability), "level": level,
               "model_version": model_version}
        if changed:
            chosen = [(r, "before_change") for r in (dev.before if self.around_change else ())]
            chosen.append((row, "change"))
            dev.before.clear()
            dev.after = self.around_change
        elif dev.after > 0:
            dev.after -= 1
            chosen = [(row, "after_change")]
        elif self.every_n and dev.n % self.every_n == 0:
            chosen = [(row, "every_n")]
        else:
            dev.before.append(row)
            return 0
        return sum(self._send(r, reason) for r, reason in chosen)

    def _send(self, row: dict, reason: str) -> int:
        if self._queue_full():
            self.counts["shed"] += 1
            self._shed.inc()
            return 0
        try:
            self.queue.send(self.queue_name, field_window_message(**row, sampled=reason),
                            attributes={"thing": row["thing"], "sampled": reason})
        except (FiresightError, OSError) as exc:
            self.counts["send_errors"] += 1
            log.warning("field window of %s not queued: %s", row["thing"], exc)
            return 0
        self.counts["sent"] += 1
        self.counts[f"sent:{reason}"] += 1
        return 1

    def _queue_full(self) -> bool:
        now = self.clock()
        if now < self._next_check:
            return self._full
        self._next_check = now + self.check_s
        counts = getattr(self.queue, "counts", None)
        if callable(counts):
            try:
                held = int(sum(counts(self.queue_name).values()))
            except (FiresightError, OSError) as exc:  # keep the last judgement
                log.warning("field window queue depth unknown: %s", exc)
                return self._full
            self._depth.set(held)
            self._full = held >= self.max_queued
        return self._full

    def health(self) -> dict:
        return {"devices": len(self._devices), **{k: int(v) for k, v in self.counts.items()}}
