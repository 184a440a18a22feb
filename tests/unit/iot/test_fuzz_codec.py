"""Codec under hostile input: every malformed payload is a counted PayloadRejected with a
reason, never another exception (issue 9: RecursionError on ~1,000-deep nesting,
OverflowError on a 400-digit number, UTF-16/32, BOMs, lone surrogates, duplicate keys,
``ts_ms = 0``)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firesight.iot import strict_json
from firesight.iot.codec import MIN_TS_MS, REASONS, IngestValidator, PayloadRejected, decode, encode_scd41
from firesight.iot.fuzz import PayloadFuzzer, fuzz_codec

NOW_MS = 1_790_000_000_000
T_SCD41 = "firesight/v1/lab/node-1/scd41"
T_FEATURES = "firesight/v1/lab/node-1/features"


def _scd41_text(**override: str) -> str:
    fields = {"ts_ms": str(NOW_MS), "seq": "1", "co2_ppm": "600.0", "temperature_c": "21.0", "humidity_rh": "40.0"}
    fields.update(override)
    return "{" + ",".join(f'"{k}":{v}' for k, v in fields.items()) + "}"


def _reason(payload: bytes | str, topic: str = T_SCD41) -> str:
    with pytest.raises(PayloadRejected) as info:
        decode(topic, payload, now_ms=NOW_MS)
    assert info.value.reason_code in REASONS
    return info.value.reason_code


def test_valid_reading_still_decodes():
    msg = decode(T_SCD41, _scd41_text().encode(), now_ms=NOW_MS)
    assert (msg.co2_ppm, msg.ts_ms) == (600.0, NOW_MS)


@pytest.mark.parametrize("payload, reason", [
    ("[" * 1_000 + "]" * 1_000, "too_deep"),                       # RecursionError before
    ('{"ts_ms":' + '{"a":' * 1_000 + "1" + "}" * 1_001, "too_deep"),
    ("[" * 100_000, "too_deep"),
    (_scd41_text(co2_ppm="1" * 400), "number_too_large"),         # OverflowError before
    (_scd41_text(co2_ppm="1" * 400 + ".5"), "number_too_large"),
    (_scd41_text(co2_ppm="1e999"), "number_too_large"),
    (_scd41_text(seq="9" * 5_000), "number_too_large"),            # past Python's 4,300 digits
    (_scd41_text(co2_ppm="NaN"), "not_finite"),
    (_scd41_text(co2_ppm="-Infinity"), "not_finite"),
    (_scd41_text().encode("utf-16"), "not_utf8"),
    (_scd41_text().encode("utf-16-le"), "not_utf8"),
    (_scd41_text().encode("utf-32"), "not_utf8"),
    (b"\xef\xbb\xbf" + _scd41_text().encode(), "not_utf8"),
    (b"\xff\xfe" + _scd41_text().encode(), "not_utf8"),
    (_scd41_text().encode()[:-3] + b"\xed\xa0\x80}", "not_utf8"),   # raw surrogate bytes
    ('{"ts_ms":1790000000000,"seq":1,"co2_ppm":600,"temperature_c":21,"humidity_rh":40,"\\ud800":1}',
     "lone_surrogate"),
    (_scd41_text(co2_ppm='"\\udc00"'), "lone_surrogate"),
    (_scd41_text()[:-1] + ',"co2_ppm":9999}', "duplicate_key"),
    (_scd41_text(ts_ms="0"), "out_of_range"),
    (_scd41_text(ts_ms=str(MIN_TS_MS - 1)), "out_of_range"),
    (_scd41_text(ts_ms="1790000000000.0"), "bad_type"),
    (_scd41_text(seq='"1"'), "bad_type"),
    (_scd41_text(humidity_rh="[]"), "bad_type"),
    (_scd41_text(humidity_rh="{}"), "bad_type"),
    (_scd41_text(humidity_rh="null"), "bad_type"),
])
def test_malformed_payloads_are_rejections_with_a_reason(payload, reason):
    assert _reason(payload) == reason


def test_wrong_types_in_every_scd41_field_are_rejected():
    for field in ("ts_ms", "seq", "co2_ppm", "temperature_c", "humidity_rh"):
        for bad in ('"x"', "true", "[1]", '{"a":1}', "null"):
            assert _reason(_scd41_text(**{field: bad})) == "bad_type", (field, bad)


def test_payload_and_topic_of_the_wrong_python_type_are_rejected():
    assert _reason(12345) == "bad_json"  # type: ignore[arg-type]
    with pytest.raises(PayloadRejected) as info:
        decode(None, b"{}", now_ms=NOW_MS)  # type: ignore[arg-type]
    assert info.value.reason_code == "bad_topic"
    assert _reason("{\"ts_ms\": 1, \"x\": \"\ud800\"}") == "lone_surrogate"


def test_ts_ms_boundary_is_accepted():
    assert decode(T_SCD41, _scd41_text(ts_ms=str(MIN_TS_MS)), now_ms=NOW_MS).ts_ms == MIN_TS_MS


def test_validator_counts_every_reason():
    v = IngestValidator()
    bad = [b"[" * 2_000, _scd41_text(co2_ppm="1" * 400).encode(), _scd41_text().encode("utf-16")]
    for payload in bad:
        with pytest.raises(PayloadRejected):
            v.validate(T_SCD41, payload, now_ms=NOW_MS)
    v.validate(T_SCD41, encode_scd41(co2_ppm=500, temperature_c=20, humidity_rh=40, ts_ms=NOW_MS, seq=2),
               now_ms=NOW_MS)
    assert v.rejections() == {"too_deep": 1, "number_too_large": 1, "not_utf8": 1}
    assert v.accepted == 1


def test_seeded_fuzz_of_3000_payloads_raises_nothing_but_rejections():
    """A seeded numpy Generator drives 3,000 mutated payloads (the bench command runs 10^6).
    The same generator finds RecursionError and OverflowError in the codec before this fix."""
    result = fuzz_codec(3_000, np.random.default_rng(20260903))
    assert result["crashes"] == 0, result["crash_types"]
    assert result["hangs"] == 0
    assert result["accepted"] > 100  # the fuzz also sends valid payloads: acceptance still works
    for reason in ("too_deep", "number_too_large", "not_utf8", "duplicate_key", "bad_json", "out_of_range"):
        assert result["rejections"].get(reason, 0) > 0, reason
    assert result["payloads"] == result["accepted"] + sum(result["rejections"].values())


def test_fuzzer_is_reproducible_from_its_seed():
    a = PayloadFuzzer(np.random.default_rng(5), now_ms=lambda: NOW_MS)
    b = PayloadFuzzer(np.random.default_rng(5), now_ms=lambda: NOW_MS)
    assert [a.device() for _ in range(50)] == [b.device() for _ in range(50)]


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=512))
def test_any_bytes_are_decoded_or_rejected(payload):
    for topic in (T_SCD41, T_FEATURES):
        try:
            decode(topic, payload, now_ms=NOW_MS)
        except PayloadRejected as exc:
            assert exc.reason_code in REASONS


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(["ts_ms", "seq", "co2_ppm", "temperature_c", "humidity_rh", "window_s",
                                        "features", "state", "x"]), _json_values, max_size=7))
def test_any_json_object_is_decoded_or_rejected(body):
    payload = json.dumps(body, allow_nan=True).encode()
    for topic in (T_SCD41, T_FEATURES, "firesight/v1/lab/node-1/status"):
        try:
            decode(topic, payload, now_ms=NOW_MS)
        except PayloadRejected as exc:
            assert exc.reason_code in REASONS


def test_strict_json_nesting_depth_ignores_brackets_inside_strings():
    assert strict_json.nesting_depth('{"a":"[[[[{{{{","b":[1,[2]]}') == 3
    assert strict_json.loads('{"a":"[[[[[[[[[[[[[["}', max_depth=1) == {"a": "[[[[[[[[[[[[[["}
    with pytest.raises(strict_json.JsonRejected) as info:
        strict_json.loads("[[[]]]", max_depth=2)
    assert info.value.reason == "too_deep"
