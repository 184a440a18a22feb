"""Codec: payload schemas, physical ranges and the rejections the issue lists."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest
from numpy.testing import assert_allclose

from firesight.errors import DataError, InvalidParameterError
from firesight.iot import codec
from firesight.iot.codec import (
    IngestValidator,
    PayloadRejected,
    SCD41Message,
    SequenceTracker,
    StatusMessage,
    ThermalMessage,
    decode,
    encode_features,
    encode_scd41,
    encode_status,
    encode_thermal,
)

NOW_MS = 1_790_000_000_000
T_THERMAL = "firesight/v1/lab/node-1/thermal"
T_SCD41 = "firesight/v1/lab/node-1/scd41"


def _frame(value: int = 29_315) -> np.ndarray:
    px = np.full((120, 160), value, dtype=np.uint16)
    px[60, 80] = 35_000  # a warm pixel, 76.85 C
    return px


def _reason(topic: str, payload: bytes | str, **kw) -> str:
    with pytest.raises(PayloadRejected) as info:
        decode(topic, payload, now_ms=NOW_MS, **kw)
    return info.value.reason_code


def test_thermal_roundtrip_preserves_tlinear_pixels_and_kelvin_scale():
    """TLinear counts are kelvin x 100 at 0.01 K resolution (Lepton Engineering Datasheet
    110-0144-04, "Radiometry"): 29315 counts = 293.15 K = 20.00 C."""
    px = _frame()
    payload = encode_thermal(px, ts_ms=NOW_MS, seq=7, gain="high", ffc_state="imminent")
    msg = decode(T_THERMAL, payload, now_ms=NOW_MS)
    assert isinstance(msg, ThermalMessage)
    assert (msg.site, msg.thing_name, msg.seq, msg.ts_ms) == ("lab", "node-1", 7, NOW_MS)
    assert msg.ffc_state == "imminent" and msg.gain == "high"
    np.testing.assert_array_equal(msg.pixels, px)
    assert_allclose(msg.temperature_k[0, 0] - 273.15, 20.0, atol=1e-9)
    assert_allclose(msg.temperature_k[60, 80], 350.0, atol=1e-9)
    raw = base64.b64decode(json.loads(payload)["pixels"])
    assert len(raw) == 38_400  # 160 x 120 x 2 bytes, as ARCHITECTURE.md states
    assert raw[:2] == (29_315).to_bytes(2, "little")
    assert len(payload) < codec.MAX_PAYLOAD_BYTES


def test_low_gain_tenth_kelvin_frame_reads_hot_scene():
    """Low gain with 0.1 K resolution reaches 400 C (Lepton 3.5 datasheet): 6731 counts =
    673.1 K = 399.95 C is accepted."""
    px = np.full((120, 160), 2_931, dtype=np.uint16)
    px[0, 0] = 6_731
    msg = decode(T_THERMAL, encode_thermal(px, ts_ms=NOW_MS, seq=1, resolution_k=0.1, gain="low"), now_ms=NOW_MS)
    assert_allclose(msg.temperature_k.max() - 273.15, 399.95, atol=1e-6)


def test_scd41_and_status_and_features_decode():
    msg = decode(T_SCD41, encode_scd41(co2_ppm=612.0, temperature_c=21.4, humidity_rh=38.5, ts_ms=NOW_MS, seq=3),
                 now_ms=NOW_MS)
    assert isinstance(msg, SCD41Message)
    assert (msg.co2_ppm, msg.temperature_c, msg.humidity_rh) == (612.0, 21.4, 38.5)
    st = decode("firesight/v1/lab/node-1/status", encode_status(state="offline", ts_ms=NOW_MS), now_ms=NOW_MS)
    assert isinstance(st, StatusMessage) and st.seq is None and st.state == "offline"
    ft = decode("firesight/v1/lab/node-1/features",
                encode_features({"max_temperature_c": 41.5}, window_s=10.0, ts_ms=NOW_MS, seq=1), now_ms=NOW_MS)
    assert ft.features == {"max_temperature_c": 41.5} and ft.window_s == 10.0


def test_scd41_range_limits_follow_the_datasheet_conversion():
    """SCD4x datasheet v1.6 section 3.6: T = -45 + 175 * word / 2^16, so the largest
    reportable temperature is -45 + 175 * 65535 / 65536 = 129.997 C; CO2 output is
    0..40,000 ppm; RH 0..100 %."""
    t_max = -45 + 175 * 65535 / 65536
    assert_allclose(t_max, 129.997, atol=1e-3)
    ok = encode_scd41(co2_ppm=40_000, temperature_c=t_max, humidity_rh=100.0, ts_ms=NOW_MS, seq=1)
    assert decode(T_SCD41, ok, now_ms=NOW_MS).co2_ppm == 40_000
    for field, bad in [("co2_ppm", 40_001.0), ("temperature_c", 131.0), ("humidity_rh", -0.5)]:
        body = json.loads(ok)
        body[field] = bad
        assert _reason(T_SCD41, json.dumps(body)) == "out_of_range", field


@pytest.mark.parametrize("payload, reason", [
    (b"{not json", "bad_json"),
    (b"\xff\xfe", "not_utf8"),
    (b"[1, 2]", "bad_json"),
    (b'{"ts_ms": 1790000000000, "seq": 1, "co2_ppm": NaN, "temperature_c": 20, "humidity_rh": 40}', "not_finite"),
    (b'{"ts_ms": 1790000000000, "seq": 1, "co2_ppm": Infinity, "temperature_c": 20, "humidity_rh": 40}', "not_finite"),
    (b'{"ts_ms": 1790000000000, "seq": 1, "co2_ppm": 500, "temperature_c": 20}', "missing_field"),
    (b'{"ts_ms": 1790000000000, "seq": 1, "co2_ppm": 500, "temperature_c": 20, "humidity_rh": 40, "x": 1}', "unknown_field"),
    (b'{"ts_ms": "1", "seq": 1, "co2_ppm": 500, "temperature_c": 20, "humidity_rh": 40}', "bad_type"),
    (b'{"ts_ms": 1790000000000, "seq": -1, "co2_ppm": 500, "temperature_c": 20, "humidity_rh": 40}', "out_of_range"),
    (b'{"ts_ms": 1790000000000, "seq": 1, "co2_ppm": true, "temperature_c": 20, "humidity_rh": 40}', "bad_type"),
])
def test_scd41_rejections(payload, reason):
    assert _reason(T_SCD41, payload) == reason


def test_thermal_rejections_frame_size_encoding_and_range():
    good = json.loads(encode_thermal(_frame(), ts_ms=NOW_MS, seq=1))
    cases = {
        "wrong_frame_size": [dict(good, width=80, height=60),
                             dict(good, pixels=base64.b64encode(b"\x00" * 38_398).decode())],
        "bad_encoding": [dict(good, pixels="!!not base64!!"), dict(good, pixels=12)],
        "out_of_range": [dict(good, pixels=base64.b64encode(b"\x00" * 38_400).decode()),  # 0 K
                         dict(good, gain="medium"), dict(good, resolution_k=0.5), dict(good, ffc_state="x")],
    }
    for reason, bodies in cases.items():
        for body in bodies:
            assert _reason(T_THERMAL, json.dumps(body)) == reason


def test_thermal_pixels_accept_exactly_strict_rfc4648_base64():
    """The pixel string is decoded as RFC 4648 section 4 base64 with padding and nothing
    else (the codec uses pybase64 for speed; it must refuse what the standard library's
    ``b64decode(validate=True)`` refuses): whitespace, line breaks, the URL-safe alphabet,
    a missing pad, a leading pad and non-ASCII text are ``bad_encoding``."""
    good = json.loads(encode_thermal(_frame(), ts_ms=NOW_MS, seq=1))
    px = good["pixels"]
    assert px == base64.b64encode(base64.b64decode(px, validate=True)).decode()
    urlsafe = "-_" + px[2:]  # the URL-safe alphabet's 62 and 63
    bad = [px[:40] + " " + px[40:], px[:76] + "\n" + px[76:], urlsafe, px[:-4] + px[-4:-2],
           px[:40] + "\u00e9" + px[41:], "=" + px[1:]]
    for pixels in bad:
        with pytest.raises(ValueError):  # binascii.Error, or non-ASCII text
            base64.b64decode(pixels, validate=True)  # the reference refuses it, and so does the codec
        assert _reason(T_THERMAL, json.dumps(dict(good, pixels=pixels))) == "bad_encoding", pixels[:50]


def test_future_timestamp_and_size_limit_and_topic():
    future = encode_scd41(co2_ppm=500, temperature_c=20, humidity_rh=40, ts_ms=NOW_MS + 3_600_000, seq=1)
    assert _reason(T_SCD41, future) == "future_timestamp"
    assert decode(T_SCD41, future, now_ms=NOW_MS, max_future_skew_ms=4_000_000).ts_ms == NOW_MS + 3_600_000
    assert _reason(T_SCD41, b" " * (128 * 1024 + 1)) == "payload_too_large"
    assert _reason("firesight/v1/lab/node-1/other", b"{}") == "bad_topic"
    assert _reason("firesight/v1/lab/node-1/extra/scd41", b"{}") == "bad_topic"
    assert issubclass(PayloadRejected, DataError)


def test_sequence_tracker_rejects_duplicates_and_reordering_but_accepts_restart():
    tr = SequenceTracker()
    tr.check("a", "scd41", 5, 1000)
    with pytest.raises(PayloadRejected) as dup:
        tr.check("a", "scd41", 5, 1000)
    assert dup.value.reason_code == "duplicate_seq"
    with pytest.raises(PayloadRejected) as ooo:
        tr.check("a", "scd41", 4, 900)
    assert ooo.value.reason_code == "out_of_order_seq"
    tr.check("a", "thermal", 5, 1000)          # streams are independent
    tr.check("b", "scd41", 1, 10)              # devices are independent
    tr.check("a", "scd41", 0, 5000)            # reboot: lower seq, newer clock
    assert tr.restarts == 1
    tr.check("a", "scd41", 1, 5100)


def test_ingest_validator_counts_rejections_by_reason():
    v = IngestValidator()
    ok = encode_scd41(co2_ppm=500, temperature_c=20, humidity_rh=40, ts_ms=NOW_MS, seq=1)
    v.validate(T_SCD41, ok, now_ms=NOW_MS)
    for payload in (ok, b"{", b"{"):
        with pytest.raises(PayloadRejected):
            v.validate(T_SCD41, payload, now_ms=NOW_MS)
    assert v.accepted == 1
    assert v.rejections() == {"duplicate_seq": 1, "bad_json": 2}


def test_encoders_refuse_bad_input():
    with pytest.raises(InvalidParameterError, match="pixels"):
        encode_thermal(np.zeros((120, 160), np.float32), ts_ms=1, seq=1)
    with pytest.raises(InvalidParameterError, match="gain"):
        encode_thermal(_frame(), ts_ms=1, seq=1, gain="auto")
    with pytest.raises(InvalidParameterError, match="state"):
        encode_status(state="sleepy", ts_ms=1)
