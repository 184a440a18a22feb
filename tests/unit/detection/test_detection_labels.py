"""Training labels of the SCD41-only variant (firesight.detection.labels): a fire window is
a positive once CO2 and temperature at the sensor have both risen by the sensor-noise
thresholds (50 ppm: 3 sigma of the SCD41's noise at 1,000 ppm; 0.5 C: 10 sigma of its
temperature repeatability; the sensor figures of the Sensirion SCD4x datasheet, docs/sensors.md)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from firesight.detection.labels import GAS_DETECTABLE, gas_detectable


def _truth(co2_rate_ppm_s: float, temp_rate_c_s: float, start_s: float = 100.0) -> pd.DataFrame:
    t = np.arange(0.0, 600.0, 1.0)
    rising = np.clip(t - start_s, 0.0, None)
    return pd.DataFrame({"time_s": t, "co2_ppm_true": 800.0 + co2_rate_ppm_s * rising,
                         "temperature_c_true": 21.0 + temp_rate_c_s * rising})


def test_thresholds_are_the_sensor_noise_ones():
    assert GAS_DETECTABLE == {"co2_rise_ppm": 50.0, "temperature_rise_c": 0.5}


def test_a_co2_rise_without_heat_is_not_a_positive():
    # 0.4 ppm/s = 24 ppm/min, an office filling with people: 200 ppm after 500 s, no heat
    t = np.arange(0.0, 600.0, 10.0)
    assert gas_detectable(_truth(0.4, 0.0), 100.0, t).sum() == 0


def test_heat_without_co2_is_not_a_positive():
    t = np.arange(0.0, 600.0, 10.0)
    assert gas_detectable(_truth(0.0, 0.01), 100.0, t).sum() == 0


def test_a_co_rise_is_positive_from_when_both_thresholds_are_reached():
    # CO2 +50 ppm at 100 + 50 s; temperature +0.5 C at 100 + 100 s
    t = np.arange(0.0, 600.0, 1.0)
    labels = gas_detectable(_truth(1.0, 0.005), 100.0, t)
    assert labels[t < 199.0].sum() == 0
    assert labels[t >= 201.0].all()
    # not before ignition, and none for a scenario without one
    assert gas_detectable(_truth(1.0, 0.005), None, t).sum() == 0


def test_a_positive_stays_positive_once_both_were_reached():
    truth = _truth(1.0, 0.005)
    truth.loc[truth["time_s"] > 400.0, "temperature_c_true"] = 21.0  # the jet cools (suppressed)
    t = np.arange(0.0, 600.0, 1.0)
    assert gas_detectable(truth, 100.0, t)[t >= 201.0].all()
