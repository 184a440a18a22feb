"""One type for a stack of Lepton frames (:class:`firesight.sensors.frames.LeptonFrames`):
what the camera model renders, what a dataset scenario holds and what a recording replays."""

from __future__ import annotations

import numpy as np
import pytest

from firesight.sensors.frames import GAIN_HIGH, GAIN_LOW, LeptonFrames


def test_a_recording_without_telemetry_gets_gain_from_resolution_counter_and_all_valid():
    """A replayed ``.npz`` holds no gain, counter or drop flags (docs/detection.md, Replay):
    the Lepton pairs 0.1 K/count with low gain and 0.01 K/count with high gain (datasheet)."""
    res = np.array([0.01, 0.1, 0.1, 0.01], np.float32)
    rec = LeptonFrames(frames=np.zeros((4, 120, 160), np.uint16), time_s=np.arange(4) / 8.7,
                       resolution_k=res, ffc_state=np.zeros(4, np.uint8))
    assert rec.gain.tolist() == [GAIN_HIGH, GAIN_LOW, GAIN_LOW, GAIN_HIGH] and rec.gain.dtype == np.uint8
    assert rec.frame_counter.tolist() == [0, 1, 2, 3] and rec.frame_counter.dtype == np.uint32
    assert rec.valid.tolist() == [True] * 4 and rec.valid.dtype == bool
    assert len(rec) == 4


def test_given_telemetry_is_kept_as_given():
    n = 3
    gain, counter, valid = np.zeros(n, np.uint8), np.array([7, 8, 10], np.uint32), np.array([True, False, True])
    rec = LeptonFrames(frames=np.zeros((n, 120, 160), np.uint16), time_s=np.arange(n, dtype=float),
                       resolution_k=np.full(n, 0.1, np.float32), ffc_state=np.zeros(n, np.uint8),
                       gain=gain, frame_counter=counter, valid=valid)
    assert rec.gain is gain and rec.frame_counter is counter and rec.valid is valid


def test_fields_are_passed_by_keyword():
    """The fields were reordered when three types became one: a positional call is refused
    rather than silently putting gains into resolutions."""
    with pytest.raises(TypeError):
        LeptonFrames(np.zeros((1, 120, 160), np.uint16), np.zeros(1), np.zeros(1, np.float32), np.zeros(1, np.uint8))


class _CountingFrames:
    """An array read on demand: records the indices read."""

    def __init__(self, values: np.ndarray):
        self._values, self.shape, self.dtype, self.read = values, values.shape, values.dtype, []

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, index):
        self.read.append(index)
        return self._values[index]

    def __array__(self, dtype=None, copy=None):
        self.read.append("all")
        return self._values if dtype is None else self._values.astype(dtype)


def test_celsius_reads_only_the_frames_asked_for():
    """TLinear: kelvin = counts x resolution; 29,315 x 0.01 K = 293.15 K = 20 C and
    3,731 x 0.1 K = 373.1 K = 99.95 C."""
    values = np.stack([np.full((120, 160), 29315, np.uint16), np.full((120, 160), 3731, np.uint16)])
    lazy = _CountingFrames(values)
    rec = LeptonFrames(frames=lazy, time_s=np.array([0.0, 0.115]), resolution_k=np.array([0.01, 0.1], np.float32),
                       ffc_state=np.zeros(2, np.uint8))
    hot = rec.celsius(1)
    assert hot.dtype == np.float32 and hot.shape == (120, 160)
    np.testing.assert_allclose(hot, 99.95, atol=1e-3)
    np.testing.assert_allclose(rec.celsius(slice(0, 1)), 20.0, atol=1e-3)
    assert lazy.read == [1, slice(0, 1)]
    assert len(rec) == 2


def test_concatenate_joins_every_field_in_order():
    def part(n, start_s, res):
        return LeptonFrames(frames=np.full((n, 120, 160), n, np.uint16), time_s=start_s + np.arange(n, dtype=float),
                            resolution_k=np.full(n, res, np.float32), ffc_state=np.full(n, n, np.uint8))

    joined = LeptonFrames.concatenate([part(2, 0.0, 0.01), part(3, 2.0, 0.1)])
    assert len(joined) == 5 and joined.frames[:, 0, 0].tolist() == [2, 2, 3, 3, 3]
    assert joined.time_s.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert joined.gain.tolist() == [GAIN_HIGH, GAIN_HIGH, GAIN_LOW, GAIN_LOW, GAIN_LOW]
    assert joined.ffc_state.tolist() == [2, 2, 3, 3, 3]
    assert joined.frame_counter.tolist() == [0, 1, 0, 1, 2] and joined.valid.all()
    with pytest.raises(Exception, match="parts"):
        LeptonFrames.concatenate([])
