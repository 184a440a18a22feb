"""Compiled (numba) radiance mixing of :mod:`firesight.scenarios.render`: the hot
smoke layer in front of the room (per-pixel departure and per-object transmittance)
and one object laid over the image. Images are float32 radiance [W m-2 sr-1]; the
per-object mixing arithmetic is float64.

numba caches each kernel against its own file: a kernel compiled into a caller in
another file is not recompiled when only this file changes, so after editing it
clear ``src/firesight/scenarios/__pycache__/_render_*.nb*`` (or touch the callers).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from firesight.scenarios._render_pixels import _FAST

#: Taylor coefficients of 2^-f = exp(-f ln 2), f in [0, 1) (truncation < 1e-8).
_EXP2_TAYLOR = tuple(np.float32((-np.log(2.0)) ** k / np.prod(np.arange(1, k + 1))) for k in range(10))


@njit(cache=True, nogil=True, error_model="numpy", fastmath=_FAST)
def smoke_departure(dep, z_max, length_per_dz, ray_length, z_bottom, kappa, l_smoke, l_bg):
    """Room radiance behind the hot layer minus the bare-room radiance, per pixel:
    ``(1 - tau)(l_smoke - l_bg)``, ``tau = exp(-kappa l)`` with the in-layer path length
    ``l = min(max(z_max - z_bottom, 0) * length_per_dz, ray_length)`` [m]. Writes the
    (h, w) float32 ``dep``; returns the rows ``(first, last + 1)`` that can be non-zero.

    ``tau = 2^-(n + f)`` in float32 so that the loop vectorises: ``2^-f`` from a degree-9
    polynomial, ``2^-n`` built from its IEEE-754 exponent bits (relative error < 1e-7)."""
    h, w = dep.shape
    dl = np.float32(l_smoke - l_bg)
    zb = np.float32(z_bottom)
    k2 = np.float32(kappa / np.log(2.0))
    c = _EXP2_TAYLOR
    exponent = np.empty(w, dtype=np.int32)
    mantissa = np.empty(w, dtype=np.float32)
    scale = exponent.view(np.float32)
    one = np.float32(1.0)
    for i in range(h):
        row = dep[i]
        zr = z_max[i * w:(i + 1) * w]
        lr = length_per_dz[i * w:(i + 1) * w]
        rr = ray_length[i * w:(i + 1) * w]
        for j in range(w):
            x = min(min(max(zr[j] - zb, np.float32(0.0)) * lr[j], rr[j]) * k2, np.float32(120.0))
            n = np.int32(x)
            f = x - np.float32(n)
            p = c[9]
            for q in range(8, -1, -1):
                p = p * f + c[q]
            exponent[j] = (np.int32(127) - n) << np.int32(23)
            mantissa[j] = p
        for j in range(w):
            row[j] = (one - mantissa[j] * scale[j]) * dl
    first, last = h, -1
    if kappa > 0.0 and dl != 0.0:
        for i in range(h):
            zmax = z_max[i * w]
            for j in range(1, w):
                zmax = max(zmax, z_max[i * w + j])
            if zmax > z_bottom:
                first = min(first, i)
                last = i
    return (first, last + 1) if last >= 0 else (0, 0)


@njit(cache=True, nogil=True, error_model="numpy")
def _smoke_transmittance(centre_z, cam_z, distance, kappa, z_bottom):
    """Transmittance of the layer between the camera and an object centre."""
    if kappa <= 0.0:
        return 1.0
    lo, hi = min(centre_z, cam_z), max(centre_z, cam_z)
    if hi - lo > 1e-9:
        frac = min(max((hi - z_bottom) / (hi - lo), 0.0), 1.0)
    else:
        frac = 1.0 if hi >= z_bottom else 0.0
    return np.exp(-kappa * frac * distance)


@njit(cache=True, nogil=True, error_model="numpy")
def _composite(dep, under_a, under_b, wb, l_under, cov, box, tau, eps, l_obj, l_smoke):
    """Lay one object over the image: ``x <- x + c (seen - x)`` with
    ``seen = tau (eps L_obj + (1 - eps) x) + (1 - tau) L_layer``, where the current
    radiance is ``x = l_under + lerp(under_a, under_b, wb) + dep`` and ``dep`` is the
    departure being built (all float32 (h, w)); pixels of ``box`` with zero coverage keep theirs."""
    r0, c0 = box[0], box[2]
    for rr in range(cov.shape[0]):
        i = r0 + rr
        for cc in range(cov.shape[1]):
            cv = cov[rr, cc]
            j = c0 + cc
            if cv > 0.0:
                under = l_under + under_a[i, j] + wb * (under_b[i, j] - under_a[i, j])
                x = under + dep[i, j]
                seen = tau * (eps * l_obj + (1.0 - eps) * x) + (1.0 - tau) * l_smoke
                dep[i, j] = x + cv * (seen - x) - under
