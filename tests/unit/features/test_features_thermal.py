"""Thermal features: exact pixel statistics, blobs, robust slopes, flicker and FFC handling."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import signal, stats

from firesight.errors import DataError
from firesight.features import timeseries as est
from firesight.features import thermal as th

COL = {name: i for i, name in enumerate(th.FRAME_COLUMNS)}


def _frames(n=6, seed=3):
    rng = np.random.default_rng(seed)
    frames = np.round(rng.normal(29315.0, 8.0, (n, 120, 160))).astype(np.uint16)
    frames[:, 40:46, 70:75] = 35000 + np.arange(n, dtype=np.uint16)[:, None, None] * 100  # 76.85 C and rising
    frames[2, 100:102, 10:40] = 31500  # a warm strip on one frame
    res = np.full(n, 0.01)
    if n > 4:
        res[4] = 0.1  # one low-gain frame: counts are kelvin x 10
        frames[4] = np.round(frames[4] / 10).astype(np.uint16)
    return frames, np.arange(n) / 8.7, res


def test_pixel_statistics_equal_numpy_reference():
    """Every per-frame statistic equals a plain NumPy computation on the apparent
    temperature (count x resolution - 273.15, Lepton datasheet TLinear definition)."""
    frames, time_s, res = _frames()
    out = th.lepton_frame_features(frames, time_s, res)
    temp = th.apparent_temperature_c(frames, res).reshape(len(frames), -1)
    ordered = np.sort(temp, axis=1)
    n_px = temp.shape[1]
    assert_allclose(out[:, COL["max_c"]], temp.max(axis=1), rtol=0, atol=1e-9)
    assert_allclose(out[:, COL["p99_c"]], ordered[:, th.order_statistic_rank(0.99, n_px)], atol=1e-9)
    assert_allclose(out[:, COL["p95_c"]], ordered[:, th.order_statistic_rank(0.95, n_px)], atol=1e-9)
    assert_allclose(out[:, COL["background_c"]], ordered[:, th.order_statistic_rank(0.5, n_px)], atol=1e-9)
    assert_allclose(out[:, COL["mean_c"]], temp.mean(axis=1), atol=1e-9)
    assert_allclose(out[:, COL["std_c"]], temp.std(axis=1), atol=1e-9)
    assert_allclose(out[:, COL["top_mean_c"]], ordered[:, -20:].mean(axis=1), atol=1e-9)
    for threshold in (40, 60, 100, 200):
        assert_allclose(out[:, COL[f"hot_frac_{threshold}c"]], (temp > threshold).mean(axis=1), atol=1e-12)
    background_hot = temp > ordered[:, [th.order_statistic_rank(0.5, n_px)]] + 10.0
    assert_allclose(out[:, COL["hot_frac_bg10k"]], background_hot.mean(axis=1), atol=1e-12)
    img = temp.reshape(-1, 120, 160)
    grad = np.hypot(np.diff(img, axis=2)[:, :-1, :], np.diff(img, axis=1)[:, :, :-1])
    assert_allclose(out[:, COL["grad_max_c_per_px"]], grad.reshape(len(frames), -1).max(axis=1), rtol=1e-9)
    diff = np.diff(img, axis=0).reshape(len(frames) - 1, -1)
    assert math.isnan(out[0, COL["diff_ms_c2"]])  # nothing before the first frame
    assert_allclose(out[1:, COL["diff_ms_c2"]], (diff ** 2).mean(axis=1), rtol=1e-9)
    assert_allclose(out[1:, COL["diff_max_c"]], np.abs(diff).max(axis=1), rtol=1e-9)


def test_batch_and_single_frames_agree_bitwise():
    frames, time_s, res = _frames()
    batch = th.lepton_frame_features(frames, time_s, res)
    rows = [th.lepton_frame_features(frames[:1], time_s[:1], res[:1])]
    for k in range(1, len(frames)):
        rows.append(th.lepton_frame_features(frames[k:k + 1], time_s[k:k + 1], res[k:k + 1],
                                             previous=(frames[k - 1], time_s[k - 1], res[k - 1])))
    assert np.array_equal(batch, np.vstack(rows), equal_nan=True)


def test_blob_is_the_largest_hot_region():
    frames, time_s, res = _frames()
    out = th.lepton_frame_features(frames, time_s, res)
    # frame 0: only the 6 x 5 hot block; frame 2: the 2 x 30 strip (60 px) is larger
    assert out[0, COL["blob_area_px"]] == 30
    assert_allclose(out[0, [COL["blob_centroid_x_px"], COL["blob_centroid_y_px"]]], [72.0, 42.5])
    assert out[2, COL["blob_area_px"]] == 60
    assert_allclose(out[2, COL["blob_centroid_y_px"]], 100.5)
    assert out[2, COL["blob_compactness"]] < out[0, COL["blob_compactness"]]


def test_largest_blob_geometry():
    """Compactness 16 A / P^2 (pixel-edge perimeter): 1 for a square, ~pi/4 for a disc."""
    mask = np.zeros((40, 40), bool)
    mask[5:11, 5:11] = True
    mask[30, 30] = True
    area, cx, cy, compactness = th.largest_blob(mask)
    assert (area, cx, cy) == (36, 7.5, 7.5)
    assert_allclose(compactness, 1.0)
    yy, xx = np.mgrid[0:201, 0:201]
    disc = (yy - 100) ** 2 + (xx - 100) ** 2 <= 80 ** 2
    assert_allclose(th.largest_blob(disc)[3], math.pi / 4, rtol=0.03)
    diagonal = np.eye(5, dtype=bool)  # 8-connected: one blob of 5 px
    assert th.largest_blob(diagonal)[0] == 5
    area, cx, cy, compactness = th.largest_blob(np.zeros((4, 4), bool))
    assert area == 0 and math.isnan(cx) and math.isnan(compactness)


def test_no_hot_pixels_means_no_blob():
    frames = np.full((2, 120, 160), 29315, np.uint16)
    out = th.lepton_frame_features(frames, np.array([0.0, 0.1]), np.full(2, 0.01))
    assert np.all(out[:, COL["blob_area_px"]] == 0)
    assert np.all(np.isnan(out[:, COL["blob_centroid_x_px"]]))
    assert np.all(out[:, COL["hot_frac_bg10k"]] == 0)


def test_difference_across_a_gap_is_not_no_change():
    """After an FFC freeze (0.9 s without valid frames) the first difference is unknown
    (NaN), not zero; frames at the normal 0.115 s period are differenced."""
    frames, _, res = _frames(3)
    out = th.lepton_frame_features(frames, np.array([0.0, 0.115, 1.2]), res[:3])
    assert np.isfinite(out[1, COL["diff_ms_c2"]])
    assert np.isnan(out[2, COL["diff_ms_c2"]]) and np.isnan(out[2, COL["diff_max_c"]])


def test_theil_sen_matches_scipy_and_ignores_outliers():
    rng = np.random.default_rng(0)
    x = np.arange(40.0)
    y = 0.7 * x + rng.normal(0, 0.1, x.size)
    y[[3, 17, 30]] += 50.0
    assert_allclose(est.theil_sen_slope(x, y), stats.theilslopes(y, x)[0], rtol=1e-12)
    assert_allclose(est.theil_sen_slope(x, y), 0.7, atol=0.02)
    assert math.isnan(est.theil_sen_slope(np.array([1.0]), np.array([2.0])))
    assert math.isnan(est.theil_sen_slope(np.array([1.0, 1.0]), np.array([2.0, 3.0])))


@pytest.mark.parametrize("n", [32, 41, 100, 522])
def test_welch_matches_scipy(n):
    rng = np.random.default_rng(n)
    x = rng.normal(size=n) + np.linspace(0, 3, n) + np.sin(0.9 * np.arange(n))
    f_ref, p_ref = signal.welch(x, fs=8.7, nperseg=32, detrend="linear")
    f, p = est.welch_psd(x, 8.7, 32)
    assert_allclose(f, f_ref)
    assert_allclose(p, p_ref, rtol=1e-10, atol=1e-14)


def test_flicker_power_of_a_sinusoid_and_aliasing():
    """A sinusoid of amplitude A carries variance A^2/2. At 2 Hz it lies in the 1-4.35 Hz
    band; a 6 Hz flame flicker sampled at 8.7 Hz aliases to 8.7 - 6 = 2.7 Hz and is still
    counted; a slow 0.1 C/s ramp is not flicker."""
    t = np.arange(522) / 8.7
    for freq in (2.0, 6.0):
        power, fraction = th.flicker_band_power(t, 100 + 5.0 * np.sin(2 * np.pi * freq * t))
        assert_allclose(power, 12.5, rtol=0.1)
        assert fraction > 0.9
    power, _ = th.flicker_band_power(t, 20 + 0.1 * t)
    assert power < 1e-6


def test_flicker_uses_runs_between_ffc_gaps():
    t = np.arange(522) / 8.7
    values = 100 + 5.0 * np.sin(2 * np.pi * 2.0 * t)
    keep = (t < 25) | (t > 26)  # a 1 s FFC gap
    power, _ = th.flicker_band_power(t[keep], values[keep])
    assert_allclose(power, 12.5, rtol=0.1)
    assert np.isnan(th.flicker_band_power(t[:20], values[:20])[0])  # too short for one segment


def test_window_rise_rate_of_hottest_region():
    """A hot spot heating at 2 C/s gives a 2 C/s robust rise over the window and the short horizon."""
    n = 400
    t = np.arange(n) / 8.7
    frames = np.full((n, 120, 160), 29315, np.uint16)
    for k in range(n):
        frames[k, 50:55, 50:55] = int(round((60.0 + 2.0 * t[k] + 273.15) / 0.01))
    table = th.lepton_frame_features(frames, t, np.full(n, 0.01))
    out = dict(zip(th.THERMAL_FEATURES, th.thermal_window_features(table, float(t[-1]), window_s=30.0)))
    assert_allclose(out["thermal_top_rise_c_per_s"], 2.0, rtol=1e-3)
    assert_allclose(out["thermal_top_rise_short_c_per_s"], 2.0, rtol=1e-3)
    assert_allclose(out["thermal_max_c"], 60.0 + 2.0 * t[-1], atol=1.2)  # median of the last second
    assert out["thermal_max_delta_c"] > 55.0
    assert out["thermal_blob_area_px"] == 25 and out["thermal_blob_growth_px_per_s"] == 0.0


def test_window_without_frames_is_nan_but_reports_staleness():
    table = th.lepton_frame_features(np.full((3, 120, 160), 29315, np.uint16), np.array([0.0, 0.1, 0.2]),
                                     np.full(3, 0.01))
    out = dict(zip(th.THERMAL_FEATURES, th.thermal_window_features(table, 100.0, window_s=60.0)))
    assert_allclose(out["thermal_staleness_s"], 99.8)
    assert all(math.isnan(v) for k, v in out.items() if k != "thermal_staleness_s")
    assert np.all(np.isnan(th.thermal_window_features(table, -1.0, window_s=60.0)))


@pytest.mark.parametrize("frames, message", [
    (np.zeros((2, 160, 120), np.uint16), "shape"),
    (np.zeros((2, 120, 160), np.float32), "uint16"),
    (np.zeros((120, 160), np.uint16), "shape"),
])
def test_bad_frames_raise_data_error(frames, message):
    with pytest.raises(DataError, match=message):
        th.lepton_frame_features(frames, np.zeros(2), np.full(2, 0.01))


def test_bad_per_frame_arrays_raise_data_error():
    frames = np.zeros((2, 120, 160), np.uint16)
    with pytest.raises(DataError, match="resolution_k must be finite"):
        th.lepton_frame_features(frames, np.array([0.0, 0.1]), np.array([0.01, np.nan]))
    with pytest.raises(DataError, match="resolution_k must be > 0"):
        th.lepton_frame_features(frames, np.array([0.0, 0.1]), np.array([0.01, 0.0]))
    with pytest.raises(DataError, match="non-decreasing"):
        th.lepton_frame_features(frames, np.array([0.2, 0.1]), np.full(2, 0.01))


def test_batched_blobs_equal_single_mask_labelling():
    """One labelling call over a batch gives, frame by frame, the blob that labelling each
    frame's mask alone gives (frames never connect to each other)."""
    rng = np.random.default_rng(5)
    n = 12
    frames = np.full((n, 120, 160), 29315, np.uint16)
    for k in range(n):
        for _ in range(rng.integers(1, 5)):
            y, x = rng.integers(0, 110), rng.integers(0, 150)
            h, w = rng.integers(1, 10), rng.integers(1, 10)
            frames[k, y:y + h, x:x + w] = 33000 + rng.integers(0, 3000)
    res = np.full(n, 0.01)
    table = th.lepton_frame_features(frames, np.arange(n) * 0.1, res)
    temp = th.apparent_temperature_c(frames, res)
    for k in range(n):
        expected = th.largest_blob(temp[k] > table[k, COL["background_c"]] + 10.0)
        got = table[k, [COL["blob_area_px"], COL["blob_centroid_x_px"], COL["blob_centroid_y_px"],
                        COL["blob_compactness"]]]
        assert_allclose(got, expected, rtol=1e-12)
