"""Structured noise of the FLIR Lepton 3.5: its parts, the camera's own temporal filter,
and how to measure them on a stack of frames.

A microbolometer's noise is not one white number per pixel. The 3-D noise model [1]
splits it by direction: temporal noise of each pixel (``sigma_tvh``), of whole rows
(``sigma_tv``) and columns (``sigma_th``) changing from frame to frame, of the frame mean
(``sigma_t``), and fixed patterns of pixels (``sigma_vh``), rows (``sigma_v``) and columns
(``sigma_h``). A column-parallel read-out (one integrator and ADC per column, rows read in
turn) makes column noise the main structured part and row noise a smaller one [3]. The
Lepton's image pipeline then filters noise in time and space [2], so successive frames
of a still scene are correlated.

The device model (:mod:`firesight.sensors.lepton`) draws: a fixed pattern
``FPN = pixel + row + column`` (:func:`row_column_pattern_k` for the last two), and per frame a white pixel,
row and column part whose sum goes through a first-order recursive filter with time
constant ``temporal_filter_tau_s`` (:func:`temporal_filter_coefficients`), scaled so that
a pixel's total temporal standard deviation stays the datasheet NETD. The sizes are
model assumptions (``LEPTON35_MODEL``, docs/sensors.md), checked against the real frames
of ``../shared/real-data/Lepton35_Indoor`` by :func:`noise_components` (tests).

References
----------
1. J. A. D'Agostino, C. M. Webb, "3-D analysis framework and measurement methodology for
   imaging system noise", Proc. SPIE 1488 (1991) 110-121: the seven directional
   components and their measurement by directional averaging.
2. FLIR Lepton 3.5 engineering datasheet, doc. 500-0771-01-09: NETD < 50 mK; the image
   pipeline (non-uniformity correction, defect replacement, temporal and spatial noise
   filters); FLIR Lepton Software IDD 110-0144-04, ``LEP_CID_VID_SBNUC_ENABLE``
   (scene-based non-uniformity correction).
3. H. Budzier, G. Gerlach, *Thermal Infrared Sensors: Theory, Optimisation and Practice*,
   Wiley 2011 (microbolometer arrays: row-by-row, column-parallel read-out circuits).
"""

from __future__ import annotations

import math

import numpy as np

from firesight.errors import require

__all__ = ["corrupted_rows", "noise_components", "pixel_sigma_k", "row_column_pattern_k",
           "temporal_filter_coefficients"]


def pixel_sigma_k(netd_k: float, row_sigma_k: float, column_sigma_k: float) -> float:
    """White per-pixel part of the temporal noise [K] so that a pixel's total temporal
    standard deviation is ``netd_k``: ``sqrt(NETD^2 - sigma_row^2 - sigma_col^2)``."""
    rest = netd_k ** 2 - row_sigma_k ** 2 - column_sigma_k ** 2
    require(rest > 0, "temporal row and column noise", f"below the NETD {netd_k} K together",
            (row_sigma_k, column_sigma_k))
    return math.sqrt(rest)


def row_column_pattern_k(rng: np.random.Generator, height_px: int, width_px: int, *, row_sigma_k: float,
                         column_sigma_k: float) -> np.ndarray:
    """Fixed row and column offsets left after FFC [K], flat (height*width,) float32: a
    normal value per row and per column (3-D noise ``sigma_v``, ``sigma_h`` [1]); the
    per-pixel part (``sigma_vh``) is drawn by the camera. Draws rows, then columns."""
    rows = rng.standard_normal(height_px) * row_sigma_k
    cols = rng.standard_normal(width_px) * column_sigma_k
    return (rows[:, None] + cols[None, :]).reshape(-1).astype(np.float32)


def temporal_filter_coefficients(frame_times_s, updated, last_time_s: float | None, tau_s: float,
                                 frame_period_s: float):
    """Coefficients of the camera's recursive noise filter, per frame.

    The filtered noise ``e`` of a pixel follows ``e_i = a_i e_prev + b_i w_i`` with ``w``
    white of unit variance (in the noise's own scale), ``a = exp(-dt/tau)`` and
    ``b = sqrt(1 - a^2)``, so its variance stays that of ``w`` whatever the frame times
    (an Ornstein-Uhlenbeck process sampled at the frames). ``dt`` is the time since the
    last frame that updated the filter (frozen frames do not); the first frame of a
    stream uses one ``frame_period_s``.

    Parameters
    ----------
    frame_times_s : array (n,)
        Frame times [s].
    updated : bool array (n,)
        Frames that run the filter (not frozen).
    last_time_s : float or None
        Time of the last updating frame before these [s]; None at the start of a stream.
    tau_s : float
        Filter time constant [s]; 0 gives white noise (``a = 0``).
    frame_period_s : float
        Device frame period [s].

    Returns
    -------
    a, b : float32 arrays (n,)
    last_time_s : float or None
        For the next chunk.
    """
    t = np.asarray(frame_times_s, dtype=np.float64)
    upd = np.asarray(updated, dtype=bool)
    times = t[upd]
    prev = np.concatenate([[times[0] - frame_period_s if last_time_s is None else last_time_s], times[:-1]]) \
        if times.size else times
    dt = np.maximum(times - prev, 0.0)
    a_upd = np.exp(-dt / tau_s) if tau_s > 0 else np.zeros(times.size)
    a = np.zeros(t.size)
    a[upd] = a_upd
    b = np.sqrt(np.maximum(1.0 - a * a, 0.0))
    last = float(times[-1]) if times.size else last_time_s
    return a.astype(np.float32), b.astype(np.float32), last


def _detrended(frames_k: np.ndarray, time_s: np.ndarray) -> np.ndarray:
    """Frames minus each pixel's least-squares line in time (removes drift and the scene)."""
    n = frames_k.shape[0]
    x = time_s - time_s.mean()
    design = np.stack([np.ones(n), x], axis=1)
    flat = frames_k.reshape(n, -1)
    coef, *_ = np.linalg.lstsq(design, flat, rcond=None)
    return (flat - design @ coef).reshape(frames_k.shape)


def noise_components(frames_k, time_s=None, *, exclude_rows=()) -> dict:
    """3-D noise components [1] of a stack of frames of a still scene [K].

    Each pixel's straight line in time is removed first (the scene and any drift); the
    temporal components are then measured on what is left:

    - ``sigma_t_k``: standard deviation of the frame mean (a camera-wide offset wander);
    - ``temporal_pixel_k``: median over pixels of the temporal standard deviation once
      each frame's mean is removed (the measured NETD without ``sigma_t``);
    - ``sigma_tv_k`` / ``sigma_th_k``: temporal row / column noise, from the differences
      of adjacent row (column) means within each frame, ``std / sqrt(2)``, less the part
      that the pixel noise leaves in a mean of ``width`` (``height``) pixels;
    - ``sigma_tvh_k``: what remains after each frame's row and column means are removed;
    - ``lag1`` (and ``lag2``): median over pixels of the autocorrelation of successive
      frames, frame means removed (0 for white noise; the camera's temporal filter makes
      it positive; a short stack reads it low: ~0.07 for 82 frames at 0.8);
    - ``repeat_fraction``: fraction of pixels whose value repeats exactly in the next
      frame (before detrending).

    Fixed components come from the temporal mean image, so a real scene's texture adds to
    them (upper bounds): ``sigma_v_k`` / ``sigma_h_k`` from adjacent differences of row
    (column) means ``/ sqrt(2)``; ``sigma_vh_k`` the robust spread (1.4826 MAD) of the
    mean image minus the mean of its four neighbours, ``x sqrt(4/5)`` (white pixels).

    Parameters
    ----------
    frames_k : array (n, h, w)
        Temperatures [K or C]; n >= 3.
    time_s : array (n,), optional
        Frame times [s]; default the frame index.
    exclude_rows : sequence of int
        Rows left out (e.g. a corrupted row, :func:`corrupted_rows`).
    """
    f = np.asarray(frames_k, dtype=np.float64)
    require(f.ndim == 3 and f.shape[0] >= 3, "frames_k", "an (n >= 3, h, w) stack", f.shape)
    t = np.arange(f.shape[0], dtype=np.float64) if time_s is None else np.asarray(time_s, dtype=np.float64)
    repeats = float(np.mean(f[1:] == f[:-1]))
    if len(exclude_rows):
        f = np.delete(f, list(exclude_rows), axis=1)
    n, h, w = f.shape
    r = _detrended(f, t)
    frame_mean = r.mean(axis=(1, 2))
    local = r - frame_mean[:, None, None]
    temporal = float(np.median(local.std(axis=0, ddof=2)))
    row_means = r.mean(axis=2) - frame_mean[:, None]
    col_means = r.mean(axis=1) - frame_mean[:, None]
    white = r - row_means[:, :, None] - col_means[:, None, :] - frame_mean[:, None, None]
    sigma_tvh = float(white.std())
    var_tv = np.mean(np.diff(row_means, axis=1) ** 2) / 2.0 - sigma_tvh ** 2 / w
    var_th = np.mean(np.diff(col_means, axis=1) ** 2) / 2.0 - sigma_tvh ** 2 / h
    denom = (local * local).sum(axis=0)
    lag1 = float(np.median((local[1:] * local[:-1]).sum(axis=0) / denom))
    lag2 = float(np.median((local[2:] * local[:-2]).sum(axis=0) / denom))
    mean_img = f.mean(axis=0)
    neighbours = 0.25 * (mean_img[:-2, 1:-1] + mean_img[2:, 1:-1] + mean_img[1:-1, :-2] + mean_img[1:-1, 2:])
    hp = (mean_img[1:-1, 1:-1] - neighbours).reshape(-1)
    sigma_vh = 1.4826 * float(np.median(np.abs(hp - np.median(hp)))) * math.sqrt(4.0 / 5.0)
    return {
        "frames": int(n),
        "temporal_pixel_k": temporal,
        "sigma_t_k": float(frame_mean.std()),
        "sigma_tv_k": math.sqrt(max(var_tv, 0.0)),
        "sigma_th_k": math.sqrt(max(var_th, 0.0)),
        "sigma_tvh_k": sigma_tvh,
        "lag1": lag1,
        "lag2": lag2,
        "repeat_fraction": repeats,
        "sigma_v_k": float(np.diff(mean_img.mean(axis=1)).std() / math.sqrt(2.0)),
        "sigma_h_k": float(np.diff(mean_img.mean(axis=0)).std() / math.sqrt(2.0)),
        "sigma_vh_k": sigma_vh,
    }


def corrupted_rows(frames_k, *, threshold_k: float = 0.5) -> np.ndarray:
    """Rows whose temporal mean departs from the pixel-wise median of the two rows above
    and the two below by more than ``threshold_k`` on average over the row [K]: a row the
    camera's defect replacement missed (real Lepton frames show one; the fault
    ``LeptonFaults.bad_rows`` models it). The median keeps a bad row from flagging its
    neighbours; the two rows at each edge are not tested."""
    f = np.asarray(frames_k, dtype=np.float64)
    m = f.mean(axis=0) if f.ndim == 3 else f
    require(m.ndim == 2 and m.shape[0] >= 5, "frames_k", "frames of at least 5 rows", m.shape)
    around = np.median(np.stack([m[:-4], m[1:-3], m[3:-1], m[4:]]), axis=0)
    dev = np.abs(m[2:-2] - around).mean(axis=1)
    return np.flatnonzero(dev > threshold_k) + 2
