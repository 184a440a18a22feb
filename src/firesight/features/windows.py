"""Fused window feature vectors, the same code path offline and online.

Every ``step_s`` a window ending at ``time_s`` yields one vector :data:`FEATURE_NAMES` =
:data:`THERMAL_FEATURES` (over the last ``window_s``, with a 10 s short horizon inside) +
:data:`GAS_FEATURES` (baselines over 10 min, rates over 30 / 60 / 120 / 300 s, after a 5 min
warm-up). Thermal
columns are NaN when no valid camera frame is in the window, gas columns when there is no
recent SCD41 reading, so camera-only and SCD41-only models can be trained on the same
table.

Both paths run the same two stages: per-frame statistics
(:func:`firesight.features.thermal.lepton_frame_features`) as frames arrive, then the
window functions (:func:`~firesight.features.thermal.thermal_window_features`,
:func:`~firesight.features.gas.scd41_window_features`) at each emission time.
:func:`compute_scenario_features` feeds them a whole recorded scenario;
:class:`OnlineFeatureExtractor` feeds them one reading at a time.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from firesight.errors import DataError, require
from firesight.features.gas import (GAS_FEATURES, READING_COLUMNS, lookback_s, scd41_features_at,
                                    scd41_reading_table, scd41_window_features)
from firesight.features.thermal import (FRAME_COLUMNS, LEPTON35_FRAME, THERMAL_FEATURES, check_frames,
                                        lepton_frame_features, thermal_window_features)

FEATURE_NAMES = THERMAL_FEATURES + GAS_FEATURES

#: Version of the feature definitions: bumped whenever a feature's meaning or a setting
#: changes, so that a model never scores features computed by other code (``evaluate``
#: compares it with the model's). 2: SCD41 warm-up, 30 s level, noise z-scores. 3: SCD41
#: windows stale after 2.5 reading intervals.
FEATURES_VERSION = 3


def features_stamp(*, step_s: float, window_s: float) -> dict:
    """What a features table and a model trained on it must agree on: window step and
    length [s], :data:`FEATURES_VERSION` and a digest of the feature names and settings."""
    import hashlib
    import json

    from firesight.features.gas import SCD41_FEATURE_SETTINGS, SCD41_RESPONSE_TIME_S
    from firesight.features.thermal import THERMAL_SETTINGS

    text = json.dumps({"names": list(FEATURE_NAMES), "gas": SCD41_FEATURE_SETTINGS, "tau": SCD41_RESPONSE_TIME_S,
                       "thermal": THERMAL_SETTINGS}, sort_keys=True, default=str)
    return {"step_s": float(step_s), "window_s": float(window_s), "features_version": FEATURES_VERSION,
            "features_digest": hashlib.sha256(text.encode()).hexdigest()[:16]}

#: FFC state of the Lepton while the shutter is closed: frames are frozen copies [Lepton
#: datasheet rev. 300, "FFC states"]: 0 normal, 1 imminent, 2 in progress.
FFC_IN_PROGRESS = 2

#: Tolerance on emission times [s], so that float grids (k * step_s) compare as intended.
_TIME_EPS_S = 1e-9


def emission_times(start_s: float, end_s: float, step_s: float) -> np.ndarray:
    """Window end times [s]: the multiples of ``step_s`` within ``[start_s, end_s]``."""
    require(step_s > 0, "step_s", "> 0 [s]", step_s)
    first = math.ceil(start_s / step_s - _TIME_EPS_S)
    last = math.floor(end_s / step_s + _TIME_EPS_S)
    return np.arange(first, last + 1, dtype=np.float64) * step_s


def _check_window(step_s: float, window_s: float) -> None:
    require(isinstance(step_s, (int, float)) and math.isfinite(step_s) and step_s > 0,
            "step_s", "a finite number > 0 [s]", step_s)
    require(isinstance(window_s, (int, float)) and math.isfinite(window_s) and window_s >= 10.0,
            "window_s", "a finite number >= 10 [s]", window_s)


def _scd41_table_from_frame(scd41: pd.DataFrame | None, where: str) -> np.ndarray:
    """Readings table of a scenario's SCD41 DataFrame: rows with a non-zero ``status`` (sensor
    error flagged by the device) are dropped; the rest must be finite."""
    if scd41 is None or len(scd41) == 0:
        return np.zeros((0, len(READING_COLUMNS)))
    if not isinstance(scd41, pd.DataFrame):
        raise DataError(f"{where}: SCD41 readings must be a DataFrame, got {type(scd41).__name__}")
    missing = [c for c in READING_COLUMNS if c not in scd41.columns]
    if missing:
        raise DataError(f"{where}: SCD41 readings lack columns {missing} (has {list(scd41.columns)})")
    if "status" in scd41.columns:
        scd41 = scd41[np.asarray(scd41["status"]) == 0]
    return scd41_reading_table(*(scd41[c].to_numpy() for c in READING_COLUMNS), where=where)


def scenario_frame_table(thermal, *, chunk_frames: int = 256, where: str = "thermal") -> np.ndarray:
    """Per-frame rows (:data:`FRAME_COLUMNS`) of a scenario's Lepton frames
    (:class:`~firesight.sensors.frames.LeptonFrames`), read in chunks. Frames flagged
    invalid or frozen by FFC (``ffc_state`` 2) are left out."""
    if thermal is None or len(thermal) == 0:
        return np.zeros((0, len(FRAME_COLUMNS)))
    n = len(thermal)
    for name in ("time_s", "resolution_k", "ffc_state", "valid"):
        if np.shape(getattr(thermal, name)) != (n,):
            raise DataError(f"{where}: {name} must have shape ({n},) like the frames, "
                            f"got {np.shape(getattr(thermal, name))}")
    shape = tuple(getattr(thermal.frames, "shape", ()))
    h, w = LEPTON35_FRAME["height_px"], LEPTON35_FRAME["width_px"]
    if shape != (n, h, w):
        raise DataError(f"{where}: thermal frames must have shape (n, {h}, {w}), got {shape}")
    keep = np.asarray(thermal.valid, dtype=bool) & (np.asarray(thermal.ffc_state) != FFC_IN_PROGRESS)
    times = np.asarray(thermal.time_s, dtype=np.float64)
    kept_times = times[keep]
    if not np.all(np.isfinite(kept_times)):
        raise DataError(f"{where}: time_s of valid frames must be finite")
    if np.any(np.diff(kept_times) < 0):
        k = int(np.flatnonzero(np.diff(kept_times) < 0)[0])
        raise DataError(f"{where}: time_s of valid frames must be non-decreasing, got "
                        f"{kept_times[k + 1]!r} after {kept_times[k]!r}")
    resolution = np.asarray(thermal.resolution_k, dtype=np.float64)
    parts = []
    previous = None
    for a in range(0, n, chunk_frames):
        b = min(a + chunk_frames, n)
        sel = keep[a:b]
        if not sel.any():
            continue
        frames = np.asarray(thermal.frames[a:b])[sel]
        chunk_times, chunk_res = times[a:b][sel], resolution[a:b][sel]
        check_frames(frames, chunk_res, chunk_times, where)
        parts.append(lepton_frame_features(frames, chunk_times, chunk_res, previous=previous))
        previous = (frames[-1], chunk_times[-1], chunk_res[-1])
    return np.vstack(parts) if parts else np.zeros((0, len(FRAME_COLUMNS)))


def window_features(frame_table: np.ndarray, readings: np.ndarray, now_s: float, *,
                    window_s: float) -> np.ndarray:
    """The fused vector :data:`FEATURE_NAMES` at ``now_s`` (stage 2 of both paths)."""
    return np.concatenate([thermal_window_features(frame_table, now_s, window_s=window_s),
                           scd41_window_features(readings, now_s)])


def compute_scenario_features(scenario, *, step_s: float = 1.0, window_s: float = 60.0,
                              chunk_frames: int = 256) -> pd.DataFrame:
    """Window features of one recorded scenario.

    Parameters
    ----------
    scenario : ScenarioData
        From :meth:`firesight.datasets.Dataset.load` (or any object with ``thermal`` — a
        LeptonFrames or None — and ``scd41`` — a DataFrame with ``time_s, co2_ppm,
        temperature_c, humidity_rh`` and optionally ``status`` — or None).
    step_s : float
        Emission period [s]; windows end at the multiples of ``step_s`` between the first
        and the last reading of either sensor.
    window_s : float
        Thermal window length [s] (>= 10).

    Returns
    -------
    DataFrame
        ``time_s`` [s] then :data:`FEATURE_NAMES`, one row per window.
    """
    _check_window(step_s, window_s)
    where = f"scenario {getattr(scenario, 'id', '?')}"
    frame_table = scenario_frame_table(getattr(scenario, "thermal", None), chunk_frames=chunk_frames,
                                       where=f"{where} thermal")
    readings = _scd41_table_from_frame(getattr(scenario, "scd41", None), f"{where} scd41")
    # SCD41 readings before the scenario's origin (t < 0) are the node's history: they feed
    # the gas baselines and rates but windows start at the origin
    reading_start = max(readings[0, 0], min(0.0, readings[-1, 0])) if len(readings) else None
    starts = ([frame_table[0, 0]] if len(frame_table) else []) + ([reading_start] if len(readings) else [])
    ends = [x[-1, 0] for x in (frame_table, readings) if len(x)]
    times = emission_times(min(starts), max(ends), step_s) if starts else np.zeros(0)
    values = np.empty((len(times), len(FEATURE_NAMES)))
    n_thermal = len(FEATURE_NAMES) - len(GAS_FEATURES)
    for k, now in enumerate(times):
        values[k, :n_thermal] = thermal_window_features(frame_table, float(now), window_s=window_s)
    values[:, n_thermal:] = scd41_features_at(readings, times)
    table = pd.DataFrame(values, columns=list(FEATURE_NAMES))
    table.insert(0, "time_s", times)
    return table


def truth_state_at(features: pd.DataFrame, truth: pd.DataFrame) -> pd.Series:
    """Simulated burning state (0 none, 1 smouldering, 2 flaming) in force at each window's
    ``time_s`` (the latest truth row at or before it; 0 before the first)."""
    for name, table, cols in (("features", features, ("time_s",)), ("truth", truth, ("time_s", "state"))):
        missing = [c for c in cols if c not in table.columns]
        if missing:
            raise DataError(f"{name} table lacks columns {missing} (has {list(table.columns)})")
    truth_t = truth["time_s"].to_numpy(dtype=np.float64)
    order = np.argsort(truth_t, kind="stable")
    truth_t = truth_t[order]
    states = truth["state"].to_numpy()[order]
    idx = np.searchsorted(truth_t, features["time_s"].to_numpy(dtype=np.float64) + _TIME_EPS_S, side="right") - 1
    state = np.where(idx >= 0, states[np.clip(idx, 0, None)], 0).astype(np.int8)
    return pd.Series(state, index=features.index, name="truth_state")


def label_windows(features: pd.DataFrame, truth: pd.DataFrame) -> pd.Series:
    """Window labels from the simulated truth only: 1 where the truth state at ``time_s`` is
    not "none" (smouldering or flaming), else 0; named ``burning``."""
    return (truth_state_at(features, truth) != 0).astype(np.int8).rename("burning")


class OnlineFeatureExtractor:
    """Window features from live readings, computed exactly as :func:`compute_scenario_features`.

    Parameters
    ----------
    step_s : float
        Minimum time between emitted vectors [s].
    window_s : float
        Thermal window length [s].

    Examples
    --------
    >>> x = OnlineFeatureExtractor(step_s=1.0, window_s=60.0)      # doctest: +SKIP
    >>> x.push_scd41(0.0, 420.0, 21.0, 45.0)                       # doctest: +SKIP
    >>> x.emit(0.0)["scd41_co2_ppm"]                               # doctest: +SKIP
    420.0
    """

    def __init__(self, step_s: float = 1.0, window_s: float = 60.0):
        _check_window(step_s, window_s)
        self.step_s = float(step_s)
        self.window_s = float(window_s)
        self._frames = np.zeros((64, len(FRAME_COLUMNS)))
        self._n_frames = 0
        self._readings = np.zeros((64, len(READING_COLUMNS)))
        self._n_readings = 0
        self._previous: tuple[np.ndarray, float, float] | None = None
        self._last_frame_time_s = -math.inf
        self._last_emit_s: float | None = None
        #: frames received but left out (FFC frozen or flagged invalid) [-]
        self.frames_skipped = 0

    # -- input -------------------------------------------------------------------------
    def push_thermal(self, time_s: float, frame_uint16: np.ndarray, resolution_k: float,
                     ffc_state: int = 0, *, valid: bool = True) -> None:
        """Add one Lepton frame (uint16 TLinear, 120 x 160) taken at ``time_s`` [s] with
        ``resolution_k`` [K per count]. Frames frozen by FFC (``ffc_state`` 2) or flagged
        invalid are counted in :attr:`frames_skipped` and otherwise ignored.

        Raises :class:`DataError` for a frame of the wrong shape or dtype, a non-finite
        time or resolution, or a time earlier than the previous frame's."""
        frame = np.asarray(frame_uint16)
        h, w = LEPTON35_FRAME["height_px"], LEPTON35_FRAME["width_px"]
        if frame.shape != (h, w):
            raise DataError(f"thermal frame must have shape ({h}, {w}), got {frame.shape}")
        if frame.dtype != np.uint16:
            raise DataError(f"thermal frame must be uint16 TLinear counts, got dtype {frame.dtype}")
        if ffc_state not in (0, 1, 2):
            raise DataError(f"ffc_state must be 0 (normal), 1 (imminent) or 2 (in progress), got {ffc_state!r}")
        if ffc_state == FFC_IN_PROGRESS or not valid:
            self.frames_skipped += 1
            return
        t = float(time_s)
        if not math.isfinite(t) or t < self._last_frame_time_s:
            raise DataError(f"thermal time_s must be finite and non-decreasing, got {time_s!r} "
                            f"after {self._last_frame_time_s!r}")
        row = lepton_frame_features(frame[None], np.array([t]), np.array([float(resolution_k)]),
                                    previous=self._previous)
        self._frames, self._n_frames = _append(self._frames, self._n_frames, row[0])
        self._previous = (frame, t, float(resolution_k))
        self._last_frame_time_s = t

    def push_scd41(self, time_s: float, co2_ppm: float, temperature_c: float, humidity_rh: float) -> None:
        """Add one SCD41 reading at ``time_s`` [s]: CO2 [ppm], temperature [C], humidity [%RH].

        Raises :class:`DataError` for a non-finite value or a time earlier than the last."""
        row = scd41_reading_table([float(time_s)], [co2_ppm], [temperature_c], [humidity_rh])[0]
        if self._n_readings and row[0] < self._readings[self._n_readings - 1, 0]:
            raise DataError(f"scd41 time_s must be non-decreasing, got {time_s!r} after "
                            f"{self._readings[self._n_readings - 1, 0]!r}")
        self._readings, self._n_readings = _append(self._readings, self._n_readings, row)

    # -- output ------------------------------------------------------------------------
    def emit(self, now_s: float) -> dict | None:
        """The feature vector of the window ending at ``now_s`` [s] as ``{"time_s", *FEATURE_NAMES}``,
        or None when nothing has been received yet or ``step_s`` has not passed since the
        last emission."""
        now = float(now_s)
        if self._n_frames == 0 and self._n_readings == 0:
            return None
        if self._last_emit_s is not None and now < self._last_emit_s + self.step_s - _TIME_EPS_S:
            return None
        self._trim(now)
        values = window_features(self._frames[:self._n_frames], self._readings[:self._n_readings], now,
                                 window_s=self.window_s)
        self._last_emit_s = now
        return {"time_s": now, **dict(zip(FEATURE_NAMES, values.tolist()))}

    def _trim(self, now_s: float) -> None:
        """Forget rows no window at or after ``now_s`` needs (the newest row is always kept,
        for the staleness)."""
        if self._n_frames > 1:
            times = self._frames[:self._n_frames, 0]
            drop = min(int(np.searchsorted(times, now_s - self.window_s, side="right")), self._n_frames - 1)
            if drop > 0:
                self._frames[:self._n_frames - drop] = self._frames[drop:self._n_frames]
                self._n_frames -= drop
        if self._n_readings > 1:
            times = self._readings[:self._n_readings, 0]
            drop = min(int(np.searchsorted(times, now_s - lookback_s(), side="left")) - 1, self._n_readings - 1)
            if drop > 0:
                self._readings[:self._n_readings - drop] = self._readings[drop:self._n_readings]
                self._n_readings -= drop


def _append(buffer: np.ndarray, n: int, row: np.ndarray) -> tuple[np.ndarray, int]:
    """Append ``row`` to a growable 2-D buffer holding ``n`` rows."""
    if n == buffer.shape[0]:
        buffer = np.concatenate([buffer, np.zeros_like(buffer)])
    buffer[n] = row
    return buffer, n + 1


def warm_up(step_s: float = 1.0, window_s: float = 60.0) -> float:
    """Run the online feature code once over a short synthetic stream (SCD41 readings every
    5 s over the gas features' whole look-back, then a few frames) so that its numba
    kernels are compiled, or loaded from numba's cache, now rather than on a live device's
    first window; return the seconds it took. On a fresh install the compilation takes tens
    of seconds on a 2-core machine: a service that calls this before taking traffic is not
    blind for that long after it said it started."""
    import time

    started = time.perf_counter()
    x = OnlineFeatureExtractor(step_s=step_s, window_s=window_s)
    span_s = lookback_s() + 60.0
    for t in np.arange(0.0, span_s, 5.0):
        x.push_scd41(float(t), 450.0 + 0.1 * t, 21.0 + 0.001 * t, 45.0)
    rng = np.random.default_rng(0)
    h, w = LEPTON35_FRAME["height_px"], LEPTON35_FRAME["width_px"]
    base = np.full((h, w), 29_415, dtype=np.uint16)  # 21 C at 0.01 K per count
    for k in range(12):
        frame = base + rng.integers(0, 8, (h, w), dtype=np.uint16)
        x.push_thermal(span_s - 1.2 + k * 0.115, frame, 0.01)
        x.emit(span_s - 1.2 + k * 0.115)
    return time.perf_counter() - started
