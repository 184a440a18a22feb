"""Error measures for model-versus-measurement curves: RMSE, peak error and the error
in the time a curve first rises past a threshold."""

from __future__ import annotations

import numpy as np

__all__ = ["time_to_rise_s", "compare_series"]


def time_to_rise_s(time_s, rise, threshold) -> float:
    """First time [s] at which ``rise`` reaches ``threshold`` (linear interpolation
    between samples); ``nan`` if it never does. NaN samples are skipped."""
    t = np.asarray(time_s, dtype=float)
    y = np.asarray(rise, dtype=float)
    ok = np.isfinite(y)
    t, y = t[ok], y[ok]
    above = np.flatnonzero(y >= threshold)
    if above.size == 0:
        return float("nan")
    k = int(above[0])
    if k == 0:
        return float(t[0])
    y0, y1 = y[k - 1], y[k]
    return float(t[k - 1] + (threshold - y0) / (y1 - y0) * (t[k] - t[k - 1]))


def compare_series(time_s, measured, model, *, rise_fraction=0.25) -> dict[str, float]:
    """Compare a modelled rise with a measured one on the same time grid.

    Returns a dict with ``rmse`` (same unit as the inputs), ``measured_peak``,
    ``model_peak``, ``peak_error`` (model - measured), ``peak_error_rel`` (fraction of
    the measured peak), ``t_rise_measured_s``, ``t_rise_model_s`` and ``t_rise_error_s``
    (model - measured) for the threshold ``rise_fraction`` x the measured peak. NaN
    measurements are ignored.
    """
    t = np.asarray(time_s, dtype=float)
    y = np.asarray(measured, dtype=float)
    m = np.asarray(model, dtype=float)
    ok = np.isfinite(y) & np.isfinite(m)
    peak_meas = float(np.nanmax(y[ok]))
    peak_model = float(np.nanmax(m[ok]))
    threshold = rise_fraction * peak_meas
    t_meas = time_to_rise_s(t[ok], y[ok], threshold)
    t_model = time_to_rise_s(t[ok], m[ok], threshold)
    return {
        "rmse": float(np.sqrt(np.mean((m[ok] - y[ok]) ** 2))),
        "measured_peak": peak_meas,
        "model_peak": peak_model,
        "peak_error": peak_model - peak_meas,
        "peak_error_rel": (peak_model - peak_meas) / peak_meas if peak_meas else float("nan"),
        "t_rise_measured_s": t_meas,
        "t_rise_model_s": t_model,
        "t_rise_error_s": t_model - t_meas,
    }
