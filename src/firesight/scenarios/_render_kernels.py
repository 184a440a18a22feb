"""Compiled (numba) kernels of :mod:`firesight.scenarios.render`: the fused pass that
turns a run of scene samples into key images. The pieces it calls live by concern in
:mod:`._render_geometry` (ellipse footprint and coverage, far-to-near order),
:mod:`._render_pixels` (inverse Planck, row sweeps, separable PSF blur) and
:mod:`._render_mixing` (smoke-layer transmittance, compositing); the names that
:mod:`firesight.scenarios.render` uses are re-exported here. The equations are
documented in :mod:`firesight.scenarios.render` and docs/sensors.md.

Images are float32 (radiance [W m-2 sr-1], key counts [0.01 K]); geometry and the
per-object mixing arithmetic are float64. Every result depends only on the scene sample
it belongs to, never on which call or cache computed it, so the output bytes do not
depend on the chunking.

numba caches each kernel against its own file: the fused kernel, which compiles the
pieces into itself, is not recompiled when only a piece's file changes; after editing
one, clear ``src/firesight/scenarios/__pycache__/_render_*.nb*`` (or touch this file).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from firesight.scenarios._render_geometry import (
    _distance,
    _far_to_near,
    _object_coverage,
    _plane_axes,
    ellipse_box,
    ellipse_coverage,
    supersampling,
)
from firesight.scenarios._render_mixing import _composite, _smoke_transmittance, smoke_departure
from firesight.scenarios._render_pixels import (
    _FAST,
    _inverse_planck,
    _local_inverse,
    _row_range,
    _track_peak,
    blur_box,
)

__all__ = ["blur_box", "ellipse_box", "ellipse_coverage", "render_keys_kernel", "smoke_departure",
           "supersampling", "_plane_axes"]


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
