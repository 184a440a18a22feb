"""The FLIR Lepton 3.5 on a node: VoSPI over SPI, or a PureThermal board over USB (UVC Y16).

:class:`ThermalSource` is the interface the node uses: :meth:`~ThermalSource.read_frame`
returns one new radiometric frame (uint16 TLinear, 120 x 160) or None.

**VoSPI** (:class:`VoSPIReader`): the Lepton 3.x streams 164-byte packets (2-byte ID,
2-byte CRC, 160 bytes = 80 big-endian pixels); 60 packets make a segment (30 rows),
4 segments a frame. Packet 20 carries the segment number (ID bits 14-12, "TTT"); segment 0
marks an invalid segment to be discarded. Discard packets (ID ``xFxx``) fill idle time. The
CRC is CRC-16-CCITT (x^16 + x^12 + x^5 + 1, initial value 0) over the whole packet with the
four most significant ID bits and the CRC field zeroed. On any break in the packet or
segment sequence the reader drops the partial frame and resynchronises (the datasheet's
recovery: de-assert chip select for at least 185 ms, then read on). Frames repeat at
27 Hz with a new image at ~8.7 Hz: an exact repeat of the previous frame is dropped.

**PureThermal UVC** (:class:`PureThermalUVC`): PureThermal boards expose the Lepton as a
UVC camera with a ``Y16`` format carrying TLinear counts (their firmware enables
radiometry and TLinear at 0.01 K); frames are read through OpenCV's V4L2 backend as
flirpy does, imported only when this source is opened.

The gain mode is not read from the camera's command interface (CCI) here: the node
reports the gain it is configured for. The FFC state comes from telemetry row A when the
frames carry it (PureThermal with telemetry on, 122 rows); VoSPI frames are read without
telemetry and report ``not_commanded``.

References
----------
1. FLIR, "Lepton Engineering Datasheet" 110-0144-04 rev 303, section 4 (VoSPI: packets,
   segments, discard packets, CRC, synchronisation), 3.5 (radiometry, TLinear) and the
   telemetry row A table (status bits, FFC state).
2. GroupGets, PureThermal 2/3 firmware (UVC Y16 radiometric output); flirpy 0.6
   (``flirpy.camera.lepton``: OpenCV capture with ``CAP_PROP_CONVERT_RGB`` off, Y16).
"""

from __future__ import annotations

import abc
import binascii
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from firesight.edge.scd41 import SensorError

log = logging.getLogger(__name__)

WIDTH, HEIGHT = 160, 120
PACKET_BYTES = 164
PACKETS_PER_SEGMENT = 60
SEGMENTS_PER_FRAME = 4
#: Packet whose ID carries the segment number (TTT bits) [1].
SEGMENT_ID_PACKET = 20
#: Chip-select de-assert time to resynchronise [s] [1].
RESYNC_S = 0.185


@dataclass(frozen=True)
class ThermalFrame:
    """One radiometric frame: TLinear counts, their resolution [K per count], gain, FFC state."""

    pixels: np.ndarray
    resolution_k: float = 0.01
    gain: str = "high"
    ffc_state: str = "not_commanded"


class ThermalSource(abc.ABC):
    @abc.abstractmethod
    def read_frame(self) -> ThermalFrame | None:
        """The next new frame, or None if none was complete (call again)."""

    def close(self) -> None:
        """Release the device."""


def vospi_crc(packet: bytes) -> int:
    """The VoSPI CRC of a 164-byte packet: CRC-16-CCITT, init 0, over the packet with the
    ID's four top bits and the CRC field zeroed [1]."""
    data = bytearray(packet)
    data[0] &= 0x0F
    data[2] = data[3] = 0
    return binascii.crc_hqx(bytes(data), 0)


class VoSPIReader:
    """Assemble Lepton 3.x frames from a VoSPI packet stream.

    Parameters
    ----------
    read_packet : callable
        Returns the next 164 bytes read over SPI (``spidev.SpiDev.readbytes(164)``).
    resync : callable
        Called to resynchronise (de-assert CS for :data:`RESYNC_S`; default: sleep it).
    """

    def __init__(self, read_packet: Callable[[], bytes], *, resync: Callable[[], None] | None = None):
        self._read = read_packet
        self._resync = resync or (lambda: time.sleep(RESYNC_S))
        self.counts: Counter = Counter()
        self._previous: bytes | None = None

    def _packet(self) -> tuple[int, int, bytes] | None:
        raw = bytes(self._read())
        if len(raw) != PACKET_BYTES:
            self.counts["short_packets"] += 1
            return None
        ident = int.from_bytes(raw[:2], "big")
        if ident & 0x0F00 == 0x0F00:
            self.counts["discard_packets"] += 1
            return None
        if vospi_crc(raw) != int.from_bytes(raw[2:4], "big"):
            self.counts["crc_errors"] += 1
            return None
        return ident & 0x0FFF, (ident >> 12) & 0x7, raw[4:]

    def read_frame(self, max_packets: int = 4 * SEGMENTS_PER_FRAME * PACKETS_PER_SEGMENT) -> np.ndarray | None:
        """The next new frame (uint16, 120 x 160), or None after ``max_packets`` packets."""
        segments: dict[int, bytes] = {}
        rows: list[bytes] = []
        segment = None
        expected = 0
        for _ in range(max_packets):
            got = self._packet()
            if got is None:
                continue
            number, ttt, payload = got
            if number != expected:
                # lost sync: drop the partial segment and wait for the next packet 0
                if expected:
                    self.counts["resyncs"] += 1
                    self._resync()
                rows, expected, segment = [], 0, None
                if number != 0:
                    continue
            rows.append(payload)
            if number == SEGMENT_ID_PACKET:
                segment = ttt
            expected = number + 1
            if expected < PACKETS_PER_SEGMENT:
                continue
            if segment is None or segment == 0 or segment > SEGMENTS_PER_FRAME:
                self.counts["invalid_segments"] += 1
            else:
                if segment == 1:
                    segments = {}
                if segment == 1 or segment - 1 in segments:
                    segments[segment] = b"".join(rows)
                else:
                    self.counts["segment_gaps"] += 1
                    segments = {}
            rows, expected, segment = [], 0, None
            if len(segments) == SEGMENTS_PER_FRAME:
                data = b"".join(segments[i] for i in range(1, SEGMENTS_PER_FRAME + 1))
                segments = {}
                if data == self._previous:
                    self.counts["repeated_frames"] += 1
                    continue
                self._previous = data
                self.counts["frames"] += 1
                return np.frombuffer(data, dtype=">u2").reshape(HEIGHT, WIDTH).astype(np.uint16)
        return None


class VoSPISource(ThermalSource):
    """:class:`ThermalSource` over Linux spidev (``/dev/spidev0.0``; SPI mode 3, up to
    20 MHz [1]); ``spi`` may be injected (any object with ``readbytes(n)``)."""

    def __init__(self, spi: Any = None, *, bus: int = 0, device: int = 0, speed_hz: int = 16_000_000,
                 resolution_k: float = 0.01, gain: str = "high"):
        self._owned = None
        if spi is None:
            try:
                import spidev
            except ImportError as exc:
                raise SensorError(f"VoSPI needs spidev: pip install 'firesight[edge]': {exc}") from None
            spi = self._owned = spidev.SpiDev()
            try:
                spi.open(bus, device)
            except OSError as exc:
                raise SensorError(f"cannot open /dev/spidev{bus}.{device}: {exc}") from None
            spi.mode = 0b11
            spi.max_speed_hz = int(speed_hz)
        self.reader = VoSPIReader(lambda: bytes(spi.readbytes(PACKET_BYTES)))
        self.resolution_k, self.gain = resolution_k, gain

    def read_frame(self) -> ThermalFrame | None:
        pixels = self.reader.read_frame()
        return None if pixels is None else ThermalFrame(pixels, self.resolution_k, self.gain)

    def close(self) -> None:
        if self._owned is not None:
            self._owned.close()


#: FFC states by the two FFC-state bits of telemetry row A [1] (the codec's names).
FFC_STATES = ("not_commanded", "imminent", "in_progress", "complete")


def telemetry_ffc_state(row_a: np.ndarray) -> str:
    """The FFC state from telemetry row A: status bits in words 3-4 (least significant word
    first), FFC state in bits 5-4 (00 never commanded, 01 imminent, 10 in progress,
    11 complete) [1]."""
    words = np.asarray(row_a, dtype=np.uint16)
    status = int(words[3]) | (int(words[4]) << 16)
    return FFC_STATES[(status >> 4) & 0x3]


class PureThermalUVC(ThermalSource):
    """:class:`ThermalSource` over a PureThermal board's UVC Y16 stream (OpenCV, V4L2).

    ``capture`` may be injected (an object with ``set``, ``read``, ``release`` as
    ``cv2.VideoCapture``); frames of 122 rows carry the telemetry rows after the image (as
    the PureThermal firmware sends them with telemetry on): the FFC state is read from
    telemetry row A and the frame cropped to the 120 image rows.
    """

    def __init__(self, device_index: int = 0, *, capture: Any = None, resolution_k: float = 0.01,
                 gain: str = "high"):
        if capture is None:
            try:
                import cv2
            except ImportError as exc:
                raise SensorError(f"PureThermal UVC capture needs OpenCV (opencv-python-headless): {exc}") from None
            capture = cv2.VideoCapture(device_index, cv2.CAP_V4L2)
            capture.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter.fourcc("Y", "1", "6", " "))
            capture.set(cv2.CAP_PROP_CONVERT_RGB, 0)
            if not capture.isOpened():
                raise SensorError(f"cannot open UVC device {device_index}")
        self._capture = capture
        self.resolution_k, self.gain = resolution_k, gain
        self.counts: Counter = Counter()

    def read_frame(self) -> ThermalFrame | None:
        ok, frame = self._capture.read()
        if not ok or frame is None:
            self.counts["read_failures"] += 1
            return None
        arr = np.asarray(frame)
        if arr.dtype != np.uint16 or arr.ndim != 2 or arr.shape[1] != WIDTH or arr.shape[0] not in (HEIGHT, HEIGHT + 2):
            self.counts["bad_frames"] += 1
            return None
        self.counts["frames"] += 1
        ffc_state = telemetry_ffc_state(arr[HEIGHT]) if arr.shape[0] == HEIGHT + 2 else "not_commanded"
        return ThermalFrame(np.ascontiguousarray(arr[:HEIGHT]), self.resolution_k, self.gain, ffc_state)

    def close(self) -> None:
        self._capture.release()
