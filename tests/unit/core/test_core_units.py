"""TLinear counts to Celsius (FLIR Lepton IDD 110-0144-04 rev. 303, "Radiometry": kelvin x
100 in high gain, x 10 in low gain; BIPM SI brochure 9th ed.: t/degC = T/K - 273.15)."""

import numpy as np
from numpy.testing import assert_allclose

from firesight.units import ZERO_CELSIUS_K, tlinear_to_celsius


def test_zero_celsius_is_273_15_kelvin():
    assert ZERO_CELSIUS_K == 273.15


def test_one_resolution_per_frame():
    counts = np.array([[29315, 29415], [2932, 6732]], dtype=np.uint16)  # frame 0 high, frame 1 low gain
    assert_allclose(tlinear_to_celsius(counts, np.array([0.01, 0.1])), [[20.0, 21.0], [20.05, 400.05]],
                    atol=1e-9)


def test_scalar_resolution_and_float32_result():
    frames = np.full((2, 3, 4), 30015, dtype=np.uint16)  # 300.15 K = 27 C
    out = tlinear_to_celsius(frames, np.float32(0.01), dtype=np.float32)
    assert out.dtype == np.float32 and out.shape == (2, 3, 4)
    assert_allclose(out, 27.0, atol=1e-3)
    # float32 arithmetic throughout, as stored by the dataset reader
    assert out[0, 0, 0] == np.float32(30015) * np.float32(0.01) - np.float32(273.15)


def test_per_frame_resolution_float32_matches_each_frame_alone():
    rng = np.random.default_rng(0)
    frames = rng.integers(27000, 40000, size=(3, 4, 5), dtype=np.uint16)
    res = np.array([0.01, 0.1, 0.01], dtype=np.float32)
    both = tlinear_to_celsius(frames, res, dtype=np.float32)
    for k in range(3):
        assert np.array_equal(both[k], tlinear_to_celsius(frames[k], res[k], dtype=np.float32))
