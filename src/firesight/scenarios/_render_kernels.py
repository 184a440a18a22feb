"""Compiled (numba) kernels of :mod:`firesight.scenarios.render`: ellipse coverage,
smoke-layer transmittance, PSF blur with inverse-Planck lookup, and the fused per-sample
key-image pass. The equations are documented in :mod:`firesight.scenarios.render` and
docs/sensors.md."""

from __future__ import annotations

import numpy as np
from numba import njit

@njit(cache=True, nogil=True, error_model="numpy")
def coverage_kernel(cam_pos, c, a, b, n, u, v, rot, focal, h, w, ss, box):
    """Fraction of each pixel of the bounding box covered by the ellipse
    ``{c + x u + y v : (x/a)^2 + (y/b)^2 <= 1}``; ``ss x ss`` samples per pixel.

    A camera ray ``d = R (x, y, 1)`` meets the plane (normal ``n``) at local coordinates
    ``alpha = [(g.u)(n.d) - (g.n)(u.d)] / (n.d)`` (likewise ``beta`` with ``v``),
    ``g = cam - c``; it is in front of the camera when ``-(g.n) / (n.d) > 0``.
    Writes ``(r0, r1, c0, c1)`` into ``box``; returns an empty array when out of view.
    """
    r_min, r_max, c_min, c_max = 1e300, -1e300, 1e300, -1e300
    behind = False
    for t in range(32):
        th = 2.0 * np.pi * t / 32
        p = c + a * np.cos(th) * u + b * np.sin(th) * v - cam_pos
        xc = p[0] * rot[0, 0] + p[1] * rot[1, 0] + p[2] * rot[2, 0]
        yc = p[0] * rot[0, 1] + p[1] * rot[1, 1] + p[2] * rot[2, 1]
        zc = p[0] * rot[0, 2] + p[1] * rot[1, 2] + p[2] * rot[2, 2]
        if zc <= 1e-9:
            behind = True
            continue
        col = xc / zc * focal + 0.5 * w
        row = -yc / zc * focal + 0.5 * h
        r_min, r_max = min(r_min, row), max(r_max, row)
        c_min, c_max = min(c_min, col), max(c_max, col)
    if behind:
        r0, r1, c0, c1 = 0, h, 0, w
        if r_max < r_min:  # the whole rim is behind the camera
            return np.zeros((0, 0))
    else:
        r0 = max(int(np.floor(r_min)) - 1, 0)
        r1 = min(int(np.ceil(r_max)) + 1, h)
        c0 = max(int(np.floor(c_min)) - 1, 0)
        c1 = min(int(np.ceil(c_max)) + 1, w)
    if r0 >= r1 or c0 >= c1:
        return np.zeros((0, 0))
    box[0], box[1], box[2], box[3] = r0, r1, c0, c1
    nn = rot.T @ n
    uu = rot.T @ u
    vv = rot.T @ v
    g = cam_pos - c
    gn = g[0] * n[0] + g[1] * n[1] + g[2] * n[2]
    gu = g[0] * u[0] + g[1] * u[1] + g[2] * u[2]
    gv = g[0] * v[0] + g[1] * v[1] + g[2] * v[2]
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


EXP_TABLE_MAX = 40.0
EXP_TABLE = -np.expm1(-np.linspace(0.0, EXP_TABLE_MAX, 16385))  # 1 - exp(-x), step 1/409.6


@njit(cache=True, nogil=True, error_model="numpy")
def smoke_kernel(img, z_max, length_per_dz, ray_length, z_bottom, kappa, l_smoke, l_bg, table, x_max):
    """Room radiance behind a layer: ``l_bg + (1 - tau)(l_smoke - l_bg)`` with
    ``1 - tau = 1 - exp(-kappa l)`` read from a 16k-entry table (error < 1e-6)."""
    n_tab = table.size
    scale = (n_tab - 1) / x_max
    dl = l_smoke - l_bg
    for p in range(img.size):
        if z_max[p] <= z_bottom:
            img[p] = l_bg
            continue
        length = (z_max[p] - z_bottom) * length_per_dz[p]
        if length > ray_length[p]:
            length = ray_length[p]
        x = kappa * length * scale
        if x >= n_tab - 1:
            img[p] = l_smoke
            continue
        i0 = int(x)
        emis = table[i0] + (x - i0) * (table[i0 + 1] - table[i0])
        img[p] = l_bg + emis * dl


@njit(cache=True, nogil=True)
def lut_scalar(radiance, table, l0, inv_step):
    x = (radiance - l0) * inv_step
    x = min(max(x, 0.0), table.size - 1.000001)
    i0 = int(x)
    return table[i0] + (x - i0) * (table[i0 + 1] - table[i0])


@njit(cache=True, nogil=True, error_model="numpy")
def blur_convert_kernel(delta, r0, r1, c0, c1, taps, base_a, base_b, wb, table, l0, inv_step,
                         scale, fpn, out, out_radiance, write_radiance, relative):
    """Blur the radiance departure ``delta`` (non-zero only inside rows ``r0:r1`` and
    columns ``c0:c1``) with the separable PSF, edges replicated as at the image border;
    add it to the base radiance ``base_a + wb (base_b - base_a)``; invert to temperature
    through the uniform table; write ``scale * T + fpn`` into ``out`` and the radiance
    into ``out_radiance`` when ``write_radiance`` (both flat), for every pixel the blur
    reaches. ``out_radiance`` may be ``base_a`` itself (each pixel is read before it is
    written). With ``relative``, ``out`` already holds the base counts and only the
    change ``scale * (T(base + blurred delta) - T(base))`` is added, so pixels the
    departure does not reach keep exactly the base counts."""
    h, w = delta.shape
    r = taps.size // 2
    n0, n1, m0, m1 = h, -1, w, -1
    for i in range(r0, r1):
        for j in range(c0, c1):
            if delta[i, j] != 0.0:
                n0 = min(n0, i)
                n1 = max(n1, i)
                m0 = min(m0, j)
                m1 = max(m1, j)
    if n1 < 0:
        return
    a0, a1 = max(n0 - r, 0), min(n1 + r + 1, h)
    b0, b1 = max(m0 - r, 0), min(m1 + r + 1, w)
    nb = b1 - b0
    col = np.zeros(nb)
    buf = np.empty(nb + 2 * r)
    acc = np.empty(nb)
    n_tab = table.size
    for i in range(a0, a1):
        col[:] = 0.0
        for k in range(-r, r + 1):
            ii = min(max(i + k, 0), h - 1)
            t = taps[k + r]
            drow = delta[ii, b0:b1]
            for j in range(nb):
                col[j] += t * drow[j]
        buf[r:r + nb] = col
        for j in range(r):  # outside the box: zero inside the image, edge value beyond it
            buf[j] = col[0] if b0 - r + j < 0 else 0.0
            buf[r + nb + j] = col[nb - 1] if b1 + j >= w else 0.0
        acc[:] = 0.0
        for k in range(2 * r + 1):
            t = taps[k]
            shifted = buf[k:k + nb]
            for j in range(nb):
                acc[j] += t * shifted[j]
        base = i * w + b0
        for j in range(nb):
            q = base + j
            rad0 = base_a[q] + wb * (base_b[q] - base_a[q])
            rad = rad0 + acc[j]
            x = (rad - l0) * inv_step
            x = min(max(x, 0.0), n_tab - 1.000001)
            i0 = int(x)
            t_new = table[i0] + (x - i0) * (table[i0 + 1] - table[i0])
            if relative:
                x = (rad0 - l0) * inv_step
                x = min(max(x, 0.0), n_tab - 1.000001)
                i0 = int(x)
                t_old = table[i0] + (x - i0) * (table[i0 + 1] - table[i0])
                out[q] += (t_new - t_old) * scale
            else:
                out[q] = t_new * scale + fpn[q]
            if write_radiance:
                out_radiance[q] = rad


@njit(cache=True, nogil=True, error_model="numpy")
def render_keys_kernel(ks, slot_a, slot_b, wb, rooms, blurred, counts, centers, params, flags, smoke,
                        cam_pos, rot, focal, h, w, taps, table, l0, inv_step, fpn, delta, out):
    """Per sample: interpolate the room + smoke key counts, composite the objects over
    the interpolated unblurred room radiance (far to near), blur the departure and
    invert it — the compiled twin of ``render._SceneRenderer._key``. Objects whose blurred
    boxes do not touch are processed apart; coverage is reused while an object's
    geometry does not change."""
    n_obj = centers.shape[0]
    n_pix = h * w
    r_psf = taps.size // 2
    boxes = np.zeros((n_obj, 4), dtype=np.int64)
    dist = np.full(n_obj, -1.0)
    covs = [np.zeros((0, 0)) for _ in range(n_obj)]
    for i in range(ks.size):
        k = ks[i]
        a, b, wgt = slot_a[i], slot_b[i], wb[i]
        ca, cb, o = counts[a], counts[b], out[i]
        fw = np.float32(wgt)
        for p in range(n_pix):
            o[p] = ca[p] + fw * (cb[p] - ca[p])
        if n_obj == 0:
            continue
        for j in range(n_obj):
            c = centers[j, k]
            ha, hb = params[j, 0, k], params[j, 1, k]
            if i > 0 and ks[i - 1] == k - 1:
                cp = centers[j, k - 1]
                if (c[0] == cp[0] and c[1] == cp[1] and c[2] == cp[2] and ha == params[j, 0, k - 1]
                        and hb == params[j, 1, k - 1]):
                    continue  # same geometry as the previous sample
            dist[j] = -1.0
            covs[j] = np.zeros((0, 0))
            if ha <= 0 or hb <= 0:
                continue
            if flags[j, 0] > 0.5:
                nv = np.array([0.0, 0.0, 1.0])
                uv = np.array([1.0, 0.0, 0.0])
                vv = np.array([0.0, 1.0, 0.0])
            else:
                dx, dy = cam_pos[0] - c[0], cam_pos[1] - c[1]
                norm = np.sqrt(dx * dx + dy * dy)
                if norm > 1e-9:
                    nv = np.array([dx / norm, dy / norm, 0.0])
                else:
                    nv = np.array([1.0, 0.0, 0.0])
                uv = np.array([-nv[1], nv[0], 0.0])
                vv = np.array([0.0, 0.0, 1.0])
            g = c - cam_pos
            d = np.sqrt(g[0] * g[0] + g[1] * g[1] + g[2] * g[2])
            extent = 2.0 * min(ha, hb) * focal / max(d, 1e-6)
            ss = int(min(max(np.ceil(16.0 / max(extent, 1e-6)), 2.0), 64.0))
            cov = coverage_kernel(cam_pos, c, ha, hb, nv, uv, vv, rot, focal, h, w, ss, boxes[j])
            if cov.size > 0:
                cov *= 1.0 - flags[j, 1]
                dist[j] = d
                covs[j] = cov
        # clusters of objects whose boxes, grown by the PSF radius, overlap
        cluster = np.arange(n_obj)
        changed = True
        while changed:
            changed = False
            for j1 in range(n_obj):
                for j2 in range(j1 + 1, n_obj):
                    if dist[j1] < 0 or dist[j2] < 0 or cluster[j1] == cluster[j2]:
                        continue
                    if (boxes[j1, 0] - 2 * r_psf < boxes[j2, 1] and boxes[j2, 0] - 2 * r_psf < boxes[j1, 1]
                            and boxes[j1, 2] - 2 * r_psf < boxes[j2, 3]
                            and boxes[j2, 2] - 2 * r_psf < boxes[j1, 3]):
                        keep, drop = min(cluster[j1], cluster[j2]), max(cluster[j1], cluster[j2])
                        for j3 in range(n_obj):
                            if cluster[j3] == drop:
                                cluster[j3] = keep
                        changed = True
        kappa, z_bottom, l_smoke = smoke[0, k], smoke[1, k], smoke[2, k]
        order = np.argsort(-dist)
        room_a, room_b = rooms[a], rooms[b]
        for cl in range(n_obj):
            r0, r1, c0, c1 = h, 0, w, 0
            for j in range(n_obj):
                if dist[j] >= 0 and cluster[j] == cl:
                    r0, r1 = min(r0, boxes[j, 0]), max(r1, boxes[j, 1])
                    c0, c1 = min(c0, boxes[j, 2]), max(c1, boxes[j, 3])
            if r1 <= r0:
                continue
            under = np.empty((r1 - r0, c1 - c0))
            for rr in range(r0, r1):
                for cc in range(c0, c1):
                    q = rr * w + cc
                    under[rr - r0, cc - c0] = room_a[q] + wgt * (room_b[q] - room_a[q])
            region = under.copy()
            for jj in range(n_obj):
                j = order[jj]
                if dist[j] < 0 or cluster[j] != cl:
                    continue
                eps_o, l_obj = params[j, 2, k], params[j, 3, k]
                tau_o = 1.0
                if kappa > 0:
                    cz, pz = centers[j, k, 2], cam_pos[2]
                    lo, hi = min(cz, pz), max(cz, pz)
                    if hi - lo > 1e-9:
                        frac = min(max((hi - z_bottom) / (hi - lo), 0.0), 1.0)
                    else:
                        frac = 1.0 if hi >= z_bottom else 0.0
                    tau_o = np.exp(-kappa * frac * dist[j])
                cov = covs[j]
                br0, bc0 = boxes[j, 0], boxes[j, 2]
                for rr in range(cov.shape[0]):
                    for cc in range(cov.shape[1]):
                        cv = cov[rr, cc]
                        if cv > 0.0:
                            x = region[br0 - r0 + rr, bc0 - c0 + cc]
                            seen = tau_o * (eps_o * l_obj + (1.0 - eps_o) * x) + (1.0 - tau_o) * l_smoke
                            region[br0 - r0 + rr, bc0 - c0 + cc] = x + cv * (seen - x)
            for rr in range(r0, r1):
                for cc in range(c0, c1):
                    delta[rr, cc] = region[rr - r0, cc - c0] - under[rr - r0, cc - c0]
            blur_convert_kernel(delta, r0, r1, c0, c1, taps, blurred[a], blurred[b], wgt, table, l0,
                                 inv_step, 100.0, fpn, o, blurred[a], False, True)
            for rr in range(r0, r1):
                for cc in range(c0, c1):
                    delta[rr, cc] = 0.0
