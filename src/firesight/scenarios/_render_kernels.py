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

EXP_TABLE_MAX = 40.0
EXP_TABLE = -np.expm1(-np.linspace(0.0, EXP_TABLE_MAX, 16385))  # 1 - exp(-x), step 1/409.6


# ---- geometry -------------------------------------------------------------------------
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
        th = 2.0 * np.pi * t / 32
        ca, sb = a * np.cos(th), b * np.sin(th)
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
    """Fraction of each pixel of ``box`` covered by the ellipse; ``ss x ss`` samples per
    pixel.

    A camera ray ``d = R (x, y, 1)`` meets the plane (normal ``n``) at local coordinates
    ``alpha = [(g.u)(n.d) - (g.n)(u.d)] / (n.d)`` (likewise ``beta`` with ``v``),
    ``g = cam - c``; it is in front of the camera when ``-(g.n) / (n.d) > 0``.
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
    inv = 1.0 / (ss * ss)
    for i in range(r0, r1):
        for si in range(ss):
            y = -((i + (si + 0.5) / ss) - 0.5 * h) / focal
            dn0 = nn[1] * y + nn[2]
            du0 = uu[1] * y + uu[2]
            dv0 = vv[1] * y + vv[2]
            for j in range(c0, c1):
                hits = 0
                for sj in range(ss):
                    x = ((j + (sj + 0.5) / ss) - 0.5 * w) / focal
                    den = nn[0] * x + dn0
                    al = (gu * den - gn * (uu[0] * x + du0)) / a
                    be = (gv * den - gn * (vv[0] * x + dv0)) / b
                    if al * al + be * be <= den * den and -gn * den > 0:
                        hits += 1
                cov[i - r0, j - c0] += hits * inv
    return cov


@njit(cache=True, nogil=True)
def supersampling(a, b, distance, focal):
    """Samples per pixel side: at least 16 across the object's smaller extent, 2..64."""
    extent = 2.0 * min(a, b) * focal / max(distance, 1e-6)
    return int(min(max(np.ceil(16.0 / max(extent, 1e-6)), 2.0), 64.0))


# ---- per-pixel pieces -----------------------------------------------------------------
@njit(cache=True, nogil=True, inline="always")
def _inverse_planck(rad, table, l0, inv_step, top):
    """Temperature [K] of band radiance ``rad`` from the uniform-radiance table: direct
    index, linear interpolation, no search."""
    x = (rad - l0) * inv_step
    x = min(max(x, 0.0), top)
    i = int(x)
    return table[i] + (x - i) * (table[i + 1] - table[i])


@njit(cache=True, nogil=True)
def inverse_planck_scalar(rad, table, l0, inv_step):
    """Scalar form of the table lookup [K]."""
    return _inverse_planck(rad, table, l0, inv_step, table.size - 1.000001)


@njit(cache=True, nogil=True, error_model="numpy")
def blur_box(src, tmp, dst, r0, r1, c0, c1, taps):
    """Separable PSF blur of an image that is zero outside rows ``r0:r1`` and columns
    ``c0:c1`` (only that box of ``src`` is read), edges replicated at the image border.
    The result is written into ``dst`` over the footprint ``(a0, a1, b0, b1)`` (the box
    grown by the PSF radius, clipped to the image), which is returned. ``tmp`` is
    scratch; all three are float32 (h, w)."""
    h, w = src.shape
    r = taps.size // 2
    a0, a1 = max(r0 - r, 0), min(r1 + r, h)
    b0, b1 = max(c0 - r, 0), min(c1 + r, w)
    for i in range(a0, a1):  # vertical pass, columns c0:c1
        trow = tmp[i]
        for j in range(c0, c1):
            trow[j] = 0.0
        for q in range(2 * r + 1):
            ii = min(max(i + q - r, 0), h - 1)
            if ii < r0 or ii >= r1:
                continue
            t = taps[q]
            srow = src[ii]
            for j in range(c0, c1):
                trow[j] += t * srow[j]
    for i in range(a0, a1):  # horizontal pass, columns b0:b1
        trow = tmp[i]
        drow = dst[i]
        for j in range(b0, b1):
            drow[j] = 0.0
        for q in range(2 * r + 1):
            t = taps[q]
            off = q - r
            for j in range(max(b0, c0 - off), min(b1, c1 - off)):
                drow[j] += t * trow[j + off]
            if c0 == 0:
                edge = t * trow[0]
                for j in range(b0, min(b1, -off)):
                    drow[j] += edge
            if c1 == w:
                edge = t * trow[w - 1]
                for j in range(max(b0, w - off), b1):
                    drow[j] += edge
    return a0, a1, b0, b1


@njit(cache=True, nogil=True, error_model="numpy")
def smoke_departure(dep, z_max, length_per_dz, ray_length, z_bottom, kappa, l_smoke, l_bg, table, x_max):
    """Room radiance behind the hot layer minus the bare-room radiance, per pixel:
    ``(1 - tau)(l_smoke - l_bg)``, ``tau = exp(-kappa l)``, ``1 - tau`` read from a 16k
    entry table (error < 1e-6). Writes the (h, w) float32 ``dep``; returns the rows
    ``(first, last + 1)`` that are non-zero ((0, 0) when none)."""
    h, w = dep.shape
    n_tab = table.size
    scale = (n_tab - 1) / x_max
    dl = l_smoke - l_bg
    first, last = h, -1
    for i in range(h):
        row = dep[i]
        base = i * w
        hit = False
        for j in range(w):
            p = base + j
            if z_max[p] <= z_bottom or kappa <= 0.0:
                row[j] = 0.0
                continue
            length = min((z_max[p] - z_bottom) * length_per_dz[p], ray_length[p])
            x = kappa * length * scale
            if x >= n_tab - 1:
                emis = 1.0
            else:
                i0 = int(x)
                emis = table[i0] + (x - i0) * (table[i0 + 1] - table[i0])
            row[j] = emis * dl
            hit = True
        if hit:
            first = min(first, i)
            last = i
    if last < 0:
        return 0, 0
    return first, last + 1


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
    radiance is ``x = l_under + lerp(under_a, under_b, wb) + dep`` and ``dep`` (float32,
    (h, w)) is the departure being built; pixels of ``box`` with zero coverage keep theirs."""
    h, w = dep.shape
    r0, c0 = box[0], box[2]
    for rr in range(cov.shape[0]):
        i = r0 + rr
        for cc in range(cov.shape[1]):
            cv = cov[rr, cc]
            j = c0 + cc
            if cv > 0.0:
                q = i * w + j
                under = l_under + under_a[q] + wb * (under_b[q] - under_a[q])
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


@njit(cache=True, nogil=True, error_model="numpy")
def _base_image(k, static, slot, l_surface, smoke, z_max, length_per_dz, ray_length, exp_table,
                exp_max, centers, params, flags, cam_pos, rot, focal, taps, table, l0, inv_step, fpn,
                fpn_max, fpn_argmax, zeros, cov_key, cov_ok, cov_box, covs, dep, tmp, dst, base_lbg,
                base_peak, base_hint, room_dep, blur_dep, counts):
    """Room + smoke layer + the objects in ``static`` at sample ``k``, into cache slot
    ``slot``: unblurred and blurred radiance departures from the bare room, and key
    counts ``100 T + fpn`` with T the inverse Planck of the blurred radiance."""
    h, w = dep.shape
    l_bg = l_surface[k]
    kappa, z_bottom, l_smoke = smoke[0, k], smoke[1, k], smoke[2, k]
    ra, rb = smoke_departure(dep, z_max, length_per_dz, ray_length, z_bottom, kappa, l_smoke, l_bg,
                             exp_table, exp_max)
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
    room = room_dep[slot]
    blur = blur_dep[slot]
    out = counts[slot]
    t_bg = inverse_planck_scalar(l_bg, table, l0, inv_step)
    c_bg = np.float32(100.0 * t_bg)
    a0, a1 = 0, 0
    if rb > ra:
        a0, a1, _, _ = blur_box(dep, tmp, dst, ra, rb, 0, w, taps)
    peak, hint = c_bg + fpn_max, fpn_argmax
    top = table.size - 1.000001
    for i in range(h):
        base = i * w
        if i < ra or i >= rb:
            for j in range(w):
                room[base + j] = 0.0
        else:
            drow = dep[i]
            for j in range(w):
                room[base + j] = drow[j]
        if i < a0 or i >= a1:
            for j in range(w):
                blur[base + j] = 0.0
                out[base + j] = c_bg + fpn[base + j]
            continue
        brow = dst[i]
        for j in range(w):
            q = base + j
            d = brow[j]
            blur[q] = d
            v = np.float32(100.0 * _inverse_planck(l_bg + d, table, l0, inv_step, top)) + fpn[q]
            out[q] = v
            if v > peak:
                peak, hint = v, q
    base_lbg[slot] = l_bg
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


@njit(cache=True, nogil=True, error_model="numpy")
def render_keys_kernel(k_lo, k_hi, stride, time_s, const_mask, l_surface, smoke, z_max, length_per_dz,
                       ray_length, exp_table, exp_max, centers, params, flags, cam_pos, rot, focal, taps,
                       table, l0, inv_step, fpn, fpn_max, fpn_argmax, zeros, cov_key, cov_ok, cov_box, covs,
                       dep, tmp, dst, slot_k, slot_static, slot_used, clock, base_lbg, base_peak, base_hint,
                       room_dep, blur_dep, counts, out, peak_out, hint_out):
    """Key images of scene samples ``k_lo..k_hi`` into ``out`` (float32, 0.01 K counts
    with the fixed pattern), with an upper bound of each image's maximum and a pixel
    near it (``peak_out``, ``hint_out``) for the automatic-gain decision.

    Per interval of ``stride`` samples, the room, the smoke layer and the objects that
    do not change in it are rendered at both ends (cached base images) and interpolated
    linearly in between; the objects that change are composited over the interpolated
    unblurred radiance at every sample, blurred and inverted within their footprint."""
    h, w = dep.shape
    n_pix = h * w
    n_t = time_s.size
    n_obj = centers.shape[0]
    r_psf = taps.size // 2
    static = np.zeros(n_obj, dtype=np.bool_)
    dynamic = np.zeros(n_obj, dtype=np.bool_)
    cluster = np.arange(n_obj)
    top = table.size - 1.000001
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
                    _base_image(kk, static, s, l_surface, smoke, z_max, length_per_dz, ray_length,
                                exp_table, exp_max, centers, params, flags, cam_pos, rot, focal, taps,
                                table, l0, inv_step, fpn, fpn_max, fpn_argmax, zeros, cov_key, cov_ok,
                                cov_box, covs, dep, tmp, dst, base_lbg, base_peak, base_hint, room_dep,
                                blur_dep, counts)
                if end == 0:
                    sa = s
                else:
                    sb = s
            for j in range(n_obj):
                dynamic[j] = not static[j]
            cur = iv
        wb = (time_s[k] - time_s[ka]) / (time_s[kb] - time_s[ka]) if kb > ka else 0.0
        fw = np.float32(wb)
        ca, cb, row = counts[sa], counts[sb], out[k - k_lo]
        for p in range(n_pix):
            row[p] = ca[p] + fw * (cb[p] - ca[p])
        if base_peak[sa] >= base_peak[sb]:
            peak, hint = base_peak[sa], base_hint[sa]
        else:
            peak, hint = base_peak[sb], base_hint[sb]
        if n_obj > 0:
            # changing objects: coverage, then clusters whose blurred footprints touch
            vis = np.zeros(n_obj, dtype=np.bool_)
            for j in range(n_obj):
                cluster[j] = j
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
            room_a, room_b, blur_a, blur_b = room_dep[sa], room_dep[sb], blur_dep[sa], blur_dep[sb]
            for cl in range(n_obj):
                members = np.zeros(n_obj, dtype=np.bool_)
                r0, r1, c0, c1 = h, 0, w, 0
                for j in range(n_obj):
                    if vis[j] and cluster[j] == cl:
                        members[j] = True
                        r0, r1 = min(r0, cov_box[j, 0]), max(r1, cov_box[j, 1])
                        c0, c1 = min(c0, cov_box[j, 2]), max(c1, cov_box[j, 3])
                if r1 <= r0:
                    continue
                for i in range(r0, r1):
                    for j in range(c0, c1):
                        dep[i, j] = 0.0
                for j in _far_to_near(members, k, centers, cam_pos):
                    tau = _smoke_transmittance(centers[j, k, 2], cam_pos[2], _distance(centers, j, k, cam_pos),
                                               kappa, z_bottom)
                    _composite(dep, room_a, room_b, wb, l_under, covs[j], cov_box[j], tau, params[j, 2, k],
                               params[j, 3, k], l_smoke)
                a0, a1, b0, b1 = blur_box(dep, tmp, dst, r0, r1, c0, c1, taps)
                for i in range(a0, a1):
                    drow = dst[i]
                    for j in range(b0, b1):
                        q = i * w + j
                        rad = l_under + blur_a[q] + wb * (blur_b[q] - blur_a[q]) + drow[j]
                        v = np.float32(100.0 * _inverse_planck(rad, table, l0, inv_step, top)) + fpn[q]
                        row[q] = v
                        if v > peak:
                            peak, hint = v, q
        peak_out[k - k_lo] = peak
        hint_out[k - k_lo] = hint
