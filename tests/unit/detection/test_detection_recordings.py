"""Recorded inputs: every defect gives a clear error naming the file and the problem."""

from __future__ import annotations

import numpy as np
import pytest

from firesight.detection.recordings import read_scd41_csv, read_thermal_npz
from firesight.errors import DataError
from firesight.sensors.frames import LeptonFrames


def write(tmp_path, text, name="r.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_reads_valid_csv_with_extra_columns(tmp_path):
    p = write(tmp_path, "time_s,co2_ppm,temperature_c,humidity_rh,note\n0,420,21,40,a\n5,425,21.1,40,b\n")
    t = read_scd41_csv(p)
    assert list(t.columns) == ["time_s", "co2_ppm", "temperature_c", "humidity_rh"]
    assert t["co2_ppm"].tolist() == [420.0, 425.0]


@pytest.mark.parametrize("text,match", [
    ("time_s,co2_ppm,temperature_c\n0,420,21\n", r"lacks columns \['humidity_rh'\]"),
    ("time_s,co2_ppm,temperature_c,humidity_rh\n0,nan,21,40\n", "co2_ppm holds 1"),
    ("time_s,co2_ppm,temperature_c,humidity_rh\n0,420,inf,40\n", "temperature_c holds 1"),
    ("time_s,co2_ppm,temperature_c,humidity_rh\n0,420,21,abc\n", "humidity_rh holds 1"),
    ("time_s,co2_ppm,temperature_c,humidity_rh\n5,420,21,40\n0,420,21,40\n", "must increase"),
    ("time_s,co2_ppm,temperature_c,humidity_rh\n", "no readings"),
])
def test_bad_csv(tmp_path, text, match):
    with pytest.raises(DataError, match=match):
        read_scd41_csv(write(tmp_path, text))


def test_missing_csv(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        read_scd41_csv(tmp_path / "absent.csv")


def test_thermal_npz_checks(tmp_path):
    ok = tmp_path / "ok.npz"
    np.savez(ok, frames=np.full((3, 120, 160), 29315, np.uint16), time_s=np.arange(3) / 8.7)
    rec = read_thermal_npz(ok)
    assert isinstance(rec, LeptonFrames)  # the type the camera model and the dataset reader give
    assert rec.resolution_k.tolist() == pytest.approx([0.01] * 3)
    assert rec.ffc_state.tolist() == [0, 0, 0] and rec.valid.all() and rec.gain.tolist() == [0, 0, 0]
    bad_shape = tmp_path / "shape.npz"
    np.savez(bad_shape, frames=np.zeros((3, 160, 120), np.uint16), time_s=np.arange(3.0))
    with pytest.raises(DataError, match=r"shape \(3, 160, 120\)"):
        read_thermal_npz(bad_shape)
    bad_dtype = tmp_path / "dtype.npz"
    np.savez(bad_dtype, frames=np.zeros((3, 120, 160), np.float32), time_s=np.arange(3.0))
    with pytest.raises(DataError, match="dtype float32"):
        read_thermal_npz(bad_dtype)
    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(DataError, match="not a readable"):
        read_thermal_npz(corrupt)


def _recording(n=40, seed=0):
    rng = np.random.default_rng(seed)
    frames = rng.integers(28000, 32000, size=(n, 120, 160), dtype=np.uint16)
    return frames, np.arange(n) / 8.7


@pytest.mark.parametrize("save", [np.savez, np.savez_compressed], ids=["stored", "deflated"])
def test_thermal_npz_frames_are_read_on_demand_and_equal(tmp_path, save):
    frames, time_s = _recording()
    path = tmp_path / "rec.npz"
    save(path, frames=frames, time_s=time_s, resolution_k=np.float32(0.1), ffc_state=np.ones(40, np.uint8))
    rec = read_thermal_npz(path)
    assert not isinstance(rec.frames, np.ndarray)  # not loaded
    assert rec.frames.memory_mapped is (save is np.savez)
    assert len(rec.frames) == 40 and rec.frames.shape == (40, 120, 160) and rec.frames.dtype == np.uint16
    for i in (0, 1, 7, 39, 3, -1, -40):  # forward, then backwards (a deflated member reopens)
        np.testing.assert_array_equal(rec.frames[i], frames[i])
    for sl in (slice(None), slice(5, 12), slice(2, 30, 7), slice(30, 2, -4), slice(None, None, -1), slice(9, 9)):
        np.testing.assert_array_equal(rec.frames[sl], frames[sl])
    np.testing.assert_array_equal(np.asarray(rec.frames), frames)
    np.testing.assert_array_equal(rec.time_s, time_s)
    assert rec.resolution_k.tolist() == pytest.approx([0.1] * 40) and rec.ffc_state.tolist() == [1] * 40
    with pytest.raises(IndexError):
        rec.frames[40]


@pytest.mark.parametrize("save", [np.savez, np.savez_compressed], ids=["stored", "deflated"])
def test_thermal_npz_memory_stays_flat_in_the_recording_length(tmp_path, save):
    """Opening a 300-frame recording (11.5 MB of frames) and reading it frame by frame in
    time order, as the replay does, never holds more than a few frames."""
    import tracemalloc

    frames, time_s = _recording(n=300, seed=1)
    path = tmp_path / "long.npz"
    save(path, frames=frames, time_s=time_s)
    del frames
    frame_bytes = 120 * 160 * 2
    tracemalloc.start()
    try:
        rec = read_thermal_npz(path)
        opened = tracemalloc.get_traced_memory()[1]
        total = 0
        for i in range(len(rec.time_s)):
            total += int(rec.frames[i][60, 80])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total > 0
    assert opened < 5 * frame_bytes, opened
    assert peak < 20 * frame_bytes, peak  # the whole stack would be 300 frames


def test_thermal_npz_reads_only_the_arrays_it_needs(tmp_path):
    """An unrelated array in the archive is never read: corrupting its bytes changes nothing."""
    import zipfile

    from firesight.detection.recordings import _member_data_offset

    frames, time_s = _recording(n=5)
    path = tmp_path / "extra.npz"
    np.savez(path, frames=frames, time_s=time_s, notes=np.arange(100_000, dtype=np.int64))
    with zipfile.ZipFile(path) as zf:
        member = zf.getinfo("notes.npy")
    start = _member_data_offset(path, member) + 200
    with open(path, "r+b") as fh:
        fh.seek(start)
        fh.write(b"\xff" * 4096)
    with zipfile.ZipFile(path) as zf, pytest.raises(zipfile.BadZipFile):
        zf.read("notes.npy")  # positive control: the damage is real (CRC)
    rec = read_thermal_npz(path)
    np.testing.assert_array_equal(np.asarray(rec.frames), frames)


def test_thermal_npz_damaged_frames_fail_clearly(tmp_path):
    frames, time_s = _recording(n=20, seed=2)
    stored, deflated = tmp_path / "stored.npz", tmp_path / "deflated.npz"
    np.savez(stored, time_s=time_s, frames=frames)  # frames last: cutting the file cuts them
    with open(stored, "r+b") as fh:
        fh.truncate(stored.stat().st_size - 200_000)
    with pytest.raises(DataError, match="not a readable|truncated"):
        read_thermal_npz(stored)
    np.savez_compressed(deflated, frames=frames, time_s=time_s)
    import zipfile

    from firesight.detection.recordings import _member_data_offset

    with zipfile.ZipFile(deflated) as zf:
        member = zf.getinfo("frames.npy")
    with open(deflated, "r+b") as fh:
        fh.seek(_member_data_offset(deflated, member) + member.compress_size // 2)
        fh.write(b"\x00" * 2048)
    rec = read_thermal_npz(deflated)  # the header is intact; the damage is found on reading
    with pytest.raises(DataError, match="frames"):
        for i in range(20):
            rec.frames[i]


def test_real_lepton_y16_frames_are_read_into_the_one_frame_type(tmp_path):
    """PureThermal Y16 recorder layout (:func:`firesight.validation.realcheck.read_lepton_y16`):
    magic, u32 header length, JSON header, then per frame u64 index, f64 time [s], i64 time
    [ms] and 120 x 160 u16 centikelvin pixels."""
    import gzip
    import json
    import struct

    from firesight.validation.realcheck import read_lepton_y16

    header = json.dumps({"height": 120, "width": 160}).encode()
    record = np.dtype([("index", "<u8"), ("time_s", "<f8"), ("time_ms", "<i8"), ("pixels", "<u2", (120, 160))])
    frames = np.zeros(3, dtype=record)
    frames["index"] = [10, 11, 12]
    frames["time_s"] = [100.0, 100.115, 100.23]
    frames["pixels"] = np.arange(3, dtype=np.uint16)[:, None, None] + 29315
    path = tmp_path / "r.raw.y16.gz"
    path.write_bytes(gzip.compress(b"PTY16V1\n" + struct.pack("<I", len(header)) + header + frames.tobytes()))
    rec = read_lepton_y16(path)
    assert isinstance(rec, LeptonFrames) and len(rec) == 3
    np.testing.assert_allclose(rec.time_s, [0.0, 0.115, 0.23], atol=1e-9)
    np.testing.assert_array_equal(rec.frames[:, 0, 0], [29315, 29316, 29317])
    np.testing.assert_allclose(rec.celsius(2), 20.02, atol=1e-3)
    assert rec.resolution_k.tolist() == pytest.approx([0.01] * 3) and rec.valid.all()
