"""SCD41 gas features: self-settling baselines, rates at any sampling interval, lag correction."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose

from firesight.errors import DataError
from firesight.features import gas


def _features(time_s, co2, temp=None, rh=None, now_s=None, **kw):
    time_s = np.asarray(time_s, dtype=float)
    temp = np.full(time_s.size, 21.0) if temp is None else temp
    rh = np.full(time_s.size, 45.0) if rh is None else rh
    table = gas.scd41_reading_table(time_s, co2, temp, rh)
    now = float(time_s[-1]) if now_s is None else now_s
    return dict(zip(gas.GAS_FEATURES, gas.scd41_window_features(table, now, **kw)))


def test_recording_start_is_not_a_rise():
    """A recording that begins in a room already at 900 ppm / 24 C settles at once: zero
    level above baseline from the first reading on; a rate is NaN until the readings span
    half its horizon (two noisy readings 5 s apart never make a steep rise), then zero."""
    t = np.arange(0.0, 60.0, 5.0)
    for k in range(1, t.size + 1):
        out = _features(t[:k], np.full(k, 900.0), np.full(k, 24.0))
        assert out["scd41_co2_above_baseline_ppm"] == 0.0
        assert out["scd41_temperature_rise_c"] == 0.0
        if t[k - 1] - t[0] < 15.0:
            assert math.isnan(out["scd41_co2_rate_ppm_per_min_30s"])
        else:
            assert out["scd41_co2_rate_ppm_per_min_30s"] == 0.0
    noisy = _features(t[:2], np.array([420.0, 431.0]))  # +11 ppm in 5 s: noise, not 132 ppm/min
    assert math.isnan(noisy["scd41_co2_rate_ppm_per_min_30s"])
    assert math.isnan(noisy["scd41_co2_lag_corrected_ppm"])


@pytest.mark.parametrize("period_s", [1.0, 5.0, 30.0, 47.0])
def test_rates_do_not_depend_on_the_sampling_interval(period_s):
    """A 30 ppm/min, 2 C/min ramp reads 30 ppm/min and 2 C/min on every horizon, whether
    readings come every 1, 5 (periodic mode), 30 (low-power mode) or 47 s."""
    t = np.arange(0.0, 900.0, period_s)
    out = _features(t, 500 + 0.5 * t, 20 + t / 30.0)
    for h in (30, 60, 120, 300):
        assert_allclose(out[f"scd41_co2_rate_ppm_per_min_{h}s"], 30.0, rtol=1e-9)
        assert_allclose(out[f"scd41_temperature_rate_c_per_min_{h}s"], 2.0, rtol=1e-9)


def test_baseline_is_a_robust_low_level_over_ten_minutes():
    t = np.arange(0.0, 1200.0, 5.0)
    co2 = np.where(t < 900, 450.0, 450.0 + 2.0 * (t - 900))
    co2[100] = 5000.0  # one spike does not move a low quantile
    out = _features(t, co2)
    assert_allclose(out["scd41_co2_baseline_ppm"], 450.0)
    assert_allclose(out["scd41_co2_above_baseline_ppm"], 2.0 * (t[-1] - 900), rtol=1e-9)


def test_lag_correction_recovers_a_ramp_through_a_first_order_sensor():
    """A first-order sensor (tau 60 s, SCD41 datasheet tau63) on a true ramp a*t reads
    a*(t - tau) in steady state; x + tau dx/dt gives back a*t."""
    tau, a = gas.SCD41_RESPONSE_TIME_S["co2"], 0.5  # ppm/s
    t = np.arange(0.0, 900.0, 5.0)
    true = 420.0 + a * t
    reading = 420.0 + a * (t - tau * (1.0 - np.exp(-t / tau)))  # exact response from rest
    out = _features(t, reading)
    assert_allclose(out["scd41_co2_lag_corrected_ppm"], true[-1], rtol=1e-3)
    assert out["scd41_co2_ppm"] < true[-1] - 0.9 * a * tau
    tau_t = gas.SCD41_RESPONSE_TIME_S["temperature"]
    temp = 20.0 + 0.05 * (t - tau_t * (1.0 - np.exp(-t / tau_t)))
    out = _features(t, np.full(t.size, 420.0), temp)
    assert_allclose(out["scd41_temperature_lag_corrected_c"], 20.0 + 0.05 * t[-1], atol=0.01)


def test_co2_per_degree_and_humidity_drop():
    t = np.arange(0.0, 300.0, 5.0)
    co2, temp = 420 + 2.0 * t, 21 + t / 60.0
    out = _features(t, co2, temp, 50 - t / 30.0)
    above_ppm = co2[-1] - np.quantile(co2, 0.05)  # baseline: 5 % quantile of the last 10 min
    rise_c = temp[-1] - np.quantile(temp, 0.05)
    assert_allclose(out["scd41_co2_per_degree_ppm_per_c"], above_ppm / rise_c, rtol=1e-9)
    assert_allclose(out["scd41_humidity_drop_rh"], 0.95 * t[-1] / 30.0, rtol=0.02)
    assert_allclose(out["scd41_humidity_rate_rh_per_min_60s"], -2.0, rtol=1e-9)
    flat = _features(t, 420 + 2.0 * t)  # no temperature rise: the ratio uses the 1 C floor
    assert_allclose(flat["scd41_co2_per_degree_ppm_per_c"], above_ppm / 1.0, rtol=1e-9)


def test_staleness_and_stale_readings():
    t = np.arange(0.0, 100.0, 5.0)
    out = _features(t, np.full(t.size, 420.0), now_s=t[-1] + 12.0)
    assert_allclose(out["scd41_staleness_s"], 12.0)
    assert out["scd41_co2_ppm"] == 420.0
    old = _features(t, np.full(t.size, 420.0), now_s=t[-1] + 301.0)
    assert_allclose(old["scd41_staleness_s"], 301.0)
    assert all(math.isnan(v) for k, v in old.items() if k != "scd41_staleness_s")
    before = _features(t, np.full(t.size, 420.0), now_s=-1.0)
    assert all(math.isnan(v) for v in before.values())


def test_readings_after_now_are_ignored():
    t = np.arange(0.0, 100.0, 5.0)
    co2 = np.where(t > 50, 2000.0, 420.0)
    assert _features(t, co2, now_s=50.0)["scd41_co2_ppm"] == 420.0


@pytest.mark.parametrize("column, value", [("co2_ppm", np.nan), ("temperature_c", np.inf),
                                           ("humidity_rh", -np.inf), ("time_s", np.nan)])
def test_non_finite_readings_raise_data_error(column, value):
    data = {"time_s": np.arange(4.0) * 5, "co2_ppm": np.full(4, 420.0), "temperature_c": np.full(4, 21.0),
            "humidity_rh": np.full(4, 45.0)}
    data[column] = data[column].copy()
    data[column][2] = value
    with pytest.raises(DataError, match=f"{column} must be finite"):
        gas.scd41_reading_table(data["time_s"], data["co2_ppm"], data["temperature_c"], data["humidity_rh"])


def test_mismatched_lengths_raise_data_error():
    with pytest.raises(DataError, match="co2_ppm must be a 1-D series"):
        gas.scd41_reading_table(np.arange(3.0), np.arange(2.0), np.arange(3.0), np.arange(3.0))


def test_dense_replays_are_thinned_not_slowed():
    """A 10 Hz replay over 15 min still reads the ramp's rate on every horizon."""
    t = np.arange(0.0, 900.0, 0.1)
    out = _features(t, 500 + 0.5 * t, 20 + t / 30.0)
    for h in (30, 60, 120, 300):
        assert_allclose(out[f"scd41_co2_rate_ppm_per_min_{h}s"], 30.0, rtol=1e-9)
