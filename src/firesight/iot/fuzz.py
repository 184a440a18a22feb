"""Malformed, random and boundary payloads for every input path, and the in-process codec fuzz.

:class:`PayloadFuzzer` draws ``(topic, payload)`` pairs from a seeded
:class:`numpy.random.Generator`: device messages (``thermal``, ``scd41``, ``status``,
``features``), shadow requests (``get`` / ``update`` / ``delete``) and messages for the
rules engine. Each starts from a valid document written as JSON text field by field, so
that mutations can produce what a JSON library would never write: duplicated keys,
400-digit numbers, ``1e999``, ``NaN``, lone surrogate escapes, nesting thousands deep,
UTF-16/32 and byte-order marks, truncation, flipped bytes, oversized bodies, and boundary
values (``ts_ms = 0``, the range limits, 2^53). About one payload in eight is left valid,
so every run also exercises acceptance.

:func:`fuzz_codec` feeds ``n`` device payloads to :func:`firesight.iot.codec.decode` and
counts rejections by reason and every exception that is not a
:class:`~firesight.iot.codec.PayloadRejected` (a crash). The over-the-wire fuzz against
running services is :mod:`firesight.iot.fuzz_wire`.
"""

from __future__ import annotations

import base64
import json
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np

from firesight.iot.codec import MAX_PAYLOAD_BYTES, MIN_TS_MS, PayloadRejected, decode
from firesight.iot.topics import DEVICE_STREAMS, device_topic, shadow_topic

#: JSON value texts that break naive parsers and validators (written, not serialised).
HOSTILE_VALUES = (
    "1" * 400,                      # huge integer
    "1" * 400 + ".5",               # 400-digit float
    "-" + "9" * 30,                 # beyond 64 bits
    "1e999", "-1e999", "1e308", "4.9e-324", "-0", "-0.0",
    "NaN", "Infinity", "-Infinity",
    str(2**53), str(2**53 + 1), str(2**63), str(-(2**63) - 1),
    "0", "-1", "0.5", "true", "false", "null",
    '""', '"x"', '"' + "A" * 2000 + '"', '"\\u0000"',
    '"\\ud800"', '"\\udfff tail"', '"\\ud83d\\ude00"',  # lone high, lone low, a valid pair
    "[]", "{}", "[1,2,3]", '{"a":1}', '{"a":1,"a":2}',
)

_STREAM_WEIGHTS = {"thermal": 0.15, "scd41": 0.45, "status": 0.2, "features": 0.2}


def _nest(depth: int, kind: str) -> str:
    if kind == "array":
        return "[" * depth + "]" * depth
    return '{"a":' * depth + "1" + "}" * depth


class PayloadFuzzer:
    """Seeded generator of hostile ``(topic, payload)`` pairs.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of every random choice (the same seed gives the same payloads).
    site : str
        Site of the device topics.
    things : sequence of str
        Thing names used in device and shadow topics.
    now_ms : callable
        Clock for valid timestamps [ms since the Unix epoch].
    max_bytes : int
        Largest payload drawn [bytes]: by default one byte over the 128 KB limit (in
        process); over the wire the limit itself, since brokers drop the connection of a
        client that sends more (tested with the brokers).
    """

    def __init__(self, rng: np.random.Generator, *, site: str = "fuzz", things: tuple[str, ...] = ("fuzz-node",),
                 now_ms: Callable[[], int] = lambda: int(time.time() * 1000),
                 max_bytes: int = MAX_PAYLOAD_BYTES + 1):
        self.rng, self.site, self.things, self.now_ms = rng, site, tuple(things), now_ms
        self.max_bytes = int(max_bytes)
        self._seq = 0
        pixels = np.full((120, 160), 29_815, dtype="<u2")  # 25 C at 0.01 K per count
        self._pixels = base64.b64encode(pixels.tobytes()).decode("ascii")

    # -- valid documents, as ordered (key, JSON text) pairs -----------------------------------
    def _valid_fields(self, stream: str) -> list[tuple[str, str]]:
        self._seq += 1
        head = [("ts_ms", str(self.now_ms())), ("seq", str(self._seq))]
        if stream == "thermal":
            return head + [("width", "160"), ("height", "120"), ("resolution_k", "0.01"), ("gain", '"high"'),
                           ("ffc_state", '"complete"'), ("pixels", f'"{self._pixels}"')]
        if stream == "scd41":
            return head + [("co2_ppm", f"{self.rng.uniform(400, 5000):.1f}"),
                           ("temperature_c", f"{self.rng.uniform(15, 40):.2f}"),
                           ("humidity_rh", f"{self.rng.uniform(20, 80):.1f}")]
        if stream == "status":
            return head + [("state", '"online"'), ("firmware", '"1.2.3"'), ("uptime_s", "12.5")]
        return head + [("window_s", "10.0"),
                       ("features", '{"max_temperature_c":41.5,"co2_slope_ppm_per_s":0.2}')]

    @staticmethod
    def _text(fields: list[tuple[str, str]]) -> str:
        return "{" + ",".join(f"{json.dumps(k)}:{v}" for k, v in fields) + "}"

    def _pick(self, seq: Any) -> Any:
        return seq[int(self.rng.integers(len(seq)))]

    def _boundary(self, stream: str, fields: list[tuple[str, str]]) -> list[tuple[str, str]]:
        now = self.now_ms()
        choices = {"ts_ms": ["0", "1", str(MIN_TS_MS - 1), str(MIN_TS_MS), str(now + 300_000),
                             str(now + 300_001), str(2**53), str(2**53 + 1)],
                   "seq": ["0", "-1", str(2**53), str(2**53 + 1), "1.0"]}
        if stream == "scd41":
            choices.update(co2_ppm=["0", "40000", "40000.0001", "-0.0", "-1e-300"],
                           temperature_c=["-45", "130", "130.0000001", "-45.1"],
                           humidity_rh=["0", "100", "100.5", "-0"])
        elif stream == "thermal":
            choices.update(width=["0", "159", "161", "10001"], resolution_k=["0.1", "0.010000001", "1e-2"],
                           pixels=['""', '"' + base64.b64encode(bytes(38_398)).decode() + '"',
                                   '"' + base64.b64encode(bytes(38_400)).decode() + '"', '"@@@@"', '"é"'])
        elif stream == "status":
            choices.update(state=['"offline"', '"ONLINE"', '""'], firmware=['"' + "v" * 64 + '"',
                                                                           '"' + "v" * 65 + '"'],
                           uptime_s=["0", "1e10", "1.0000001e10"])
        else:
            choices.update(window_s=["0.001", "0.0009", "86400", "86400.5"],
                           features=["{}", '{"x":1e12}', '{"x":1.1e12}',
                                     "{" + ",".join(f'"f{i}":1' for i in range(513)) + "}"])
        key = self._pick([k for k, _ in fields if k in choices])
        return [(k, self._pick(choices[k]) if k == key else v) for k, v in fields]

    def document(self, stream: str) -> str:
        """A (usually) mutated JSON text for one device stream."""
        fields = self._valid_fields(stream)
        op = int(self.rng.integers(10))
        if op == 0:
            return self._text(fields)  # valid
        if op == 1:
            i = int(self.rng.integers(len(fields)))
            fields[i] = (fields[i][0], self._pick(HOSTILE_VALUES))
        elif op == 2:
            fields.pop(int(self.rng.integers(len(fields))))
        elif op == 3:
            fields.append((self._pick(["extra", "ts_ms", "seq", "", "\\ud800"]), self._pick(HOSTILE_VALUES)))
        elif op == 4:
            i = int(self.rng.integers(len(fields)))
            fields.insert(i, fields[i])  # duplicate key
        elif op == 5:
            i = int(self.rng.integers(len(fields)))
            depth = int(self._pick((5, 50, 1_000, 5_000)))
            fields[i] = (fields[i][0], _nest(depth, self._pick(("array", "object"))))
        elif op == 6:
            return self._pick(("[" * int(self.rng.integers(1, 60_000)), _nest(int(self.rng.integers(2, 3_000)),
                                                                          "array"), "null", "1", '"s"', "[]"))
        else:
            fields = self._boundary(stream, fields)
        return self._text(fields)

    def _encode(self, text: str) -> bytes:
        """UTF-8 bytes, sometimes re-encoded, truncated, flipped or replaced; at most
        :attr:`max_bytes` long."""
        return self._mutate_bytes(text)[: self.max_bytes]

    def _mutate_bytes(self, text: str) -> bytes:
        op = int(self.rng.integers(16))
        if op == 0:
            return text.encode(self._pick(("utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le")))
        if op == 1:
            return self._pick((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")) + text.encode()
        raw = text.encode("utf-8", "surrogatepass")
        if op == 2 and raw:
            return raw[: int(self.rng.integers(len(raw)))]
        if op == 3 and raw:
            arr = bytearray(raw)
            for pos in self.rng.integers(0, len(arr), size=int(self.rng.integers(1, 8))):
                arr[int(pos)] = int(self.rng.integers(256))
            return bytes(arr)
        if op == 4:
            return self.rng.bytes(int(self._pick((0, 1, 7, 100, 4_096))))
        if op == 5 and len(raw) < self.max_bytes:
            return raw + b" " * (self.max_bytes - len(raw))   # padded to the size boundary
        return raw

    # -- public draws -------------------------------------------------------------------------------
    def device(self) -> tuple[str, bytes]:
        """A payload on a device topic (a random stream of a random thing)."""
        streams = tuple(_STREAM_WEIGHTS)
        stream = streams[int(self.rng.choice(len(streams), p=list(_STREAM_WEIGHTS.values())))]
        return device_topic(self.site, self._pick(self.things), stream), self._encode(self.document(stream))

    def codec_topic(self) -> str:
        """A device topic, or now and then a malformed one."""
        if self.rng.random() < 0.95:
            return device_topic(self.site, self._pick(self.things), self._pick(DEVICE_STREAMS))
        return self._pick(("", "firesight/v1/x", "firesight/v1/s/t/video", "firesight/v2/s/t/scd41",
                           "firesight/v1/s/\ud800/scd41", "firesight/v1/s/" + "t" * 200 + "/scd41", "#"))

    def shadow(self) -> tuple[str, bytes]:
        """A request on a shadow topic (mostly ``update``)."""
        thing = self._pick(self.things)
        op = self._pick(("update",) * 6 + ("get", "delete"))
        name = self._pick((None,) * 4 + ("cfg",))
        topic = shadow_topic(thing, op, None, name)
        kind = int(self.rng.integers(10))
        if kind == 0:
            body = '{"state":{"desired":{"measurement_interval_s":' + self._pick(("5", "60", "3600")) + "}}}"
        elif kind == 1:
            body = "[" * int(self._pick((1_000, 100_000)))
        elif kind == 2:
            body = '{"state":' + _nest(int(self._pick((7, 50, 5_000))), "object") + "}"
        elif kind == 3:
            body = '{"clientToken":' + self._pick(('"\\ud800"', '"\\udfff"', '"' + "t" * 65 + '"', "12", "null",
                                                  '"ok"')) + ',"state":{"reported":{"a":1}}}'
        elif kind == 4:
            body = '{"state":{"reported":{"x":' + self._pick(HOSTILE_VALUES) + "}}}"
        elif kind == 5:
            body = '{"state":{"desired":{"' + self._pick(("measurement_interval_s", "ffc_interval_s",
                                                          "low_power_mode", "edge_mode")) + '":' + \
                   self._pick(HOSTILE_VALUES) + "}}}"
        elif kind == 6:
            body = '{"version":' + self._pick(HOSTILE_VALUES) + ',"state":{"reported":{"a":1}}}'
        elif kind == 7:
            body = '{"state":{"reported":{"a":1},"reported":{"b":2}}}'
        elif kind == 8:
            body = '{"state":{"reported":{"big":"' + "x" * int(self._pick((8_000, 9_000, 20_000))) + '"}}}'
        else:
            body = self._pick(("", "{}", "null", '{"state":null}', '{"state":[]}', '{"state":{"other":{}}}'))
        return topic, self._encode(body)

    def rules(self, topics: tuple[str, ...]) -> tuple[str, bytes]:
        """A message on one of the rules engine's input ``topics`` (filters resolved)."""
        topic = self._pick(topics)
        stream = topic.rsplit("/", 1)[-1]
        return topic, self._encode(self.document(stream if stream in _STREAM_WEIGHTS else "scd41"))


def fuzz_codec(n: int, rng: np.random.Generator, *, hang_s: float = 1.0) -> dict[str, Any]:
    """Decode ``n`` fuzzed device payloads in process.

    Returns ``{"payloads", "accepted", "rejections": {reason: n}, "crashes",
    "crash_types": {exception: n}, "hangs", "max_decode_ms"}``; a crash is any exception
    other than :class:`~firesight.iot.codec.PayloadRejected`, a hang a decode slower than
    ``hang_s`` [s].
    """
    fuzzer = PayloadFuzzer(rng, things=("fuzz-node", "fuzz-node-2"))
    rejections: Counter[str] = Counter()
    crashes: Counter[str] = Counter()
    accepted = hangs = 0
    slowest = 0.0
    for _ in range(int(n)):
        topic = fuzzer.codec_topic()
        payload = fuzzer._encode(fuzzer.document(topic.rsplit("/", 1)[-1] if topic.rsplit("/", 1)[-1]
                                                  in _STREAM_WEIGHTS else "scd41"))
        now_ms = fuzzer.now_ms()
        start = time.perf_counter()
        try:
            decode(topic, payload, now_ms=now_ms)
            accepted += 1
        except PayloadRejected as exc:
            rejections[exc.reason_code] += 1
        except Exception as exc:  # the thing this fuzz looks for  # noqa: BLE001
            crashes[type(exc).__name__] += 1
        elapsed = time.perf_counter() - start
        slowest = max(slowest, elapsed)
        hangs += elapsed > hang_s
    return {"payloads": int(n), "accepted": accepted, "rejections": dict(sorted(rejections.items())),
            "crashes": sum(crashes.values()), "crash_types": dict(crashes), "hangs": hangs,
            "max_decode_ms": round(slowest * 1000, 3)}
