"""A stack of FLIR Lepton 3.5 frames with its per-frame telemetry: the one type for it.

:meth:`firesight.sensors.lepton.LeptonCamera.expose` and the scene renderer produce it,
a dataset scenario holds it (:meth:`firesight.datasets.Dataset.load`, frames read
lazily), and a recording replays it (:func:`firesight.detection.recordings.read_thermal_npz`,
frames read on demand). This module imports no compiled kernels, so the readers can use it
without loading the camera model.

References
----------
1. FLIR Lepton 3.5 engineering datasheet, document 500-0771-01-09 rev. 200 (2018):
   TLinear output 0.01 K (high gain) or 0.1 K (low gain).
2. FLIR Lepton Software Interface Description Document (IDD), document 110-0144-04
   rev. 303: telemetry (frame counter, FFC state, gain mode).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from firesight.errors import require
from firesight.units import tlinear_to_celsius

#: Gain modes in the ``gain`` telemetry [2].
GAIN_HIGH, GAIN_LOW = 0, 1
#: FFC states in the ``ffc_state`` telemetry [2]: frames are frozen while in progress.
FFC_NORMAL, FFC_IMMINENT, FFC_IN_PROGRESS = 0, 1, 2
#: TLinear resolution [K per count] of each gain mode [1].
TLINEAR_RESOLUTION_K = {GAIN_HIGH: 0.01, GAIN_LOW: 0.1}

_FIELDS = ("frames", "time_s", "gain", "resolution_k", "ffc_state", "frame_counter", "valid")


@dataclass(kw_only=True)
class LeptonFrames:
    """Lepton 3.5 frames and their telemetry, as read over VoSPI [1, 2].

    ``frames`` (n, 120, 160) uint16 TLinear counts (kelvin / ``resolution_k``): an array,
    or an array-like read on demand (``shape``, ``dtype``, ``len``, integer and slice
    indexing, ``np.asarray``), so a stored stack need not be in memory. The per-frame
    arrays are in memory: ``time_s`` float64 [s]; ``resolution_k`` float32 [K per count]
    (0.01 or 0.1); ``ffc_state`` uint8 (0 normal, 1 imminent, 2 in progress); ``gain``
    uint8 (0 high, 1 low); ``frame_counter`` uint32; ``valid`` bool (False for a dropped
    frame, whose content repeats the last frame or is zero before any frame).

    A recording without the last three gets the values of a stack with nothing known to be
    wrong: ``gain`` follows ``resolution_k`` (0.1 K is low gain, as the device pairs them),
    ``frame_counter`` counts from 0 and every frame is ``valid``. Fields are passed by
    keyword; none is copied or converted.
    """

    frames: Any
    time_s: np.ndarray
    resolution_k: np.ndarray
    ffc_state: np.ndarray
    gain: np.ndarray | None = None
    frame_counter: np.ndarray | None = None
    valid: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.time_s)
        if self.gain is None:
            split_k = 0.5 * (TLINEAR_RESOLUTION_K[GAIN_HIGH] + TLINEAR_RESOLUTION_K[GAIN_LOW])
            low = np.asarray(self.resolution_k, dtype=np.float64) > split_k
            self.gain = np.where(low, GAIN_LOW, GAIN_HIGH).astype(np.uint8)
        if self.frame_counter is None:
            self.frame_counter = np.arange(n, dtype=np.uint32)
        if self.valid is None:
            self.valid = np.ones(n, dtype=bool)

    def __len__(self) -> int:
        return int(self.frames.shape[0])

    def celsius(self, index: int | slice) -> np.ndarray:
        """Frames ``index`` converted to degrees Celsius [C] (float32)."""
        return tlinear_to_celsius(self.frames[index], self.resolution_k[index], dtype=np.float32)

    @staticmethod
    def concatenate(parts: list[LeptonFrames]) -> LeptonFrames:
        """Join chunks in order."""
        require(len(parts) > 0, "parts", "at least one LeptonFrames", len(parts))
        return LeptonFrames(**{n: np.concatenate([getattr(p, n) for p in parts]) for n in _FIELDS})
