"""SCD41 gas features: warm-up, baselines, rates at any sampling interval, noise, lag correction."""

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
    """A recording that begins in a room already at 900 ppm / 24 C is not scored during
    the 5 min warm-up (every gas feature NaN, so the window is not scored at all), then
    reads zero level above baseline and zero rates: the start is never a rise."""
    t = np.arange(0.0, 400.0, 5.0)
    warmup = gas.SCD41_FEATURE_SETTINGS["warmup_s"]
    for k in range(1, t.size + 1):
        out = _features(t[:k], np.full(k, 900.0), np.full(k, 24.0))
        if t[k - 1] - t[0] < warmup:
            assert all(math.isnan(v) for v in out.values())
        else:
            assert out["scd41_co2_above_baseline_ppm"] == 0.0
            assert out["scd41_temperature_rise_c"] == 0.0
            assert out["scd41_co2_rate_ppm_per_min_30s"] == 0.0
            assert out["scd41_co2_rate_ppm_per_min_300s"] == 0.0


def test_a_long_gap_starts_a_new_warm_up():
    """After a gap longer than max_gap_s (the node was off), the readings before it are
    not compared with those after it: a new warm-up, then features from the new readings
    only (a room 300 ppm stuffier after the gap is not a rise)."""
    before = np.arange(0.0, 600.0, 5.0)
    after = np.arange(1800.0, 2400.0, 5.0)
    t = np.concatenate([before, after])
    co2 = np.where(t < 1000, 450.0, 750.0)
    early = _features(t, co2, now_s=1800.0 + 100.0)
    assert all(math.isnan(v) for v in early.values())
    late = _features(t, co2, now_s=2395.0)
    assert late["scd41_co2_above_baseline_ppm"] == 0.0
    assert late["scd41_co2_baseline_ppm"] == 750.0


@pytest.mark.parametrize("period_s, limit_s", [(5.0, 12.5), (30.0, 75.0)])
def test_windows_go_unscored_when_readings_stop(period_s, limit_s):
    """Readings that stop are stale after 2.5 of the device's own intervals (never before
    12.5 s): until then the features still read the latest readings; after, only the
    staleness is given, so no window is scored on a shrinking set of old readings."""
    t = np.arange(0.0, 900.0, period_s)
    last = float(t[-1])
    fresh = _features(t, np.full(t.size, 450.0), now_s=last + limit_s - 0.5)
    assert fresh["scd41_co2_above_baseline_ppm"] == 0.0
    stale = _features(t, np.full(t.size, 450.0), now_s=last + limit_s + 0.5)
    assert math.isnan(stale["scd41_co2_above_baseline_ppm"]) and math.isnan(stale["scd41_co2_rate_ppm_per_min_300s"])
    assert stale["scd41_staleness_s"] == pytest.approx(limit_s + 0.5)


def test_low_power_interval_warms_up_and_reads_rates():
    """30 s readings (low-power mode) pass the warm-up and give the rate of a ramp."""
    t = np.arange(0.0, 900.0, 30.0)
    out = _features(t, 450 + 0.2 * t)
    assert_allclose(out["scd41_co2_rate_ppm_per_min_120s"], 12.0, rtol=1e-9)
    assert_allclose(out["scd41_staleness_s"], 0.0)


def test_noise_estimate_and_z_scores_follow_the_sensor_noise():
    """The noise estimate (1.4826 MAD of successive differences / sqrt 2) recovers the
    sigma of white noise at 450 and at 1,800 ppm, so the z-scores of a steady room stay
    small whatever its level."""
    rng = np.random.default_rng(3)
    t = np.arange(0.0, 1200.0, 5.0)
    for level, sigma in ((450.0, 6.0), (1800.0, 26.0)):
        out = _features(t, level + rng.normal(0.0, sigma, t.size))
        assert_allclose(out["scd41_co2_noise_ppm"], sigma, rtol=0.2)
        assert abs(out["scd41_co2_rise_z_120s"]) < 3.0
        assert 0.0 < out["scd41_co2_above_baseline_z"] < 4.0


def test_features_at_many_times_equal_one_window_at_a_time():
    """The vectorised path (long replays) gives the one-window function's numbers bit for
    bit, with gaps, uneven intervals and readings after the last window."""
    rng = np.random.default_rng(5)
    t = np.cumsum(rng.choice([5.0, 5.0, 5.0, 30.0, 200.0], 400, p=[0.7, 0.1, 0.1, 0.07, 0.03]))
    table = gas.scd41_reading_table(t, 450 + rng.normal(0, 8, t.size).cumsum() * 0.1,
                                    21 + rng.normal(0, 0.05, t.size), 45 + rng.normal(0, 0.3, t.size))
    times = np.arange(0.0, t[-1] + 20.0, 1.0)
    batch = gas.scd41_features_at(table, times)
    one = np.array([gas.scd41_window_features(table, float(x)) for x in times])
    assert np.array_equal(batch, one, equal_nan=True)
    assert np.isfinite(batch).any()


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
    # the current level is the median of the last 30 s: the ramp's value 12.5 s ago
    assert_allclose(out["scd41_co2_above_baseline_ppm"], 2.0 * (t[-1] - 12.5 - 900), rtol=1e-9)


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
    t = np.arange(0.0, 600.0, 5.0)
    co2, temp = 420 + 2.0 * t, 21 + t / 60.0
    out = _features(t, co2, temp, 50 - t / 30.0)
    recent = t > t[-1] - 600.0  # baseline: 5 % quantile of the last 10 min
    above_ppm = np.median(co2[-6:]) - np.quantile(co2[recent], 0.05)
    rise_c = np.median(temp[-6:]) - np.quantile(temp[recent], 0.05)
    assert_allclose(out["scd41_co2_per_degree_ppm_per_c"], above_ppm / rise_c, rtol=1e-9)
    assert_allclose(out["scd41_humidity_drop_rh"], 0.95 * t[-1] / 30.0, rtol=0.02)
    assert_allclose(out["scd41_humidity_rate_rh_per_min_60s"], -2.0, rtol=1e-9)
    flat = _features(t, 420 + 2.0 * t)  # no temperature rise: the ratio uses the 1 C floor
    assert_allclose(flat["scd41_co2_per_degree_ppm_per_c"], above_ppm / 1.0, rtol=1e-9)


def test_staleness_and_stale_readings():
    t = np.arange(0.0, 400.0, 5.0)
    out = _features(t, np.full(t.size, 420.0), now_s=t[-1] + 12.0)
    assert_allclose(out["scd41_staleness_s"], 12.0)
    assert out["scd41_co2_ppm"] == 420.0
    limit = gas.SCD41_FEATURE_SETTINGS["max_staleness_s"]
    old = _features(t, np.full(t.size, 420.0), now_s=t[-1] + limit + 1.0)
    assert_allclose(old["scd41_staleness_s"], limit + 1.0)
    assert all(math.isnan(v) for k, v in old.items() if k != "scd41_staleness_s")
    before = _features(t, np.full(t.size, 420.0), now_s=-1.0)
    assert all(math.isnan(v) for v in before.values())


def test_readings_after_now_are_ignored():
    t = np.arange(0.0, 800.0, 5.0)
    co2 = np.where(t > 500, 2000.0, 420.0)
    assert _features(t, co2, now_s=500.0)["scd41_co2_ppm"] == 420.0


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
