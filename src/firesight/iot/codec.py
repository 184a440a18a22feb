"""Payload codec: JSON messages with units in key names, validated on the way in.

Every device message is a JSON object with ``ts_ms`` (device clock, Unix milliseconds)
and ``seq`` (per-device, per-stream counter). A thermal frame carries the Lepton 3.5
TLinear image as little-endian uint16 in base64 (160 x 120 x 2 = 38,400 bytes raw,
51,200 characters encoded), far below AWS IoT Core's 128 KB message limit.

``decode`` raises :class:`PayloadRejected` with a stable ``reason_code`` for every way a
payload can be wrong; :class:`IngestValidator` adds per-device sequence checks and counts
rejections by reason (thread-safe), which is what a service uses.

References
----------
1. FLIR Lepton 3.5 datasheet (500-0771-01 rev 203) and Lepton Engineering Datasheet
   (110-0144-04): 160 x 120 pixels, TLinear output (kelvin x 100 or x 10), high gain
   -10...140 C, low gain -10...400 C, FFC states in the telemetry row.
2. Sensirion SCD4x datasheet v1.6 (2024), section 3.6 "read_measurement":
   T = -45 + 175 * word / 2^16 [C], RH = 100 * word / 2^16 [%]; CO2 output range
   0...40,000 ppm.
3. AWS IoT Core quotas: message payload size 128 KB.
"""

from __future__ import annotations

import binascii
import json
import logging
import math
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pybase64

from firesight.errors import DataError, InvalidParameterError
from firesight.iot import strict_json
from firesight.iot.topics import parse_device_topic
from firesight.units import ZERO_CELSIUS_K

log = logging.getLogger(__name__)

#: AWS IoT Core message payload limit [bytes] [3].
MAX_PAYLOAD_BYTES = 128 * 1024

#: Lepton 3.5 frame geometry and TLinear conventions [1].
LEPTON35_FRAME = {
    "width": 160,
    "height": 120,
    "resolutions_k": (0.01, 0.1),
    "gains": ("high", "low"),
    #: Lepton telemetry FFC state bits 00, 01, 10, 11.
    "ffc_states": ("not_commanded", "imminent", "in_progress", "complete"),
}

#: Accepted apparent scene temperature per gain [C]: the datasheet scene range [1] widened by
#: twice the stated accuracy (+/-5 C high gain, +/-10 C low gain) so saturated but honest
#: pixels pass while impossible values (e.g. 0 K from a zeroed buffer) are rejected.
THERMAL_RANGE_C = {"high": (-20.0, 150.0), "low": (-30.0, 420.0)}

#: SCD41 physically representable outputs [2]: (min, max) per field.
SCD41_RANGES = {
    "co2_ppm": (0.0, 40_000.0),
    "temperature_c": (-45.0, 130.0),
    "humidity_rh": (0.0, 100.0),
}

#: Device status states.
STATUS_STATES = ("online", "offline", "degraded")

#: Clock skew tolerated between a device and the receiver [ms] before a payload counts as
#: "from the future".
MAX_FUTURE_SKEW_MS = 5 * 60 * 1000

#: Reason codes of :class:`PayloadRejected`, stable for counting and dashboards.
REASONS = ("payload_too_large", "bad_json", "bad_topic", "missing_field", "bad_type",
           "unknown_field", "bad_encoding", "wrong_frame_size", "out_of_range", "not_finite",
           "future_timestamp", "duplicate_seq", "out_of_order_seq", "not_utf8", "too_deep",
           "duplicate_key", "number_too_large", "lone_surrogate", "decoder_error")

#: Earliest accepted ``ts_ms`` [ms since the Unix epoch]: 2000-01-01T00:00:00Z. A device
#: whose clock was never set sends values near 0 (1970), which would sort before any data.
MIN_TS_MS = 946_684_800_000

#: Deepest JSON nesting a device payload may have (``features`` is the deepest: 2) [-].
MAX_JSON_DEPTH = 4


class PayloadRejected(DataError):
    """A payload failed validation; ``reason_code`` is one of :data:`REASONS`."""

    def __init__(self, reason_code: str, message: str):
        self.reason_code = reason_code
        super().__init__(f"{reason_code}: {message}")


@dataclass(frozen=True)
class _Envelope:
    site: str
    thing_name: str
    ts_ms: int
    seq: int | None


@dataclass(frozen=True)
class ThermalMessage(_Envelope):
    """One Lepton 3.5 frame: ``pixels`` are TLinear counts, shape (height, width), uint16."""

    width: int
    height: int
    resolution_k: float
    gain: str
    ffc_state: str
    pixels: np.ndarray = field(repr=False)

    @property
    def temperature_k(self) -> np.ndarray:
        """Apparent pixel temperatures [K]."""
        return self.pixels.astype(np.float64) * self.resolution_k


@dataclass(frozen=True)
class SCD41Message(_Envelope):
    """One SCD41 reading."""

    co2_ppm: float
    temperature_c: float
    humidity_rh: float


@dataclass(frozen=True)
class StatusMessage(_Envelope):
    """Device status; ``seq`` may be None (a last-will message is fixed at connect time)."""

    state: str
    firmware: str | None = None
    uptime_s: float | None = None


@dataclass(frozen=True)
class FeaturesMessage(_Envelope):
    """Edge-mode feature vector computed on the device over ``window_s``."""

    window_s: float
    features: dict[str, float] = field(default_factory=dict)


DecodedMessage = ThermalMessage | SCD41Message | StatusMessage | FeaturesMessage


# --------------------------------------------------------------------------- encode

def _dumps(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, separators=(",", ":"), allow_nan=False).encode()


def encode_thermal(pixels: np.ndarray, *, ts_ms: int, seq: int, resolution_k: float = 0.01,
                   gain: str = "high", ffc_state: str = "not_commanded") -> bytes:
    """JSON payload of one TLinear frame.

    Parameters
    ----------
    pixels : ndarray of uint16, shape (120, 160)
        TLinear counts (kelvin / ``resolution_k``).
    ts_ms : int
        Capture time [ms since Unix epoch].
    seq : int
        Per-device frame counter [-].
    resolution_k : float
        TLinear resolution [K per count]: 0.01 or 0.1.
    gain : str
        ``"high"`` or ``"low"``.
    ffc_state : str
        One of ``LEPTON35_FRAME["ffc_states"]``.
    """
    arr = np.asarray(pixels)
    shape = (LEPTON35_FRAME["height"], LEPTON35_FRAME["width"])
    if arr.shape != shape or arr.dtype != np.uint16:
        raise InvalidParameterError("pixels", f"uint16 array of shape {shape}", f"{arr.dtype} {arr.shape}")
    _require_choice("gain", gain, LEPTON35_FRAME["gains"])
    _require_choice("ffc_state", ffc_state, LEPTON35_FRAME["ffc_states"])
    if resolution_k not in LEPTON35_FRAME["resolutions_k"]:
        raise InvalidParameterError("resolution_k", f"one of {LEPTON35_FRAME['resolutions_k']}", resolution_k)
    raw = arr.astype("<u2", copy=False).tobytes()
    header = _dumps({"ts_ms": int(ts_ms), "seq": int(seq), "width": shape[1], "height": shape[0],
                     "resolution_k": resolution_k, "gain": gain, "ffc_state": ffc_state})
    # base64 needs no JSON escaping: splice it in rather than let json.dumps scan 51 KB
    return header[:-1] + b',"pixels":"' + pybase64.b64encode(raw) + b'"}'



def encode_scd41(*, co2_ppm: float, temperature_c: float, humidity_rh: float, ts_ms: int, seq: int) -> bytes:
    """JSON payload of one SCD41 reading (CO2 [ppm], temperature [C], RH [%])."""
    return _dumps({"ts_ms": int(ts_ms), "seq": int(seq), "co2_ppm": float(co2_ppm),
                   "temperature_c": float(temperature_c), "humidity_rh": float(humidity_rh)})


def encode_status(*, state: str, ts_ms: int, seq: int | None = None, firmware: str | None = None,
                  uptime_s: float | None = None) -> bytes:
    """JSON payload of a status message (``seq`` None for a last-will message)."""
    _require_choice("state", state, STATUS_STATES)
    body: dict[str, Any] = {"ts_ms": int(ts_ms), "state": state}
    if seq is not None:
        body["seq"] = int(seq)
    if firmware is not None:
        body["firmware"] = str(firmware)
    if uptime_s is not None:
        body["uptime_s"] = float(uptime_s)
    return _dumps(body)


def encode_features(features: dict[str, float], *, window_s: float, ts_ms: int, seq: int) -> bytes:
    """JSON payload of an edge feature vector (names carry units, e.g. ``max_temperature_c``)."""
    return _dumps({"ts_ms": int(ts_ms), "seq": int(seq), "window_s": float(window_s),
                   "features": {str(k): float(v) for k, v in features.items()}})


def _require_choice(name: str, value: object, choices: tuple) -> None:
    if value not in choices:
        raise InvalidParameterError(name, f"one of {choices}", value)


# --------------------------------------------------------------------------- decode

_FIELDS = {
    "thermal": ({"ts_ms", "seq", "width", "height", "resolution_k", "gain", "ffc_state", "pixels"}, set()),
    "scd41": ({"ts_ms", "seq", "co2_ppm", "temperature_c", "humidity_rh"}, set()),
    "status": ({"ts_ms", "state"}, {"seq", "firmware", "uptime_s"}),
    "features": ({"ts_ms", "seq", "window_s", "features"}, set()),
}


def decode(topic: str, payload: bytes | bytearray | str, *, now_ms: int,
           max_future_skew_ms: int = MAX_FUTURE_SKEW_MS) -> DecodedMessage:
    """Parse and validate one device payload.

    Parameters
    ----------
    topic : str
        ``firesight/v1/{site}/{thing}/{stream}``.
    payload : bytes
        The MQTT payload (UTF-8 JSON).
    now_ms : int
        Receiver clock [ms since Unix epoch], for the future-timestamp check.
    max_future_skew_ms : int
        Largest tolerated ``ts_ms - now_ms`` [ms].

    Raises
    ------
    PayloadRejected
        With ``reason_code`` from :data:`REASONS`. Sequence checks are not done here
        (see :class:`SequenceTracker`).
    """
    if not isinstance(payload, (bytes, bytearray, str)):
        raise PayloadRejected("bad_json", f"payload must be bytes or text, got {type(payload).__name__}")
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise PayloadRejected("payload_too_large", f"{len(payload)} bytes > {MAX_PAYLOAD_BYTES}")
    if not isinstance(topic, str):
        raise PayloadRejected("bad_topic", f"topic must be text, got {type(topic).__name__}")
    try:
        dest = parse_device_topic(topic)
    except InvalidParameterError as exc:
        raise PayloadRejected("bad_topic", str(exc)) from None
    try:
        body = strict_json.loads(payload, max_depth=MAX_JSON_DEPTH)
    except strict_json.JsonRejected as exc:
        raise PayloadRejected(exc.reason, str(exc).split(": ", 1)[-1]) from None
    if not isinstance(body, dict):
        raise PayloadRejected("bad_json", f"expected a JSON object, got {type(body).__name__}")
    required, optional = _FIELDS[dest.stream]
    missing = required - body.keys()
    if missing:
        raise PayloadRejected("missing_field", f"{dest.stream} payload lacks {sorted(missing)}")
    unknown = body.keys() - required - optional
    if unknown:
        raise PayloadRejected("unknown_field", f"{dest.stream} payload has unknown keys {sorted(unknown)}")
    ts_ms = _integer(body, "ts_ms", MIN_TS_MS, 2**53)
    if ts_ms - now_ms > max_future_skew_ms:
        raise PayloadRejected("future_timestamp",
                              f"ts_ms {ts_ms} is {ts_ms - now_ms} ms ahead of the receiver clock "
                              f"(limit {max_future_skew_ms} ms)")
    seq = _integer(body, "seq", 0, 2**53) if "seq" in body else None
    env = {"site": dest.site, "thing_name": dest.thing_name, "ts_ms": ts_ms, "seq": seq}
    if dest.stream == "thermal":
        return _decode_thermal(body, env)
    if dest.stream == "scd41":
        values = {k: _number(body, k, *SCD41_RANGES[k]) for k in SCD41_RANGES}
        return SCD41Message(**env, **values)
    if dest.stream == "status":
        state = body["state"]
        if state not in STATUS_STATES:
            raise PayloadRejected("out_of_range", f"state must be one of {STATUS_STATES}, got {state!r}")
        firmware = body.get("firmware")
        if firmware is not None and (not isinstance(firmware, str) or len(firmware) > 64):
            raise PayloadRejected("bad_type", "firmware must be a string of at most 64 characters")
        uptime = _number(body, "uptime_s", 0.0, 1e10) if "uptime_s" in body else None
        return StatusMessage(**env, state=state, firmware=firmware, uptime_s=uptime)
    window_s = _number(body, "window_s", 1e-3, 86_400.0)
    feats = body["features"]
    if not isinstance(feats, dict) or len(feats) > 512:
        raise PayloadRejected("bad_type", "features must be an object of at most 512 numbers")
    values = {str(k): _number(feats, k, -1e12, 1e12) for k in feats}
    return FeaturesMessage(**env, window_s=window_s, features=values)


def _decode_thermal(body: dict[str, Any], env: dict[str, Any]) -> ThermalMessage:
    width = _integer(body, "width", 1, 10_000)
    height = _integer(body, "height", 1, 10_000)
    if (width, height) != (LEPTON35_FRAME["width"], LEPTON35_FRAME["height"]):
        raise PayloadRejected("wrong_frame_size", f"frame is {width} x {height}, expected "
                              f"{LEPTON35_FRAME['width']} x {LEPTON35_FRAME['height']}")
    resolution_k = body["resolution_k"]
    if resolution_k not in LEPTON35_FRAME["resolutions_k"] or isinstance(resolution_k, bool):
        raise PayloadRejected("out_of_range",
                              f"resolution_k must be one of {LEPTON35_FRAME['resolutions_k']}, got {resolution_k!r}")
    gain, ffc_state = body["gain"], body["ffc_state"]
    if gain not in LEPTON35_FRAME["gains"]:
        raise PayloadRejected("out_of_range", f"gain must be one of {LEPTON35_FRAME['gains']}, got {gain!r}")
    if ffc_state not in LEPTON35_FRAME["ffc_states"]:
        raise PayloadRejected("out_of_range",
                              f"ffc_state must be one of {LEPTON35_FRAME['ffc_states']}, got {ffc_state!r}")
    encoded = body["pixels"]
    if not isinstance(encoded, str):
        raise PayloadRejected("bad_encoding", "pixels must be a base64 string")
    try:
        # pybase64: the same strict alphabet and padding as base64.b64decode(validate=True),
        # with SIMD decoding (~3 us instead of ~150 us for a frame's 51 KB)
        raw = pybase64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise PayloadRejected("bad_encoding", f"pixels are not valid base64 ({exc})") from None
    expected = width * height * 2
    if len(raw) != expected:
        raise PayloadRejected("wrong_frame_size", f"pixels decode to {len(raw)} bytes, expected {expected}")
    pixels = np.frombuffer(raw, dtype="<u2").reshape(height, width)
    lo_c, hi_c = THERMAL_RANGE_C[gain]
    lo = math.ceil((lo_c + ZERO_CELSIUS_K) / resolution_k - 1e-6)
    hi = math.floor((hi_c + ZERO_CELSIUS_K) / resolution_k + 1e-6)
    pmin, pmax = int(pixels.min()), int(pixels.max())
    if pmin < lo or pmax > hi:
        raise PayloadRejected(
            "out_of_range",
            f"pixel temperatures {pmin * resolution_k - ZERO_CELSIUS_K:.2f}.."
            f"{pmax * resolution_k - ZERO_CELSIUS_K:.2f} C "
            f"outside {lo_c}..{hi_c} C for {gain} gain")
    return ThermalMessage(**env, width=width, height=height, resolution_k=float(resolution_k), gain=gain,
                          ffc_state=ffc_state, pixels=pixels)


def _integer(body: dict[str, Any], name: str, lo: int, hi: int) -> int:
    value = body[name]
    if isinstance(value, bool) or not isinstance(value, int):
        raise PayloadRejected("bad_type", f"{name} must be an integer, got {value!r}")
    if not lo <= value <= hi:
        raise PayloadRejected("out_of_range", f"{name} must be in [{lo}, {hi}], got {value}")
    return value


def _number(body: dict[str, Any], name: str, lo: float, hi: float) -> float:
    value = body[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise PayloadRejected("bad_type", f"{name} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise PayloadRejected("not_finite", f"{name} must be finite, got {value!r}")
    if not lo <= value <= hi:
        raise PayloadRejected("out_of_range", f"{name} must be in [{lo}, {hi}], got {value}")
    return float(value)


# --------------------------------------------------------------------------- sequences

class SequenceTracker:
    """Rejects duplicated and out-of-order ``seq`` per (thing, stream); thread-safe.

    A device that reboots restarts its counter: a lower ``seq`` with a *newer* ``ts_ms`` is
    accepted as a restart (and counted in :attr:`restarts`), while a lower or equal ``seq``
    with an equal or older ``ts_ms`` is a duplicate or out of order.
    """

    def __init__(self) -> None:
        self._last: dict[tuple[str, str], tuple[int, int]] = {}
        self._lock = threading.Lock()
        self.restarts = 0

    def check(self, thing_name: str, stream: str, seq: int, ts_ms: int) -> None:
        """Record ``seq`` or raise :class:`PayloadRejected` (``duplicate_seq`` /
        ``out_of_order_seq``)."""
        key = (thing_name, stream)
        with self._lock:
            last = self._last.get(key)
            if last is not None and seq <= last[0]:
                last_seq, last_ts = last
                if seq == last_seq:
                    raise PayloadRejected("duplicate_seq", f"{thing_name}/{stream} seq {seq} already received")
                if ts_ms <= last_ts:
                    raise PayloadRejected("out_of_order_seq",
                                          f"{thing_name}/{stream} seq {seq} arrived after seq {last_seq}")
                self.restarts += 1
            self._last[key] = (seq, ts_ms)

    def forget(self, thing_name: str) -> None:
        """Drop the state of one device (e.g. when it is deleted)."""
        with self._lock:
            for key in [k for k in self._last if k[0] == thing_name]:
                del self._last[key]


class IngestValidator:
    """:func:`decode` plus sequence checks, with rejections counted by reason; thread-safe.

    Parameters
    ----------
    max_future_skew_ms : int
        Largest tolerated device clock lead [ms].
    """

    def __init__(self, *, max_future_skew_ms: int = MAX_FUTURE_SKEW_MS):
        self.max_future_skew_ms = max_future_skew_ms
        self.sequences = SequenceTracker()
        self._lock = threading.Lock()
        self._rejected: Counter[str] = Counter()
        self._accepted = 0

    def validate(self, topic: str, payload: bytes | bytearray | str, *, now_ms: int) -> DecodedMessage:
        """Decode and sequence-check one payload; raise :class:`PayloadRejected` (counted)."""
        try:
            try:
                msg = decode(topic, payload, now_ms=now_ms, max_future_skew_ms=self.max_future_skew_ms)
            except PayloadRejected:
                raise
            except Exception as exc:  # a decoder bug must still be a counted rejection, never a crash
                log.exception("decoder failed on a %s payload for %r", type(payload).__name__, topic)
                raise PayloadRejected("decoder_error", f"{type(exc).__name__}: {exc}") from exc
            if msg.seq is not None:
                self.sequences.check(msg.thing_name, topic.rsplit("/", 1)[-1], msg.seq, msg.ts_ms)
        except PayloadRejected as exc:
            with self._lock:
                self._rejected[exc.reason_code] += 1
            raise
        with self._lock:
            self._accepted += 1
        return msg

    @property
    def accepted(self) -> int:
        with self._lock:
            return self._accepted

    def rejections(self) -> dict[str, int]:
        """Rejected payloads by reason code."""
        with self._lock:
            return dict(self._rejected)
