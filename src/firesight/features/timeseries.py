"""Time-series statistics shared by the thermal and gas features: a robust trend (the
Theil-Sen slope) and a power spectrum (Welch's method). Signal-processing estimators,
not learned models (those are in :mod:`firesight.detection`).

Both are standard estimators, written out (and checked against SciPy in the tests) only
because they run thousands of times per scenario on short series, where SciPy's per-call
overhead is ~100x the arithmetic.

References
----------
1. Sen, P. K., "Estimates of the regression coefficient based on Kendall's tau",
   J. Am. Stat. Assoc. 63 (1968) 1379-1389.
2. Welch, P. D., "The use of fast Fourier transform for the estimation of power spectra",
   IEEE Trans. Audio Electroacoust. 15 (1967) 70-73.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from scipy import signal


def theil_sen_slope(x: np.ndarray, y: np.ndarray) -> float:
    """Theil-Sen slope [y units per x unit]: median of pairwise slopes [1]; NaN for fewer
    than two distinct x. Same estimate as ``scipy.stats.theilslopes`` (tested), without its
    confidence interval, which costs more than the slope."""
    x = np.ascontiguousarray(x, dtype=np.float64)
    y = np.ascontiguousarray(y, dtype=np.float64)
    if x.size < 2:
        return math.nan
    return float(_theil_sen_kernel(x, y))


@numba.njit(cache=True, nogil=True)
def _theil_sen_kernel(x, y):  # pragma: no cover - compiled
    n = x.shape[0]
    slopes = np.empty(n * (n - 1) // 2)
    m = 0
    for i in range(n):
        for j in range(i + 1, n):
            dx = x[j] - x[i]
            if dx != 0.0:
                slopes[m] = (y[j] - y[i]) / dx
                m += 1
    if m == 0:
        return np.nan
    return np.median(slopes[:m])


def welch_psd(values: np.ndarray, fs_hz: float, nperseg: int) -> tuple[np.ndarray, np.ndarray]:
    """One-sided power spectral density by Welch's method [2]: Hann-windowed segments of
    ``nperseg`` samples with 50 % overlap, each linearly detrended; density scaling.

    Equal to ``scipy.signal.welch(values, fs_hz, nperseg=nperseg, detrend="linear")``
    (tested), vectorised over segments because the scipy call costs ~100x more per window
    than the arithmetic on a 30-500 sample series.

    Returns
    -------
    freqs_hz, psd
        Frequencies [Hz] and PSD [units^2 / Hz].
    """
    segments = np.lib.stride_tricks.sliding_window_view(values, nperseg)[:: nperseg // 2]
    basis, window, scale = _welch_tables(nperseg)
    detrended = segments - (segments @ basis) @ basis.T
    spectrum = np.abs(np.fft.rfft(detrended * window, axis=1)) ** 2
    psd = spectrum.mean(axis=0) * (scale / fs_hz)
    psd[1:-1 if nperseg % 2 == 0 else None] *= 2.0
    return np.fft.rfftfreq(nperseg, 1.0 / fs_hz), psd


_WELCH_CACHE: dict[int, tuple[np.ndarray, np.ndarray, float]] = {}


def _welch_tables(nperseg: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Orthonormal basis of {1, t} (for linear detrending), periodic Hann window and
    density scale 1 / sum(w^2) for segments of ``nperseg`` samples."""
    if nperseg not in _WELCH_CACHE:
        ramp = np.arange(nperseg, dtype=np.float64)
        basis, _ = np.linalg.qr(np.column_stack([np.ones(nperseg), ramp]))
        window = signal.get_window("hann", nperseg)
        _WELCH_CACHE[nperseg] = (basis, window, 1.0 / float(np.sum(window ** 2)))
    return _WELCH_CACHE[nperseg]
