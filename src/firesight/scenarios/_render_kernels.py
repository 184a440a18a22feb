"""Compiled (numba) kernels of :mod:`firesight.scenarios.render`: ellipse footprint and
coverage, smoke-layer transmittance, separable PSF blur, inverse-Planck lookup, and the
fused pass that turns a run of scene samples into key images. The equations are
documented in :mod:`firesight.scenarios.render` and docs/sensors.md.

Images are float32 (radiance [W m-2 sr-1], key counts [0.01 K]); geometry and the
per-object mixing arithmetic are float64. Every result depends only on the scene sample
it belongs to, never on which call or cache computed it, so the output bytes do not
depend on the chunking.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# ---- geometry -------------------------------------------------------------------------
#: Floating-point freedoms of the per-pixel kernels: fused multiply-add and no NaN/inf
#: (lets min/max and polynomial loops vectorise); no reassociation.
_FAST = {"contract", "nnan", "ninf", "nsz"}
_RIM_COS = np.cos(2.0 * np.pi * np.arange(32) / 32)
_RIM_SIN = np.sin(2.0 * np.pi * np.arange(32) / 32)


@njit(cache=True, nogil=True)
def _plane_axes(cam_pos, c, horizontal):
    """Normal and in-plane axes of an object: a horizontal ellipse lies in z = const; a
    vertical one stands up facing the camera."""
    if horizontal:
        return (np.array([0.0, 0.0, 1.0]), np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0]))
    dx, dy = cam_pos[0] - c[0], cam_pos[1] - c[1]
    norm = np.sqrt(dx * dx + dy * dy)
    if norm > 1e-9:
        n = np.array([dx / norm, dy / norm, 0.0])
    else:
        n = np.array([1.0, 0.0, 0.0])
    return n, np.array([-n[1], n[0], 0.0]), np.array([0.0, 0.0, 1.0])


@njit(cache=True, nogil=True, error_model="numpy")
def ellipse_box(cam_pos, c, a, b, horizontal, rot, focal, h, w, box):
    """Pixel bounding box ``(r0, r1, c0, c1)`` of the ellipse ``{c + x u + y v :
    (x/a)^2 + (y/b)^2 <= 1}`` from 32 rim points (one pixel of margin), written into
    ``box``; the whole image when part of the rim is behind the camera. Returns False
    when the object cannot be seen."""
    if a <= 0.0 or b <= 0.0:
        return False
    n, u, v = _plane_axes(cam_pos, c, horizontal)
    r_min, r_max, c_min, c_max = 1e300, -1e300, 1e300, -1e300
    behind = False
    for t in range(32):
        ca, sb = a * _RIM_COS[t], b * _RIM_SIN[t]
        p0 = c[0] + ca * u[0] + sb * v[0] - cam_pos[0]
        p1 = c[1] + ca * u[1] + sb * v[1] - cam_pos[1]
        p2 = c[2] + ca * u[2] + sb * v[2] - cam_pos[2]
        xc = p0 * rot[0, 0] + p1 * rot[1, 0] + p2 * rot[2, 0]
        yc = p0 * rot[0, 1] + p1 * rot[1, 1] + p2 * rot[2, 1]
        zc = p0 * rot[0, 2] + p1 * rot[1, 2] + p2 * rot[2, 2]
        if zc <= 1e-9:
            behind = True
            continue
        col = xc / zc * focal + 0.5 * w
        row = -yc / zc * focal + 0.5 * h
        r_min, r_max = min(r_min, row), max(r_max, row)
        c_min, c_max = min(c_min, col), max(c_max, col)
    if behind:
        if r_max < r_min:  # the whole rim is behind the camera
            return False
        r0, r1, c0, c1 = 0, h, 0, w
    else:
        r0 = max(int(np.floor(r_min)) - 1, 0)
        r1 = min(int(np.ceil(r_max)) + 1, h)
        c0 = max(int(np.floor(c_min)) - 1, 0)
        c1 = min(int(np.ceil(c_max)) + 1, w)
    if r0 >= r1 or c0 >= c1:
        return False
    box[0], box[1], box[2], box[3] = r0, r1, c0, c1
    return True


@njit(cache=True, nogil=True, error_model="numpy")
def ellipse_coverage(cam_pos, c, a, b, horizontal, rot, focal, h, w, ss, box):
    """Fraction of each pixel of ``box`` covered by the ellipse, from ``ss x ss``
    samples per pixel at the sample points ``(i + (si + 0.5)/ss, j + (sj + 0.5)/ss)``.

    A camera ray ``d = R (x, y, 1)`` meets the plane (normal ``n``) at local coordinates
    ``alpha = [(g.u)(n.d) - (g.n)(u.d)] / (n.d)`` (likewise ``beta`` with ``v``),
    ``g = cam - c``; it is inside the ellipse when ``(alpha/a)^2 + (beta/b)^2 <= 1`` and
    in front of the camera when ``-(g.n) / (n.d) > 0``. Along one sample row (``y``
    fixed) ``alpha (n.d)``, ``beta (n.d)`` and ``n.d`` are affine in ``x``, so the inside
    test is a quadratic inequality: its roots and the root of ``n.d`` split the row into
    at most four segments, each wholly in or out, and the samples of a segment are
    counted without testing them one by one.
    """
    n, u, v = _plane_axes(cam_pos, c, horizontal)
    r0, r1, c0, c1 = box[0], box[1], box[2], box[3]
    nn = np.zeros(3)
    uu = np.zeros(3)
    vv = np.zeros(3)
    for i in range(3):  # camera-frame components R^T n, R^T u, R^T v
        for q in range(3):
            nn[i] += rot[q, i] * n[q]
            uu[i] += rot[q, i] * u[q]
            vv[i] += rot[q, i] * v[q]
    g0, g1, g2 = cam_pos[0] - c[0], cam_pos[1] - c[1], cam_pos[2] - c[2]
    gn = g0 * n[0] + g1 * n[1] + g2 * n[2]
    gu = g0 * u[0] + g1 * u[1] + g2 * u[2]
    gv = g0 * v[0] + g1 * v[1] + g2 * v[2]
    cov = np.zeros((r1 - r0, c1 - c0))
    pts = np.empty(6)
    x_lo = (c0 - 1.0 - 0.5 * w) / focal
    x_hi = (c1 + 1.0 - 0.5 * w) / focal
    d1 = nn[0]
    a1 = (gu * nn[0] - gn * uu[0]) / a
    b1 = (gv * nn[0] - gn * vv[0]) / b
    p2 = a1 * a1 + b1 * b1 - d1 * d1
    g_min, g_max = c0 * ss, c1 * ss - 1
    for i in range(r0, r1):
        crow = cov[i - r0]
        for si in range(ss):
            y = -((i + (si + 0.5) / ss) - 0.5 * h) / focal
            d0 = nn[1] * y + nn[2]
            a0 = (gu * d0 - gn * (uu[1] * y + uu[2])) / a
            b0 = (gv * d0 - gn * (vv[1] * y + vv[2])) / b
            p1 = 2.0 * (a1 * a0 + b1 * b0 - d1 * d0)
            p0 = a0 * a0 + b0 * b0 - d0 * d0
            # breakpoints: roots of p2 x^2 + p1 x + p0 and of d1 x + d0, within the row
            m = 0
            pts[m] = x_lo
            m += 1
            if p2 != 0.0:
                disc = p1 * p1 - 4.0 * p2 * p0
                if disc >= 0.0:
                    t = -0.5 * (p1 + np.copysign(np.sqrt(disc), p1))
                    pts[m] = t / p2
                    m += 1
                    if t != 0.0:
                        pts[m] = p0 / t
                        m += 1
            elif p1 != 0.0:
                pts[m] = -p0 / p1
                m += 1
            if d1 != 0.0:
                pts[m] = -d0 / d1
                m += 1
            pts[m] = x_hi
            m += 1
            for q in range(1, m):  # clip into the row, insertion sort
                xq = min(max(pts[q], x_lo), x_hi)
                r = q
                while r > 0 and pts[r - 1] > xq:
                    pts[r] = pts[r - 1]
                    r -= 1
                pts[r] = xq
            for q in range(m - 1):
                xa, xb = pts[q], pts[q + 1]
                if xb <= xa:
                    continue
                xm = 0.5 * (xa + xb)
                if (p2 * xm + p1) * xm + p0 > 0.0 or -gn * (d1 * xm + d0) <= 0.0:
                    continue
                # samples x_g = ((g + 0.5)/ss - w/2)/focal with xa <= x_g <= xb
                g_a = max(int(np.ceil((xa * focal + 0.5 * w) * ss - 0.5)), g_min)
                g_b = min(int(np.floor((xb * focal + 0.5 * w) * ss - 0.5)), g_max)
                if g_b < g_a:
                    continue
                ja, jb = g_a // ss, g_b // ss
                if ja == jb:
                    crow[ja - c0] += g_b - g_a + 1
                else:
                    crow[ja - c0] += (ja + 1) * ss - g_a
                    for jj in range(ja + 1, jb):
                        crow[jj - c0] += ss
                    crow[jb - c0] += g_b - jb * ss + 1
    cov *= 1.0 / (ss * ss)
    return cov


@njit(cache=True, nogil=True)
def supersampling(a, b, distance, focal):
    """Samples per pixel side: at least 16 across the object's smaller extent, 2..64."""
    extent = 2.0 * min(a, b) * focal / max(distance, 1e-6)
    return int(min(max(np.ceil(16.0 / max(extent, 1e-6)), 2.0), 64.0))


# ---- per-pixel pieces -----------------------------------------------------------------
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
    take an unrolled path.

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
        else:
            vrow[:] = 0.0
            for q in range(2 * r + 1):
                ii, counts = _source_row(i + q - r, r0, r1, h)
                if counts:
                    t = taps[q]
                    srow = src[ii, c0:c1]
                    for j in range(nc):
                        vrow[j] += t * srow[j]
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
            for q in range(2 * r + 1):
                t = taps[q]
                for j in range(nb):
                    drow[j] += t * pad[j + q]
    return a0, a1, b0, b1


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


@njit(cache=True, nogil=True, error_model="numpy")
def _object_coverage(j, k, centers, params, flags, cam_pos, rot, focal, h, w, cov_key, cov_ok, cov_box, covs):
    """Coverage of object ``j`` at sample ``k`` (occlusion applied) in ``cov_box[j]``;
    recomputed only when its centre or size differs from the cached one. Returns False
    when out of view."""
    c = centers[j, k]
    a, b = params[j, 0, k], params[j, 1, k]
    key = cov_key[j]
    if (key[5] > 0.5 and key[0] == c[0] and key[1] == c[1] and key[2] == c[2] and key[3] == a
            and key[4] == b):
        return cov_ok[j]
    key[0], key[1], key[2], key[3], key[4], key[5] = c[0], c[1], c[2], a, b, 1.0
    horizontal = flags[j, 0] > 0.5
    cov_ok[j] = ellipse_box(cam_pos, c, a, b, horizontal, rot, focal, h, w, cov_box[j])
    if cov_ok[j]:
        dx, dy, dz = c[0] - cam_pos[0], c[1] - cam_pos[1], c[2] - cam_pos[2]
        ss = supersampling(a, b, np.sqrt(dx * dx + dy * dy + dz * dz), focal)
        cov = ellipse_coverage(cam_pos, c, a, b, horizontal, rot, focal, h, w, ss, cov_box[j])
        cov *= 1.0 - flags[j, 1]
        covs[j] = cov
    return cov_ok[j]


@njit(cache=True, nogil=True, error_model="numpy")
def _distance(centers, j, k, cam_pos):
    c = centers[j, k]
    dx, dy, dz = c[0] - cam_pos[0], c[1] - cam_pos[1], c[2] - cam_pos[2]
    return np.sqrt(dx * dx + dy * dy + dz * dz)


@njit(cache=True, nogil=True, error_model="numpy")
def _far_to_near(chosen, k, centers, cam_pos):
    """Indices of the chosen objects sorted far to near at sample ``k`` (stable)."""
    idx = np.flatnonzero(chosen)
    dist = np.empty(idx.size)
    for q in range(idx.size):
        dist[q] = -_distance(centers, idx[q], k, cam_pos)
    return idx[np.argsort(dist, kind="mergesort")]


@njit(cache=True, nogil=True, error_model="numpy", fastmath=_FAST)
def _base_image(k, static, slot, l_surface, smoke, z_max, length_per_dz, ray_length, centers, params,
                flags, cam_pos, rot, focal, taps, inv_scale, inv_offset, inv_coeffs, fpn, fpn_max, fpn_argmax, zeros,
                cov_key, cov_ok, cov_box, covs, base_lbg, base_rows, base_peak, base_hint, room_dep,
                blur_dep, counts):
    """Room + smoke layer + the objects in ``static`` at sample ``k``, into cache slot
    ``slot``: the unblurred radiance departure from the bare room (``room_dep``), its
    blur (``blur_dep``, valid in rows ``base_rows[slot]``, zero elsewhere) and the key
    counts ``100 T + fpn`` with T the inverse Planck of the blurred radiance."""
    h, w = zeros.shape
    dep = room_dep[slot]
    blur = blur_dep[slot]
    out = counts[slot]
    l_bg = l_surface[k]
    kappa, z_bottom, l_smoke = smoke[0, k], smoke[1, k], smoke[2, k]
    if kappa > 0.0:
        ra, rb = smoke_departure(dep, z_max, length_per_dz, ray_length, z_bottom, kappa, l_smoke, l_bg)
    else:
        dep[:, :] = 0.0
        ra, rb = 0, 0
    for j in _far_to_near(static, k, centers, cam_pos):
        if not _object_coverage(j, k, centers, params, flags, cam_pos, rot, focal, h, w, cov_key,
                                cov_ok, cov_box, covs):
            continue
        tau = _smoke_transmittance(centers[j, k, 2], cam_pos[2], _distance(centers, j, k, cam_pos),
                                   kappa, z_bottom)
        _composite(dep, zeros, zeros, 0.0, l_bg, covs[j], cov_box[j], tau, params[j, 2, k],
                   params[j, 3, k], l_smoke)
        if rb <= ra:
            ra, rb = cov_box[j, 0], cov_box[j, 1]
        else:
            ra, rb = min(ra, cov_box[j, 0]), max(rb, cov_box[j, 1])
    c_bg = np.float32(100.0 * _inverse_planck(l_bg, inv_scale, inv_offset, inv_coeffs))
    a0, a1 = 0, 0
    if rb > ra:
        a0, a1, _, _ = blur_box(dep, blur, ra, rb, 0, w, taps)
    # a short polynomial in the departure when the image's radiance range allows it
    d_min, d_max = np.inf, -np.inf
    for i in range(a0, a1):
        lo, hi = _row_range(blur[i])
        d_min, d_max = min(d_min, lo), max(d_max, hi)
    local, v_scale, v_offset, m = _local_inverse(d_min, d_max, l_bg, inv_scale, inv_offset, inv_coeffs)
    m0, m1, m2, m3, m4, m5, m6, m7, m8 = m[0], m[1], m[2], m[3], m[4], m[5], m[6], m[7], m[8]
    peak, hint = c_bg + fpn_max, fpn_argmax
    for i in range(h):
        orow = out[i]
        frow = fpn[i]
        if i < a0 or i >= a1:
            for j in range(w):
                orow[j] = c_bg + frow[j]
            continue
        brow = blur[i]
        if local:
            for j in range(w):
                v = brow[j] * v_scale + v_offset
                t = ((((((((m8 * v + m7) * v + m6) * v + m5) * v + m4) * v + m3) * v + m2) * v + m1) * v + m0)
                orow[j] = np.float32(100.0 * t) + frow[j]
        else:
            for j in range(w):
                t = _inverse_planck(l_bg + brow[j], inv_scale, inv_offset, inv_coeffs)
                orow[j] = np.float32(100.0 * t) + frow[j]
        peak, hint = _track_peak(orow, i * w, peak, hint)
    base_lbg[slot] = l_bg
    base_rows[slot, 0], base_rows[slot, 1] = a0, a1
    base_peak[slot] = peak
    base_hint[slot] = hint


@njit(cache=True, nogil=True)
def _base_slot(k, static, keep, slot_k, slot_static, slot_used, clock):
    """Cache slot holding the base image of sample ``k`` with the object set ``static``,
    and whether it must be computed (then the least recently used slot other than
    ``keep`` is returned)."""
    clock[0] += 1
    n_obj = static.size
    for s in range(slot_k.size):
        if slot_k[s] == k:
            same = True
            for j in range(n_obj):
                if slot_static[s, j] != static[j]:
                    same = False
            if same:
                slot_used[s] = clock[0]
                return s, False
    best = -1
    for s in range(slot_k.size):
        if s != keep and (best < 0 or slot_used[s] < slot_used[best]):
            best = s
    slot_k[best] = k
    slot_static[best] = static
    slot_used[best] = clock[0]
    return best, True


@njit(cache=True, nogil=True, error_model="numpy")
def _static_objects(iv, ka, kb, const_mask, centers, params, flags, cam_pos, rot, focal, h, w, static):
    """Objects folded into the base images of interval ``iv`` (samples ``ka..kb``):
    those whose geometry, emissivity and temperature do not change in it, unless a
    changing object farther away overlaps them (it would be painted over them)."""
    n_obj = static.size
    n_s = kb - ka + 1
    boxes = np.zeros((n_s, n_obj, 4), dtype=np.int64)
    vis = np.zeros((n_s, n_obj), dtype=np.bool_)
    dist = np.zeros((n_s, n_obj))
    for s in range(n_s):
        for j in range(n_obj):
            if s > 0 and const_mask[iv, j]:
                vis[s, j] = vis[0, j]
                boxes[s, j] = boxes[0, j]
                dist[s, j] = dist[0, j]
                continue
            vis[s, j] = ellipse_box(cam_pos, centers[j, ka + s], params[j, 0, ka + s], params[j, 1, ka + s],
                                    flags[j, 0] > 0.5, rot, focal, h, w, boxes[s, j])
            dist[s, j] = _distance(centers, j, ka + s, cam_pos)
    for j in range(n_obj):
        static[j] = const_mask[iv, j]
    changed = True
    while changed:
        changed = False
        for j in range(n_obj):
            if not static[j] or not vis[0, j]:
                continue
            bj = boxes[0, j]
            for d in range(n_obj):
                if static[d] or not static[j]:
                    continue
                for s in range(n_s):
                    bd = boxes[s, d]
                    if (vis[s, d] and dist[s, d] > dist[0, j] and bd[0] < bj[1] and bj[0] < bd[1]
                            and bd[2] < bj[3] and bj[2] < bd[3]):
                        static[j] = False
                        changed = True
                        break


@njit(cache=True, nogil=True, error_model="numpy", fastmath=_FAST)
def render_keys_kernel(k_lo, k_hi, stride, time_s, const_mask, l_surface, smoke, z_max, length_per_dz,
                       ray_length, centers, params, flags, cam_pos, rot, focal, taps, inv_scale, inv_offset, inv_coeffs,
                       fpn, fpn_max, fpn_argmax, zeros, cov_key, cov_ok, cov_box, covs, dep, dst,
                       slot_k, slot_static, slot_used, clock, base_lbg, base_rows, base_peak, base_hint,
                       room_dep, blur_dep, counts, out, peak_out, hint_out):
    """Key images of scene samples ``k_lo..k_hi`` into ``out`` (float32 (n, h, w), 0.01 K
    counts with the fixed pattern), with an upper bound of each image's maximum and a
    pixel near it (``peak_out``, ``hint_out``) for the automatic-gain decision.

    Per interval of ``stride`` samples, the room, the smoke layer and the objects that
    do not change in it are rendered at both ends (cached base images) and interpolated
    linearly in between; the objects that change are composited over the interpolated
    unblurred radiance at every sample, blurred and inverted within their footprint."""
    h, w = dep.shape
    n_t = time_s.size
    n_obj = centers.shape[0]
    r_psf = taps.size // 2
    static = np.zeros(n_obj, dtype=np.bool_)
    dynamic = np.zeros(n_obj, dtype=np.bool_)
    vis = np.zeros(n_obj, dtype=np.bool_)
    members = np.zeros(n_obj, dtype=np.bool_)
    cluster = np.arange(n_obj)
    cur, sa, sb, ka, kb = -1, 0, 0, 0, 0
    for k in range(k_lo, k_hi + 1):
        iv = k // stride
        if iv != cur:
            ka = iv * stride
            kb = min(ka + stride, n_t - 1)
            _static_objects(iv, ka, kb, const_mask, centers, params, flags, cam_pos, rot, focal, h, w,
                            static)
            for end in range(2):
                kk = ka if end == 0 else kb
                s, fresh = _base_slot(kk, static, -1 if end == 0 else sa, slot_k, slot_static, slot_used,
                                      clock)
                if fresh:
                    _base_image(kk, static, s, l_surface, smoke, z_max, length_per_dz, ray_length, centers,
                                params, flags, cam_pos, rot, focal, taps, inv_scale, inv_offset, inv_coeffs, fpn, fpn_max,
                                fpn_argmax, zeros, cov_key, cov_ok, cov_box, covs, base_lbg, base_rows,
                                base_peak, base_hint, room_dep, blur_dep, counts)
                if end == 0:
                    sa = s
                else:
                    sb = s
            for j in range(n_obj):
                dynamic[j] = not static[j]
            cur = iv
        wb = (time_s[k] - time_s[ka]) / (time_s[kb] - time_s[ka]) if kb > ka else 0.0
        fw = np.float32(wb)
        ca, cb, key = counts[sa], counts[sb], out[k - k_lo]
        for i in range(h):
            ra, rb, rk = ca[i], cb[i], key[i]
            for j in range(w):
                rk[j] = ra[j] + fw * (rb[j] - ra[j])
        if base_peak[sa] >= base_peak[sb]:
            peak, hint = base_peak[sa], base_hint[sa]
        else:
            peak, hint = base_peak[sb], base_hint[sb]
        if n_obj > 0:
            # changing objects: coverage, then clusters whose blurred footprints touch
            for j in range(n_obj):
                cluster[j] = j
                vis[j] = False
                if dynamic[j]:
                    vis[j] = _object_coverage(j, k, centers, params, flags, cam_pos, rot, focal, h, w,
                                              cov_key, cov_ok, cov_box, covs)
            changed = True
            while changed:
                changed = False
                for j1 in range(n_obj):
                    for j2 in range(j1 + 1, n_obj):
                        if not vis[j1] or not vis[j2] or cluster[j1] == cluster[j2]:
                            continue
                        b1, b2 = cov_box[j1], cov_box[j2]
                        if (b1[0] - 2 * r_psf < b2[1] and b2[0] - 2 * r_psf < b1[1]
                                and b1[2] - 2 * r_psf < b2[3] and b2[2] - 2 * r_psf < b1[3]):
                            keep, drop = min(cluster[j1], cluster[j2]), max(cluster[j1], cluster[j2])
                            for j3 in range(n_obj):
                                if cluster[j3] == drop:
                                    cluster[j3] = keep
                            changed = True
            kappa, z_bottom, l_smoke = smoke[0, k], smoke[1, k], smoke[2, k]
            l_under = base_lbg[sa] + wb * (base_lbg[sb] - base_lbg[sa])
            room_a, room_b = room_dep[sa], room_dep[sb]
            blur_a, blur_b = blur_dep[sa], blur_dep[sb]
            ua0, ua1, ub0, ub1 = base_rows[sa, 0], base_rows[sa, 1], base_rows[sb, 0], base_rows[sb, 1]
            for cl in range(n_obj):
                r0, r1, c0, c1 = h, 0, w, 0
                for j in range(n_obj):
                    members[j] = vis[j] and cluster[j] == cl
                    if members[j]:
                        r0, r1 = min(r0, cov_box[j, 0]), max(r1, cov_box[j, 1])
                        c0, c1 = min(c0, cov_box[j, 2]), max(c1, cov_box[j, 3])
                if r1 <= r0:
                    continue
                for i in range(r0, r1):
                    dep[i, c0:c1] = 0.0
                for j in _far_to_near(members, k, centers, cam_pos):
                    tau = _smoke_transmittance(centers[j, k, 2], cam_pos[2], _distance(centers, j, k, cam_pos),
                                               kappa, z_bottom)
                    _composite(dep, room_a, room_b, wb, l_under, covs[j], cov_box[j], tau, params[j, 2, k],
                               params[j, 3, k], l_smoke)
                a0, a1, b0, b1 = blur_box(dep, dst, r0, r1, c0, c1, taps)
                for i in range(a0, a1):
                    drow = dst[i, b0:b1]
                    frow = fpn[i, b0:b1]
                    krow = key[i, b0:b1]
                    # blurred base radiance (zero departure outside a base's blurred rows)
                    wa = (1.0 - wb) if ua0 <= i < ua1 else 0.0
                    wbb = wb if ub0 <= i < ub1 else 0.0
                    bra = blur_a[i, b0:b1]
                    brb = blur_b[i, b0:b1]
                    for j in range(b1 - b0):
                        rad = l_under + wa * bra[j] + wbb * brb[j] + drow[j]
                        krow[j] = np.float32(100.0 * _inverse_planck(rad, inv_scale, inv_offset, inv_coeffs)) + frow[j]
                    peak, hint = _track_peak(krow, i * w + b0, peak, hint)
        peak_out[k - k_lo] = peak
        hint_out[k - k_lo] = hint
