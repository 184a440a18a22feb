"""Compiled (numba) geometry of :mod:`firesight.scenarios.render`: where an object's
ellipse falls on the image (footprint box and supersampled pixel coverage), how
finely to sample it, and the far-to-near order of objects. Float64 throughout.

numba caches each kernel against its own file: a kernel compiled into a caller in
another file is not recompiled when only this file changes, so after editing it
clear ``src/firesight/scenarios/__pycache__/_render_*.nb*`` (or touch the callers).
"""

from __future__ import annotations

import numpy as np
from numba import njit

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
