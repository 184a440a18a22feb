"""Render a :class:`~firesight.scenarios.scene.ThermalScene` through a Lepton 3.5
camera into device frames.

The pipeline per scene time sample ("key image"):

1. Room surfaces: every pixel ray hits a wall, the floor or the ceiling at the surface
   temperature; in an isothermal enclosure the grey surface plus its reflection of the
   room is a blackbody: ``L = eps L_b(T_s) + (1 - eps) L_b(T_s)`` [1].
2. Hot smoke layer: the path length ``l`` of each ray inside the layer (depth ``d``
   under the ceiling) gives its transmittance ``tau = (1 - eps_layer)^(l / d)``;
   ``L <- tau L + (1 - tau) L_b(T_layer)`` (Beer–Lambert with the layer's effective
   emissivity over its vertical thickness) [1].
3. Objects (far to near): fractional coverage ``c`` of each pixel by the projected
   ellipse (supersampled so that the object spans at least 16 samples),
   ``L <- (1 - c) L + c [tau_o (eps_o L_b(T_o) + (1 - eps_o) L) + (1 - tau_o) L_b(T_layer)]``
   — radiance, not temperature, is mixed, and a partly transparent flame shows what
   lies behind it.
4. Optics blur: the camera's point-spread function (a Gaussian core with wide wings,
   :meth:`~firesight.sensors.lepton.LeptonCamera.psf_taps`; linear in radiance).
5. Apparent temperature: the blackbody temperature of the mixed band radiance.

Two implementations share these equations. The reference one (:func:`render_radiance`,
:func:`render_apparent_temperature`) is plain NumPy/SciPy in float64 with the exact
inverse. The streaming one (:func:`iter_render_thermal`) is compiled
(:mod:`._render_kernels`): images in float32, the inverse Planck function a polynomial
in ``L^(1/4)`` (error < 0.15 mK from 200 to 3000 K; a shorter polynomial in ``L`` over
an image's own narrow radiance range when it agrees to 0.02 mK), and the work split by
how fast things change. The room, the smoke layer (from a zone model on a ~1 s grid)
and the objects that do not change within an interval of ``BASE_STEP_S`` are rendered
at the interval's ends ("base images") and interpolated linearly in between; objects
that change are composited at every scene sample over the interpolated radiance,
blurred and inverted only within their footprint. Frames between scene samples
interpolate the key images linearly in time; the device model
(:class:`~firesight.sensors.lepton.LeptonCamera`) then adds offsets, noise,
quantisation, gain, FFC and faults in one fused kernel.

References
----------
1. M. Vollmer, K.-P. Möllmann, *Infrared Thermal Imaging*, 2nd ed., 2018, ch. 1.4, 7.
2. FLIR Lepton 3.5 engineering datasheet 500-0771-01-09.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from numba import typed, types
from scipy.ndimage import correlate1d

from firesight.errors import require
from firesight.physics.radiometry import (
    band_radiance_inverse_polynomial,
    band_radiance_to_temperature,
    planck_band_radiance,
)
from firesight.scenarios._render_kernels import (
    ellipse_box,
    ellipse_coverage,
    render_keys_kernel,
    supersampling,
)
from firesight.scenarios.scene import ThermalObject, ThermalScene
from firesight.sensors.frames import LeptonFrames
from firesight.sensors.lepton import LeptonCamera

#: The room and smoke layer (which come from a zone model on a ~1 s grid), and objects
#: that do not change within an interval, are rendered every BASE_STEP_S [s] and
#: interpolated between; changing objects at every scene sample.
BASE_STEP_S = 1.0
_BASE_SLOTS = 3  # cached base images


class _SceneRenderer:
    """Static geometry of one (scene, camera) pair, and key-image rendering."""

    def __init__(self, scene: ThermalScene, camera: LeptonCamera):
        t = np.asarray(scene.time_s, dtype=np.float64)
        require(t.ndim == 1 and t.size >= 1, "scene.time_s", "a 1-D array of >= 1 times [s]", t.shape)
        require(bool(np.all(np.diff(t) > 0)), "scene.time_s", "strictly increasing [s]", "non-increasing")
        self.scene, self.camera = scene, camera
        self.n_t = t.size
        self.time_s = t
        self.band = tuple(camera.constants["band_um"])
        cam_pos = np.asarray(camera.pose.position_m, dtype=np.float64)
        size = np.array([scene.width_m, scene.depth_m, scene.height_m], dtype=np.float64)
        require(bool(np.all((cam_pos >= 0) & (cam_pos <= size))), "pose.position_m",
                f"inside the room [0..{size.tolist()}] m", cam_pos.tolist())
        self.cam_pos = cam_pos
        h, w = camera.height_px, camera.width_px
        rows, cols = np.meshgrid(np.arange(h) + 0.5, np.arange(w) + 0.5, indexing="ij")
        d = camera.pixel_rays(rows, cols)
        with np.errstate(divide="ignore", invalid="ignore"):
            exits = np.where(d > 0, (size - cam_pos) / d, np.where(d < 0, -cam_pos / d, np.inf))
        dist = exits.min(axis=-1)
        z_hit = cam_pos[2] + dist * d[..., 2]
        self.z_max = np.maximum(z_hit, cam_pos[2]).reshape(-1)
        span = self.z_max - np.minimum(z_hit, cam_pos[2]).reshape(-1)
        self.length_per_dz = np.where(span > 1e-9, dist.reshape(-1) / np.maximum(span, 1e-9), np.inf)
        self.ray_length_m = dist.reshape(-1)
        self.psf_kernel = camera.psf_taps()
        # band radiance of every temperature on the scene grid, once
        surf = _series(scene.surface_temperature_k, self.n_t)
        eps_s = float(scene.surface_emissivity)
        l_bb = self._band_radiance(surf)
        self.l_surface = eps_s * l_bb + (1.0 - eps_s) * l_bb
        sm = scene.smoke
        if sm is not None:
            self.smoke_depth = _series(sm.depth_m, self.n_t)
            self.smoke_eps = np.minimum(_series(sm.emissivity, self.n_t), 1.0 - 1e-9)
            self.l_smoke = self._band_radiance(_series(sm.temperature_k, self.n_t))
        n_obj = len(scene.objects)
        self.obj_center_arr = np.zeros((n_obj, self.n_t, 3))
        self.obj_param_arr = np.zeros((n_obj, 4, self.n_t))  # half width, half height, eps, L
        self.obj_flags = np.zeros((n_obj, 2))  # horizontal (1/0), occlusion
        for j, o in enumerate(scene.objects):
            self.obj_center_arr[j] = _centers(o.center_m, self.n_t)
            self.obj_param_arr[j] = (0.5 * _series(o.width_m, self.n_t), 0.5 * _series(o.height_m, self.n_t),
                                     _series(o.emissivity, self.n_t),
                                     self._band_radiance(_series(o.temperature_k, self.n_t)))
            self.obj_flags[j] = (1.0 if o.orientation == "horizontal" else 0.0, float(o.occlusion))
        self.smoke_arr = np.zeros((3, self.n_t))  # kappa, layer bottom, layer radiance
        self.smoke_arr[1] = scene.height_m
        if sm is not None:
            on = (self.smoke_depth > 0) & (self.smoke_eps > 0)
            self.smoke_arr[0, on] = -np.log1p(-self.smoke_eps[on]) / self.smoke_depth[on]
            self.smoke_arr[1, on] = scene.height_m - self.smoke_depth[on]
            self.smoke_arr[2, on] = self.l_smoke[on]
        step = float(np.median(np.diff(t))) if t.size > 1 else 1.0
        self.base_stride = max(1, int(round(BASE_STEP_S / step)))
        self._stream = None

    def _band_radiance(self, temperature_k: np.ndarray) -> np.ndarray:
        """Blackbody band radiance of a series, evaluated once per distinct value."""
        values, inverse = np.unique(temperature_k, return_inverse=True)
        return planck_band_radiance(values, band_um=self.band)[inverse]

    # ---- reference path (float64, NumPy/SciPy) --------------------------------------
    def _coverage(self, obj: ThermalObject, j: int, k: int):
        """Fractional pixel coverage of ``obj`` at sample ``k`` in its bounding box:
        ``(r0, r1, c0, c1, coverage, distance_m)``, or None when out of view."""
        cam = self.camera
        c = self.obj_center_arr[j, k]
        a, b = float(self.obj_param_arr[j, 0, k]), float(self.obj_param_arr[j, 1, k])
        box = np.zeros(4, dtype=np.int64)
        horizontal = obj.orientation == "horizontal"
        if not ellipse_box(self.cam_pos, c, a, b, horizontal, cam.rotation, cam.focal_px, cam.height_px,
                           cam.width_px, box):
            return None
        distance = float(np.sqrt(((c - self.cam_pos) ** 2).sum()))
        ss = supersampling(a, b, distance, cam.focal_px)
        cov = ellipse_coverage(self.cam_pos, c, a, b, horizontal, cam.rotation, cam.focal_px,
                               cam.height_px, cam.width_px, ss, box)
        cov *= 1.0 - float(obj.occlusion)
        return int(box[0]), int(box[1]), int(box[2]), int(box[3]), cov, distance

    def _smoke_state(self, k: int) -> tuple[float, float, float]:
        """(kappa [1/m], layer bottom height [m], layer radiance) at sample ``k``:
        ``kappa = -ln(1 - eps_layer) / depth``."""
        return float(self.smoke_arr[0, k]), float(self.smoke_arr[1, k]), float(self.smoke_arr[2, k])

    def _room(self, k: int) -> np.ndarray:
        """Unblurred radiance of the room seen through the smoke layer (flat)."""
        l_bg = float(self.l_surface[k])
        kappa, z_bottom, l_smoke = self._smoke_state(k)
        if kappa <= 0:
            return np.full(self.z_max.size, l_bg)
        inside = self.z_max > z_bottom
        with np.errstate(invalid="ignore"):
            length = np.where(inside, np.minimum((self.z_max - z_bottom) * self.length_per_dz,
                                                 self.ray_length_m), 0.0)
        return l_bg + -np.expm1(-kappa * length) * (l_smoke - l_bg)

    def radiance(self, k: int) -> np.ndarray:
        """Unblurred band radiance image at scene sample ``k`` [W m-2 sr-1]."""
        h, w = self.camera.height_px, self.camera.width_px
        img = self._room(k).reshape(h, w)
        kappa, z_bottom, l_smoke = self._smoke_state(k)
        placed = []
        for j, obj in enumerate(self.scene.objects):
            hit = self._coverage(obj, j, k)
            if hit is not None:
                placed.append((hit, j))
        placed.sort(key=lambda item: -item[0][5])
        for (r0, r1, c0, c1, cov, dist), j in placed:
            eps_o = float(self.obj_param_arr[j, 2, k])
            l_obj = float(self.obj_param_arr[j, 3, k])
            tau_o = 1.0
            if kappa > 0:
                cz, pz = float(self.obj_center_arr[j, k, 2]), float(self.cam_pos[2])
                lo, hi = min(cz, pz), max(cz, pz)
                frac = (min(max((hi - z_bottom) / (hi - lo), 0.0), 1.0) if hi - lo > 1e-9
                        else float(hi >= z_bottom))
                tau_o = float(np.exp(-kappa * frac * dist))
            patch = img[r0:r1, c0:c1]
            seen = tau_o * (eps_o * l_obj + (1.0 - eps_o) * patch) + (1.0 - tau_o) * l_smoke
            patch += cov * (seen - patch)
        return img

    def apparent_temperature_k(self, k: int) -> np.ndarray:
        """Noise-free apparent (radiometric) temperature image at sample ``k`` [K]:
        radiance blurred by the PSF (edges replicated), inverted through
        :func:`~firesight.physics.radiometry.band_radiance_to_temperature`."""
        img = self.radiance(k)
        if self.psf_kernel.size > 1:
            img = correlate1d(img, self.psf_kernel, axis=0, mode="nearest")
            img = correlate1d(img, self.psf_kernel, axis=1, mode="nearest")
        return band_radiance_to_temperature(img, band_um=self.band)

    # ---- streaming path (compiled, float32) -----------------------------------------
    def _stream_state(self, fpn_counts: np.ndarray) -> dict:
        """Arrays of the compiled path: scene tables, caches and scratch, made once per
        fixed-pattern image."""
        st = self._stream
        if st is not None and st["fpn_src"] is fpn_counts:
            return st
        cam = self.camera
        h, w = cam.height_px, cam.width_px
        n_obj = self.obj_center_arr.shape[0]
        inv_scale, inv_offset, inv_coeffs = band_radiance_inverse_polynomial(self.band)
        fpn = np.ascontiguousarray(fpn_counts, dtype=np.float32).reshape(h, w)
        covs = typed.List.empty_list(types.float64[:, :])
        for _ in range(n_obj):
            covs.append(np.zeros((0, 0)))
        f32 = np.float32
        slots = _BASE_SLOTS
        st = {
            "fpn_src": fpn_counts,
            "args": (
                self.base_stride, self.time_s, self._constant_intervals(), self.l_surface, self.smoke_arr,
                self.z_max.astype(f32), np.minimum(self.length_per_dz, 1e30).astype(f32),
                self.ray_length_m.astype(f32),
                self.obj_center_arr, self.obj_param_arr, self.obj_flags, self.cam_pos, cam.rotation,
                float(cam.focal_px), _padded_taps(self.psf_kernel), inv_scale, inv_offset, inv_coeffs, fpn,
                float(fpn.max()), int(fpn.argmax()), np.zeros((h, w), dtype=f32),
                np.zeros((n_obj, 6)), np.zeros(n_obj, dtype=np.bool_), np.zeros((n_obj, 4), dtype=np.int64),
                covs,
                np.zeros((h, w), dtype=f32), np.zeros((h, w), dtype=f32),
                np.full(slots, -1, dtype=np.int64), np.zeros((slots, n_obj), dtype=np.bool_),
                np.zeros(slots, dtype=np.int64), np.zeros(1, dtype=np.int64),
                np.zeros(slots), np.zeros((slots, 2), dtype=np.int64), np.zeros(slots),
                np.zeros(slots, dtype=np.int64),
                np.zeros((slots, h, w), dtype=f32), np.zeros((slots, h, w), dtype=f32),
                np.zeros((slots, h, w), dtype=f32),
            ),
        }
        self._stream = st
        return st

    def _constant_intervals(self) -> np.ndarray:
        """(n_intervals, n_objects) bool: the object's centre, size, emissivity and
        temperature are the same at every sample of the interval."""
        m, n_obj = self.base_stride, self.obj_center_arr.shape[0]
        n_iv = (self.n_t - 1) // m + 1
        if n_obj == 0:
            return np.zeros((n_iv, 0), dtype=np.bool_)
        p = np.concatenate([self.obj_center_arr, self.obj_param_arr.transpose(0, 2, 1)], axis=2)
        moved = np.any(p[:, 1:] != p[:, :-1], axis=2)  # (n_obj, n_t - 1): change from k to k + 1
        changes = np.concatenate([np.zeros((n_obj, 1), dtype=np.int64), np.cumsum(moved, axis=1)], axis=1)
        ka = np.arange(n_iv) * m
        kb = np.minimum(ka + m, self.n_t - 1)
        return np.ascontiguousarray((changes[:, kb] == changes[:, ka]).T)

    def key_counts_range(self, k_lo: int, k_hi: int, fpn_counts: np.ndarray, out: np.ndarray | None = None):
        """Key images of samples ``k_lo..k_hi`` (inclusive) in one compiled pass:
        ``100 T_apparent + fpn`` [0.01 K], float32, shape (k_hi - k_lo + 1, pixels),
        written into ``out`` when given. Returns ``(keys, peak, hint)``: per key an upper
        bound of its largest value and the index of a pixel at or near it."""
        st = self._stream_state(fpn_counts)
        n = k_hi - k_lo + 1
        if out is None:
            out = np.empty((n, fpn_counts.size), dtype=np.float32)
        require(out.shape == (n, fpn_counts.size) and out.dtype == np.float32 and out.flags.c_contiguous,
                "out", f"C-contiguous float32 of shape {(n, fpn_counts.size)}", (out.shape, out.dtype))
        peak = np.empty(n)
        hint = np.empty(n, dtype=np.int64)
        h, w = self.camera.height_px, self.camera.width_px
        render_keys_kernel(int(k_lo), int(k_hi), *st["args"], out.reshape(n, h, w), peak, hint)
        return out, peak, hint


def _padded_taps(taps: np.ndarray) -> np.ndarray:
    """float32 taps, zero-padded to 7 when shorter (the compiled blur's unrolled case)."""
    r = max(taps.size // 2, 3)
    out = np.zeros(2 * r + 1, dtype=np.float32)
    out[r - taps.size // 2:r + taps.size // 2 + 1] = taps
    return out


def _centers(center_m, n_t: int) -> np.ndarray:
    arr = np.asarray(center_m, dtype=np.float64)
    return np.broadcast_to(arr, (n_t, 3)) if arr.ndim == 1 else arr


def _series(value, n_t: int) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64).reshape(-1)
    return np.full(n_t, arr[0]) if arr.size == 1 else arr


def render_radiance(scene: ThermalScene, camera: LeptonCamera, sample_index: int) -> np.ndarray:
    """Band radiance image before optics blur at scene sample ``sample_index``
    [W m-2 sr-1], shape (120, 160)."""
    return _SceneRenderer(scene, camera).radiance(int(sample_index))


def render_apparent_temperature(scene: ThermalScene, camera: LeptonCamera, sample_index: int) -> np.ndarray:
    """Noise-free apparent temperature the optics deliver at scene sample
    ``sample_index`` [K], shape (120, 160): radiance mixed per pixel, blurred by the PSF,
    converted back with the band's inverse Planck function."""
    return _SceneRenderer(scene, camera).apparent_temperature_k(int(sample_index))


def _frame_keys(scene_t: np.ndarray, frame_t: np.ndarray):
    if scene_t.size == 1:
        zeros = np.zeros(frame_t.size, dtype=np.int64)
        return zeros, zeros, np.zeros(frame_t.size)
    kb = np.clip(np.searchsorted(scene_t, frame_t, side="right"), 1, scene_t.size - 1)
    ka = kb - 1
    w = np.clip((frame_t - scene_t[ka]) / (scene_t[kb] - scene_t[ka]), 0.0, 1.0)
    return ka, kb, w


def iter_render_thermal(scene: ThermalScene, camera: LeptonCamera, frame_times_s, *,
                        chunk_frames: int = 256) -> Iterator[LeptonFrames]:
    """Render device frames chunk by chunk (memory stays flat in the scene length).

    Parameters
    ----------
    scene : ThermalScene
    camera : LeptonCamera
    frame_times_s : array (n,)
        Increasing frame times [s]; typically ``t0 + arange(n) / camera.frame_rate_hz``.
    chunk_frames : int, default 256
        Frames per yielded chunk. The output bytes do not depend on it.

    Yields
    ------
    LeptonFrames
        Consecutive chunks; :meth:`LeptonFrames.concatenate` joins them.
    """
    require(int(chunk_frames) >= 1, "chunk_frames", ">= 1", chunk_frames)
    t = np.asarray(frame_times_s, dtype=np.float64)
    require(t.ndim == 1, "frame_times_s", "a 1-D array [s]", t.shape)
    require(t.size < 2 or bool(np.all(np.diff(t) > 0)), "frame_times_s", "strictly increasing [s]",
            "non-increasing")
    renderer = _SceneRenderer(scene, camera)
    scene_t = np.asarray(scene.time_s, dtype=np.float64)
    _, ffc_state, drift_k = camera.fpa_ffc_drift(t, camera_ambient_k(scene, camera, t))
    ka_all, kb_all, w_all = _frame_keys(scene_t, t)
    fpn_counts = camera.fpn_k * np.float32(100.0)
    starts = list(range(0, t.size, int(chunk_frames)))
    spans = [(int(ka_all[a:a + int(chunk_frames)].min()), int(kb_all[a:a + int(chunk_frames)].max()))
             for a in starts]
    cap = max((hi - lo + 1 for lo, hi in spans), default=0)
    # two key buffers, alternating: a chunk copies the key images it shares with the last
    bufs = [np.empty((cap, fpn_counts.size), dtype=np.float32) for _ in range(2 if len(starts) > 1 else 1)]
    peaks = [np.empty(cap) for _ in bufs]
    hints = [np.empty(cap, dtype=np.int64) for _ in bufs]
    prev_keys, prev_peak, prev_hint, prev_lo = None, None, None, 0
    state = camera.new_state()
    for c, (start, (k_lo, k_hi)) in enumerate(zip(starts, spans)):
        sl = slice(start, min(start + int(chunk_frames), t.size))
        ka, kb = ka_all[sl], kb_all[sl]
        n_keys = k_hi - k_lo + 1
        keys = bufs[c % len(bufs)][:n_keys]
        peak, hint = peaks[c % len(bufs)][:n_keys], hints[c % len(bufs)][:n_keys]
        first_new = k_lo
        if prev_keys is not None:  # key images shared with the previous chunk
            ov_hi = min(k_hi, prev_lo + prev_keys.shape[0] - 1)
            if ov_hi >= k_lo:
                src = slice(k_lo - prev_lo, ov_hi - prev_lo + 1)
                keys[:ov_hi - k_lo + 1] = prev_keys[src]
                peak[:ov_hi - k_lo + 1] = prev_peak[src]
                hint[:ov_hi - k_lo + 1] = prev_hint[src]
                first_new = ov_hi + 1
        if first_new <= k_hi:
            _, peak[first_new - k_lo:], hint[first_new - k_lo:] = renderer.key_counts_range(
                first_new, k_hi, fpn_counts, out=keys[first_new - k_lo:])
        prev_keys, prev_peak, prev_hint, prev_lo = keys, peak, hint, k_lo
        yield camera.expose(keys, ka - k_lo, kb - k_lo, w_all[sl], t[sl], ffc_state[sl],
                            drift_k[sl], state, key_peak=peak, key_hint=hint)


def camera_ambient_k(scene: ThermalScene, camera: LeptonCamera, frame_times_s) -> np.ndarray:
    """Air temperature around the camera's node at the frames [K]: the smoke layer's once
    the layer reaches down to the camera, else the room's (taken as its surfaces'); what
    drives the FPA temperature (:meth:`LeptonCamera.fpa_ffc_drift`)."""
    t = np.asarray(frame_times_s, dtype=np.float64)
    scene_t = np.asarray(scene.time_s, dtype=np.float64)
    room = _series(scene.surface_temperature_k, scene_t.size)
    if scene.smoke is not None:
        depth = _series(scene.smoke.depth_m, scene_t.size)
        inside = camera.pose.position_m[2] >= scene.height_m - depth
        room = np.where(inside & (depth > 0), _series(scene.smoke.temperature_k, scene_t.size), room)
    return np.interp(t, scene_t, room) if scene_t.size > 1 else np.full(t.size, room[0])


def render_thermal(scene: ThermalScene, camera: LeptonCamera, frame_times_s) -> LeptonFrames:
    """Render all frames at once; see :func:`iter_render_thermal`."""
    t = np.asarray(frame_times_s, dtype=np.float64)
    parts = list(iter_render_thermal(scene, camera, t, chunk_frames=max(int(t.size), 1)))
    if not parts:
        h, w = camera.height_px, camera.width_px
        return LeptonFrames(frames=np.zeros((0, h, w), np.uint16), time_s=t, gain=np.zeros(0, np.uint8),
                            resolution_k=np.zeros(0, np.float32), ffc_state=np.zeros(0, np.uint8),
                            frame_counter=np.zeros(0, np.uint32), valid=np.zeros(0, bool))
    return parts[0]
