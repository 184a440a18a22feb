"""Baselines reproduce their published rules through the shared alert path."""

from __future__ import annotations

import numpy as np
import pandas as pd

from firesight.detection.alerts import LEVEL_CODE, alert_levels
from firesight.detection.baselines import (BASELINE_POLICY, UL521, CO2Baseline,
                                           HeatDetectorBaseline, ThermalMaxBaseline,
                                           rise_over_horizon)


def ramp(rate_c_per_min: float, start_c: float = 20.0, n: int = 240) -> pd.DataFrame:
    t = np.arange(n, dtype=float)
    return pd.DataFrame({"scenario_id": "a", "time_s": t,
                         "scd41_temperature_c": start_c + rate_c_per_min * t / 60.0})


def first_alarm_s(det, frame):
    p = det.fire_probability(frame)
    levels = alert_levels(frame["time_s"], p, BASELINE_POLICY)
    hits = np.flatnonzero(levels == LEVEL_CODE["alarm"])
    return None if hits.size == 0 else float(frame["time_s"].iloc[hits[0]])


def test_ul521_constants():
    """UL 521: rate of rise 15 F/min = 8.3 C/min; ordinary fixed rating 135 F = 57.2 C."""
    np.testing.assert_allclose(UL521["rate_of_rise_c_per_min"], 15 * 5 / 9, atol=0.05)
    np.testing.assert_allclose(UL521["fixed_temperature_c"], (135 - 32) * 5 / 9, atol=0.3)


def test_heat_detector_rate_of_rise_threshold():
    det = HeatDetectorBaseline()
    # 9 C/min: the 60 s rise reaches 9 C at t = 60 s (history shorter than the horizon
    # counts from the first reading, so the rise grows from 0)
    assert first_alarm_s(det, ramp(9.0)) == 56.0  # 9 * t/60 >= 8.3 -> t >= 55.33 s
    assert first_alarm_s(det, ramp(8.0)) is None
    # fixed temperature: a slow rise (2 C/min) from 50 C crosses 57 C at t = 210 s
    assert first_alarm_s(det, ramp(2.0, start_c=50.0)) == 210.0


def test_co2_rule_level_and_rise():
    t = np.arange(300, dtype=float)
    steady_high = pd.DataFrame({"scenario_id": "a", "time_s": t, "scd41_co2_ppm": 1900.0})
    assert first_alarm_s(CO2Baseline(), steady_high) is None
    rising = steady_high.assign(scd41_co2_ppm=450.0 + 3.0 * t)  # 300 ppm rise after 100 s
    assert first_alarm_s(CO2Baseline(), rising) == 100.0


def test_thermal_max_threshold():
    t = np.arange(10, dtype=float)
    frame = pd.DataFrame({"scenario_id": "a", "time_s": t, "thermal_max_c": 100.0 + 5 * t})
    assert first_alarm_s(ThermalMaxBaseline(), frame) == 4.0  # 120 C at t = 4 s


def test_rise_restarts_at_each_scenario():
    t = np.array([0.0, 30, 60, 0, 30, 60])
    v = np.array([1.0, 2, 4, 100, 100, 100])
    g = np.array(["a", "a", "a", "b", "b", "b"])
    np.testing.assert_array_equal(rise_over_horizon(t, v, g, 60.0), [0, 1, 3, 0, 0, 0])
