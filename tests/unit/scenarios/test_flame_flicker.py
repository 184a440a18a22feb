"""Flame puffing as Cetegen & Ahmed (1993) measured it, in the rendered frames.

Cetegen, B. M., Ahmed, T. A. (1993). Experiments on the periodic instability of buoyant
plumes and pool fires. Combustion and Flame 93, 157-184: puffing frequency
f = 1.5 D^-1/2 Hz (D in m) for pools of 0.03-50 m. A camera at 8.7 Hz sees a frequency
above its Nyquist limit (4.35 Hz) aliased to |f - 8.7 round(f / 8.7)|.
"""

from __future__ import annotations

import numpy as np
import pytest

from firesight.scenarios.fires import burning_diameter_m, simulate_fire_spec
from firesight.scenarios.profiles import flame_flicker
from firesight.scenarios.render import render_thermal
from firesight.scenarios.simulate import simulate_scenario


def _peak_hz(x: np.ndarray, rate_hz: float, low_hz: float = 1.0) -> tuple[float, float]:
    """Dominant frequency above ``low_hz`` and the fraction of the power in 1-4.35 Hz."""
    x = np.asarray(x, float) - np.mean(x)
    power = np.abs(np.fft.rfft(x * np.hanning(x.size))) ** 2
    freqs = np.fft.rfftfreq(x.size, 1.0 / rate_hz)
    above = freqs > low_hz
    in_band = (freqs >= 1.0) & (freqs <= 4.35)
    return float(freqs[above][np.argmax(power[above])]), float(power[in_band].sum() / power[freqs > 0.05].sum())


def _alias(f_hz: float, rate_hz: float) -> float:
    return abs(f_hz - rate_hz * round(f_hz / rate_hz))


@pytest.mark.parametrize("diameter_m", [0.1, 0.2, 0.3, 1.0])
@pytest.mark.parametrize("rate_hz", [30.0, 8.7])
def test_flicker_puffs_at_the_correlation_seen_through_the_frame_rate(diameter_m, rate_hz):
    t = np.arange(0, 60, 1.0 / rate_hz)
    x = flame_flicker(t, diameter_m, np.random.default_rng(0))
    expected = _alias(1.5 / np.sqrt(diameter_m), rate_hz)
    peak, _ = _peak_hz(x, rate_hz, low_hz=0.5)
    assert peak == pytest.approx(expected, rel=0.08), (peak, expected)


def test_a_spreading_flame_slows_as_its_burning_diameter_grows():
    rate = 30.0
    t = np.arange(0, 120, 1.0 / rate)
    d = np.where(t < 60, 0.05, 0.5)  # a small flame, then the whole pool
    x = flame_flicker(t, d, np.random.default_rng(1))
    early, _ = _peak_hz(x[t < 58], rate)
    late, _ = _peak_hz(x[t > 62], rate)
    assert early == pytest.approx(1.5 / np.sqrt(0.05), rel=0.08)
    assert late == pytest.approx(1.5 / np.sqrt(0.5), rel=0.08)


@pytest.mark.parametrize("rate_hz", [8.7, 30.0])
def test_rendered_pool_fire_flickers_at_the_correlation(rate_hz):
    """Heptane pool fires rendered by the Lepton model: the summed counts of the hottest
    pixels, once the fire covers its pool, puff at 1.5 / sqrt(D) (aliased by the frame
    rate) with most of their power in the 1-4.35 Hz band the features read."""
    checked = 0
    for index in range(4):
        s = simulate_scenario("tf5_heptane_pool", seed=11, index=index, duration_s=180, frame_rate_hz=rate_hz)
        fire = s.built.params["fire"]
        hist = simulate_fire_spec(fire, s.frame_times_s)
        full = (burning_diameter_m(hist.hrr_kw, fire) >= 0.999 * fire["diameter_m"]) & (hist.state == 2)
        frames = render_thermal(s.built.scene, s.camera, s.frame_times_s)
        pixels = np.asarray(frames.frames, float)[full].reshape(int(full.sum()), -1)
        hot = pixels.mean(axis=0) >= np.quantile(pixels.mean(axis=0), 0.98)
        signal = pixels[:, hot].sum(axis=1)
        if full.sum() < 20 * rate_hz or np.std(signal) < 1.0:  # flame out of view or too short
            continue
        peak, band = _peak_hz(signal, rate_hz)
        assert peak == pytest.approx(_alias(1.5 / np.sqrt(fire["diameter_m"]), rate_hz), rel=0.1)
        assert band > 0.5
        checked += 1
    assert checked >= 2
