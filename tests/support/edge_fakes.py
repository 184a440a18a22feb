"""Driver-level fakes of the edge node's sensors, speaking the devices' own protocols.

- :class:`FakeSCD41Bus`: an I2C transceiver (``sensirion_i2c_driver`` API v1) with an SCD41
  at 0x62 behind it. It decodes the 16-bit commands, checks the CRC-8 of written arguments,
  answers with words each followed by its CRC-8 (polynomial 0x31, init 0xFF), NACKs what
  the datasheet says the sensor does not acknowledge (no data to read, a command not allowed
  in the current mode, anything within a command's execution time), and produces a
  measurement every 5 s (periodic) or 30 s (low-power periodic), optionally time-scaled.
- :func:`vospi_packets`: the VoSPI packet stream of a frame: 4 segments of 60 packets, the
  segment number in packet 20, CRC-16-CCITT per packet, discard packets in between.

References: Sensirion "Datasheet SCD4x" v1.6 (sections 3.5-3.11); FLIR "Lepton Engineering
Datasheet" 110-0144-04, section 4 (VoSPI).
"""

from __future__ import annotations

import binascii
import struct
import threading
import time

import numpy as np

STATUS_OK, STATUS_NACK = 0, 2

START_PERIODIC, START_LOW_POWER, STOP = 0x21B1, 0x21AC, 0x3F86
DATA_READY, READ_MEASUREMENT = 0xE4B8, 0xEC05
WAKE_UP, REINIT, SET_ASC, SERIAL = 0x36F6, 0x3646, 0x2416, 0x3682
#: Execution times [s] (datasheet table 9): stop 500 ms, reinit 30 ms, wake_up 30 ms.
EXECUTION_S = {STOP: 0.5, REINIT: 0.03, WAKE_UP: 0.03}
#: Commands the sensor accepts during (low-power) periodic measurement (datasheet 3.5).
PERIODIC_ALLOWED = {READ_MEASUREMENT, DATA_READY, STOP, 0xE000, 0x6369}


def crc8(data: bytes) -> int:
    """Sensirion CRC-8: polynomial 0x31, init 0xFF, no final XOR (datasheet 3.11)."""
    crc = 0xFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x31) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def words_with_crc(*words: int) -> bytes:
    out = b""
    for w in words:
        pair = struct.pack(">H", w)
        out += pair + bytes([crc8(pair)])
    return out


class FakeSCD41Bus:
    """An I2C bus with one SCD41 on it (see module docstring).

    ``time_scale`` shrinks the measurement intervals (0.02: a reading every 0.1 s instead of
    5 s) so node tests run quickly; execution times are kept as specified.
    """

    API_VERSION = 1
    description = "fake SCD41 bus"
    channel_count = None

    def __init__(self, *, time_scale: float = 1.0, clock=time.monotonic):
        self.time_scale, self.clock = time_scale, clock
        self.mode = "idle"
        self.commands: list[int] = []
        self.nacks: list[int] = []
        self.asc_enabled = 1
        self.co2_ppm, self.temperature_c, self.humidity_rh = 612, 22.5, 41.0
        self.fail_next = 0
        self._busy_until = 0.0
        self._started_s = 0.0
        self._last_read_index = 0
        self._lock = threading.Lock()

    def interval_s(self) -> float:
        return (30.0 if self.mode == "low_power" else 5.0) * self.time_scale

    def _measurements(self) -> int:
        return int((self.clock() - self._started_s) // self.interval_s())

    def transceive(self, slave_address, tx_data, rx_length, read_delay, timeout):
        with self._lock:
            return self._transceive(slave_address, tx_data, rx_length)

    def _nack(self, command):
        self.nacks.append(command)
        return STATUS_NACK, OSError("NACK"), b""

    def _transceive(self, slave_address, tx_data, rx_length):
        if slave_address != 0x62 or not tx_data or len(tx_data) < 2:
            return STATUS_NACK, OSError("no device at this address"), b""
        command = struct.unpack(">H", tx_data[:2])[0]
        self.commands.append(command)
        now = self.clock()
        if command == WAKE_UP:  # not acknowledged by the SCD41, by design
            self._busy_until = now + EXECUTION_S[WAKE_UP]
            return self._nack(command)
        if now < self._busy_until or self.fail_next > 0:
            self.fail_next = max(0, self.fail_next - 1)
            return self._nack(command)
        if self.mode != "idle" and command not in PERIODIC_ALLOWED:
            return self._nack(command)
        args = tx_data[2:]
        if args:
            if len(args) % 3 or any(crc8(args[i:i + 2]) != args[i + 2] for i in range(0, len(args), 3)):
                return self._nack(command)  # the sensor refuses an argument with a wrong CRC
        if command in (START_PERIODIC, START_LOW_POWER):
            self.mode = "periodic" if command == START_PERIODIC else "low_power"
            self._started_s, self._last_read_index = now, 0
            return STATUS_OK, None, b""
        if command == STOP:
            self.mode = "idle"
            self._busy_until = now + EXECUTION_S[STOP]
            return STATUS_OK, None, b""
        if command == REINIT:
            self._busy_until = now + EXECUTION_S[REINIT]
            return STATUS_OK, None, b""
        if command == SET_ASC:
            self.asc_enabled = struct.unpack(">H", args[:2])[0]
            return STATUS_OK, None, b""
        if command == SERIAL:
            return STATUS_OK, None, words_with_crc(0x1234, 0x5678, 0x9ABC)
        if command == DATA_READY:
            ready = self.mode != "idle" and self._measurements() > self._last_read_index
            return STATUS_OK, None, words_with_crc(0x8006 if ready else 0x8000)
        if command == READ_MEASUREMENT:
            if self.mode == "idle" or self._measurements() <= self._last_read_index:
                return self._nack(command)  # no data in the buffer: NACK (datasheet 3.5.2)
            self._last_read_index = self._measurements()
            t_raw = round((self.temperature_c + 45.0) * 65535.0 / 175.0)
            rh_raw = round(self.humidity_rh * 65535.0 / 100.0)
            return STATUS_OK, None, words_with_crc(int(self.co2_ppm), t_raw, rh_raw)
        return self._nack(command)


def vospi_crc(packet: bytes) -> int:
    data = bytearray(packet)
    data[0] &= 0x0F
    data[2] = data[3] = 0
    return binascii.crc_hqx(bytes(data), 0)


def vospi_packet(number: int, payload: bytes, *, segment: int = 0) -> bytes:
    ident = (number & 0x0FFF) | ((segment & 0x7) << 12 if number == 20 else 0)
    raw = bytearray(struct.pack(">HH", ident, 0) + payload)
    raw[2:4] = struct.pack(">H", vospi_crc(bytes(raw)))
    return bytes(raw)


def discard_packet() -> bytes:
    return struct.pack(">HH", 0x0F00, 0) + bytes(160)


def vospi_packets(frame: np.ndarray, *, discards_between: int = 3, invalid_first: bool = False) -> list[bytes]:
    """The packets of one 120 x 160 uint16 frame as a Lepton 3.5 sends them."""
    data = np.asarray(frame, dtype=">u2").tobytes()
    out = []
    if invalid_first:  # a segment numbered 0: the camera marks it invalid
        out += [vospi_packet(i, bytes(160), segment=0) for i in range(60)]
    for seg in range(4):
        out += [discard_packet()] * discards_between
        for i in range(60):
            start = (seg * 60 + i) * 160
            out.append(vospi_packet(i, data[start:start + 160], segment=seg + 1))
    return out


class PacketStream:
    """``read_packet`` over a list of packets (then discard packets forever)."""

    def __init__(self, packets):
        self.packets = list(packets)
        self.read = 0

    def __call__(self) -> bytes:
        self.read += 1
        return self.packets.pop(0) if self.packets else discard_packet()
