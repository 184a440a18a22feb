"""Read recorded device data for replay: SCD41 CSV and Lepton frame stacks (.npz).

Every problem (missing file or column, non-numeric or non-finite value, frames of the
wrong shape or dtype, times that go backwards) raises :class:`DataError` naming the file
and what is wrong.

A frame stack is not read into memory (an hour at 8.7 Hz is ~1.2 GB): only the arrays the
replay needs are read from the archive, the small ones whole and ``frames`` on demand
(:class:`NpzFrames`), memory-mapped when ``np.savez`` stored it uncompressed, decompressed
frame by frame in order when ``np.savez_compressed`` deflated it.
"""

from __future__ import annotations

import os
import struct
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from firesight.errors import DataError
from firesight.sensors.frames import LeptonFrames

#: Columns of an SCD41 recording (ARCHITECTURE.md payload names).
SCD41_CSV_COLUMNS: tuple[str, ...] = ("time_s", "co2_ppm", "temperature_c", "humidity_rh")
#: Lepton 3.5 frame shape (rows, columns) and TLinear dtype (FLIR Lepton 3.5 datasheet).
FRAME_SHAPE: tuple[int, int] = (120, 160)
FRAME_DTYPE = np.uint16


#: Arrays of a thermal ``.npz`` that :func:`read_thermal_npz` reads; any other is ignored.
NPZ_ARRAYS: tuple[str, ...] = ("frames", "time_s", "resolution_k", "ffc_state")
#: Local file header of a zip member (PKWARE APPNOTE 4.3.7): signature, versions, flags,
#: method, time, date, CRC, sizes, name length, extra length.
_ZIP_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")


def _increasing(time_s: np.ndarray, where: str) -> None:
    if time_s.size and np.any(np.diff(time_s) <= 0):
        i = int(np.flatnonzero(np.diff(time_s) <= 0)[0])
        raise DataError(f"{where}: time_s must increase; row {i + 1} ({time_s[i + 1]}) follows "
                        f"{time_s[i]}")


def read_scd41_csv(path: str | os.PathLike) -> pd.DataFrame:
    """An SCD41 recording: CSV with ``time_s,co2_ppm,temperature_c,humidity_rh``.

    Any sampling interval (typically 5 s). Extra columns are ignored.
    """
    p = Path(path)
    try:
        table = pd.read_csv(p)
    except FileNotFoundError as exc:
        raise DataError(f"{p}: no such file") from exc
    except (OSError, ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataError(f"{p}: not a readable CSV ({type(exc).__name__}: {exc})") from exc
    missing = [c for c in SCD41_CSV_COLUMNS if c not in table.columns]
    if missing:
        raise DataError(f"{p}: lacks columns {missing} (needs {list(SCD41_CSV_COLUMNS)}, "
                        f"has {list(table.columns)})")
    if len(table) == 0:
        raise DataError(f"{p}: holds no readings")
    out = {}
    for col in SCD41_CSV_COLUMNS:
        values = pd.to_numeric(table[col], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(values)
        if bad.any():
            raise DataError(f"{p}: column {col} holds {int(bad.sum())} missing, non-numeric, NaN or "
                            f"infinite value(s) (first at row {int(np.flatnonzero(bad)[0]) + 1})")
        out[col] = values
    frame = pd.DataFrame(out)
    _increasing(frame["time_s"].to_numpy(), str(p))
    return frame


class NpzFrames:
    """The ``frames`` array of a ``.npz`` recording, read on demand.

    Indexing with an integer or a slice returns plain arrays; only those frames are read.
    A member stored uncompressed (``np.savez``) is memory-mapped (any order of access); a
    deflated one (``np.savez_compressed``) is decompressed forward from the last frame
    read, so reading in time order, as the replay does, decompresses the member once.
    ``np.asarray(frames)`` reads them all.
    """

    def __init__(self, path: Path, member: zipfile.ZipInfo, shape: tuple[int, ...], dtype: np.dtype,
                 fortran_order: bool, header_bytes: int):
        self.path = Path(path)
        self.shape = tuple(int(v) for v in shape)
        self.dtype = np.dtype(dtype)
        self.ndim = len(self.shape)
        self._member = member
        self._header_bytes = int(header_bytes)
        self._frame_bytes = int(np.prod(self.shape[1:])) * self.dtype.itemsize
        self._map: np.memmap | None = None
        self._zip: zipfile.ZipFile | None = None
        self._stream: Any = None
        self._next = 0  # index of the frame the open stream reads next
        if member.compress_type == zipfile.ZIP_STORED:
            offset = _member_data_offset(self.path, member) + self._header_bytes
            if offset + self._frame_bytes * self.shape[0] > self.path.stat().st_size:
                raise DataError(f"{self.path}: frames are truncated")
            self._map = np.memmap(self.path, dtype=self.dtype, mode="r", offset=offset, shape=self.shape,
                                  order="F" if fortran_order else "C")
        elif fortran_order:
            raise DataError(f"{self.path}: compressed frames must be in C order (np.savez_compressed of "
                            "an ordinary array)")

    @property
    def memory_mapped(self) -> bool:
        """True when the frames are memory-mapped (an uncompressed member)."""
        return self._map is not None

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, index: Any) -> np.ndarray:
        if self._map is not None:
            return np.array(self._map[index])
        n = self.shape[0]
        if isinstance(index, (int, np.integer)):
            i = int(index) + (n if index < 0 else 0)
            if not 0 <= i < n:
                raise IndexError(f"frame {index} out of range for {n} frames")
            return self._read(i, i + 1)[0]
        if isinstance(index, slice):
            picked = range(*index.indices(n))
            if len(picked) == 0:
                return np.empty((0, *self.shape[1:]), dtype=self.dtype)
            lo, hi = min(picked), max(picked) + 1
            block = self._read(lo, hi)
            return block[::picked.step] if picked.step > 0 else block[::-1][::-picked.step]
        return np.asarray(self)[index]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        values = self[:] if self._map is None else np.array(self._map)
        return values if dtype is None else values.astype(dtype)

    def _read(self, start: int, stop: int) -> np.ndarray:
        """Frames ``start`` to ``stop`` (exclusive) of the deflated member, read forward."""
        if self._stream is None or start < self._next:
            self.close()
            self._zip = zipfile.ZipFile(self.path)
            self._stream = self._zip.open(self._member)
            self._stream.read(self._header_bytes)
            self._next = 0
        try:
            while self._next < start:  # skip forward in bounded pieces
                step = min(start - self._next, max(1, (8 << 20) // self._frame_bytes))
                if len(self._stream.read(step * self._frame_bytes)) != step * self._frame_bytes:
                    raise DataError(f"{self.path}: frames are truncated")
                self._next += step
            want = (stop - start) * self._frame_bytes
            raw = self._stream.read(want)
        except (OSError, EOFError, zipfile.BadZipFile) as exc:  # zlib and CRC errors
            self.close()
            raise DataError(f"{self.path}: frames unreadable ({type(exc).__name__}: {exc})") from exc
        if len(raw) != want:
            self.close()
            raise DataError(f"{self.path}: frames are truncated")
        self._next = stop
        return np.frombuffer(raw, dtype=self.dtype).reshape((stop - start, *self.shape[1:])).copy()

    def close(self) -> None:
        """Close the open decompression stream (reopened on the next read)."""
        for handle in (self._stream, self._zip):
            if handle is not None:
                handle.close()
        self._stream = self._zip = None
        self._next = 0


def _member_data_offset(path: Path, member: zipfile.ZipInfo) -> int:
    """Byte offset of ``member``'s data in the archive (after its local header)."""
    with open(path, "rb") as fh:
        fh.seek(member.header_offset)
        raw = fh.read(_ZIP_LOCAL_HEADER.size)
    if len(raw) != _ZIP_LOCAL_HEADER.size:
        raise DataError(f"{path}: truncated zip member {member.filename!r}")
    fields = _ZIP_LOCAL_HEADER.unpack(raw)
    if fields[0] != b"PK\x03\x04":
        raise DataError(f"{path}: bad zip header of member {member.filename!r}")
    return member.header_offset + _ZIP_LOCAL_HEADER.size + fields[10] + fields[11]


def _npy_header(zf: zipfile.ZipFile, member: zipfile.ZipInfo) -> tuple[tuple[int, ...], bool, np.dtype, int]:
    """Shape, Fortran order, dtype and header length [bytes] of an ``.npy`` member, read
    without its data."""
    with zf.open(member) as fh:
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(fh)
        elif version == (2, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(fh)
        else:
            raise ValueError(f".npy format version {version} (expected 1.0 or 2.0)")
        return tuple(shape), bool(fortran_order), np.dtype(dtype), fh.tell()


def read_thermal_npz(path: str | os.PathLike) -> LeptonFrames:
    """A Lepton recording: ``.npz`` with ``frames`` (n, 120, 160) uint16, ``time_s`` (n,)
    and ``resolution_k`` (scalar or (n,); default 0.01 K); optional ``ffc_state`` (n,).

    Only these arrays are read; ``frames`` on demand (:class:`NpzFrames`), so memory stays
    flat in the recording's length. The recording holds no gain, frame counter or dropped
    frames: :class:`~firesight.sensors.frames.LeptonFrames` fills them in (gain from
    ``resolution_k``, counter from 0, every frame valid).
    """
    p = Path(path)
    try:
        with zipfile.ZipFile(p) as zf:
            members = {m.filename[:-4]: m for m in zf.infolist() if m.filename.endswith(".npy")}
            for key in ("frames", "time_s"):
                if key not in members:
                    raise DataError(f"{p}: lacks array {key!r} (has {sorted(members)})")
            shape, fortran_order, dtype, header_bytes = _npy_header(zf, members["frames"])
            if len(shape) != 3 or tuple(shape[1:]) != FRAME_SHAPE:
                raise DataError(f"{p}: frames have shape {shape}, expected (n, 120, 160)")
            if dtype != FRAME_DTYPE:
                raise DataError(f"{p}: frames have dtype {dtype}, expected uint16 TLinear")
            n = shape[0]
            if n == 0:
                raise DataError(f"{p}: holds no frames")
            small = {}
            for key in NPZ_ARRAYS[1:]:
                if key in members:
                    size = int(np.prod(_npy_header(zf, members[key])[0]))
                    if size > n:
                        raise DataError(f"{p}: {key} holds {size} values for {n} frames")
                    with zf.open(members[key]) as fh:
                        small[key] = np.lib.format.read_array(fh, allow_pickle=False)
            frames = NpzFrames(p, members["frames"], shape, dtype, fortran_order, header_bytes)
    except DataError:
        raise
    except FileNotFoundError as exc:
        raise DataError(f"{p}: no such file") from exc
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(f"{p}: not a readable .npz file ({type(exc).__name__}: {exc})") from exc
    time_s = np.asarray(small["time_s"]).astype(float)
    if time_s.shape != (n,) or not np.isfinite(time_s).all():
        raise DataError(f"{p}: time_s must be {n} finite times, got shape {time_s.shape}")
    _increasing(time_s, str(p))
    res = np.asarray(small.get("resolution_k", 0.01), dtype=np.float32)
    res = np.full(n, float(res), dtype=np.float32) if res.ndim == 0 else res
    if res.shape != (n,) or not np.all(np.isclose(res, 0.01, rtol=1e-3) | np.isclose(res, 0.1, rtol=1e-3)):
        raise DataError(f"{p}: resolution_k must be 0.01 or 0.1 K (scalar or per frame)")
    ffc = np.asarray(small.get("ffc_state", np.zeros(n)), dtype=np.uint8)
    if ffc.shape != (n,):
        raise DataError(f"{p}: ffc_state must have one value per frame, got {ffc.shape}")
    return LeptonFrames(frames=frames, time_s=time_s, resolution_k=res, ffc_state=ffc)
