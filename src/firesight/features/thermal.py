"""Thermal features from FLIR Lepton 3.5 radiometric (TLinear) frames.

Two stages, both used unchanged offline and online:

1. :func:`lepton_frame_features` turns a batch of valid frames (uint16 TLinear counts,
   ``kelvin = count * resolution_k``) into one row of per-frame statistics each
   (:data:`FRAME_COLUMNS`): apparent-temperature max / percentiles / mean / std, hot-area
   fractions, largest hot blob, spatial gradient and the temporal difference to the
   previous valid frame. A compiled single-pass kernel (numba) does the pixel work;
   connected-component labelling (``scipy.ndimage.label``) runs only on frames that have
   hot pixels, cropped to their bounding box.
2. :func:`thermal_window_features` turns the per-frame rows of the last ``window_s`` into
   the window vector :data:`THERMAL_FEATURES`: current values (median over the last
   second), robust rise rates, blob growth, temporal-difference energy and flicker energy.

FFC handling: frames whose ``ffc_state`` is 2 (shutter closed, frozen image) or that are
flagged invalid never reach stage 1, and a temporal difference across a gap longer than
:data:`THERMAL_SETTINGS` ``max_frame_gap_s`` is not computed (NaN), so a frozen or missing
stretch is never read as "no change".

Flicker and aliasing: flames flicker at roughly 1–15 Hz (buoyant puffing,
f ≈ 1.5 / sqrt(D) Hz for a pool of diameter D [m], [2]); the Lepton delivers 8.7 frames/s,
so the observable band ends at the Nyquist frequency 4.35 Hz and flicker above it folds
(aliases) back into 0–4.35 Hz rather than vanishing. The band power 1–4.35 Hz of the
hottest-region temperature therefore carries the energy of the whole flame flicker
spectrum, folded, while slow heating (< 1 Hz) and sensor noise (flat, small) stay apart.

References
----------
1. FLIR Lepton Engineering Datasheet, rev. 300 (Lepton 3.5: 160 x 120, 8.7 Hz, TLinear
   0.01 K / 0.1 K resolution, FFC states).
2. Pagni, P. J., "Pool vortex shedding frequencies", Appl. Mech. Rev. 43 (1990) 160-170;
   flicker frequency f = 1.5 / sqrt(D) Hz.
3. Sen, P. K., "Estimates of the regression coefficient based on Kendall's tau",
   J. Am. Stat. Assoc. 63 (1968) 1379-1389 (Theil-Sen slope; see
   :mod:`firesight.features.timeseries`).
4. Welch, P. D., "The use of fast Fourier transform for the estimation of power spectra",
   IEEE Trans. Audio Electroacoust. 15 (1967) 70-73.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from scipy import ndimage

from firesight.errors import DataError
from firesight.features.timeseries import theil_sen_slope, welch_psd
from firesight.units import ZERO_CELSIUS_K, tlinear_to_celsius

#: Lepton 3.5 frame geometry and rate [1].
LEPTON35_FRAME = {"height_px": 120, "width_px": 160, "frame_rate_hz": 8.7}

#: Absolute hot-area thresholds [C] (columns ``hot_frac_40c`` ... ``hot_frac_200c``): warm
#: objects and people stay below 40 C; 60 C is above hot drinks and radiators; 100 C and
#: 200 C are reached by cooking surfaces and flames.
HOT_THRESHOLDS_C = (40.0, 60.0, 100.0, 200.0)
#: A pixel is "hot" for the blob and ``hot_frac_bg10k`` when it exceeds the frame background
#: (median pixel) by this much [K]; twice the Lepton's high-gain accuracy of ±5 C [1].
HOT_DELTA_K = 10.0

#: Settings of the thermal features. ``top_k_px``: pixels averaged into the
#: hottest-region temperature; ``max_frame_gap_s`` [s]: consecutive valid frames further
#: apart are not differenced (2 x the 0.115 s frame period, plus margin); ``current_s`` [s]:
#: span whose median is the "current" value; ``short_window_s`` [s]: short rise horizon;
#: ``flicker_band_hz``: band of the flicker energy (upper edge clipped to Nyquist);
#: ``flicker_floor_hz``: lowest frequency counted in the total for the flicker fraction;
#: ``flicker_nperseg``: Welch segment length [frames] (3.7 s at 8.7 Hz, 0.27 Hz bins).
THERMAL_SETTINGS = {
    "top_k_px": 20,
    "max_frame_gap_s": 0.25,
    "current_s": 1.0,
    "short_window_s": 10.0,
    "flicker_band_hz": (1.0, 4.35),
    "flicker_floor_hz": 0.2,
    "flicker_nperseg": 32,
}

#: Per-frame columns produced by :func:`lepton_frame_features` (stage 1).
FRAME_COLUMNS = (
    "time_s", "max_c", "p99_c", "p95_c", "background_c", "mean_c", "std_c", "top_mean_c",
    "hot_frac_40c", "hot_frac_60c", "hot_frac_100c", "hot_frac_200c", "hot_frac_bg10k",
    "grad_max_c_per_px", "diff_ms_c2", "diff_max_c",
    "blob_area_px", "blob_centroid_x_px", "blob_centroid_y_px", "blob_compactness",
)
_COL = {name: i for i, name in enumerate(FRAME_COLUMNS)}

#: Window features (stage 2), in output order; see ``docs/features.md`` for definitions.
THERMAL_FEATURES = (
    "thermal_max_c", "thermal_p99_c", "thermal_p95_c", "thermal_background_c", "thermal_mean_c",
    "thermal_std_c", "thermal_top_mean_c",
    "thermal_hot_frac_40c", "thermal_hot_frac_60c", "thermal_hot_frac_100c", "thermal_hot_frac_200c",
    "thermal_hot_frac_bg10k", "thermal_grad_max_c_per_px",
    "thermal_blob_area_px", "thermal_blob_centroid_x_px", "thermal_blob_centroid_y_px",
    "thermal_blob_compactness",
    "thermal_max_delta_c", "thermal_top_rise_c_per_s", "thermal_top_rise_short_c_per_s",
    "thermal_blob_growth_px_per_s", "thermal_diff_energy_c2", "thermal_diff_max_c",
    "thermal_flicker_power_c2", "thermal_flicker_fraction", "thermal_staleness_s",
)

#: Current-value features: median over the last ``current_s`` of the per-frame column.
_CURRENT_MEDIAN = (
    ("thermal_max_c", "max_c"), ("thermal_p99_c", "p99_c"), ("thermal_p95_c", "p95_c"),
    ("thermal_background_c", "background_c"), ("thermal_mean_c", "mean_c"), ("thermal_std_c", "std_c"),
    ("thermal_top_mean_c", "top_mean_c"), ("thermal_hot_frac_40c", "hot_frac_40c"),
    ("thermal_hot_frac_60c", "hot_frac_60c"), ("thermal_hot_frac_100c", "hot_frac_100c"),
    ("thermal_hot_frac_200c", "hot_frac_200c"), ("thermal_hot_frac_bg10k", "hot_frac_bg10k"),
    ("thermal_grad_max_c_per_px", "grad_max_c_per_px"), ("thermal_blob_area_px", "blob_area_px"),
)
_FEATURE_INDEX = {name: i for i, name in enumerate(THERMAL_FEATURES)}

#: Apparent temperature [C] of TLinear counts: ``count * resolution_k - 273.15`` [1]
#: (:func:`firesight.units.tlinear_to_celsius`; ``resolution_k`` one value or one per frame).
apparent_temperature_c = tlinear_to_celsius


def check_frames(frames: np.ndarray, resolution_k: np.ndarray, time_s: np.ndarray, where: str = "frames") -> None:
    """Raise :class:`DataError` unless ``frames`` is uint16 (n, 120, 160) and the per-frame
    arrays are finite, of length n, with positive resolution and non-decreasing time."""
    h, w = LEPTON35_FRAME["height_px"], LEPTON35_FRAME["width_px"]
    if not isinstance(frames, np.ndarray) or frames.ndim != 3 or frames.shape[1:] != (h, w):
        shape = getattr(frames, "shape", type(frames).__name__)
        raise DataError(f"{where}: thermal frames must have shape (n, {h}, {w}), got {shape}")
    if frames.dtype != np.uint16:
        raise DataError(f"{where}: thermal frames must be uint16 TLinear counts, got dtype {frames.dtype}")
    n = frames.shape[0]
    for name, values in (("resolution_k", resolution_k), ("time_s", time_s)):
        if np.shape(values) != (n,):
            raise DataError(f"{where}: {name} must have shape ({n},) like the frames, got {np.shape(values)}")
        if not np.all(np.isfinite(values)):
            bad = int(np.flatnonzero(~np.isfinite(values))[0])
            raise DataError(f"{where}: {name} must be finite, got {values[bad]!r} at frame {bad}")
    if np.any(resolution_k <= 0):
        bad = int(np.flatnonzero(resolution_k <= 0)[0])
        raise DataError(f"{where}: resolution_k must be > 0 [K per count], got {resolution_k[bad]!r} at frame {bad}")
    if n > 1 and np.any(np.diff(time_s) < 0):
        bad = int(np.flatnonzero(np.diff(time_s) < 0)[0]) + 1
        raise DataError(f"{where}: time_s must be non-decreasing, got {time_s[bad]!r} after {time_s[bad - 1]!r}")


@numba.njit(cache=True, nogil=True)
def _frame_statistics_kernel(frames, resolution_k, prev_frame, prev_resolution_k, has_prev,
                             thresholds_c, ranks, top_k, hot_delta_k, out, bbox):  # pragma: no cover - compiled
    """Pixel statistics per frame (see :func:`lepton_frame_features`).

    One pass over the pixels fills a 16-bit histogram and the temporal difference, one pass
    takes the gradient; everything order-based (percentiles, top-k mean, threshold counts,
    mean and variance) then comes exactly from walking the histogram between the frame's
    minimum and maximum count. A third pass finds the bounding box of the
    background-hot pixels, only when there are any.

    ``out`` columns: 0 max, 1 p99, 2 p95, 3 median, 4 mean, 5 std, 6 top-k mean [C],
    7.. pixel counts above each threshold, then above background + delta, then grad max
    [C/px], diff mean square [C2], diff max abs [C]. ``ranks``: ascending ranks of the
    median, p95 and p99. ``bbox`` gets (y0, y1, x0, x1) of the background-hot pixels.
    """
    n, h, w = frames.shape
    npx = h * w
    nthr = thresholds_c.shape[0]
    hist = np.zeros(65536, np.int64)
    counts = np.zeros(nthr, np.int64)
    rank_values = np.zeros(ranks.shape[0], np.int64)
    for i in range(n):
        r = resolution_k[i]
        frame = frames[i]
        if i > 0:
            prev = frames[i - 1]
            pr = resolution_k[i - 1]
            diff_ok = True
        else:
            prev = prev_frame
            pr = prev_resolution_k
            diff_ok = has_prev
        cmax = 0
        cmin = 65535
        d2 = 0.0
        dmax = 0.0
        for y in range(h):
            for x in range(w):
                c = frame[y, x]
                hist[c] += 1
                if c > cmax:
                    cmax = c
                if c < cmin:
                    cmin = c
                if diff_ok:
                    d = (np.float64(c) * r - ZERO_CELSIUS_K) - (np.float64(prev[y, x]) * pr - ZERO_CELSIUS_K)
                    d2 += d * d
                    if abs(d) > dmax:
                        dmax = abs(d)
        g2max = 0
        for y in range(h - 1):
            for x in range(w - 1):
                gx = np.int64(frame[y, x + 1]) - np.int64(frame[y, x])
                gy = np.int64(frame[y + 1, x]) - np.int64(frame[y, x])
                g2 = gx * gx + gy * gy
                if g2 > g2max:
                    g2max = g2
        # walk the histogram upwards: ranks, moments, threshold counts
        for k in range(nthr):
            counts[k] = 0
        s1 = 0.0
        s2 = 0.0
        cum = 0
        q = 0
        for v in range(cmin, cmax + 1):
            hv = hist[v]
            if hv == 0:
                continue
            cum += hv
            while q < ranks.shape[0] and cum > ranks[q]:
                rank_values[q] = v
                q += 1
            dv = np.float64(v - cmin)
            s1 += hv * dv
            s2 += hv * dv * dv
            tv = np.float64(v) * r - ZERO_CELSIUS_K
            for k in range(nthr):
                if tv > thresholds_c[k]:
                    counts[k] += hv
        background = np.float64(rank_values[0]) * r - ZERO_CELSIUS_K
        hot_limit = background + hot_delta_k
        # walk downwards: top-k sum and pixels hotter than the background limit
        remaining = top_k
        top_sum = 0.0
        nhot = 0
        for v in range(cmax, cmin - 1, -1):
            hv = hist[v]
            if hv == 0:
                continue
            tv = np.float64(v) * r - ZERO_CELSIUS_K
            if remaining > 0:
                take = hv if hv < remaining else remaining
                top_sum += take * tv
                remaining -= take
            if tv > hot_limit:
                nhot += hv
            elif remaining == 0:
                break
        for v in range(cmin, cmax + 1):
            hist[v] = 0
        mean_dv = s1 / npx
        var = s2 / npx - mean_dv * mean_dv
        if var < 0.0:
            var = 0.0
        out[i, 0] = np.float64(cmax) * r - ZERO_CELSIUS_K
        out[i, 1] = np.float64(rank_values[2]) * r - ZERO_CELSIUS_K
        out[i, 2] = np.float64(rank_values[1]) * r - ZERO_CELSIUS_K
        out[i, 3] = background
        out[i, 4] = (np.float64(cmin) + mean_dv) * r - ZERO_CELSIUS_K
        out[i, 5] = math.sqrt(var) * r
        out[i, 6] = top_sum / top_k
        for k in range(nthr):
            out[i, 7 + k] = counts[k]
        out[i, 7 + nthr] = nhot
        out[i, 8 + nthr] = math.sqrt(np.float64(g2max)) * r
        if diff_ok:
            out[i, 9 + nthr] = d2 / npx
            out[i, 10 + nthr] = dmax
        else:
            out[i, 9 + nthr] = np.nan
            out[i, 10 + nthr] = np.nan
        y0 = h
        y1 = -1
        x0 = w
        x1 = -1
        if nhot > 0:
            for y in range(h):
                for x in range(w):
                    if np.float64(frame[y, x]) * r - ZERO_CELSIUS_K > hot_limit:
                        if y < y0:
                            y0 = y
                        if y > y1:
                            y1 = y
                        if x < x0:
                            x0 = x
                        if x > x1:
                            x1 = x
        bbox[i, 0] = y0
        bbox[i, 1] = y1
        bbox[i, 2] = x0
        bbox[i, 3] = x1


def order_statistic_rank(quantile: float, n_px: int) -> int:
    """Ascending rank of the order statistic nearest to ``quantile * (n_px - 1)`` [-]."""
    return int(math.floor(quantile * (n_px - 1) + 0.5))


def largest_blob(mask: np.ndarray) -> tuple[int, float, float, float]:
    """Largest 8-connected blob of a boolean image.

    Returns
    -------
    area_px, centroid_x_px, centroid_y_px, compactness
        Area [px]; centroid [px] (x right, y down, from the top-left pixel centre);
        compactness = 16 A / P^2 with P the number of pixel edges on the blob boundary
        (isoperimetric quotient in the pixel-edge metric: 1 for a square, pi/4 for a disk,
        towards 0 for thin filaments). ``(0, nan, nan, nan)`` when the mask is empty.
    """
    labels, count = ndimage.label(mask, structure=np.ones((3, 3), dtype=bool))
    if count == 0:
        return 0, math.nan, math.nan, math.nan
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    best = int(np.argmax(sizes))
    blob = labels == best
    area = int(sizes[best])
    ys, xs = np.nonzero(blob)
    shared_edges = np.count_nonzero(blob[1:, :] & blob[:-1, :]) + np.count_nonzero(blob[:, 1:] & blob[:, :-1])
    perimeter = 4 * area - 2 * int(shared_edges)
    return area, float(xs.mean()), float(ys.mean()), 16.0 * area / perimeter ** 2


_FRAME_STRUCTURE = np.zeros((3, 3, 3), dtype=bool)
_FRAME_STRUCTURE[1] = True  # 8-connected within a frame, never across frames


def largest_blobs(frames: np.ndarray, resolution_k: np.ndarray, hot_limit_c: np.ndarray,
                  bbox: np.ndarray) -> np.ndarray:
    """Largest 8-connected blob of pixels hotter than ``hot_limit_c`` in each frame.

    All frames are labelled in one ``scipy.ndimage.label`` call on the union of their hot
    bounding boxes (``bbox`` rows: y0, y1, x0, x1), with a structure that never connects
    two frames; results do not depend on how frames are batched (ties go to the blob met
    first in raster order, centroids are sums of absolute pixel coordinates).

    Returns
    -------
    ndarray, shape (n, 4)
        Area [px], centroid x and y [px], compactness [-] as in :func:`largest_blob`.
    """
    n = frames.shape[0]
    y0, y1 = int(bbox[:, 0].min()), int(bbox[:, 1].max())
    x0, x1 = int(bbox[:, 2].min()), int(bbox[:, 3].max())
    crop = frames[:, y0:y1 + 1, x0:x1 + 1].astype(np.float64) * resolution_k[:, None, None] - ZERO_CELSIUS_K
    labels, count = ndimage.label(crop > hot_limit_c[:, None, None], structure=_FRAME_STRUCTURE)
    result = np.zeros((n, 4))
    result[:, 1:] = np.nan
    if count == 0:
        return result
    flat = labels.ravel()
    sizes = np.bincount(flat, minlength=count + 1).astype(np.float64)
    shape = labels.shape
    frame_index = np.broadcast_to(np.arange(n, dtype=np.float64)[:, None, None], shape).ravel()
    y_abs = np.broadcast_to(np.arange(y0, y1 + 1, dtype=np.float64)[None, :, None], shape).ravel()
    x_abs = np.broadcast_to(np.arange(x0, x1 + 1, dtype=np.float64)[None, None, :], shape).ravel()
    frame_of = np.rint(np.bincount(flat, weights=frame_index, minlength=count + 1)[1:] / sizes[1:]).astype(np.int64)
    sum_y = np.bincount(flat, weights=y_abs, minlength=count + 1)[1:]
    sum_x = np.bincount(flat, weights=x_abs, minlength=count + 1)[1:]
    right = labels[:, :, 1:]
    down = labels[:, 1:, :]
    shared = (np.bincount(right[(right == labels[:, :, :-1]) & (right > 0)], minlength=count + 1)
              + np.bincount(down[(down == labels[:, :-1, :]) & (down > 0)], minlength=count + 1))[1:]
    area = sizes[1:]
    ids = np.arange(1, count + 1)
    order = np.lexsort((ids, -area, frame_of))
    first = order[np.r_[True, frame_of[order][1:] != frame_of[order][:-1]]]
    frames_hit = frame_of[first]
    perimeter = 4.0 * area[first] - 2.0 * shared[first]
    result[frames_hit, 0] = area[first]
    result[frames_hit, 1] = sum_x[first] / area[first]
    result[frames_hit, 2] = sum_y[first] / area[first]
    result[frames_hit, 3] = 16.0 * area[first] / perimeter ** 2
    return result


def lepton_frame_features(frames: np.ndarray, time_s: np.ndarray, resolution_k: np.ndarray, *,
                          previous: tuple[np.ndarray, float, float] | None = None,
                          settings: dict | None = None) -> np.ndarray:
    """Per-frame statistics of a batch of *valid* Lepton frames (stage 1).

    Parameters
    ----------
    frames : ndarray of uint16, shape (n, 120, 160)
        TLinear counts of valid frames (FFC-frozen and invalid frames removed) in time order.
    time_s : ndarray of float, shape (n,)
        Frame times [s].
    resolution_k : ndarray of float, shape (n,)
        Kelvin per count of each frame [K].
    previous : (frame, time_s, resolution_k), optional
        The last valid frame before this batch, for the temporal difference of the first one.
    settings : dict, optional
        Overrides of :data:`THERMAL_SETTINGS`.

    Returns
    -------
    ndarray of float64, shape (n, len(FRAME_COLUMNS))
        Columns :data:`FRAME_COLUMNS`: temperatures [C]; hot fractions [-] of the frame above
        40 / 60 / 100 / 200 C and above background + :data:`HOT_DELTA_K`; spatial gradient
        magnitude max [C/px] (forward differences); mean square and max abs of the pixel
        difference to the previous valid frame [C2], [C] (NaN when the gap exceeds
        ``max_frame_gap_s``); largest hot blob (see :func:`largest_blob`).

    Notes
    -----
    Percentiles are exact order statistics of the 19,200 pixels (rank nearest to
    q (N - 1)); the background is the (nearest-rank) median; the hottest-region temperature
    ``top_mean_c`` is the mean of the ``top_k_px`` hottest pixels.
    """
    cfg = {**THERMAL_SETTINGS, **(settings or {})}
    frames = np.asarray(frames)
    time_s = np.asarray(time_s, dtype=np.float64)
    resolution = np.asarray(resolution_k, dtype=np.float64)
    check_frames(frames, resolution, time_s)
    frames = np.ascontiguousarray(frames)
    n, h, w = frames.shape
    thresholds = np.asarray(HOT_THRESHOLDS_C, dtype=np.float64)
    npx = h * w
    ranks = np.array([order_statistic_rank(q, npx) for q in (0.5, 0.95, 0.99)], dtype=np.int64)
    top_k = int(cfg["top_k_px"])
    if previous is not None:
        prev_frame = np.ascontiguousarray(previous[0], dtype=np.uint16).reshape(h, w)
        prev_time, prev_res, has_prev = float(previous[1]), float(previous[2]), True
    else:
        prev_frame, prev_time, prev_res, has_prev = np.zeros((h, w), np.uint16), math.nan, 1.0, False
    stats = np.empty((n, 11 + len(thresholds)), dtype=np.float64)
    bbox = np.empty((n, 4), dtype=np.int64)
    if n:
        _frame_statistics_kernel(frames, resolution, prev_frame, prev_res, has_prev, thresholds, ranks,
                                 top_k, HOT_DELTA_K, stats, bbox)
    out = np.full((n, len(FRAME_COLUMNS)), np.nan, dtype=np.float64)
    out[:, _COL["time_s"]] = time_s
    for col, src in (("max_c", 0), ("p99_c", 1), ("p95_c", 2), ("background_c", 3), ("mean_c", 4),
                     ("std_c", 5), ("top_mean_c", 6)):
        out[:, _COL[col]] = stats[:, src]
    for k, col in enumerate(("hot_frac_40c", "hot_frac_60c", "hot_frac_100c", "hot_frac_200c", "hot_frac_bg10k")):
        out[:, _COL[col]] = stats[:, 7 + k] / npx
    nthr = len(thresholds)
    out[:, _COL["grad_max_c_per_px"]] = stats[:, 8 + nthr]
    out[:, _COL["diff_ms_c2"]] = stats[:, 9 + nthr]
    out[:, _COL["diff_max_c"]] = stats[:, 10 + nthr]
    # temporal differences across a gap (FFC freeze, dropped frames) are not "no change"
    gaps = np.diff(np.concatenate(([prev_time], time_s))) if n else np.zeros(0)
    too_far = ~(gaps <= cfg["max_frame_gap_s"])
    out[too_far, _COL["diff_ms_c2"]] = np.nan
    out[too_far, _COL["diff_max_c"]] = np.nan
    # largest hot blob, labelled only where something is hot, on the hot bounding box
    out[:, _COL["blob_area_px"]] = 0.0
    hot = np.flatnonzero(stats[:, 7 + nthr] > 0)
    if hot.size:
        blobs = largest_blobs(frames[hot], resolution[hot], stats[hot, 3] + HOT_DELTA_K, bbox[hot])
        for k, col in enumerate(("blob_area_px", "blob_centroid_x_px", "blob_centroid_y_px", "blob_compactness")):
            out[hot, _COL[col]] = blobs[:, k]
    return out


def _second_bins(time_s: np.ndarray, values: np.ndarray, now_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Mean of ``values`` per whole second before ``now_s``; returns (bin time [s], mean)."""
    index = np.floor(now_s - time_s).astype(np.int64)
    ok = np.isfinite(values)
    index, vals = index[ok], values[ok]
    if index.size == 0:
        return np.zeros(0), np.zeros(0)
    counts = np.bincount(index)
    sums = np.bincount(index, weights=vals)
    filled = np.flatnonzero(counts)
    return now_s - filled - 0.5, sums[filled] / counts[filled]


def flicker_band_power(time_s: np.ndarray, values: np.ndarray, *, settings: dict | None = None) -> tuple[float, float]:
    """Flicker energy of a hottest-region temperature series (Welch, [4]).

    The series is split where consecutive samples are further apart than ``max_frame_gap_s``
    (FFC freezes, dropped frames); each run of at least ``flicker_nperseg`` samples gets a
    Welch periodogram (:func:`welch_psd`) at the median sampling rate, and the
    periodograms are averaged, weighted by run length.

    Returns
    -------
    power_c2, fraction
        Power in ``flicker_band_hz`` (upper edge clipped to Nyquist) [C2], and its share of
        the power above ``flicker_floor_hz`` [-]; both NaN when no run is long enough.
    """
    cfg = {**THERMAL_SETTINGS, **(settings or {})}
    nperseg = int(cfg["flicker_nperseg"])
    if time_s.size < nperseg:
        return math.nan, math.nan
    dt = np.diff(time_s)
    close = dt <= cfg["max_frame_gap_s"]
    if not close.any():
        return math.nan, math.nan
    fs = 1.0 / float(np.median(dt[close]))
    psd_sum = None
    weight = 0
    for run in np.split(values, np.flatnonzero(~close) + 1):
        if run.size < nperseg:
            continue
        freqs, psd = welch_psd(run, fs, nperseg)
        psd_sum = psd * run.size if psd_sum is None else psd_sum + psd * run.size
        weight += run.size
    if psd_sum is None:
        return math.nan, math.nan
    psd = psd_sum / weight
    df = freqs[1] - freqs[0]
    low, high = cfg["flicker_band_hz"]
    band = float(psd[(freqs >= low) & (freqs <= min(high, fs / 2))].sum() * df)
    total = float(psd[freqs >= cfg["flicker_floor_hz"]].sum() * df)
    return band, (band / total if total > 0 else math.nan)


def thermal_window_features(frame_table: np.ndarray, now_s: float, *, window_s: float = 60.0,
                            settings: dict | None = None) -> np.ndarray:
    """Window vector :data:`THERMAL_FEATURES` at ``now_s`` from per-frame rows (stage 2).

    Parameters
    ----------
    frame_table : ndarray, shape (m, len(FRAME_COLUMNS))
        Rows of :func:`lepton_frame_features`, sorted by time; rows after ``now_s`` are ignored.
    now_s : float
        Time of the window's end [s] (the window is ``(now_s - window_s, now_s]``).
    window_s : float
        Window length [s].

    Returns
    -------
    ndarray of float64
        Current values (median over the last ``current_s`` of valid frames; blob centroid and
        compactness of the latest frame with a blob there); ``thermal_max_delta_c`` [C]:
        current max minus the lowest per-second mean of the max in the window;
        ``thermal_top_rise_c_per_s`` / ``..._short_c_per_s`` [C/s]: Theil-Sen slope of the
        per-second mean hottest-region temperature over the window / the last
        ``short_window_s``; ``thermal_blob_growth_px_per_s`` [px/s]: same for the blob area;
        ``thermal_diff_energy_c2`` [C2] and ``thermal_diff_max_c`` [C]: window means of the
        per-frame temporal difference; flicker power [C2] and fraction [-]
        (:func:`flicker_band_power`); ``thermal_staleness_s`` [s]: now minus the latest valid
        frame. All NaN when no valid frame is in the window (staleness still given if any
        frame came before).
    """
    cfg = {**THERMAL_SETTINGS, **(settings or {})}
    out = np.full(len(THERMAL_FEATURES), np.nan)
    times = frame_table[:, _COL["time_s"]]
    end = int(np.searchsorted(times, now_s, side="right"))
    if end == 0:
        return out
    out[_FEATURE_INDEX["thermal_staleness_s"]] = now_s - times[end - 1]
    start = int(np.searchsorted(times, now_s - window_s, side="right"))
    if start >= end:
        return out
    rows = frame_table[start:end]
    t = rows[:, _COL["time_s"]]
    current = rows[t > t[-1] - cfg["current_s"]]
    medians = np.median(current, axis=0)
    for feature, column in _CURRENT_MEDIAN:
        out[_FEATURE_INDEX[feature]] = medians[_COL[column]]
    with_blob = current[current[:, _COL["blob_area_px"]] > 0]
    if with_blob.shape[0]:
        last = with_blob[-1]
        out[_FEATURE_INDEX["thermal_blob_centroid_x_px"]] = last[_COL["blob_centroid_x_px"]]
        out[_FEATURE_INDEX["thermal_blob_centroid_y_px"]] = last[_COL["blob_centroid_y_px"]]
        out[_FEATURE_INDEX["thermal_blob_compactness"]] = last[_COL["blob_compactness"]]
    _, max_bins = _second_bins(t, rows[:, _COL["max_c"]], now_s)
    out[_FEATURE_INDEX["thermal_max_delta_c"]] = medians[_COL["max_c"]] - max_bins.min()
    bin_t, top_bins = _second_bins(t, rows[:, _COL["top_mean_c"]], now_s)
    out[_FEATURE_INDEX["thermal_top_rise_c_per_s"]] = theil_sen_slope(bin_t, top_bins)
    recent = bin_t > now_s - cfg["short_window_s"]
    out[_FEATURE_INDEX["thermal_top_rise_short_c_per_s"]] = theil_sen_slope(bin_t[recent], top_bins[recent])
    bin_t, area_bins = _second_bins(t, rows[:, _COL["blob_area_px"]], now_s)
    out[_FEATURE_INDEX["thermal_blob_growth_px_per_s"]] = theil_sen_slope(bin_t, area_bins)
    for feature, column in (("thermal_diff_energy_c2", "diff_ms_c2"), ("thermal_diff_max_c", "diff_max_c")):
        values = rows[:, _COL[column]]
        values = values[np.isfinite(values)]
        if values.size:
            out[_FEATURE_INDEX[feature]] = values.mean()
    power, fraction = flicker_band_power(t, rows[:, _COL["top_mean_c"]], settings=cfg)
    out[_FEATURE_INDEX["thermal_flicker_power_c2"]] = power
    out[_FEATURE_INDEX["thermal_flicker_fraction"]] = fraction
    return out
