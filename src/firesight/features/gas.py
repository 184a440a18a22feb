"""Gas and environment features from Sensirion SCD41 readings (CO2, temperature, humidity).

The readings arrive every 5 s (periodic mode), ~30 s (low-power mode) or at any interval
(replayed CSV files); every feature here is defined on the readings' own time stamps, so
any interval works. One compiled kernel computes every window, offline and online:
:func:`scd41_window_features` (one window) and :func:`scd41_features_at` (many windows,
the vectorised path of long replays) give the same numbers bit for bit.

What the features may not depend on: the absolute level of the room (CO2 400-2,000 ppm,
temperature, humidity describe the building and its occupants, not a fire), or how long
ago the recording started. So

* every feature that models use is a *difference* (level above a baseline, rate) or a
  difference in units of the sensor's own noise (z-scores), never a level;
* nothing is computed until the readings span ``warmup_s`` (300 s) without a gap longer
  than ``max_gap_s``: during this warm-up every gas feature is NaN (not scored), so the
  start of a recording is never a rise, and a node that was off for a while warms up
  again instead of comparing today's air with yesterday's;
* the current level is the median of the last ``level_s`` (30 s) of readings and the
  baseline a low quantile of the last ``baseline_s`` (10 min), so single noisy readings
  and one-minute spikes move neither much; the noise is estimated from the readings
  themselves (MAD of successive differences) because the SCD41's noise grows with the
  reading.

The SCD41 responds as a first-order system (time constant tau: 60 s for CO2, 120 s for
temperature, 90 s for humidity). Inverting that response, x_true = x + tau dx/dt, gives a
lag-corrected estimate of the present true value; dx/dt is a Theil-Sen slope over the
last ``lag_derivative_horizon_s`` (60 s), which smooths the derivative of the noisy,
quantised readings.

References
----------
1. Sensirion SCD4x datasheet, version 1.6 (2024): CO2 accuracy ±(40 ppm + 5 %), response
   time tau63 60 s, periodic measurement every 5 s, low-power periodic every 30 s.
2. UL 521, "Heat Detectors for Fire Protective Signaling Systems", 8th ed.: rate-of-rise
   detectors respond at 15 F/min (8.3 C/min); rates are given here in C/min to match.
3. Sen, P. K., J. Am. Stat. Assoc. 63 (1968) 1379-1389 (Theil-Sen slope).
4. Rousseeuw, P. J., Croux, C., J. Am. Stat. Assoc. 88 (1993) 1273-1283 (MAD scale
   1.4826 for a normal distribution).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from firesight.errors import DataError
from firesight.features.timeseries import _theil_sen_kernel

#: First-order response time constants of the SCD41 as mounted [s] (CO2 from the datasheet
#: [1]; temperature and humidity: board-level values used by the sensor model, see
#: ARCHITECTURE.md "Devices").
SCD41_RESPONSE_TIME_S = {"co2": 60.0, "temperature": 120.0, "humidity": 90.0}

#: Settings of the gas features. ``baseline_s`` [s]: span of the rolling baseline;
#: ``baseline_quantile``: quantile of CO2 and temperature taken as baseline (robust low
#: level); ``humidity_reference_quantile``: quantile of humidity that a drop is measured
#: from; ``horizons_s`` [s]: rise-rate horizons (exactly four); ``lag_derivative_horizon_s``
#: [s]: horizon of the derivative used for the lag correction; ``level_s`` [s]: span of the
#: median that gives the current level; ``max_staleness_s`` [s]: readings older than this
#: make the features NaN (only the staleness is given); ``stale_periods`` and
#: ``min_stale_s`` [s]: the latest reading is also stale once it is older than
#: ``stale_periods`` times the device's own reading interval (the median of its last four
#: intervals), but never before ``min_stale_s`` (two periodic-mode periods and a half), so
#: windows are not scored on a shrinking set of old readings while readings are missing
#: (5 s periodic mode: after 12.5 s; 30 s low-power mode: after 75 s); ``min_rise_c`` [C]: floor of the
#: temperature rise in the CO2-per-degree ratio; ``min_span_fraction``: a rate needs
#: readings spanning at least this fraction of its horizon; ``warmup_s`` [s]: span of
#: gap-free readings needed before any feature is given; ``max_gap_s`` [s]: a longer gap
#: between readings starts a new warm-up; ``min_noise_ppm`` [ppm]: floor of the noise
#: estimate (the output resolution is 1 ppm); ``max_slope_points``: most readings a
#: Theil-Sen fit uses (denser series are thinned evenly, ends kept).
SCD41_FEATURE_SETTINGS = {
    "baseline_s": 600.0,
    "baseline_quantile": 0.05,
    "humidity_reference_quantile": 0.95,
    "horizons_s": (30.0, 60.0, 120.0, 300.0),
    "lag_derivative_horizon_s": 60.0,
    "level_s": 30.0,
    "max_staleness_s": 150.0,
    "stale_periods": 2.5,
    "min_stale_s": 12.5,
    "min_rise_c": 1.0,
    "min_span_fraction": 0.5,
    "warmup_s": 300.0,
    "max_gap_s": 150.0,
    "min_noise_ppm": 1.0,
    "max_slope_points": 64,
}

#: Columns of a readings table (:func:`scd41_reading_table`).
READING_COLUMNS = ("time_s", "co2_ppm", "temperature_c", "humidity_rh")

GAS_FEATURES = (
    "scd41_co2_ppm", "scd41_co2_baseline_ppm", "scd41_co2_above_baseline_ppm",
    "scd41_co2_rate_ppm_per_min_30s", "scd41_co2_rate_ppm_per_min_60s",
    "scd41_co2_rate_ppm_per_min_120s", "scd41_co2_rate_ppm_per_min_300s",
    "scd41_co2_lag_corrected_ppm", "scd41_co2_lag_corrected_above_baseline_ppm",
    "scd41_co2_noise_ppm", "scd41_co2_above_baseline_z", "scd41_co2_rise_z_120s",
    "scd41_temperature_c", "scd41_temperature_baseline_c", "scd41_temperature_rise_c",
    "scd41_temperature_rate_c_per_min_30s", "scd41_temperature_rate_c_per_min_60s",
    "scd41_temperature_rate_c_per_min_120s", "scd41_temperature_rate_c_per_min_300s",
    "scd41_temperature_lag_corrected_c", "scd41_temperature_lag_corrected_rise_c",
    "scd41_co2_per_degree_ppm_per_c",
    "scd41_humidity_rh", "scd41_humidity_drop_rh", "scd41_humidity_rate_rh_per_min_60s",
    "scd41_staleness_s",
)
_INDEX = {name: i for i, name in enumerate(GAS_FEATURES)}
_HORIZON_NAMES = (30, 60, 120, 300)
#: Longest span of readings any feature looks back [s].
def lookback_s(settings: dict | None = None) -> float:
    """Longest span of readings a window needs [s] (online buffers keep this much)."""
    cfg = {**SCD41_FEATURE_SETTINGS, **(settings or {})}
    return float(max(cfg["baseline_s"], max(cfg["horizons_s"]), cfg["lag_derivative_horizon_s"],
                     cfg["warmup_s"], cfg["level_s"]))


def check_scd41_readings(time_s: np.ndarray, co2_ppm: np.ndarray, temperature_c: np.ndarray,
                         humidity_rh: np.ndarray, where: str = "scd41") -> None:
    """Raise :class:`DataError` unless the readings are 1-D, of equal length and finite."""
    n = np.shape(time_s)[0] if np.ndim(time_s) == 1 else None
    for name, values in zip(READING_COLUMNS, (time_s, co2_ppm, temperature_c, humidity_rh)):
        if np.ndim(values) != 1 or np.shape(values)[0] != n:
            raise DataError(f"{where}: {name} must be a 1-D series of the same length as time_s, "
                            f"got shape {np.shape(values)}")
        try:
            values = np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise DataError(f"{where}: {name} must be numeric ({exc})") from exc
        bad = ~np.isfinite(values)
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            at = f" at time_s={float(time_s[k])!r}" if name != "time_s" and np.isfinite(time_s[k]) else ""
            raise DataError(f"{where}: {name} must be finite, got {values[k]!r} in reading {k}{at} "
                            f"({int(bad.sum())} non-finite readings)")


def scd41_reading_table(time_s, co2_ppm, temperature_c, humidity_rh, *, where: str = "scd41") -> np.ndarray:
    """Validated readings as an (n, 4) float64 table (:data:`READING_COLUMNS`), sorted by time
    (stable, so equal times keep their order)."""
    check_scd41_readings(np.asarray(time_s), np.asarray(co2_ppm), np.asarray(temperature_c),
                         np.asarray(humidity_rh), where)
    table = np.column_stack([np.asarray(v, dtype=np.float64)
                             for v in (time_s, co2_ppm, temperature_c, humidity_rh)])
    order = np.argsort(table[:, 0], kind="stable")
    return table[order]


def scd41_window_features(readings: np.ndarray, now_s: float, *, settings: dict | None = None,
                          response_time_s: dict | None = None) -> np.ndarray:
    """Feature vector :data:`GAS_FEATURES` at ``now_s`` from SCD41 readings.

    Parameters
    ----------
    readings : ndarray, shape (n, 4)
        :func:`scd41_reading_table` rows sorted by time; rows after ``now_s`` are ignored.
    now_s : float
        Evaluation time [s].
    settings, response_time_s : dict, optional
        Overrides of :data:`SCD41_FEATURE_SETTINGS` and :data:`SCD41_RESPONSE_TIME_S`.

    Returns
    -------
    ndarray of float64
        Latest CO2 [ppm], temperature [C], humidity [%RH]; baselines (``baseline_quantile``
        of the last ``baseline_s``) and the current level (median of the last ``level_s``)
        above them; rise rates [ppm/min], [C/min], [%RH/min] over ``horizons_s``
        (Theil-Sen, [3]; NaN until the readings span ``min_span_fraction`` of the horizon);
        lag-corrected levels x + tau dx/dt (dx/dt over ``lag_derivative_horizon_s``); CO2
        noise [ppm] (1.4826 MAD of successive differences / sqrt 2 [4]) and the CO2 rise
        above baseline and over the last 120 s in units of it; CO2 above baseline per
        degree of temperature rise [ppm/C] (rise floored at ``min_rise_c``); humidity
        drop below its ``humidity_reference_quantile`` [%RH]; staleness [s] = now minus
        the latest reading. All NaN before ``warmup_s`` of gap-free readings; all but the
        staleness NaN when the latest reading is older than ``max_staleness_s``.
    """
    return scd41_features_at(readings, np.array([float(now_s)]), settings=settings,
                             response_time_s=response_time_s)[0]


def scd41_features_at(readings: np.ndarray, times_s: np.ndarray, *, settings: dict | None = None,
                      response_time_s: dict | None = None) -> np.ndarray:
    """Feature vectors :data:`GAS_FEATURES` at every time of ``times_s`` (increasing) [s]:
    one row per time, each equal to :func:`scd41_window_features` at that time (the same
    compiled kernel; windows whose readings are the same are computed once)."""
    cfg = {**SCD41_FEATURE_SETTINGS, **(settings or {})}
    tau = {**SCD41_RESPONSE_TIME_S, **(response_time_s or {})}
    times = np.ascontiguousarray(times_s, dtype=np.float64)
    if times.ndim != 1 or (times.size > 1 and np.any(np.diff(times) < 0)):
        raise DataError("times_s must be a 1-D increasing series of window times [s]")
    rows = np.ascontiguousarray(readings, dtype=np.float64).reshape(-1, len(READING_COLUMNS))
    horizons = np.asarray(cfg["horizons_s"], dtype=np.float64)
    if horizons.shape != (4,):
        raise DataError(f"horizons_s must hold four horizons [s], got {cfg['horizons_s']!r}")
    params = np.array([cfg["baseline_s"], cfg["baseline_quantile"], cfg["humidity_reference_quantile"],
                       cfg["lag_derivative_horizon_s"], cfg["level_s"], cfg["max_staleness_s"],
                       cfg["min_rise_c"], cfg["min_span_fraction"], cfg["warmup_s"], cfg["max_gap_s"],
                       cfg["min_noise_ppm"], float(cfg["max_slope_points"]), tau["co2"], tau["temperature"],
                       cfg["stale_periods"], cfg["min_stale_s"]],
                      dtype=np.float64)
    out = np.full((times.size, len(GAS_FEATURES)), np.nan)
    if rows.shape[0] and times.size:
        _gas_kernel(rows[:, 0].copy(), rows[:, 1].copy(), rows[:, 2].copy(), rows[:, 3].copy(), times,
                    horizons, params, out)
    return out


# -- compiled kernel ----------------------------------------------------------------------
# column positions in GAS_FEATURES (numba reads module-level ints as constants)
_C_CO2, _C_BASE, _C_ABOVE = 0, 1, 2
_C_RATE = 3  # 4 horizons: 3..6
_C_LAG, _C_LAG_ABOVE, _C_NOISE, _C_Z, _C_Z120 = 7, 8, 9, 10, 11
_T_T, _T_BASE, _T_RISE = 12, 13, 14
_T_RATE = 15  # 15..18
_T_LAG, _T_LAG_RISE, _C_PER_DEG = 19, 20, 21
_H_H, _H_DROP, _H_RATE, _STALE = 22, 23, 24, 25
_N_KEY = 10


@numba.njit(cache=True, nogil=True)
def _quantile_sorted(a, q):  # pragma: no cover - compiled
    h = (a.shape[0] - 1) * q
    lo = int(math.floor(h))
    hi = min(lo + 1, a.shape[0] - 1)
    return a[lo] + (h - lo) * (a[hi] - a[lo])


@numba.njit(cache=True, nogil=True)
def _slope_per_min(t, v, start, end, max_points):  # pragma: no cover - compiled
    """Theil-Sen slope [units/min] of rows start..end-1, thinned to ``max_points``."""
    n = end - start
    if n > max_points:
        idx = np.empty(max_points, dtype=np.int64)
        for i in range(max_points):
            idx[i] = start + int(round(i * (n - 1) / (max_points - 1)))
        return _theil_sen_kernel(t[idx], v[idx]) * 60.0
    return _theil_sen_kernel(t[start:end], v[start:end]) * 60.0


@numba.njit(cache=True, nogil=True)
def _gas_kernel(t, co2, temp, rh, nows, horizons, p, out):  # pragma: no cover - compiled
    baseline_s, q_base, q_rh, lag_h, level_s = p[0], p[1], p[2], p[3], p[4]
    max_stale, min_rise, span, warmup_s, max_gap = p[5], p[6], p[7], p[8], p[9]
    min_noise, max_points, tau_co2, tau_t = p[10], int(p[11]), p[12], p[13]
    stale_periods, min_stale = p[14], p[15]
    n = t.shape[0]
    seg_start = np.empty(n, dtype=np.int64)  # first reading after the last long gap
    for i in range(n):
        seg_start[i] = i if (i == 0 or t[i] - t[i - 1] > max_gap) else seg_start[i - 1]
    key = np.full(_N_KEY, -2, dtype=np.int64)
    prev = np.full(_N_KEY, -3, dtype=np.int64)
    have_prev = False
    for k in range(nows.shape[0]):
        now = nows[k]
        end = np.searchsorted(t, now, side="right")
        if end == 0:
            have_prev = False
            continue
        stale = now - t[end - 1]
        seg = seg_start[end - 1]
        n_int = min(4, end - 1 - seg)
        if n_int > 0:
            cadence = np.median(np.diff(t[end - 1 - n_int:end]))
            stale_limit = min(max_stale, max(min_stale, stale_periods * cadence))
        else:
            stale_limit = max_stale
        warm = t[seg] <= now - warmup_s
        key[0] = end
        key[1] = seg
        key[2] = 1 if stale > stale_limit else 0
        key[3] = 1 if warm else 0
        key[4] = max(np.searchsorted(t, now - baseline_s, side="right"), seg)
        key[5] = min(max(np.searchsorted(t, now - level_s, side="right"), seg), end - 1)
        for j in range(4):
            key[6 + j] = max(np.searchsorted(t, now - horizons[j], side="left") - 1, seg)
        same = have_prev
        if same:
            for j in range(_N_KEY):
                if key[j] != prev[j]:
                    same = False
                    break
        if same:
            for c in range(out.shape[1]):
                out[k, c] = out[k - 1, c]
            if key[3] == 1:
                out[k, _STALE] = stale
            continue
        for j in range(_N_KEY):
            prev[j] = key[j]
        have_prev = True
        if not warm:
            continue  # warm-up: nothing, not even the staleness (the window is not scored)
        out[k, _STALE] = stale
        if stale > stale_limit:
            continue
        b0, l0 = key[4], key[5]
        base_co2 = np.sort(co2[b0:end])
        base_t = np.sort(temp[b0:end])
        base_rh = np.sort(rh[b0:end])
        c_base = _quantile_sorted(base_co2, q_base)
        t_base = _quantile_sorted(base_t, q_base)
        rh_ref = _quantile_sorted(base_rh, q_rh)
        c_level = np.median(co2[l0:end])
        t_level = np.median(temp[l0:end])
        out[k, _C_CO2] = co2[end - 1]
        out[k, _C_BASE] = c_base
        out[k, _C_ABOVE] = c_level - c_base
        out[k, _T_T] = temp[end - 1]
        out[k, _T_BASE] = t_base
        out[k, _T_RISE] = t_level - t_base
        out[k, _H_H] = rh[end - 1]
        out[k, _H_DROP] = rh_ref - rh[end - 1]
        for j in range(4):
            start = key[6 + j]
            if t[end - 1] - t[start] >= span * horizons[j]:
                out[k, _C_RATE + j] = _slope_per_min(t, co2, start, end, max_points)
                out[k, _T_RATE + j] = _slope_per_min(t, temp, start, end, max_points)
        lag_start = max(np.searchsorted(t, now - lag_h, side="left") - 1, seg)
        if t[end - 1] - t[lag_start] >= span * lag_h:
            c_slope = _slope_per_min(t, co2, lag_start, end, max_points)
            t_slope = _slope_per_min(t, temp, lag_start, end, max_points)
            h_slope = _slope_per_min(t, rh, lag_start, end, max_points)
            # the level is the value at the median time of its readings: carry it to the
            # latest reading, then invert the sensor's lag
            ahead = t[end - 1] - np.median(t[l0:end])
            out[k, _C_LAG] = c_level + (tau_co2 + ahead) * c_slope / 60.0
            out[k, _C_LAG_ABOVE] = out[k, _C_LAG] - c_base
            out[k, _T_LAG] = t_level + (tau_t + ahead) * t_slope / 60.0
            out[k, _T_LAG_RISE] = out[k, _T_LAG] - t_base
            out[k, _H_RATE] = h_slope
        m = end - b0
        if m >= 3:
            d = np.empty(m - 1)
            for i in range(m - 1):
                d[i] = co2[b0 + i + 1] - co2[b0 + i]
            med = np.median(d)
            noise = 1.4826 * np.median(np.abs(d - med)) / math.sqrt(2.0)
            noise = max(noise, min_noise)
            out[k, _C_NOISE] = noise
            out[k, _C_Z] = (c_level - c_base) / noise
            if not math.isnan(out[k, _C_RATE + 2]):
                out[k, _C_Z120] = out[k, _C_RATE + 2] * 2.0 / noise
        out[k, _C_PER_DEG] = (c_level - c_base) / max(t_level - t_base, min_rise)
