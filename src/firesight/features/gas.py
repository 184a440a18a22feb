"""Gas and environment features from Sensirion SCD41 readings (CO2, temperature, humidity).

The readings arrive every 5 s (periodic mode), ~30 s (low-power mode) or at any interval
(replayed CSV files); every feature here is defined on the readings' own time stamps, so
any interval works. The same function, :func:`scd41_window_features`, serves the offline
and the online path.

Baselines settle on their own: the baseline is a low quantile of the readings of the last
``baseline_s`` that exist, so at the start of a recording it equals the first reading and
the level above baseline starts at zero — a recording that begins does not look like a
rise.

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
"""

from __future__ import annotations

import numpy as np

from firesight.errors import DataError
from firesight.features.estimators import theil_sen_slope

#: First-order response time constants of the SCD41 as mounted [s] (CO2 from the datasheet
#: [1]; temperature and humidity: board-level values used by the sensor model, see
#: ARCHITECTURE.md "Devices").
SCD41_RESPONSE_TIME_S = {"co2": 60.0, "temperature": 120.0, "humidity": 90.0}

#: Settings of the gas features. ``baseline_s`` [s]: span of the rolling baseline;
#: ``baseline_quantile``: quantile of CO2 and temperature taken as baseline (robust low
#: level); ``humidity_reference_quantile``: quantile of humidity that a drop is measured
#: from; ``horizons_s`` [s]: rise-rate horizons; ``lag_derivative_horizon_s`` [s]: horizon
#: of the derivative used for the lag correction; ``max_staleness_s`` [s]: readings older
#: than this make the features NaN (only the staleness is given); ``min_rise_c`` [C]:
#: floor of the temperature rise in the CO2-per-degree ratio; ``min_span_fraction``: a
#: rate needs readings spanning at least this fraction of its horizon (NaN before), so
#: that two noisy readings at the start of a recording (SCD41 repeatability ~±10 ppm)
#: never make a steep "rise".
SCD41_FEATURE_SETTINGS = {
    "baseline_s": 600.0,
    "baseline_quantile": 0.05,
    "humidity_reference_quantile": 0.95,
    "horizons_s": (30.0, 60.0, 120.0, 300.0),
    "lag_derivative_horizon_s": 60.0,
    "max_staleness_s": 300.0,
    "min_rise_c": 1.0,
    "min_span_fraction": 0.5,
}

#: Columns of a readings table (:func:`scd41_reading_table`).
READING_COLUMNS = ("time_s", "co2_ppm", "temperature_c", "humidity_rh")

GAS_FEATURES = (
    "scd41_co2_ppm", "scd41_co2_baseline_ppm", "scd41_co2_above_baseline_ppm",
    "scd41_co2_rate_ppm_per_min_30s", "scd41_co2_rate_ppm_per_min_60s",
    "scd41_co2_rate_ppm_per_min_120s", "scd41_co2_rate_ppm_per_min_300s",
    "scd41_co2_lag_corrected_ppm", "scd41_co2_lag_corrected_above_baseline_ppm",
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
#: Most readings a rate's Theil-Sen fit uses (its cost grows with the square); more (e.g. a
#: 1 Hz replay over 300 s) are thinned to an evenly spaced subset.
_MAX_SLOPE_POINTS = 200


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


def _rate_per_min(times: np.ndarray, values: np.ndarray, now_s: float, horizon_s: float,
                  min_span_fraction: float) -> float:
    """Theil-Sen slope [units/min] of the readings in ``[now_s - horizon_s, now_s]`` plus the
    last reading before that span (so the slope spans the horizon once there is enough
    history); NaN while the readings span less than ``min_span_fraction * horizon_s``."""
    start = max(int(np.searchsorted(times, now_s - horizon_s, side="left")) - 1, 0)
    if times[-1] - times[start] < min_span_fraction * horizon_s:
        return np.nan
    if times.size - start > _MAX_SLOPE_POINTS:  # dense replays: evenly spaced subset, ends kept
        pick = np.unique(np.linspace(start, times.size - 1, _MAX_SLOPE_POINTS).round().astype(np.int64))
        return theil_sen_slope(times[pick], values[pick]) * 60.0
    return theil_sen_slope(times[start:], values[start:]) * 60.0


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
        of the last ``baseline_s``) and levels above them; rise rates [ppm/min], [C/min],
        [%RH/min] over ``horizons_s`` (Theil-Sen, [3]; NaN until the readings span
        ``min_span_fraction`` of the horizon); lag-corrected levels x + tau dx/dt (dx/dt
        over ``lag_derivative_horizon_s``); CO2 above baseline per degree of temperature rise [ppm/C] (rise
        floored at ``min_rise_c``); humidity drop below its ``humidity_reference_quantile``
        [%RH]; staleness [s] = now minus the latest reading. NaN where undefined (no
        reading yet, a single reading for a rate, readings older than ``max_staleness_s``).
    """
    cfg = {**SCD41_FEATURE_SETTINGS, **(settings or {})}
    tau = {**SCD41_RESPONSE_TIME_S, **(response_time_s or {})}
    out = np.full(len(GAS_FEATURES), np.nan)
    times_all = readings[:, 0]
    end = int(np.searchsorted(times_all, now_s, side="right"))
    if end == 0:
        return out
    staleness = now_s - times_all[end - 1]
    out[_INDEX["scd41_staleness_s"]] = staleness
    if staleness > cfg["max_staleness_s"]:
        return out
    lookback = max(cfg["baseline_s"], max(cfg["horizons_s"]), cfg["lag_derivative_horizon_s"])
    start = max(int(np.searchsorted(times_all, now_s - lookback, side="left")) - 1, 0)
    rows = readings[start:end]
    t = rows[:, 0]
    recent = rows[t > now_s - cfg["baseline_s"]]
    co2, temp, rh = rows[-1, 1], rows[-1, 2], rows[-1, 3]
    co2_base = float(np.quantile(recent[:, 1], cfg["baseline_quantile"]))
    temp_base = float(np.quantile(recent[:, 2], cfg["baseline_quantile"]))
    rh_ref = float(np.quantile(recent[:, 3], cfg["humidity_reference_quantile"]))
    out[_INDEX["scd41_co2_ppm"]] = co2
    out[_INDEX["scd41_co2_baseline_ppm"]] = co2_base
    out[_INDEX["scd41_co2_above_baseline_ppm"]] = co2 - co2_base
    out[_INDEX["scd41_temperature_c"]] = temp
    out[_INDEX["scd41_temperature_baseline_c"]] = temp_base
    out[_INDEX["scd41_temperature_rise_c"]] = temp - temp_base
    out[_INDEX["scd41_humidity_rh"]] = rh
    out[_INDEX["scd41_humidity_drop_rh"]] = rh_ref - rh
    span = cfg["min_span_fraction"]
    for horizon, label in zip(cfg["horizons_s"], _HORIZON_NAMES):
        out[_INDEX[f"scd41_co2_rate_ppm_per_min_{label}s"]] = _rate_per_min(t, rows[:, 1], now_s, horizon, span)
        out[_INDEX[f"scd41_temperature_rate_c_per_min_{label}s"]] = _rate_per_min(t, rows[:, 2], now_s, horizon,
                                                                                  span)
    out[_INDEX["scd41_humidity_rate_rh_per_min_60s"]] = _rate_per_min(t, rows[:, 3], now_s, 60.0, span)
    lag_h = cfg["lag_derivative_horizon_s"]
    co2_true = co2 + tau["co2"] * _rate_per_min(t, rows[:, 1], now_s, lag_h, span) / 60.0
    temp_true = temp + tau["temperature"] * _rate_per_min(t, rows[:, 2], now_s, lag_h, span) / 60.0
    out[_INDEX["scd41_co2_lag_corrected_ppm"]] = co2_true
    out[_INDEX["scd41_co2_lag_corrected_above_baseline_ppm"]] = co2_true - co2_base
    out[_INDEX["scd41_temperature_lag_corrected_c"]] = temp_true
    out[_INDEX["scd41_temperature_lag_corrected_rise_c"]] = temp_true - temp_base
    out[_INDEX["scd41_co2_per_degree_ppm_per_c"]] = (co2 - co2_base) / max(temp - temp_base, cfg["min_rise_c"])
    return out

