"""FLIR Lepton 3.5 radiometric thermal camera: the device model.

True apparent temperatures in (rendered by :mod:`firesight.scenarios.render`), device
frames out: per-device accuracy offset, fixed-pattern noise of pixels, rows and columns,
temporal noise (NETD) with row and column parts, filtered in time as the camera's own
pipeline does (:mod:`firesight.sensors.lepton_noise`), TLinear quantisation in high gain
(0.01 K) or low gain (0.1 K) with automatic gain switching, saturation, flat-field
correction (FFC) with its "imminent" flag and frozen frames, driven by the focal-plane
temperature (:mod:`firesight.sensors.lepton_fpa`), and optional faults as the device
shows them (:mod:`firesight.sensors.lepton_faults`: replaced defective pixels, a
corrupted row, torn frames from a lost VoSPI segment, stuck and dropped frames).

References
----------
1. FLIR Lepton 3.5 engineering datasheet, document 500-0771-01-09 rev. 200 (2018):
   160 x 120 px, 12 um pitch, 57 deg HFOV, f/1.1, 8–14 um, < 9 Hz, NETD < 50 mK,
   radiometric accuracy ±5 C (high gain) / ±10 C (low gain), scene dynamic range
   −10…140 C (high gain) and −10…400 C (low gain), TLinear output 0.01 K or 0.1 K.
2. FLIR Lepton Software Interface Description Document (IDD), document 110-0144-04
   rev. 303: FFC states (``FFC imminent`` asserted before an automatic FFC, frames
   frozen during the shutter), automatic FFC every 180 s or on a 1.5 C FPA drift,
   ``LEP_SYS_GAIN_MODE_AUTO`` with population/temperature thresholds.
3. J. W. Goodman, *Introduction to Fourier Optics*, 3rd ed., 2005: Airy pattern;
   Gaussian approximation sigma = 0.42 lambda N.
4. GroupGets (FLIR Lepton distributor), FAQ "For accurate radiometric readings, how many
   pixels must the measurement area subtend?": at least 10 pixels across, as FLIR
   recommends; Optris Xi manual: lower-quality optics need up to 10 x 10 pixels to
   collect 90 % of the energy.
5. H. Budzier, G. Gerlach, "The size-of-source effect in thermography", J. Sens. Sens.
   Syst. 10 (2021) 179-192: hot spots under 4 x 4 pixels read much too low; I. Pusnik,
   G. Gersak, Sensors 21 (2021) 607: at least 10 x 10 pixels for an accurate reading.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numba import njit

from firesight.errors import require
from firesight.sensors.frames import (FFC_IMMINENT, FFC_IN_PROGRESS, GAIN_HIGH, GAIN_LOW, TLINEAR_RESOLUTION_K,
                                      LeptonFrames)
from firesight.sensors.lepton_faults import VOSPI_ROWS_PER_SEGMENT, VOSPI_SEGMENTS, bad_row_offsets_k, \
    replacement_sources
from firesight.sensors.lepton_fpa import fpa_temperature_k
from firesight.sensors.lepton_noise import pixel_sigma_k, row_column_pattern_k, temporal_filter_coefficients
from firesight.sensors.pose import CameraPose
from firesight.units import ZERO_CELSIUS_K, tlinear_to_celsius

#: Lepton 3.5 datasheet constants [1, 2].
LEPTON35 = {
    "width_px": 160,
    "height_px": 120,
    "pixel_pitch_um": 12.0,
    "hfov_deg": 57.0,
    "f_number": 1.1,
    "band_um": (8.0, 14.0),
    "frame_rate_hz": 8.7,  # export-compliant effective rate (< 9 Hz)
    "netd_k": 0.050,  # thermal sensitivity < 50 mK
    "high_gain_range_c": (-10.0, 140.0),
    "low_gain_range_c": (-10.0, 400.0),
    "high_gain_resolution_k": TLINEAR_RESOLUTION_K[GAIN_HIGH],
    "low_gain_resolution_k": TLINEAR_RESOLUTION_K[GAIN_LOW],
    "high_gain_accuracy_c": 5.0,
    "low_gain_accuracy_c": 10.0,
    "ffc_interval_s": 180.0,
    "ffc_drift_c": 1.5,
    "ffc_imminent_s": 2.0,
    "ffc_duration_s": 0.9,
}

#: Model parameters that the datasheet does not give; each is an assumption stated in
#: docs/sensors.md. ``psf_sigma_px``: Airy disk of f/1.1 at ~11 um gives sigma = 0.42
#: lambda N / pitch = 0.42 px [3]; doubled for aberrations and pixel crosstalk. The
#: ``psf_halo_*`` wings (scatter and flare of the wafer-level lens) make targets under
#: ~10 px read low, as FLIR asks for 10 px across for an accurate reading [4, 5].
LEPTON35_MODEL = {
    "psf_sigma_px": 0.8,
    "psf_halo_fraction": 0.15,  # share of each 1-D PSF tap sum in the wide wings
    "psf_halo_sigma_px": 2.0,
    "fpn_sigma_k": 0.03,  # residual fixed-pattern noise after FFC, per pixel
    "fpn_row_sigma_k": 0.01,  # ... per row (3-D noise sigma_v)
    "fpn_column_sigma_k": 0.02,  # ... per column (sigma_h; column-parallel read-out)
    "temporal_row_sigma_k": 0.005,  # part of the NETD common to a row in a frame (sigma_tv)
    "temporal_column_sigma_k": 0.015,  # ... common to a column (sigma_th)
    "temporal_filter_tau_s": 0.5,  # the camera's recursive temporal noise filter
    "housing_tau_s": 600.0,  # thermal time constant of the node around the FPA
    "self_heating_k": 4.0,  # settled FPA rise from the module's own power
    "warmup_tau_s": 120.0,  # ... reached with this time constant after power-on
    "drift_k_per_k": 0.2,  # uncorrected offset per kelvin of FPA drift since last FFC
    "gain_high_to_low_c": 140.0,  # AUTO gain: leave high gain when ...
    "gain_high_to_low_fraction": 0.0,  # ... more than this fraction of pixels exceed it
    "gain_low_to_high_c": 110.0,  # return to high gain when ...
    "gain_low_to_high_fraction": 1.0,  # ... at least this fraction of pixels is below it
    "noise_bank_size": 1 << 19,
}

@dataclass
class LeptonFaults:
    """Optional device faults.

    Attributes
    ----------
    dead_pixel_fraction : float
        Fraction of defective pixels, replaced by the camera with the mean of their good
        neighbours (their own value never shows) [-].
    stuck_frame_prob : float
        Per-frame probability that the device re-sends the previous frame [-].
    dropped_frame_prob : float
        Per-frame probability that a frame is lost: a VoSPI segment went missing and the
        host discarded the frame (``valid`` False; content repeats) [-].
    torn_segment_prob : float
        Per-frame probability that one of the 4 VoSPI segments (30 rows) is lost and the
        host does not notice: that quarter shows the previous frame's rows [-].
    bad_rows : int
        Rows whose pixels keep a fixed uncorrected offset, which the camera's defect
        replacement misses (as the real frames' row 76) [-].

    Defective pixels are replaced with the mean of their good 4-neighbours, as the
    camera's pipeline does (:mod:`firesight.sensors.lepton_faults`).
    """

    dead_pixel_fraction: float = 0.0
    stuck_frame_prob: float = 0.0
    dropped_frame_prob: float = 0.0
    torn_segment_prob: float = 0.0
    bad_rows: int = 0

    def __post_init__(self) -> None:
        for name in ("dead_pixel_fraction", "stuck_frame_prob", "dropped_frame_prob", "torn_segment_prob"):
            value = getattr(self, name)
            require(0.0 <= value <= 1.0, name, "within [0, 1]", value)
        require(int(self.bad_rows) == self.bad_rows and 0 <= self.bad_rows <= 120, "bad_rows",
                "an integer in [0, 120]", self.bad_rows)


#: TLinear counts to temperature [C] (:func:`firesight.units.tlinear_to_celsius`).
to_celsius = tlinear_to_celsius


def _rotation_room_from_camera(pose: CameraPose) -> np.ndarray:
    """Columns: camera right, up, forward in room coordinates."""
    yaw, tilt, roll = (math.radians(v) for v in (pose.yaw_deg, pose.tilt_deg, pose.roll_deg))
    fwd = np.array([math.cos(yaw) * math.cos(tilt), math.sin(yaw) * math.cos(tilt), -math.sin(tilt)])
    right = np.array([math.sin(yaw), -math.cos(yaw), 0.0])
    up = np.cross(right, fwd)
    r_roll = math.cos(roll) * right + math.sin(roll) * up
    u_roll = -math.sin(roll) * right + math.cos(roll) * up
    return np.stack([r_roll, u_roll, fwd], axis=1)


class LeptonCamera:
    """One Lepton 3.5 unit at a pose, with its own manufacturing spread.

    Parameters
    ----------
    pose : CameraPose
        Position [m] and yaw / tilt / roll [deg] in room coordinates.
    rng : numpy.random.Generator
        Draws the per-device accuracy offsets (uniform-ish within ±5 C high gain,
        ±10 C low gain [1]), the fixed-pattern noise, dead pixels, the temporal-noise
        bank, the FFC phase and the per-frame random stream seed. Nothing else is random.
    frame_rate_hz : float, default 8.7
        Output frame rate [Hz] [1].
    ffc_interval_s : float, default 180
        Automatic FFC period [s] [2].
    faults : LeptonFaults or None
        Optional faults.
    uptime_s : float or None
        Time since power-on at the first frame [s]: the FPA is still warming up
        (:mod:`firesight.sensors.lepton_fpa`) and the last FFC was the one at power-on.
        None (default): long settled, the FFC timer at a random phase.
    constants, model : dict, optional
        Override :data:`LEPTON35` / :data:`LEPTON35_MODEL` entries (for tests).
    """

    def __init__(
        self,
        *,
        pose: CameraPose,
        rng: np.random.Generator,
        frame_rate_hz: float = 8.7,
        ffc_interval_s: float = 180.0,
        faults: LeptonFaults | None = None,
        uptime_s: float | None = None,
        constants: dict | None = None,
        model: dict | None = None,
    ):
        require(isinstance(rng, np.random.Generator), "rng", "a numpy.random.Generator", type(rng).__name__)
        require(frame_rate_hz > 0, "frame_rate_hz", "> 0 [Hz]", frame_rate_hz)
        require(ffc_interval_s > 0, "ffc_interval_s", "> 0 [s]", ffc_interval_s)
        require(uptime_s is None or uptime_s >= 0, "uptime_s", "None or >= 0 [s]", uptime_s)
        self.pose = pose
        self.uptime_s = None if uptime_s is None else float(uptime_s)
        self.frame_rate_hz = float(frame_rate_hz)
        self.ffc_interval_s = float(ffc_interval_s)
        self.faults = faults or LeptonFaults()
        self.constants = {**LEPTON35, **(constants or {})}
        self.model = {**LEPTON35_MODEL, **(model or {})}
        c, m = self.constants, self.model
        self.height_px, self.width_px = int(c["height_px"]), int(c["width_px"])
        self.focal_px = 0.5 * self.width_px / math.tan(math.radians(0.5 * c["hfov_deg"]))
        self.rotation = _rotation_room_from_camera(pose)
        n_pix = self.height_px * self.width_px
        # per-device accuracy offsets: normal, 3 sigma at the datasheet bound, clipped there
        z = np.clip(rng.standard_normal(2), -3.0, 3.0) / 3.0
        self.offset_high_k = float(z[0] * c["high_gain_accuracy_c"])
        self.offset_low_k = float(z[1] * c["low_gain_accuracy_c"])
        self.fpn_k = (rng.standard_normal(n_pix) * m["fpn_sigma_k"]).astype(np.float32)
        n_dead = int(round(self.faults.dead_pixel_fraction * n_pix))
        self.dead_pixels = np.sort(rng.permutation(n_pix)[:n_dead]).astype(np.int64)
        bank = np.rint(rng.standard_normal(int(m["noise_bank_size"]) + n_pix) * (c["netd_k"] * 100.0))
        self.noise_bank = np.clip(bank, -32768, 32767).astype(np.int16)
        self.ffc_phase_s = float(rng.uniform(0.0, self.ffc_interval_s))
        self.stream_seed = int(rng.integers(0, 2**63 - 1))
        # structured noise and faults, drawn after the above so that those keep their draws
        h, w = self.height_px, self.width_px
        self.fpn_k += row_column_pattern_k(rng, h, w, row_sigma_k=m["fpn_row_sigma_k"],
                                           column_sigma_k=m["fpn_column_sigma_k"])
        self.fpn_k += bad_row_offsets_k(rng, h, w, int(self.faults.bad_rows))
        netd = c["netd_k"]
        scale = 1.0 / netd if netd > 0 else 0.0
        self.noise_scales = (np.float32(pixel_sigma_k(netd, m["temporal_row_sigma_k"],
                                                      m["temporal_column_sigma_k"]) * scale),
                             np.float32(m["temporal_row_sigma_k"] * scale),
                             np.float32(m["temporal_column_sigma_k"] * scale))
        self.noise_start = rng.integers(0, int(m["noise_bank_size"]), size=2)
        self.dead_sources = replacement_sources(self.dead_pixels, h, w)

    # ---- geometry -------------------------------------------------------------------
    def pixel_rays(self, rows_px, cols_px) -> np.ndarray:
        """Unit ray directions in room coordinates through image points.

        ``rows_px``, ``cols_px`` are continuous pixel coordinates (pixel ``(i, j)``
        spans ``[i, i+1) x [j, j+1)``; its centre is ``(i + 0.5, j + 0.5)``); returns
        shape ``broadcast + (3,)``. Pinhole model with focal length
        ``f = (W/2) / tan(HFOV/2)`` [px].
        """
        rows, cols = np.broadcast_arrays(np.asarray(rows_px, float), np.asarray(cols_px, float))
        x = (cols - 0.5 * self.width_px) / self.focal_px
        y = -(rows - 0.5 * self.height_px) / self.focal_px
        cam = np.stack([x, y, np.ones_like(x)], axis=-1)
        d = cam @ self.rotation.T
        return d / np.linalg.norm(d, axis=-1, keepdims=True)

    def project(self, points_m) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Room points [m] to continuous pixel ``(row, col)`` and depth along the
        optical axis [m] (depth <= 0: behind the camera)."""
        p = np.asarray(points_m, float) - np.asarray(self.pose.position_m, float)
        cam = p @ self.rotation
        depth = cam[..., 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            col = cam[..., 0] / depth * self.focal_px + 0.5 * self.width_px
            row = -cam[..., 1] / depth * self.focal_px + 0.5 * self.height_px
        return row, col, depth

    def psf_taps(self) -> np.ndarray:
        """1-D taps of the optics' point-spread function, applied along rows and columns
        to the radiance (so the 2-D PSF is their outer product): a Gaussian core of
        ``psf_sigma_px`` plus wings of ``psf_halo_sigma_px`` holding ``psf_halo_fraction``
        of the sum, radius ceil(3 sigma) of the wider; normalised to 1. ``[1.0]`` (no
        blur) when both are off."""
        m = self.model
        parts = [(1.0 - float(m["psf_halo_fraction"]), float(m["psf_sigma_px"])),
                 (float(m["psf_halo_fraction"]), float(m["psf_halo_sigma_px"]))]
        parts = [(wt, sg) for wt, sg in parts if wt > 0]
        radius = max((int(math.ceil(3.0 * sg)) for _, sg in parts if sg > 0), default=0)
        if radius == 0:
            return np.ones(1)
        x = np.arange(-radius, radius + 1, dtype=np.float64)
        taps = np.zeros(x.size)
        for wt, sg in parts:
            g = np.exp(-0.5 * (x / sg) ** 2) if sg > 0 else (x == 0).astype(float)
            taps += wt * g / g.sum()
        return taps / taps.sum()

    # ---- FFC ------------------------------------------------------------------------
    def ffc_schedule(self, frame_times_s, camera_temperature_k, *, last_ffc_s=None, reference_k=None):
        """Automatic FFC timeline [2].

        An FFC starts ``ffc_interval_s`` after the previous one (the first at the
        device's random phase, or ``last_ffc_s``) or ``ffc_imminent_s`` after the FPA
        temperature has moved more than ``ffc_drift_c`` since the last FFC (from
        ``reference_k``, default the first frame's), whichever comes first. The
        ``imminent`` state covers the ``ffc_imminent_s`` before the start; frames are
        frozen for ``ffc_duration_s`` after it.

        Returns
        -------
        ffc_state : uint8 array (n,)
        reference_temperature_k : float64 array (n,)
            FPA temperature at the end of the last completed FFC, per frame [K].
        """
        t = np.asarray(frame_times_s, dtype=np.float64)
        cam = np.asarray(camera_temperature_k, dtype=np.float64)
        c = self.constants
        imminent, duration, drift = c["ffc_imminent_s"], c["ffc_duration_s"], c["ffc_drift_c"]
        state = np.zeros(t.size, dtype=np.uint8)
        ref = np.full(t.size, cam[0] if t.size else 0.0)
        if t.size == 0:
            return state, ref
        last_start = t[0] - self.ffc_phase_s if last_ffc_s is None else float(last_ffc_s)
        i0, t_ref = 0, (cam[0] if reference_k is None else float(reference_k))
        ref[:] = t_ref
        while True:
            start = last_start + self.ffc_interval_s
            moved = np.flatnonzero(np.abs(cam[i0:] - t_ref) > drift)
            if moved.size:
                start = min(start, t[i0 + moved[0]] + imminent)
            if start - imminent > t[-1]:
                break
            state[(t >= start - imminent) & (t < start)] = FFC_IMMINENT
            state[(t >= start) & (t < start + duration)] = FFC_IN_PROGRESS
            i_end = int(np.searchsorted(t, start + duration, side="left"))
            if i_end >= t.size:
                break
            t_ref = float(np.interp(start + duration, t, cam))
            ref[i_end:] = t_ref
            last_start, i0 = start, i_end
        return state, ref

    def fpa_ffc_drift(self, frame_times_s, ambient_k):
        """FPA temperature, FFC timeline and uncorrected drift offset per frame.

        ``ambient_k`` (n,) is the air around the node [K] (the room, or the hot layer
        when it reaches the node). Returns ``(fpa_k, ffc_state, drift_k)``: the FPA
        temperature (:func:`~firesight.sensors.lepton_fpa.fpa_temperature_k`) [K], the
        FFC states (:meth:`ffc_schedule`; after a power-on the first FFC is the one at
        power-on) and ``drift_k_per_k`` times the FPA's change since the last FFC [K].
        """
        t = np.asarray(frame_times_s, dtype=np.float64)
        amb = np.broadcast_to(np.asarray(ambient_k, dtype=np.float64), t.shape)
        m = self.model
        fpa = fpa_temperature_k(t, amb, uptime_s=self.uptime_s, housing_tau_s=m["housing_tau_s"],
                                self_heating_k=m["self_heating_k"], warmup_tau_s=m["warmup_tau_s"])
        if self.uptime_s is None or t.size == 0:
            state, ref = self.ffc_schedule(t, fpa)
        else:  # the FFC at power-on, with the FPA at its housing's (then the ambient's) temperature
            state, ref = self.ffc_schedule(t, fpa, last_ffc_s=t[0] - self.uptime_s,
                                           reference_k=amb[0] - m["self_heating_k"])
        return fpa, state, m["drift_k_per_k"] * (fpa - ref)

    # ---- exposure -------------------------------------------------------------------
    def new_state(self) -> "LeptonState":
        """Fresh streaming state (gain, last frame, counters, per-frame random stream, the
        temporal filter's noise, stationary from the start)."""
        h, w = self.height_px, self.width_px
        s_pix, s_row, s_col = self.noise_scales
        a, b = (int(v) for v in self.noise_start)
        bank = self.noise_bank.astype(np.float32)
        filt = (s_pix * bank[a:a + h * w].reshape(h, w) + s_row * bank[b:b + h, None]
                + s_col * bank[b + h:b + h + w][None, :])
        return LeptonState(
            gain=GAIN_HIGH,
            last=np.zeros(h * w, dtype=np.uint16),
            counter=0,
            rng=np.random.Generator(np.random.PCG64(self.stream_seed)),
            filt=np.ascontiguousarray(filt.reshape(-1), dtype=np.float32),
        )

    def expose(self, key_counts, key_a, key_b, weight, frame_times_s, ffc_state, drift_k, state, *,
               key_peak=None, key_hint=None):
        """Turn apparent-temperature key images into device frames (one chunk).

        Parameters
        ----------
        key_counts : float32 array (n_keys, 120*160)
            Noise-free apparent temperature in 0.01 K units, fixed-pattern noise
            included (see :meth:`key_image_counts`).
        key_a, key_b, weight : arrays (n,)
            Per frame: the two bracketing key images and the linear weight of ``key_b``.
        frame_times_s, ffc_state, drift_k : arrays (n,)
            Frame times [s], FFC states, uncorrected FPA-drift offset [K].
        state : LeptonState
            Streaming state, updated in place.
        key_peak, key_hint : arrays (n_keys,), optional
            Per key image an upper bound of its largest value and the index of a pixel
            at or near it (the renderer knows both); computed here when not given. They
            only speed up the gain decision, which stays exact.
        """
        n = int(np.asarray(frame_times_s).size)
        c, m, f = self.constants, self.model, self.faults
        h, w = self.height_px, self.width_px
        t = np.asarray(frame_times_s, dtype=np.float64)
        # per frame: pixel-noise offset, dropped, stuck, row/column-noise offset, torn, torn segment
        draws = state.rng.random((n, 6))
        noise_off = np.floor(draws[:, 0] * (self.noise_bank.size - h * w)).astype(np.int64)
        line_off = np.floor(draws[:, 3] * (self.noise_bank.size - h - w)).astype(np.int64)
        dropped = draws[:, 1] < f.dropped_frame_prob
        stuck = draws[:, 2] < f.stuck_frame_prob
        frozen = (np.asarray(ffc_state) == FFC_IN_PROGRESS) | dropped | stuck
        torn = np.where(draws[:, 4] < f.torn_segment_prob,
                        np.minimum(draws[:, 5] * VOSPI_SEGMENTS, VOSPI_SEGMENTS - 1).astype(np.int64), -1)
        ar_a, ar_b, state.last_time_s = temporal_filter_coefficients(
            t, ~frozen, state.last_time_s, float(m["temporal_filter_tau_s"]), 1.0 / self.frame_rate_hz)
        drift = np.asarray(drift_k, dtype=np.float64)
        off_hi = ((self.offset_high_k + drift) * 100.0).astype(np.float32)
        off_lo = ((self.offset_low_k + drift) * 100.0).astype(np.float32)
        out = np.empty((n, h * w), dtype=np.uint16)
        gains = np.empty(n, dtype=np.uint8)
        gstate = np.array([state.gain, int(state.counter > 0)], dtype=np.int64)
        key_counts = np.ascontiguousarray(key_counts, dtype=np.float32)
        if key_peak is None or key_hint is None:
            key_peak, key_hint = key_counts.max(axis=1), key_counts.argmax(axis=1)
        _expose_kernel(
            key_counts, np.asarray(key_peak, np.float64), np.asarray(key_hint, np.int64),
            np.asarray(key_a, np.int64), np.asarray(key_b, np.int64),
            np.asarray(weight, np.float32), off_hi, off_lo, self.noise_bank, noise_off, line_off,
            ar_a, ar_b, *self.noise_scales, h, frozen, torn, VOSPI_ROWS_PER_SEGMENT,
            self.dead_pixels, self.dead_sources,
            np.float32((m["gain_high_to_low_c"] + ZERO_CELSIUS_K) * 100.0),
            float(m["gain_high_to_low_fraction"]),
            np.float32((m["gain_low_to_high_c"] + ZERO_CELSIUS_K) * 100.0),
            float(m["gain_low_to_high_fraction"]),
            np.float32((c["high_gain_range_c"][1] + ZERO_CELSIUS_K) * 100.0),
            np.float32((c["low_gain_range_c"][1] + ZERO_CELSIUS_K) * 100.0),
            gstate, state.last, state.filt, out, gains,
        )
        state.gain = int(gstate[0])
        counter = (state.counter + np.arange(n, dtype=np.uint64)).astype(np.uint32)
        state.counter += n
        res = np.where(gains == GAIN_HIGH, c["high_gain_resolution_k"], c["low_gain_resolution_k"])
        return LeptonFrames(
            frames=out.reshape(n, h, w),
            time_s=t,
            gain=gains,
            resolution_k=res.astype(np.float32),
            ffc_state=np.asarray(ffc_state, dtype=np.uint8),
            frame_counter=counter,
            valid=~dropped,
        )


@dataclass
class LeptonState:
    """Streaming state of one camera across chunks: gain, last frame shown, frame counter,
    per-frame random stream, the temporal filter's noise per pixel [0.01 K] and the time
    of the last frame that updated it [s]."""

    gain: int
    last: np.ndarray
    counter: int
    rng: np.random.Generator = field(repr=False)
    filt: np.ndarray = field(repr=False, default=None)
    last_time_s: float | None = None


@njit(cache=True, nogil=True)
def _population_decides(a, b, w, lim, above, needed, start):
    """Whether the count of interpolated pixels above (or below) ``lim`` exceeds
    (reaches) ``needed``; scans from ``start`` (the key's hottest pixel) and stops as
    soon as the answer is known."""
    n = a.size
    hits = 0
    misses = 0
    for q in range(n):
        p = start + q
        if p >= n:
            p -= n
        v = a[p] + w * (b[p] - a[p])
        if (v > lim) if above else (v < lim):
            hits += 1
            if above and hits > needed:
                return True
        else:
            misses += 1
            if not above and n - misses < needed:
                return False
    return hits > needed if above else hits >= needed


@njit(cache=True, nogil=True, error_model="numpy")
def _expose_kernel(keys, key_peak, key_hint, key_a, key_b, weight, off_hi, off_lo, bank, noise_off, line_off,
                   ar_a, ar_b, s_pix, s_row, s_col, height, frozen, torn, seg_rows, dead, dead_src,
                   thr_h2l, frac_h2l, thr_l2h, frac_l2h, sat_hi, sat_lo, gstate, last, filt, out, gains):
    n_frames = key_a.size
    n_pix = keys.shape[1]
    width = n_pix // height
    gain = gstate[0]
    have_last = gstate[1] != 0
    zero = np.float32(0.0)
    half = np.float32(0.5)
    tenth = np.float32(0.1)
    col_noise = np.empty(width, dtype=np.float32)
    shown = -1  # last frame of this chunk that was not frozen
    for i in range(n_frames):
        row = out[i]
        if frozen[i]:
            if shown >= 0:
                row[:] = out[shown]
            else:
                row[:] = last
            gains[i] = gain
            continue
        ia, ib = key_a[i], key_b[i]
        a = keys[ia]
        b = keys[ib]
        w = weight[i]
        peak = max(key_peak[ia], key_peak[ib])
        start = key_hint[ia] if key_peak[ia] >= key_peak[ib] else key_hint[ib]
        # automatic gain: population of noise-free pixels above / below the thresholds;
        # the key images' peak bounds settle most frames without a pass over the pixels
        if gain == 0:
            lim = thr_h2l - off_hi[i]
            if peak > lim and _population_decides(a, b, w, lim, True, frac_h2l * n_pix, start):
                gain = 1
        else:
            lim = thr_l2h - off_lo[i]
            if peak < lim or _population_decides(a, b, w, lim, False, frac_l2h * n_pix, start):
                gain = 0
        # temporal noise: white pixel, row and column parts through the recursive filter
        bk = bank[noise_off[i]:noise_off[i] + n_pix]
        lk = bank[line_off[i]:line_off[i] + height + width]
        fa = ar_a[i]
        fb = ar_b[i]
        for c in range(width):
            col_noise[c] = s_col * np.float32(lk[height + c])
        if gain == 0:  # v = (T + offset + noise) * scale + add, rounded and clipped
            off = off_hi[i] + half
            scale = np.float32(1.0)
            add = zero
            top = sat_hi
        else:
            off = off_lo[i]
            scale = tenth
            add = half
            top = sat_lo * tenth + half
        for r in range(height):
            base = r * width
            rn = s_row * np.float32(lk[r])
            for c in range(width):
                p = base + c
                e = fa * filt[p] + fb * (s_pix * np.float32(bk[p]) + rn + col_noise[c])
                filt[p] = e
                v = (a[p] + w * (b[p] - a[p]) + off + e) * scale + add
                row[p] = np.int32(min(max(v, zero), top))
        # defective pixels: the mean of their good neighbours, as the camera replaces them
        for k in range(dead.size):
            total = 0
            count = 0
            for q in range(dead_src.shape[1]):
                src = dead_src[k, q]
                if src >= 0:
                    total += np.int64(row[src])
                    count += 1
            row[dead[k]] = (total + count // 2) // count if count else 0
        # a lost VoSPI segment the host did not notice: that quarter keeps the previous frame
        seg = torn[i]
        if seg >= 0 and (shown >= 0 or have_last):
            lo = seg * seg_rows * width
            hi = min(lo + seg_rows * width, n_pix)
            if shown >= 0:
                row[lo:hi] = out[shown][lo:hi]
            else:
                row[lo:hi] = last[lo:hi]
        gains[i] = gain
        shown = i
    if shown >= 0:
        last[:] = out[shown]
    gstate[0] = gain
