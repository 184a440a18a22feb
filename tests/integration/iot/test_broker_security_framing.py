"""The embedded broker's framing guard, without a network: it follows MQTT fixed headers
over any read sizes, meters packets, and stops an oversized packet at its header.

(The same guard is attacked over real sockets in ``test_broker_security_limits.py``.)
"""

from __future__ import annotations

import asyncio
import struct

import numpy as np

from firesight.iot.broker_net import ConnectionLimits, GuardedReader


class _Transport:
    """The one transport call the guard makes on a violation."""

    def __init__(self):
        self.aborted = False

    def abort(self):
        self.aborted = True


class _Writer:
    def __init__(self):
        self.transport = _Transport()


def _varint(n):
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _packet(first_byte, body):
    return bytes([first_byte]) + _varint(len(body)) + body


CONNECT = _packet(0x10, b"\x00\x04MQTT\x04\x02\x00\x1e\x00\x02id")
PUBLISH_SMALL = _packet(0x30, struct.pack("!H", 3) + b"a/b" + b"x" * 10)
PUBLISH_300 = _packet(0x30, struct.pack("!H", 3) + b"a/b" + b"y" * 300)   # two-byte remaining length
PINGREQ = b"\xc0\x00"
PUBACK = _packet(0x40, b"\x00\x01")


async def _read_all(stream, sizes, limits):
    reader = asyncio.StreamReader()
    reader.feed_data(stream)
    reader.feed_eof()
    events = []
    writer = _Writer()
    guard = GuardedReader(reader, writer, limits, lambda g, kind, reason: events.append((kind, reason)),
                          deadline=asyncio.get_running_loop().time() + 5)
    got = bytearray()
    for n in sizes:
        if len(got) >= len(stream):
            break
        data = await guard.read(min(n, len(stream) - len(got)))
        if not data:
            break
        got += data
    return bytes(got), guard, writer, events


def test_any_read_sizes_pass_a_valid_stream_and_meter_all_but_acks():
    stream = CONNECT + PUBLISH_SMALL + PUBLISH_300 + PINGREQ + PUBACK + PUBLISH_SMALL
    rng = np.random.default_rng(7)
    for trial in range(50):
        sizes = [1] * len(stream) if trial == 0 else list(rng.integers(1, 40, size=len(stream)))
        limits = ConnectionLimits(publish_rate_per_s=None)
        got, guard, writer, events = asyncio.run(_read_all(stream, sizes, limits))
        assert got == stream and guard.closed_reason is None and not writer.transport.aborted
        assert guard.metered == 4                         # 3 PUBLISH + 1 PINGREQ; CONNECT and PUBACK not
        assert events == []


def test_the_first_packet_must_be_connect():
    got, guard, writer, events = asyncio.run(_read_all(PUBLISH_SMALL + CONNECT, [1] * 100, ConnectionLimits()))
    assert guard.closed_reason == "first packet is not CONNECT" and writer.transport.aborted
    assert got == b""                                      # the PUBLISH never reaches amqtt


def test_an_oversized_header_closes_before_its_body_is_read():
    limits = ConnectionLimits(max_packet_bytes=1000)
    header = b"\x30" + _varint(100 * 1024 * 1024)
    got, guard, writer, events = asyncio.run(_read_all(CONNECT + header + b"z" * 5000, [1] * 10_000, limits))
    assert guard.closed_reason == "packet of over 1000 bytes" and writer.transport.aborted
    assert len(got) <= len(CONNECT) + len(header)          # not one byte of the body
    assert ("connection_closed", "packet of over 1000 bytes") in events


def test_a_malformed_remaining_length_closes():
    got, guard, writer, _ = asyncio.run(_read_all(CONNECT + b"\x30\xff\xff\xff\xff\x01", [1] * 100,
                                                  ConnectionLimits(max_packet_bytes=1 << 30)))
    assert guard.closed_reason == "malformed remaining length"
