"""Read recorded device data for replay: SCD41 CSV and Lepton frame stacks (.npz).

Every problem (missing file or column, non-numeric or non-finite value, frames of the
wrong shape or dtype, times that go backwards) raises :class:`DataError` naming the file
and what is wrong.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from firesight.errors import DataError

#: Columns of an SCD41 recording (ARCHITECTURE.md payload names).
SCD41_CSV_COLUMNS: tuple[str, ...] = ("time_s", "co2_ppm", "temperature_c", "humidity_rh")
#: Lepton 3.5 frame shape (rows, columns) and TLinear dtype (FLIR Lepton 3.5 datasheet).
FRAME_SHAPE: tuple[int, int] = (120, 160)
FRAME_DTYPE = np.uint16


@dataclass(frozen=True)
class ThermalRecording:
    """Lepton frames: ``frames`` (n, 120, 160) uint16 TLinear, ``time_s`` [s],
    ``resolution_k`` [K per count] per frame, ``ffc_state`` per frame (0 idle)."""

    frames: np.ndarray
    time_s: np.ndarray
    resolution_k: np.ndarray
    ffc_state: np.ndarray


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


def read_thermal_npz(path: str | os.PathLike) -> ThermalRecording:
    """A Lepton recording: ``.npz`` with ``frames`` (n, 120, 160) uint16, ``time_s`` (n,)
    and ``resolution_k`` (scalar or (n,); default 0.01 K); optional ``ffc_state`` (n,)."""
    p = Path(path)
    try:
        with np.load(p, allow_pickle=False) as data:
            arrays = {k: np.asarray(data[k]) for k in data.files}
    except FileNotFoundError as exc:
        raise DataError(f"{p}: no such file") from exc
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(f"{p}: not a readable .npz file ({type(exc).__name__}: {exc})") from exc
    for key in ("frames", "time_s"):
        if key not in arrays:
            raise DataError(f"{p}: lacks array {key!r} (has {sorted(arrays)})")
    frames, time_s = arrays["frames"], arrays["time_s"].astype(float)
    if frames.ndim != 3 or tuple(frames.shape[1:]) != FRAME_SHAPE:
        raise DataError(f"{p}: frames have shape {frames.shape}, expected (n, 120, 160)")
    if frames.dtype != FRAME_DTYPE:
        raise DataError(f"{p}: frames have dtype {frames.dtype}, expected uint16 TLinear")
    n = frames.shape[0]
    if n == 0:
        raise DataError(f"{p}: holds no frames")
    if time_s.shape != (n,) or not np.isfinite(time_s).all():
        raise DataError(f"{p}: time_s must be {n} finite times, got shape {time_s.shape}")
    _increasing(time_s, str(p))
    res = np.asarray(arrays.get("resolution_k", 0.01), dtype=np.float32)
    res = np.full(n, float(res), dtype=np.float32) if res.ndim == 0 else res
    if res.shape != (n,) or not np.all(np.isclose(res, 0.01, rtol=1e-3) | np.isclose(res, 0.1, rtol=1e-3)):
        raise DataError(f"{p}: resolution_k must be 0.01 or 0.1 K (scalar or per frame)")
    ffc = np.asarray(arrays.get("ffc_state", np.zeros(n)), dtype=np.uint8)
    if ffc.shape != (n,):
        raise DataError(f"{p}: ffc_state must have one value per frame, got {ffc.shape}")
    return ThermalRecording(frames=frames, time_s=time_s, resolution_k=res, ffc_state=ffc)
