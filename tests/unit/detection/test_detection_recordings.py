"""Recorded inputs: every defect gives a clear error naming the file and the problem."""

from __future__ import annotations

import numpy as np
import pytest

from firesight.detection.recordings import read_scd41_csv, read_thermal_npz
from firesight.errors import DataError


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
    assert rec.resolution_k.tolist() == pytest.approx([0.01] * 3)
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
