"""Compiled (numba) per-pixel pieces of :mod:`firesight.scenarios.render`: the
inverse Planck function (global polynomial and per-image Chebyshev refit), row
range and peak sweeps, and the separable PSF blur of the Lepton optics. Images are
float32 (radiance [W m-2 sr-1]).

numba caches each kernel against its own file: a kernel compiled into a caller in
another file is not recompiled when only this file changes, so after editing it
clear ``src/firesight/scenarios/__pycache__/_render_*.nb*`` (or touch the callers).
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: Floating-point freedoms of the per-pixel kernels: fused multiply-add and no NaN/inf
#: (lets min/max and polynomial loops vectorise); no reassociation.
_FAST = {"contract", "nnan", "ninf", "nsz"}


@njit(cache=True, nogil=True, inline="always")
def _inverse_planck(rad, scale, offset, coeffs):
    """Temperature [K] of band radiance ``rad`` [W m-2 sr-1]: the polynomial of
    :func:`~firesight.physics.radiometry.band_radiance_inverse_polynomial` in
    ``u = scale rad^(1/4) + offset`` (two square roots and a Horner sweep, no table)."""
    u = min(max(np.sqrt(np.sqrt(max(rad, 0.0))) * scale + offset, -1.0), 1.0)
    acc = coeffs[len(coeffs) - 1]
    for q in range(len(coeffs) - 2, -1, -1):
        acc = acc * u + coeffs[q]
    return acc


@njit(cache=True, nogil=True, fastmath=_FAST)
def _row_range(row):
    """Smallest and largest value of a float32 row (vectorised sweep)."""
    lo, hi = row[0], row[0]
    for j in range(1, row.size):
        lo = min(lo, row[j])
        hi = max(hi, row[j])
    return np.float64(lo), np.float64(hi)


#: Degree and accepted error [K] (against the global polynomial) of the per-image
#: inverse over the image's own radiance range.
_LOCAL_DEGREE = 8
_LOCAL_TOLERANCE_K = 2e-5


@njit(cache=True, nogil=True)
def _local_inverse(d_min, d_max, l_bg, scale, offset, coeffs):
    """Inverse Planck function of ``L = l_bg + d`` for ``d`` in ``[d_min, d_max]`` as a
    degree-8 polynomial in ``v = d * v_scale + v_offset`` in [-1, 1] (no square roots):
    the Chebyshev interpolant of the global polynomial, accepted when it agrees with it
    to ``_LOCAL_TOLERANCE_K`` at 65 points across the range (narrow ranges: a room seen
    through a smoke layer). Returns ``(ok, v_scale, v_offset, monomial coefficients)``."""
    n = _LOCAL_DEGREE + 1
    mono = np.zeros(n)
    if not d_max >= d_min:
        return False, 0.0, 0.0, mono
    if d_max - d_min <= 1e-9 * (abs(l_bg) + abs(d_max)):
        mono[0] = _inverse_planck(l_bg + 0.5 * (d_min + d_max), scale, offset, coeffs)
        return True, 0.0, 0.0, mono
    half, mid = 0.5 * (d_max - d_min), 0.5 * (d_max + d_min)
    cheb = np.zeros(n)
    for k in range(n):
        x = np.cos(np.pi * (k + 0.5) / n)
        f = _inverse_planck(l_bg + mid + half * x, scale, offset, coeffs)
        t_prev, t_cur = 1.0, x
        cheb[0] += f
        for j in range(1, n):
            cheb[j] += f * t_cur
            t_prev, t_cur = t_cur, 2.0 * x * t_cur - t_prev
    cheb *= 2.0 / n
    cheb[0] *= 0.5
    # Chebyshev series to monomials: T_0 = 1, T_1 = v, T_j+1 = 2 v T_j - T_j-1
    t_prev = np.zeros(n)
    t_cur = np.zeros(n)
    t_prev[0] = 1.0
    t_cur[1] = 1.0
    mono[0] = cheb[0]
    mono[:] += cheb[1] * t_cur
    for j in range(2, n):
        t_next = -t_prev
        t_next[1:] += 2.0 * t_cur[:-1]
        mono += cheb[j] * t_next
        t_prev, t_cur = t_cur, t_next
    for q in range(65):
        v = -1.0 + q / 32.0
        acc = mono[n - 1]
        for j in range(n - 2, -1, -1):
            acc = acc * v + mono[j]
        if abs(acc - _inverse_planck(l_bg + mid + half * v, scale, offset, coeffs)) > _LOCAL_TOLERANCE_K:
            return False, 0.0, 0.0, mono
    return True, 1.0 / half, -mid / half, mono


@njit(cache=True, nogil=True, fastmath=_FAST)
def _track_peak(row, first, peak, hint):
    """``(peak, hint)`` updated with the largest value of ``row`` and its flat index
    (``first`` is the index of ``row[0]``); a separate max sweep keeps the producing
    loop vectorisable."""
    m = row[0]
    for j in range(1, row.size):
        m = max(m, row[j])
    if m > peak:
        for j in range(row.size):
            if row[j] == m:
                return m, first + j
    return peak, hint


@njit(cache=True, nogil=True, inline="always")
def _source_row(ii, r0, r1, h):
    """Row of the source read for image row ``ii`` (clamped to the image) when the image
    is zero outside rows ``r0:r1``, and whether it counts: rows outside the box read
    row ``r0`` with weight 0, so the source pointer needs no branch."""
    ii = min(max(ii, 0), h - 1)
    return (ii, True) if r0 <= ii < r1 else (r0, False)


@njit(cache=True, nogil=True, error_model="numpy", fastmath=_FAST)
def blur_box(src, dst, r0, r1, c0, c1, taps):
    """Separable PSF blur of an image that is zero outside rows ``r0:r1`` and columns
    ``c0:c1`` (only that box of ``src`` is read), edges replicated at the image border.
    The result is written into ``dst`` (float32 (h, w), like ``src``) over the footprint
    ``(a0, a1, b0, b1)`` (the box grown by the PSF radius, clipped to the image), which
    is returned. Seven taps (PSF radius 3 px, or a smaller kernel padded with zeros)
    take an unrolled path; longer kernels (a PSF with wide wings) go four taps per pass.

    Per output row, the vertical pass fills a private padded row covering columns
    ``b0 - r .. b1 + r`` (zero beyond the box inside the image, the edge value beyond
    the image); the horizontal pass reads it."""
    h, w = src.shape
    r = taps.size // 2
    a0, a1 = max(r0 - r, 0), min(r1 + r, h)
    b0, b1 = max(c0 - r, 0), min(c1 + r, w)
    nc, nb = c1 - c0, b1 - b0
    pad = np.zeros(nb + 2 * r, dtype=np.float32)
    lo, hi = c0 - (b0 - r), c1 - (b0 - r)  # the box's columns within the padded row
    unrolled = taps.size == 7
    for i in range(a0, a1):
        vrow = pad[lo:hi]
        if unrolled:
            i0, k0 = _source_row(i - 3, r0, r1, h)
            i1, k1 = _source_row(i - 2, r0, r1, h)
            i2, k2 = _source_row(i - 1, r0, r1, h)
            i3, k3 = _source_row(i, r0, r1, h)
            i4, k4 = _source_row(i + 1, r0, r1, h)
            i5, k5 = _source_row(i + 2, r0, r1, h)
            i6, k6 = _source_row(i + 3, r0, r1, h)
            s0, s1, s2, s3 = src[i0, c0:c1], src[i1, c0:c1], src[i2, c0:c1], src[i3, c0:c1]
            s4, s5, s6 = src[i4, c0:c1], src[i5, c0:c1], src[i6, c0:c1]
            z = np.float32(0.0)
            t0 = taps[0] if k0 else z
            t1 = taps[1] if k1 else z
            t2 = taps[2] if k2 else z
            t3 = taps[3] if k3 else z
            t4 = taps[4] if k4 else z
            t5 = taps[5] if k5 else z
            t6 = taps[6] if k6 else z
            for j in range(nc):
                vrow[j] = (t0 * s0[j] + t1 * s1[j] + t2 * s2[j] + t3 * s3[j] + t4 * s4[j] + t5 * s5[j]
                           + t6 * s6[j])
        else:  # any odd length: four taps per pass over the row, then the rest one by one
            vrow[:] = 0.0
            n_taps = 2 * r + 1
            z = np.float32(0.0)
            q = 0
            while q + 4 <= n_taps:
                i0, k0 = _source_row(i + q - r, r0, r1, h)
                i1, k1 = _source_row(i + q + 1 - r, r0, r1, h)
                i2, k2 = _source_row(i + q + 2 - r, r0, r1, h)
                i3, k3 = _source_row(i + q + 3 - r, r0, r1, h)
                t0 = taps[q] if k0 else z
                t1 = taps[q + 1] if k1 else z
                t2 = taps[q + 2] if k2 else z
                t3 = taps[q + 3] if k3 else z
                s0, s1, s2, s3 = src[i0, c0:c1], src[i1, c0:c1], src[i2, c0:c1], src[i3, c0:c1]
                for j in range(nc):
                    vrow[j] += t0 * s0[j] + t1 * s1[j] + t2 * s2[j] + t3 * s3[j]
                q += 4
            while q < n_taps:
                ii, counts = _source_row(i + q - r, r0, r1, h)
                if counts:
                    t = taps[q]
                    srow = src[ii, c0:c1]
                    for j in range(nc):
                        vrow[j] += t * srow[j]
                q += 1
        for x in range(lo):  # left of the box: zero, or the edge value beyond the image
            pad[x] = pad[lo] if c0 == 0 and x < r - b0 else 0.0
        for x in range(hi, nb + 2 * r):
            pad[x] = pad[hi - 1] if c1 == w and b0 - r + x >= w else 0.0
        drow = dst[i, b0:b1]
        if unrolled:
            t0, t1, t2, t3, t4, t5, t6 = taps[0], taps[1], taps[2], taps[3], taps[4], taps[5], taps[6]
            for j in range(nb):
                drow[j] = (t0 * pad[j] + t1 * pad[j + 1] + t2 * pad[j + 2] + t3 * pad[j + 3]
                           + t4 * pad[j + 4] + t5 * pad[j + 5] + t6 * pad[j + 6])
        else:
            drow[:] = 0.0
            n_taps = 2 * r + 1
            q = 0
            while q + 4 <= n_taps:
                t0, t1, t2, t3 = taps[q], taps[q + 1], taps[q + 2], taps[q + 3]
                for j in range(nb):
                    drow[j] += t0 * pad[j + q] + t1 * pad[j + q + 1] + t2 * pad[j + q + 2] + t3 * pad[j + q + 3]
                q += 4
            while q < n_taps:
                t = taps[q]
                for j in range(nb):
                    drow[j] += t * pad[j + q]
                q += 1
    return a0, a1, b0, b1
