"""Per-device data quality, presence and windowing: the state the monitoring agent keeps for
one node (one Lepton 3.5 + one SCD41).

:class:`DeviceMonitor` takes the node's validated messages in arrival order and

- checks the data: dropped frames (``seq`` gaps), FFC (frames frozen by the shutter are
  expected; identical frames outside FFC are a frozen camera), missing camera frames,
  missing or stuck SCD41 readings (identical readings; a real SCD41 reading always moves
  in its last digits), SCD41 output at its clamp, device clock jumps;
- tracks which sensors work and so the degraded mode (camera only / SCD41 only);
- gives a camera that has not delivered its first frame yet a start-up grace: it counts as
  missing for the windows (they are scored SCD41-only), but it is *judged* missing (a
  ``camera_failed`` trouble, a ``degraded:gas`` supervisory) only ``camera_start_grace_s``
  after the node started (its status ``uptime_s``, else its first reading). A node may run
  its SCD41 before its camera: the simulated fleet plays 15 min of SCD41 history before the
  scenario's first frame. Once a frame has arrived, a camera that stops is judged after
  ``camera_timeout_s`` as always;
- feeds :class:`firesight.features.OnlineFeatureExtractor` (the training feature code) and
  emits a window every ``step_s`` of device time exactly as offline replay does: every
  reading up to the window end is pushed before the window is emitted;
- finds the hot region of the newest frame (bounding box, maximum temperature) for the
  alert's thermal snapshot.

Presence (offline after N missed readings) is judged on the receiver's clock by the agent.

References
----------
1. FLIR Lepton Engineering Datasheet (110-0144-04): FFC freezes the output for ~0.9 s;
   telemetry FFC state.
2. Sensirion SCD4x datasheet v1.6: periodic measurement every 5 s (30 s low power); CO2
   output range 0-40,000 ppm.
"""

from __future__ import annotations

import base64
import math
import time
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from firesight.errors import DataError
from firesight.iot.codec import SCD41Message, StatusMessage, ThermalMessage
from firesight.units import tlinear_to_celsius

#: FFC state names (codec) -> the extractor's codes (0 normal, 1 imminent, 2 in progress).
FFC_CODES = {"not_commanded": 0, "complete": 0, "imminent": 1, "in_progress": 2}
#: SCD41 CO2 clamp [ppm] (datasheet output range).
SCD41_CO2_MAX_PPM = 40_000.0
#: Longest run of windows emitted at once after a gap in a device's stream [-].
MAX_WINDOWS_PER_MESSAGE = 300


@dataclass
class QualitySettings:
    """Thresholds in device time [s] unless said otherwise (see docs/running.md)."""

    camera_timeout_s: float = 5.0
    camera_start_grace_s: float = 120.0
    frozen_after_s: float = 3.0
    scd41_missing_readings: int = 3
    scd41_interval_s: float = 5.0
    scd41_stuck_readings: int = 8
    clock_jump_s: float = 30.0


@dataclass
class Window:
    """One emitted feature window of one device."""

    time_s: float
    ts_ms: int
    features: dict[str, float]
    inputs: dict[str, bool]
    snapshot: dict
    quality: dict
    trigger: dict = field(default_factory=dict)


def hot_region(pixels: np.ndarray, resolution_k: float, *, min_contrast_c: float = 3.0) -> dict:
    """Maximum temperature and the hot region around it in one TLinear frame.

    The region is the connected set of pixels (8-neighbourhood) containing the hottest
    pixel whose temperature is at least halfway from the frame median to the maximum.

    Parameters
    ----------
    pixels : ndarray of uint16, shape (120, 160)
        TLinear counts.
    resolution_k : float
        Kelvin per count.
    min_contrast_c : float
        Below this maximum-minus-median [C] no region is marked.

    Returns
    -------
    dict with ``max_c``, ``median_c``, ``max_px`` ([row, col]) and, when there is a hot
    region, ``bbox`` ([row0, col0, row1, col1], inclusive) and ``area_px``.
    """
    from scipy import ndimage

    temp_c = tlinear_to_celsius(pixels, resolution_k, dtype=np.float32)
    idx = int(np.argmax(temp_c))
    r, c = divmod(idx, temp_c.shape[1])
    max_c, median_c = float(temp_c[r, c]), float(np.median(temp_c))
    out = {"max_c": round(max_c, 2), "median_c": round(median_c, 2), "max_px": [r, c]}
    if max_c - median_c < min_contrast_c:
        return out
    mask = temp_c >= median_c + 0.5 * (max_c - median_c)
    labels, _ = ndimage.label(mask, structure=np.ones((3, 3), bool))
    region = labels == labels[r, c]
    rows, cols = np.nonzero(region)
    out["bbox"] = [int(rows.min()), int(cols.min()), int(rows.max()), int(cols.max())]
    out["area_px"] = int(region.sum())
    return out


def thumbnail(pixels: np.ndarray, resolution_k: float, factor: int = 4) -> dict:
    """A small 8-bit image of the frame (block means), for the alert's snapshot picture:
    ``{"b64", "shape", "lo_c", "hi_c"}`` with counts 0..255 mapping linearly to lo..hi [C]."""
    h, w = pixels.shape
    temp_c = tlinear_to_celsius(pixels, resolution_k, dtype=np.float32)
    small = temp_c[:h - h % factor, :w - w % factor].reshape(h // factor, factor, w // factor, factor).mean((1, 3))
    lo, hi = float(small.min()), float(small.max())
    scaled = np.zeros(small.shape, np.uint8) if hi - lo < 1e-6 else \
        np.clip((small - lo) / (hi - lo) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return {"b64": base64.b64encode(scaled.tobytes()).decode(), "shape": list(scaled.shape),
            "lo_c": round(lo, 2), "hi_c": round(hi, 2)}


class DeviceMonitor:
    """Quality, sensor health and windows of one node.

    Parameters
    ----------
    site, thing : str
        The node.
    step_s, window_s : float
        Window step and length [s] of the model.
    settings : QualitySettings
    """

    def __init__(self, site: str, thing: str, *, step_s: float, window_s: float,
                 settings: QualitySettings | None = None):
        from firesight.features import OnlineFeatureExtractor

        self.site, self.thing = site, thing
        self.step_s, self.window_s = float(step_s), float(window_s)
        self.settings = settings or QualitySettings()
        self._extractor_cls = OnlineFeatureExtractor
        self.extractor = OnlineFeatureExtractor(step_s=self.step_s, window_s=self.window_s)
        self.counts: Counter[str] = Counter()
        self.base_ms: int | None = None
        self.anchor_ms: int | None = None
        self.next_emit_s: float | None = None
        self.latest_ms: int | None = None
        self.pending: list[tuple[float, float, float, float]] = []
        # camera
        self.last_seq: dict[str, int] = {}
        self.last_stream_ms: dict[str, int] = {}
        self.last_frame: tuple[np.ndarray, float] | None = None
        self.last_good_frame_ms: int | None = None
        self.first_frame_ms: int | None = None
        self.last_hash: int | None = None
        self.same_since_ms: int | None = None
        self.in_ffc = False
        # SCD41
        self.last_scd41_ms: int | None = None
        self.last_values: tuple[float, float, float] | None = None
        self.same_readings = 0
        self.scd41_interval_s = self.settings.scd41_interval_s
        self.first_ms: int | None = None
        # presence (receiver clock)
        self.last_seen_mono: float | None = None
        self.wall_gap_s: float | None = None
        self.last_scd41_mono: float | None = None
        self.reported_offline = False
        self.camera_reason = ""
        self.scd41_reason = ""
        self.status: dict = {}

    # ------------------------------------------------------------------ time base
    def time_s(self, ts_ms: int) -> float:
        """Device time of ``ts_ms`` on this monitor's time base [s]."""
        return (ts_ms - (self.base_ms or 0)) / 1000.0

    def scenario_time_s(self, ts_ms: int) -> float | None:
        """Time since the device's stream started [s], when the device told (status
        ``uptime_s``); None otherwise."""
        return None if self.anchor_ms is None else (ts_ms - self.anchor_ms) / 1000.0

    def _set_base(self, ts_ms: int) -> None:
        if self.base_ms is None:
            self.base_ms = self.anchor_ms if self.anchor_ms is not None else ts_ms
            self.first_ms = ts_ms

    # ------------------------------------------------------------------ sensors
    def camera_ok(self) -> bool:
        return not self.camera_reason

    def scd41_ok(self) -> bool:
        return not self.scd41_reason

    def camera_judged(self) -> bool:
        """Whether the camera's state is known: a frame arrived, or none did for longer than
        the timeout (a monitor that just started does not clear a remembered fault); a
        camera that never sent a frame is not judged within its start-up grace."""
        if self.first_frame_ms is None:
            return self.camera_reason != "" and not self.camera_starting()
        return self.last_good_frame_ms is not None or self.camera_reason != ""

    def camera_starting(self) -> bool:
        """Whether the node started (status ``uptime_s``, else its first reading here) less
        than ``camera_start_grace_s`` ago, in device time, and no frame has arrived yet."""
        if self.first_frame_ms is not None:
            return False
        start = self.anchor_ms if self.anchor_ms is not None else self.first_ms
        if start is None or self.latest_ms is None:
            return True
        return self.latest_ms - start <= self.settings.camera_start_grace_s * 1000

    def scd41_judged(self) -> bool:
        return self.last_scd41_ms is not None or self.scd41_reason != ""

    def health(self) -> dict:
        camera = "starting" if self.camera_reason == "missing" and self.camera_starting() else self.camera_reason
        return {"camera": camera or "ok", "scd41": self.scd41_reason or "ok",
                "counts": dict(self.counts), "scd41_interval_s": round(self.scd41_interval_s, 3)}

    def _check_sensors(self) -> None:
        s, now = self.settings, self.latest_ms
        if now is None or self.first_ms is None:
            return
        # the camera: frames stopped, or the same frame outside FFC for too long
        last_frame = self.last_good_frame_ms if self.last_good_frame_ms is not None else self.first_ms
        if self.same_since_ms is not None and self.last_stream_ms.get("thermal", 0) - self.same_since_ms \
                >= s.frozen_after_s * 1000:
            self.camera_reason = "frozen"
        elif now - last_frame > s.camera_timeout_s * 1000:
            self.camera_reason = "missing"
        else:
            self.camera_reason = ""
        # the SCD41: readings stopped, or stuck at one value
        last_reading = self.last_scd41_ms if self.last_scd41_ms is not None else self.first_ms
        if self.same_readings >= s.scd41_stuck_readings:
            self.scd41_reason = "stuck"
        elif now - last_reading > s.scd41_missing_readings * self.scd41_interval_s * 1000:
            self.scd41_reason = "missing"
        else:
            self.scd41_reason = ""

    # ------------------------------------------------------------------ input
    def on_status(self, msg: StatusMessage) -> None:
        self.status = {"state": msg.state, "firmware": msg.firmware, "uptime_s": msg.uptime_s,
                       "ts_ms": msg.ts_ms}
        if msg.uptime_s is not None and msg.state != "offline":
            self.anchor_ms = int(round(msg.ts_ms - msg.uptime_s * 1000.0))

    def _track_seq(self, stream: str, seq: int | None, ts_ms: int) -> None:
        if seq is not None:
            last = self.last_seq.get(stream)
            if last is not None and seq > last + 1:
                self.counts[f"{stream}_dropped"] += seq - last - 1
            self.last_seq[stream] = seq
        last_ms = self.last_stream_ms.get(stream)
        if last_ms is not None and abs(ts_ms - last_ms) > self.settings.clock_jump_s * 1000:
            self.counts["clock_jumps"] += 1
        self.last_stream_ms[stream] = ts_ms
        self.latest_ms = ts_ms if self.latest_ms is None else max(self.latest_ms, ts_ms)

    def on_thermal(self, msg: ThermalMessage) -> list[Window]:
        """Take one frame; return the windows that ended before it."""
        self._set_base(msg.ts_ms)
        self._track_seq("thermal", msg.seq, msg.ts_ms)
        self.counts["frames"] += 1
        if self.first_frame_ms is None:
            self.first_frame_ms = msg.ts_ms
        code = FFC_CODES[msg.ffc_state]
        if code == 2:
            self.counts["ffc_frames"] += 1
            if not self.in_ffc:
                self.counts["ffc_events"] += 1
            self.in_ffc = True
        else:
            self.in_ffc = False
            digest = hash(msg.pixels.tobytes())
            if digest == self.last_hash:
                self.counts["repeated_frames"] += 1
                if self.same_since_ms is None:
                    self.same_since_ms = self.last_good_frame_ms or msg.ts_ms
            else:
                self.same_since_ms = None
                self.last_good_frame_ms = msg.ts_ms
            self.last_hash = digest
        t = self.time_s(msg.ts_ms)
        windows = self._advance(t, msg.ts_ms, {"stream": "thermal", "seq": msg.seq, "ts_ms": msg.ts_ms})
        self._check_sensors()
        if self.camera_reason == "frozen":
            return windows  # a frozen image is no evidence; do not feed it to the features
        try:
            self.extractor.push_thermal(t, msg.pixels, msg.resolution_k, code)
        except DataError:
            self._restart_time_base(msg.ts_ms)
        self.last_frame = (msg.pixels, msg.resolution_k)
        return windows

    def on_scd41(self, msg: SCD41Message) -> list[Window]:
        """Take one SCD41 reading; return the windows that ended before it."""
        self._set_base(msg.ts_ms)
        self._track_seq("scd41", msg.seq, msg.ts_ms)
        self.counts["scd41_readings"] += 1
        if msg.co2_ppm >= SCD41_CO2_MAX_PPM:
            self.counts["scd41_saturated"] += 1
        values = (msg.co2_ppm, msg.temperature_c, msg.humidity_rh)
        self.same_readings = self.same_readings + 1 if values == self.last_values else 0
        if self.last_scd41_ms is not None and msg.ts_ms > self.last_scd41_ms:
            gap_s = (msg.ts_ms - self.last_scd41_ms) / 1000.0
            if gap_s < 10 * self.settings.scd41_interval_s:  # a gap is not a new interval
                self.scd41_interval_s = 0.8 * self.scd41_interval_s + 0.2 * gap_s
        self.last_values = values
        self.last_scd41_ms = msg.ts_ms
        t = self.time_s(msg.ts_ms)
        if self.same_readings < self.settings.scd41_stuck_readings:
            self.pending.append((t, *values))
        # while the camera delivers, frames close the windows: the gateway hands readings on
        # ahead of frames still queued, and a window must not close before its frames are in
        camera_delivers = self.last_good_frame_ms is not None and self.camera_ok()
        windows = [] if camera_delivers else self._advance(t, msg.ts_ms, {"stream": "scd41", "seq": msg.seq,
                                                                          "ts_ms": msg.ts_ms})
        self._check_sensors()
        return windows

    def _restart_time_base(self, ts_ms: int) -> None:
        """The device clock went backwards (reboot, clock set): start the windows afresh."""
        self.counts["time_base_restarts"] += 1
        self.extractor = self._extractor_cls(step_s=self.step_s, window_s=self.window_s)
        self.base_ms, self.next_emit_s, self.pending = None, None, []
        self.anchor_ms = None if self.anchor_ms is not None and ts_ms < self.anchor_ms else self.anchor_ms
        self._set_base(ts_ms)

    # ------------------------------------------------------------------ windows
    def _advance(self, t: float, ts_ms: int, trigger: dict) -> list[Window]:
        """Emit every window ending at a step multiple before ``t`` (replay semantics: the
        readings up to each window end are pushed first)."""
        step = self.step_s
        if self.next_emit_s is None:
            self.next_emit_s = math.ceil(t / step - 1e-9) * step
        if t < self.next_emit_s - 1e-9:
            return []
        if t - self.next_emit_s > MAX_WINDOWS_PER_MESSAGE * step:  # a long gap: skip ahead
            self.counts["windows_skipped"] += int((t - self.next_emit_s) / step) - MAX_WINDOWS_PER_MESSAGE
            self.next_emit_s = math.floor(t / step) * step - (MAX_WINDOWS_PER_MESSAGE - 1) * step
        out = []
        while self.next_emit_s < t - 1e-9:  # a reading at exactly the window end belongs to it
            now = self.next_emit_s
            self.next_emit_s = now + step
            self._push_pending(now)
            features = self.extractor.emit(now)
            if features is None:
                continue
            features.pop("time_s", None)
            window_ms = int(round((self.base_ms or 0) + now * 1000.0))
            out.append(Window(time_s=now, ts_ms=window_ms, features=features,
                              inputs={"thermal": self.camera_ok(), "scd41": self.scd41_ok()},
                              snapshot=self._snapshot(), quality=self.health(), trigger=dict(trigger)))
            self.counts["windows"] += 1
        return out

    def _push_pending(self, now: float) -> None:
        keep = []
        for row in self.pending:
            if row[0] <= now + 1e-9:
                try:
                    self.extractor.push_scd41(*row)
                except DataError:
                    self.counts["scd41_out_of_order"] += 1
            else:
                keep.append(row)
        self.pending = keep

    def _snapshot(self) -> dict:
        if self.last_frame is None or not self.camera_ok():
            return {}
        pixels, resolution_k = self.last_frame
        snap = hot_region(pixels, resolution_k)
        if "bbox" in snap:
            snap["thumbnail"] = thumbnail(pixels, resolution_k)
        return snap

    # ------------------------------------------------------------------ presence
    def seen(self, now_mono: float | None = None, *, scd41: bool = False) -> None:
        """Record that a message arrived (receiver clock)."""
        now = time.monotonic() if now_mono is None else now_mono
        if scd41:
            if self.last_scd41_mono is not None:
                gap = now - self.last_scd41_mono
                self.wall_gap_s = gap if self.wall_gap_s is None else 0.7 * self.wall_gap_s + 0.3 * gap
            self.last_scd41_mono = now
        self.last_seen_mono = now

    def silent_for_s(self, now_mono: float) -> float:
        return math.inf if self.last_seen_mono is None else now_mono - self.last_seen_mono
