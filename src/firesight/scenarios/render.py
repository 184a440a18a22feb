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
4. Optics blur: a Gaussian point-spread function (linear in radiance).
5. Apparent temperature: the blackbody temperature of the mixed band radiance
   (:func:`~firesight.physics.radiometry.band_radiance_to_temperature`).

Frames between two scene samples interpolate the key images' apparent temperature
linearly in time; the device model (:class:`~firesight.sensors.lepton.LeptonCamera`)
then adds offsets, noise, quantisation, gain, FFC and faults in one fused kernel.
Only key images cost real work, so a scene sampled every 1 s renders at 8.7 frames per
key image.

References
----------
1. M. Vollmer, K.-P. Möllmann, *Infrared Thermal Imaging*, 2nd ed., 2018, ch. 1.4, 7.
2. FLIR Lepton 3.5 engineering datasheet 500-0771-01-09.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from firesight.errors import require
from firesight.physics.radiometry import band_radiance_table, planck_band_radiance
from firesight.scenarios.scene import ThermalObject, ThermalScene
from firesight.scenarios._render_kernels import (
    EXP_TABLE,
    EXP_TABLE_MAX,
    blur_convert_kernel,
    coverage_kernel,
    lut_scalar,
    render_keys_kernel,
    smoke_kernel,
)
from firesight.sensors.lepton import LeptonCamera, LeptonFrames

_MIN_SAMPLES_ACROSS = 16  # supersampling: samples across an object's smaller extent
_MAX_SUPERSAMPLE = 64
#: The room and smoke layer (which come from a zone model on a ~1 s grid) are rendered
#: every BASE_STEP_S and interpolated in radiance between; objects at every sample.
BASE_STEP_S = 1.0


class _SceneRenderer:
    """Static geometry of one (scene, camera) pair, and key-image rendering."""

    def __init__(self, scene: ThermalScene, camera: LeptonCamera):
        t = np.asarray(scene.time_s, dtype=np.float64)
        require(t.ndim == 1 and t.size >= 1, "scene.time_s", "a 1-D array of >= 1 times [s]", t.shape)
        require(bool(np.all(np.diff(t) > 0)), "scene.time_s", "strictly increasing [s]", "non-increasing")
        self.scene, self.camera = scene, camera
        self.n_t = t.size
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
        self.psf_kernel = _gaussian_kernel(float(camera.model["psf_sigma_px"]))
        # band radiance of every temperature on the scene grid, once
        surf = _series(scene.surface_temperature_k, self.n_t)
        eps_s = float(scene.surface_emissivity)
        self.l_surface = (planck_band_radiance(surf, emissivity=eps_s, band_um=self.band)
                          + planck_band_radiance(surf, emissivity=1.0 - eps_s, band_um=self.band))
        self.t_surface = surf
        sm = scene.smoke
        if sm is not None:
            self.smoke_depth = _series(sm.depth_m, self.n_t)
            self.smoke_eps = np.minimum(_series(sm.emissivity, self.n_t), 1.0 - 1e-9)
            self.l_smoke = planck_band_radiance(_series(sm.temperature_k, self.n_t), band_um=self.band)
        self.l_objects = [planck_band_radiance(_series(o.temperature_k, self.n_t), band_um=self.band)
                          for o in scene.objects]
        self.obj_centers = [_centers(o.center_m, self.n_t) for o in scene.objects]
        self.obj_half_w = [0.5 * _series(o.width_m, self.n_t) for o in scene.objects]
        self.obj_half_h = [0.5 * _series(o.height_m, self.n_t) for o in scene.objects]
        self.obj_eps = [_series(o.emissivity, self.n_t) for o in scene.objects]
        n_obj = len(scene.objects)
        self.obj_center_arr = np.zeros((n_obj, self.n_t, 3))
        self.obj_param_arr = np.zeros((n_obj, 4, self.n_t))  # half width, half height, eps, L
        self.obj_flags = np.zeros((n_obj, 2))  # horizontal (1/0), occlusion
        for j, o in enumerate(scene.objects):
            self.obj_center_arr[j] = self.obj_centers[j]
            self.obj_param_arr[j] = (self.obj_half_w[j], self.obj_half_h[j], self.obj_eps[j], self.l_objects[j])
            self.obj_flags[j] = (1.0 if o.orientation == "horizontal" else 0.0, float(o.occlusion))
        self.smoke_arr = np.zeros((3, self.n_t))  # kappa, layer bottom, layer radiance
        for k in range(self.n_t):
            self.smoke_arr[:, k] = self._smoke_state(k)
        self._coverage_memo: dict[int, tuple] = {}
        self._bases: dict[int, tuple] = {}
        self._delta = np.zeros((h, w))
        self.time_s = t
        step = float(np.median(np.diff(t))) if t.size > 1 else 1.0
        self.base_stride = max(1, int(round(BASE_STEP_S / step)))
        temps, rad = band_radiance_table(self.band)
        self.lut = _UniformRadianceTable(temps, rad)

    # ---- pieces ---------------------------------------------------------------------
    def _coverage(self, j: int, obj: ThermalObject, k: int):
        """Fractional pixel coverage of ``obj`` at sample ``k`` in its bounding box.

        Returns ``(r0, r1, c0, c1, coverage, distance_m)`` or None when out of view.
        Geometry that did not change since the last call is not recomputed.
        """
        c = self.obj_centers[j][k]
        a, b = float(self.obj_half_w[j][k]), float(self.obj_half_h[j][k])
        key = (c[0], c[1], c[2], a, b, obj.orientation, float(obj.occlusion))
        memo = self._coverage_memo.get(j)
        if memo is not None and memo[0] == key:
            return memo[1]
        result = self._coverage_compute(obj, c, a, b)
        self._coverage_memo[j] = (key, result)
        return result

    def _coverage_compute(self, obj: ThermalObject, c: np.ndarray, a: float, b: float):
        cam = self.camera
        if a <= 0 or b <= 0:
            return None
        if obj.orientation == "horizontal":
            n = np.array([0.0, 0.0, 1.0])
            u, v = np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])
        else:
            to_cam = self.cam_pos - c
            to_cam[2] = 0.0
            norm = float(np.hypot(to_cam[0], to_cam[1]))
            n = to_cam / norm if norm > 1e-9 else np.array([1.0, 0.0, 0.0])
            u, v = np.array([-n[1], n[0], 0.0]), np.array([0.0, 0.0, 1.0])
        box = np.zeros(4, dtype=np.int64)
        distance = float(np.sqrt(((c - self.cam_pos) ** 2).sum()))
        extent_px = 2.0 * min(a, b) * cam.focal_px / max(distance, 1e-6)
        ss = int(min(max(np.ceil(_MIN_SAMPLES_ACROSS / max(extent_px, 1e-6)), 2), _MAX_SUPERSAMPLE))
        cov = coverage_kernel(self.cam_pos, c, a, b, n, u, v, cam.rotation, cam.focal_px,
                               cam.height_px, cam.width_px, ss, box)
        if cov.size == 0:
            return None
        cov *= 1.0 - float(obj.occlusion)
        return int(box[0]), int(box[1]), int(box[2]), int(box[3]), cov, distance

    def _smoke_state(self, k: int) -> tuple[float, float, float]:
        """(kappa [1/m], layer bottom height [m], layer radiance) at sample ``k``."""
        sc = self.scene
        if sc.smoke is not None:
            depth, eps_l = float(self.smoke_depth[k]), float(self.smoke_eps[k])
            if depth > 0 and eps_l > 0:
                return -np.log1p(-eps_l) / depth, sc.height_m - depth, float(self.l_smoke[k])
        return 0.0, sc.height_m, 0.0

    def _room(self, k: int) -> np.ndarray:
        """Unblurred radiance of the room seen through the smoke layer (flat)."""
        l_bg = float(self.l_surface[k])
        img = np.empty(self.camera.height_px * self.camera.width_px)
        kappa, z_bottom, l_smoke = self._smoke_state(k)
        if kappa > 0:
            smoke_kernel(img, self.z_max, self.length_per_dz, self.ray_length_m,
                          z_bottom, kappa, l_smoke, l_bg, EXP_TABLE, EXP_TABLE_MAX)
        else:
            img.fill(l_bg)
        return img

    def _placed(self, k: int) -> list:
        """Visible objects at sample ``k``, far to near, with their coverage boxes."""
        placed = []
        for j, obj in enumerate(self.scene.objects):
            hit = self._coverage(j, obj, k)
            if hit is not None:
                placed.append((hit, j))
        placed.sort(key=lambda item: -item[0][5])
        return placed

    def _composite(self, img: np.ndarray, k: int, placed: list, r_off: int = 0, c_off: int = 0) -> None:
        """Lay the objects over ``img`` (2-D, its corner at pixel ``(r_off, c_off)``),
        mixing radiance with coverage, emissivity and smoke transmittance."""
        kappa, z_bottom, l_smoke = self._smoke_state(k)
        for (r0, r1, c0, c1, cov, dist), j in placed:
            eps_o = float(self.obj_eps[j][k])
            l_obj = float(self.l_objects[j][k])
            tau_o = 1.0
            if kappa > 0:
                cz, pz = float(self.obj_centers[j][k][2]), float(self.cam_pos[2])
                lo, hi = min(cz, pz), max(cz, pz)
                frac = (min(max((hi - z_bottom) / (hi - lo), 0.0), 1.0) if hi - lo > 1e-9
                        else float(hi >= z_bottom))
                tau_o = float(np.exp(-kappa * frac * dist))
            patch = img[r0 - r_off:r1 - r_off, c0 - c_off:c1 - c_off]
            seen = tau_o * (eps_o * l_obj + (1.0 - eps_o) * patch) + (1.0 - tau_o) * l_smoke
            patch += cov * (seen - patch)

    def radiance(self, k: int):
        """Unblurred band radiance image at scene sample ``k`` [W m-2 sr-1] and the
        room-surface radiance it departs from."""
        h, w = self.camera.height_px, self.camera.width_px
        img = self._room(k).reshape(h, w)
        self._composite(img, k, self._placed(k))
        return img, float(self.l_surface[k])

    def _base(self, k: int, scale: float, fpn: np.ndarray, into: tuple | None = None) -> tuple:
        """Room + smoke at sample ``k``: unblurred and blurred radiance, and the key
        counts ``scale * T + fpn`` (cached for the last few samples); written into the
        three flat arrays ``into`` when given."""
        hit = self._bases.get(k)
        if hit is not None and hit[0] == scale and hit[1] is fpn:
            if into is not None:
                for dst, src in zip(into, hit[2]):
                    dst[:] = src
            return hit[2]
        l_bg = float(self.l_surface[k])
        room = self._room(k)
        h, w = self.camera.height_px, self.camera.width_px
        lut = self.lut
        t_bg = lut_scalar(l_bg, lut.table_k, lut.l0, lut.inv_step)
        if into is None:
            blurred = np.full(h * w, l_bg)
            out = (np.float32(t_bg * scale) + fpn).astype(np.float32 if scale != 1.0 else np.float64)
        else:
            into[0][:] = room
            room, blurred, out = into
            blurred.fill(l_bg)
            np.add(fpn, np.float32(t_bg * scale), out=out, casting="unsafe")
        blur_convert_kernel((room - l_bg).reshape(h, w), 0, h, 0, w, self.psf_kernel, blurred, blurred,
                             0.0, lut.table_k, lut.l0, lut.inv_step, scale, fpn, out, blurred, True, False)
        result = (room, blurred, out)
        if len(self._bases) >= 4:
            del self._bases[min(self._bases)]
        self._bases[k] = (scale, fpn, result)
        return result

    def _key(self, k: int, ka: int, kb: int, scale: float, fpn: np.ndarray) -> np.ndarray:
        """Key image at sample ``k`` with the room + smoke interpolated between base
        samples ``ka`` and ``kb`` and the objects composited exactly at ``k``."""
        room_a, blur_a, out_a = self._base(ka, scale, fpn)
        if kb != ka:
            room_b, blur_b, out_b = self._base(kb, scale, fpn)
            wb = float((self.time_s[k] - self.time_s[ka]) / (self.time_s[kb] - self.time_s[ka]))
        else:
            room_b, blur_b, out_b, wb = room_a, blur_a, out_a, 0.0
        out = out_a + out_a.dtype.type(wb) * (out_b - out_a) if wb else out_a.copy()
        placed = self._placed(k)
        if not placed:
            return out
        h, w = self.camera.height_px, self.camera.width_px
        r0 = min(p[0][0] for p in placed)
        r1 = max(p[0][1] for p in placed)
        c0 = min(p[0][2] for p in placed)
        c1 = max(p[0][3] for p in placed)
        under = room_a.reshape(h, w)[r0:r1, c0:c1]
        if wb:
            under = under + wb * (room_b.reshape(h, w)[r0:r1, c0:c1] - under)
        region = under.copy()
        self._composite(region, k, placed, r0, c0)
        delta = self._delta
        delta[r0:r1, c0:c1] = region - under
        lut = self.lut
        blur_convert_kernel(delta, r0, r1, c0, c1, self.psf_kernel, blur_a, blur_b, wb, lut.table_k,
                             lut.l0, lut.inv_step, scale, fpn, out, blur_a, False, True)
        delta[r0:r1, c0:c1] = 0.0
        return out

    def apparent_temperature_k(self, k: int) -> np.ndarray:
        """Noise-free apparent (radiometric) temperature image at sample ``k`` [K]."""
        h, w = self.camera.height_px, self.camera.width_px
        return self._key(k, k, k, 1.0, np.zeros(h * w)).reshape(h, w)

    def key_counts_range(self, k_lo: int, k_hi: int, fpn_counts: np.ndarray,
                         out: np.ndarray | None = None) -> np.ndarray:
        """Key images of samples ``k_lo..k_hi`` (inclusive) in one compiled pass, the
        same numbers as :meth:`key_counts`: room and smoke interpolated between base
        samples, objects composited, blurred and inverted at every sample. Written into
        ``out`` (float32, shape (k_hi - k_lo + 1, pixels)) when given."""
        m = self.base_stride
        ks = np.arange(k_lo, k_hi + 1)
        ka = (ks // m) * m
        kb = np.where(ka == ks, ks, np.minimum(ka + m, self.n_t - 1))
        bases = sorted(set(ka.tolist()) | set(kb.tolist()))
        slot = {k: i for i, k in enumerate(bases)}
        n_pix = fpn_counts.size
        rooms = np.empty((len(bases), n_pix))
        blurred = np.empty((len(bases), n_pix))
        counts = np.empty((len(bases), n_pix), dtype=np.float32)
        for i, k in enumerate(bases):
            self._base(k, 100.0, fpn_counts, into=(rooms[i], blurred[i], counts[i]))
        ta, tb = self.time_s[ka], self.time_s[kb]
        wb = np.where(kb > ka, (self.time_s[ks] - ta) / np.where(kb > ka, tb - ta, 1.0), 0.0)
        if out is None:
            out = np.empty((ks.size, n_pix), dtype=np.float32)
        cam = self.camera
        lut = self.lut
        render_keys_kernel(
            ks, np.array([slot[k] for k in ka.tolist()]), np.array([slot[k] for k in kb.tolist()]), wb,
            rooms, blurred, counts, self.obj_center_arr, self.obj_param_arr, self.obj_flags, self.smoke_arr,
            self.cam_pos, cam.rotation, cam.focal_px, cam.height_px, cam.width_px, self.psf_kernel,
            lut.table_k, lut.l0, lut.inv_step, fpn_counts, self._delta, out)
        return out

    def key_counts(self, k: int, fpn_counts: np.ndarray) -> np.ndarray:
        """Key image for the device model: ``100 * T_apparent + fpn`` [0.01 K], float32.

        The room and smoke layer are rendered every ``base_stride`` samples (about
        every ``BASE_STEP_S``) and interpolated linearly in between; objects are
        rendered exactly at every sample."""
        m = self.base_stride
        ka = (k // m) * m
        kb = min(ka + m, self.n_t - 1)
        if ka == k:
            kb = k
        return self._key(k, ka, kb, 100.0, fpn_counts)


class _UniformRadianceTable:
    """Temperature on a uniform radiance grid (0.1 W m-2 sr-1 steps below 1,000, the
    fine 0.05 K table beyond): direct indexing for the per-pixel inversion."""

    def __init__(self, temps: np.ndarray, rad: np.ndarray, step: float = 0.05):
        l_max = float(rad[-1])
        self.l0 = float(rad[0])
        n = int(np.ceil((l_max - self.l0) / step)) + 2
        grid = self.l0 + step * np.arange(n)
        self.table_k = np.interp(grid, rad, temps)
        self.inv_step = 1.0 / step


def _gaussian_kernel(sigma_px: float) -> np.ndarray:
    """Normalised 1-D Gaussian taps, radius ceil(3 sigma)."""
    if sigma_px <= 0:
        return np.ones(1)
    r = int(np.ceil(3.0 * sigma_px))
    x = np.arange(-r, r + 1, dtype=np.float64)
    k = np.exp(-0.5 * (x / sigma_px) ** 2)
    return k / k.sum()


def _centers(center_m, n_t: int) -> np.ndarray:
    arr = np.asarray(center_m, dtype=np.float64)
    return np.broadcast_to(arr, (n_t, 3)) if arr.ndim == 1 else arr


def _series(value, n_t: int) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64).reshape(-1)
    return np.full(n_t, arr[0]) if arr.size == 1 else arr


def render_radiance(scene: ThermalScene, camera: LeptonCamera, sample_index: int) -> np.ndarray:
    """Band radiance image before optics blur at scene sample ``sample_index``
    [W m-2 sr-1], shape (120, 160)."""
    return _SceneRenderer(scene, camera).radiance(int(sample_index))[0]


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
    surface = np.asarray(scene.surface_temperature_k, dtype=np.float64).reshape(-1)
    fpa_k = np.interp(t, scene_t, surface) if surface.size > 1 else np.full(t.size, surface[0])
    ffc_state, ref_k = camera.ffc_schedule(t, fpa_k)
    drift_k = camera.model["drift_k_per_k"] * (fpa_k - ref_k)
    ka_all, kb_all, w_all = _frame_keys(scene_t, t)
    fpn_counts = camera.fpn_k * np.float32(100.0)
    prev_keys, prev_lo = None, 0
    state = camera.new_state()
    for start in range(0, t.size, int(chunk_frames)):
        sl = slice(start, min(start + int(chunk_frames), t.size))
        ka, kb = ka_all[sl], kb_all[sl]
        k_lo, k_hi = int(ka.min()), int(kb.max())
        keys = np.empty((k_hi - k_lo + 1, fpn_counts.size), dtype=np.float32)
        first_new = k_lo
        if prev_keys is not None:  # key images shared with the previous chunk
            ov_hi = min(k_hi, prev_lo + prev_keys.shape[0] - 1)
            if ov_hi >= k_lo:
                keys[:ov_hi - k_lo + 1] = prev_keys[k_lo - prev_lo:ov_hi - prev_lo + 1]
                first_new = ov_hi + 1
        if first_new <= k_hi:
            renderer.key_counts_range(first_new, k_hi, fpn_counts, out=keys[first_new - k_lo:])
        prev_keys, prev_lo = keys, k_lo
        yield camera.expose(keys, ka - k_lo, kb - k_lo, w_all[sl], t[sl], ffc_state[sl],
                            drift_k[sl], state)


def render_thermal(scene: ThermalScene, camera: LeptonCamera, frame_times_s) -> LeptonFrames:
    """Render all frames at once; see :func:`iter_render_thermal`."""
    t = np.asarray(frame_times_s, dtype=np.float64)
    parts = list(iter_render_thermal(scene, camera, t, chunk_frames=max(int(t.size), 1)))
    if not parts:
        h, w = camera.height_px, camera.width_px
        return LeptonFrames(np.zeros((0, h, w), np.uint16), t, np.zeros(0, np.uint8),
                            np.zeros(0, np.float32), np.zeros(0, np.uint8), np.zeros(0, np.uint32),
                            np.zeros(0, bool))
    return parts[0]
