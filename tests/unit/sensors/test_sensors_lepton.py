"""FLIR Lepton 3.5 device model: noise, offsets, gain, saturation, FFC, faults.

Datasheet figures from the FLIR Lepton 3.5 engineering datasheet (500-0771-01-09) and
the Lepton Software IDD (110-0144-04)."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from firesight.errors import InvalidParameterError
from firesight.scenarios.render import iter_render_thermal, render_apparent_temperature, render_thermal
from firesight.scenarios.scene import CameraPose, ThermalObject, ThermalScene
from firesight.sensors.lepton import LEPTON35, LEPTON35_MODEL, LeptonCamera, LeptonFaults, LeptonFrames, to_celsius

ROOM_K = 293.15
POSE = CameraPose(np.array([0.5, 2.0, 1.5]), 0.0, 0.0)  # looking along +x at mid height
EXACT = {"high_gain_accuracy_c": 0.0, "low_gain_accuracy_c": 0.0}  # no per-device offset


def _scene(duration_s=60.0, surface_k=None, objects=()):
    t = np.arange(0.0, duration_s + 1.0)
    surf = np.full(t.size, ROOM_K) if surface_k is None else surface_k(t)
    return ThermalScene(time_s=t, width_m=10.0, depth_m=4.0, height_m=3.0,
                        surface_temperature_k=surf, objects=list(objects))


def _frames_t(duration_s):
    return np.arange(int(duration_s * 8.7)) / 8.7


def _camera(seed=0, **kw):
    return LeptonCamera(pose=POSE, rng=np.random.default_rng(seed), **kw)


def _panel(temperature_k):
    """A 1.2 m x 1.2 m blackbody panel 3 m ahead: fills the centre of the view."""
    return ThermalObject("panel", np.array([3.5, 2.0, 1.5]), 1.2, 1.2, temperature_k, emissivity=1.0)


def test_datasheet_constants():
    """Lepton 3.5 datasheet: 160 x 120, 57 deg HFOV, 8.7 Hz, NETD < 50 mK, ranges."""
    assert (LEPTON35["width_px"], LEPTON35["height_px"]) == (160, 120)
    assert LEPTON35["hfov_deg"] == 57.0 and LEPTON35["frame_rate_hz"] == 8.7
    assert LEPTON35["netd_k"] <= 0.050
    assert LEPTON35["high_gain_range_c"] == (-10.0, 140.0)
    assert LEPTON35["low_gain_range_c"] == (-10.0, 400.0)
    assert (LEPTON35["ffc_interval_s"], LEPTON35["ffc_drift_c"]) == (180.0, 1.5)


def test_temporal_noise_matches_netd_and_fixed_pattern():
    """NETD < 50 mK (datasheet): the per-pixel temporal standard deviation of a uniform
    scene equals the modelled NETD (0.050 K, plus 0.01 K quantisation), row and column
    parts included; the temporal mean keeps the fixed pattern of pixels, rows and
    columns (LEPTON35_MODEL fpn_*), plus what the filtered noise leaves in a 40 s mean."""
    frames = render_thermal(_scene(40.0), _camera(ffc_interval_s=1e6), _frames_t(40.0))
    assert np.all(frames.gain == 0) and np.all(frames.ffc_state == 0)
    temps = to_celsius(frames.frames, frames.resolution_k)
    netd = temps.std(axis=0, ddof=1).mean()
    assert_allclose(netd, LEPTON35["netd_k"], rtol=0.05)
    m = LEPTON35_MODEL
    a = np.exp(-1.0 / (8.7 * m["temporal_filter_tau_s"]))
    left_in_mean = LEPTON35["netd_k"] ** 2 * (1 + a) / (1 - a) / len(frames)  # AR(1) mean of n frames
    expected = np.sqrt(m["fpn_sigma_k"] ** 2 + m["fpn_row_sigma_k"] ** 2 + m["fpn_column_sigma_k"] ** 2
                       + left_in_mean)
    assert_allclose(temps.mean(axis=0).std(), expected, rtol=0.15)


def test_accuracy_offset_within_datasheet_bounds_over_many_devices():
    """Radiometric accuracy ±5 C in high gain (datasheet): 60 devices viewing a 20 C
    room all read within ±5 C, and they differ from one another."""
    scene, t = _scene(2.0), _frames_t(1.0)
    errors = []
    for seed in range(60):
        frames = render_thermal(scene, _camera(seed, ffc_interval_s=1e6), t)
        errors.append(to_celsius(frames.frames, frames.resolution_k).mean() - (ROOM_K - 273.15))
    errors = np.array(errors)
    assert np.all(np.abs(errors) <= 5.0 + 0.05)
    assert errors.std() > 0.5


def _ramp_k(t):
    """Panel temperature: 20 C -> 200 C over 0..30 s, back to 20 C over 40..70 s."""
    up = np.clip(t / 30.0, 0.0, 1.0)
    down = np.clip((t - 40.0) / 30.0, 0.0, 1.0)
    return ROOM_K + 180.0 * (up - down)


def test_automatic_gain_switch_with_hysteresis_and_resolution():
    """Auto gain (IDD LEP_SYS_GAIN_MODE_AUTO, thresholds in LEPTON35_MODEL): high gain
    (0.01 K) until a pixel exceeds 140 C, low gain (0.1 K) until every pixel is below
    110 C again — so between 110 and 140 C on the way down the camera stays in low gain."""
    scene = _scene(80.0, objects=[_panel(_ramp_k(np.arange(81.0)))])
    cam = _camera(constants=EXACT, ffc_interval_s=1e6)
    t = _frames_t(80.0)
    frames = render_thermal(scene, cam, t)
    peak_c = np.array([render_apparent_temperature(scene, cam, k).max() for k in range(81)]) - 273.15
    peak_at_frames = np.interp(t, scene.time_s, peak_c)
    up, down = t < 35.0, t > 40.0
    assert np.all(frames.gain[up & (peak_at_frames < 139.0)] == 0)
    assert np.all(frames.gain[up & (peak_at_frames > 141.0)] == 1)
    assert np.all(frames.gain[down & (peak_at_frames > 111.0)] == 1)  # hysteresis band
    assert np.all(frames.gain[down & (peak_at_frames < 109.0)] == 0)
    assert_allclose(frames.resolution_k, np.where(frames.gain == 0, 0.01, 0.1).astype(np.float32))
    # a low-gain frame reads the panel to within its 0.1 K resolution plus noise
    i = int(np.argmin(np.abs(t - 35.0)))
    centre = to_celsius(frames.frames[i, 60, 80], frames.resolution_k[i])
    assert frames.gain[i] == 1
    assert_allclose(centre, peak_c[35], atol=0.35)


def test_saturation_in_low_and_high_gain():
    """Low gain saturates at the top of its range, 400 C (datasheet); a camera held in
    high gain clips at 140 C (41315 TLinear counts at 0.01 K)."""
    hot = _scene(3.0, objects=[_panel(973.15)])
    frames = render_thermal(hot, _camera(constants=EXACT, ffc_interval_s=1e6), _frames_t(2.0))
    assert np.all(frames.gain == 1)
    assert frames.frames[:, 60, 80].max() == round((400.0 + 273.15) * 10)
    assert_allclose(to_celsius(frames.frames[:, 60, 80], frames.resolution_k), 400.0, atol=0.06)
    warm = _scene(3.0, objects=[_panel(473.15)])
    held = _camera(constants=EXACT, model={"gain_high_to_low_c": 1000.0}, ffc_interval_s=1e6)
    frames = render_thermal(warm, held, _frames_t(2.0))
    assert np.all(frames.gain == 0)
    assert np.all(frames.frames[:, 60, 80] == 41315)


def _runs(mask):
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


def test_periodic_ffc_flag_and_frozen_frames():
    """FFC every 180 s (IDD): ~2 s of "imminent" flag before, ~0.9 s of frozen frames
    (each a copy of the last frame before the shutter)."""
    frames = render_thermal(_scene(400.0), _camera(3), _frames_t(400.0))
    starts, ends = _runs(frames.ffc_state == 2)
    assert len(starts) >= 2
    assert_allclose(np.diff(frames.time_s[starts]), 180.0, atol=1.0 / 8.7 + 1e-9)
    assert_allclose((ends - starts) / 8.7, 0.9, atol=1.0 / 8.7 + 1e-9)
    i_starts, i_ends = _runs(frames.ffc_state == 1)
    assert_allclose((i_ends - i_starts) / 8.7, 2.0, atol=1.0 / 8.7 + 1e-9)
    assert np.array_equal(i_ends, starts)  # the flag runs up to the shutter
    for s, e in zip(starts, ends):
        assert np.all(frames.frames[s:e] == frames.frames[s - 1])
        assert not np.array_equal(frames.frames[e], frames.frames[s - 1])


def test_ffc_on_camera_drift():
    """An FFC is also triggered when the camera has drifted by more than 1.5 C since the
    last one (IDD): with the node's thermal lag off (``housing_tau_s`` 0, the FPA follows
    the air) the room warms 0.1 K/s from t = 10 s, so the drift exceeds 1.5 C at 25 s and
    the shutter closes 2 s (the imminent flag) later."""
    scene = _scene(40.0, surface_k=lambda t: ROOM_K + 0.1 * np.clip(t - 10.0, 0, None))
    frames = render_thermal(scene, _camera(ffc_interval_s=1e4, model={"housing_tau_s": 0.0}), _frames_t(40.0))
    starts, _ = _runs(frames.ffc_state == 2)
    assert len(starts) >= 1
    assert_allclose(frames.time_s[starts[0]], 27.0, atol=2.0 / 8.7)


def test_faults_dead_pixels_dropped_and_stuck_frames():
    """Defective pixels are replaced with the mean of their good 4-neighbours, as the
    Lepton's pipeline does (datasheet, image pipeline): no pixel reads 0, and each dead
    one equals the rounded mean of its sources in every frame. Dropped frames (a lost
    VoSPI segment, frame discarded) repeat the last one with ``valid`` False."""
    faults = LeptonFaults(dead_pixel_fraction=0.01, dropped_frame_prob=0.2, stuck_frame_prob=0.1)
    cam = _camera(6, faults=faults, ffc_interval_s=1e6)
    frames = render_thermal(_scene(200.0), cam, _frames_t(200.0))
    assert cam.dead_pixels.size == round(0.01 * 19200)
    assert frames.frames.min() > 0
    flat = frames.frames.reshape(len(frames), -1).astype(np.int64)
    src = cam.dead_sources
    good = src >= 0
    total = np.where(good[None], flat[:, np.where(good, src, 0)], 0).sum(axis=2)
    count = good.sum(axis=1)
    assert np.array_equal(flat[:, cam.dead_pixels], (total + count // 2) // count)
    dropped = ~frames.valid
    assert 0.15 < dropped.mean() < 0.25
    repeats = np.all(frames.frames[1:] == frames.frames[:-1], axis=(1, 2))
    assert np.all(repeats[dropped[1:]])  # a dropped frame repeats the last one
    stuck = repeats & frames.valid[1:]
    assert 0.055 < stuck.mean() < 0.105  # 0.1 of the valid frames (0.08 of all)
    assert np.all(np.diff(frames.frame_counter.astype(np.int64)) == 1)


def test_same_seed_same_bytes_whatever_the_chunk_size():
    scene = _scene(30.0, objects=[_panel(_ramp_k(np.arange(31.0)))])
    t = _frames_t(30.0)
    faults = LeptonFaults(0.001, 0.05, 0.05, torn_segment_prob=0.05, bad_rows=1)
    whole = render_thermal(scene, _camera(11, faults=faults), t)
    for chunk in (1, 7, 100):
        parts = list(iter_render_thermal(scene, _camera(11, faults=faults), t, chunk_frames=chunk))
        joined = LeptonFrames.concatenate(parts)
        for name in ("frames", "gain", "resolution_k", "ffc_state", "frame_counter", "valid"):
            assert np.array_equal(getattr(joined, name), getattr(whole, name)), (chunk, name)
    other = render_thermal(scene, _camera(12), t)
    assert not np.array_equal(other.frames, whole.frames)


def test_to_celsius_per_frame_resolution():
    counts = np.array([[29315, 29415], [2932, 6732]], dtype=np.uint16)
    assert_allclose(to_celsius(counts, np.array([0.01, 0.1])), [[20.0, 21.0], [20.05, 400.05]], atol=1e-9)


def test_invalid_arguments_raise_clear_errors():
    with pytest.raises(InvalidParameterError, match="frame_rate_hz"):
        _camera(frame_rate_hz=0.0)
    with pytest.raises(InvalidParameterError, match="dropped_frame_prob"):
        LeptonFaults(dropped_frame_prob=1.5)
    with pytest.raises(InvalidParameterError, match="frame_times_s"):
        render_thermal(_scene(5.0), _camera(), np.array([1.0, 0.5]))
