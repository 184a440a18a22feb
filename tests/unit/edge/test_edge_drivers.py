"""Edge sensor drivers against driver-level fakes that speak the devices' protocols:
Sensirion's real ``sensirion-i2c-scd4x`` driver over a fake I2C bus with an SCD41, and
the VoSPI reader over a fake Lepton 3.5 packet stream."""

from __future__ import annotations

import binascii
from types import SimpleNamespace

import numpy as np
import pytest

from firesight.edge.lepton import PureThermalUVC, VoSPIReader, vospi_crc
from firesight.edge.scd41 import SensirionSCD41, SensorError
from support.edge_fakes import (DATA_READY, READ_MEASUREMENT, REINIT, SET_ASC, START_LOW_POWER, START_PERIODIC,
                                STOP, WAKE_UP, FakeSCD41Bus, PacketStream, crc8, discard_packet, vospi_packet,
                                vospi_packets)


class Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


def test_crc_definitions_match_the_datasheet_examples():
    """SCD4x datasheet 3.11: CRC-8 of 0xBEEF is 0x92. VoSPI's CRC-16-CCITT with init 0 is
    CRC-16/XMODEM, whose catalogue check value over "123456789" is 0x31C3."""
    assert crc8(bytes([0xBE, 0xEF])) == 0x92
    assert binascii.crc_hqx(b"123456789", 0) == 0x31C3
    packet = vospi_packet(7, bytes(range(160)))
    assert vospi_crc(packet) == int.from_bytes(packet[2:4], "big")


@pytest.fixture
def timed_bus(monkeypatch):
    """A fake SCD41 on a simulated clock; the driver's waits for execution times advance it."""
    import sensirion_i2c_driver.connection as connection

    clock = Clock()

    def sleep(seconds):
        clock.t += seconds

    monkeypatch.setattr(connection, "time", SimpleNamespace(sleep=sleep))
    return clock, FakeSCD41Bus(clock=clock)


def test_scd41_start_read_and_low_power_follow_the_datasheet_sequence(timed_bus):
    """Datasheet 3.5-3.9: wake_up (not acknowledged), stop (500 ms), reinit, ASC in idle,
    start periodic (5 s); data ready polled, read once per interval (a second read NACKs);
    low power goes through idle: stop, then start_low_power_periodic (30 s)."""
    clock, bus = timed_bus
    sensor = SensirionSCD41(bus)
    sensor.start(low_power=False, asc_enabled=False)
    assert bus.commands == [WAKE_UP, STOP, REINIT, SET_ASC, START_PERIODIC]
    assert bus.asc_enabled == 0 and bus.mode == "periodic"
    assert sensor.data_ready() is False
    with pytest.raises(SensorError, match="read_measurement"):
        sensor.read()  # no data yet: the sensor NACKs
    clock.t += 5.0
    assert sensor.data_ready() is True
    bus.co2_ppm, bus.temperature_c, bus.humidity_rh = 1234, 25.0, 55.0
    reading = sensor.read()
    assert reading.co2_ppm == 1234
    assert reading.temperature_c == pytest.approx(25.0, abs=175 / 65535)
    assert reading.humidity_rh == pytest.approx(55.0, abs=100 / 65535)
    assert sensor.data_ready() is False
    bus.commands.clear()
    sensor.stop()
    sensor.start(low_power=True)
    assert bus.commands == [STOP, WAKE_UP, STOP, REINIT, SET_ASC, START_LOW_POWER]
    assert bus.mode == "low_power" and bus.asc_enabled == 1
    clock.t += 29.0
    assert sensor.data_ready() is False
    clock.t += 1.5
    assert sensor.data_ready() is True and sensor.read().co2_ppm == 1234
    assert bus.commands[-2:] == [DATA_READY, READ_MEASUREMENT]


def test_a_driver_that_skipped_the_stop_time_would_be_refused(timed_bus):
    """The fake holds the datasheet's 500 ms after stop: a command sent earlier is not
    acknowledged (this is what makes the sequence test above meaningful)."""
    clock, bus = timed_bus
    sensor = SensirionSCD41(bus)
    sensor.start(low_power=False)
    bus._busy_until = clock.t + 0.5  # as right after a stop, had the driver not waited
    with pytest.raises(SensorError, match="get_data_ready_status"):
        sensor.data_ready()


def test_scd41_commands_not_allowed_in_periodic_mode_are_refused():
    """Datasheet 3.5: during periodic measurement only read, data ready, stop (and pressure)
    are accepted; reinit is not acknowledged."""
    bus = FakeSCD41Bus(time_scale=0.01)
    sensor = SensirionSCD41(bus)
    sensor.start(low_power=False)
    with pytest.raises(SensorError, match="reinit"):
        sensor._call("reinit", sensor._sensor.reinit)
    assert bus.nacks[-1] == REINIT


def test_vospi_assembles_frames_skipping_discards_invalid_segments_and_repeats():
    """Engineering datasheet 4: discard packets (xFxx) are skipped; a segment numbered 0 is
    invalid; four valid segments make the frame, pixels big-endian; an exact repeat (27 Hz
    stream, 8.7 Hz new images) is dropped."""
    rng = np.random.default_rng(1)
    frame = rng.integers(27000, 32000, size=(120, 160), dtype=np.uint16)
    other = frame.copy()
    other[60, 80] += 500
    stream = PacketStream(vospi_packets(frame, invalid_first=True) + vospi_packets(frame) + vospi_packets(other))
    reader = VoSPIReader(stream, resync=lambda: None)
    got = reader.read_frame()
    np.testing.assert_array_equal(got, frame)
    assert reader.counts["invalid_segments"] == 1 and reader.counts["discard_packets"] >= 12
    np.testing.assert_array_equal(reader.read_frame(), other)  # the repeat of ``frame`` is skipped
    assert reader.counts["repeated_frames"] == 1


def test_vospi_crc_error_and_lost_packet_resynchronise():
    """A packet with a bad CRC is dropped; the break in packet numbers makes the reader
    resynchronise and wait for the next segment 1, never emitting a torn frame."""
    rng = np.random.default_rng(2)
    first = rng.integers(27000, 32000, size=(120, 160), dtype=np.uint16)
    second = rng.integers(27000, 32000, size=(120, 160), dtype=np.uint16)
    packets = vospi_packets(first)
    corrupt = bytearray(packets[3 + 100])  # segment 2, packet ~37
    corrupt[50] ^= 0xFF
    packets[3 + 100] = bytes(corrupt)
    resyncs = []
    reader = VoSPIReader(PacketStream(packets + vospi_packets(second)), resync=lambda: resyncs.append(1))
    np.testing.assert_array_equal(reader.read_frame(), second)
    assert reader.counts["crc_errors"] == 1 and resyncs
    assert reader.read_frame(max_packets=50) is None  # only discard packets left


def test_purethermal_uvc_reads_the_ffc_state_from_telemetry_and_rejects_bad_frames():
    """Lepton Engineering Datasheet, telemetry row A: status bits in words 3-4 (low word
    first), FFC state in bits 5-4."""
    class Capture:  # cv2.VideoCapture's read/release contract
        def __init__(self, frames):
            self.frames = list(frames)
            self.released = False

        def read(self):
            return (True, self.frames.pop(0)) if self.frames else (False, None)

        def release(self):
            self.released = True

    good = np.full((122, 160), 30000, np.uint16)
    good[120, :] = 0
    good[120, 3] = 0b10 << 4  # telemetry row A, status bits (low word): FFC state 10 = in progress
    plain = np.full((120, 160), 30000, np.uint16)
    source = PureThermalUVC(capture=Capture([good, plain, np.zeros((120, 160), np.uint8)]))
    frame = source.read_frame()
    assert frame.pixels.shape == (120, 160) and frame.resolution_k == 0.01
    assert frame.ffc_state == "in_progress" and (frame.pixels == 30000).all()
    assert source.read_frame().ffc_state == "not_commanded"  # no telemetry rows
    assert source.read_frame() is None and source.counts["bad_frames"] == 1
    assert source.read_frame() is None and source.counts["read_failures"] == 1
    source.close()


def test_discard_packet_is_recognised():
    assert int.from_bytes(discard_packet()[:2], "big") & 0x0F00 == 0x0F00
