"""The shipped SCD41-only detector over days of a steady room with the device's automatic
self-calibration (ASC) and weather-driven pressure changes: no alarm.

The SCD41 model (:mod:`firesight.sensors.scd41`) corrects its baseline at the end of each
ASC period (44 h after power-on, then every 156 h; Sensirion SCD4x datasheet v1.4 section
3.7) so that the period's lowest CO2 reads 400 ppm, in one step; its reading also scales
with ambient pressure / compensation pressure (datasheet section 3.6; NDIR number density).
Ten days of a steady room are simulated on a 60 s input grid
(:func:`firesight.scenarios.scd41_days.simulate_scd41_days`, the device still reading every
5 s); three hours around each correction are replayed through the shipped decision path
(:func:`firesight.detection.online.replay_recording`), like ``test_invariance_gas.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

from firesight.detection.bundle import DetectorBundle
from firesight.detection.online import replay_recording
from firesight.scenarios.scd41_days import simulate_scd41_days

H = 3600.0


@pytest.fixture(scope="module")
def model() -> DetectorBundle:
    from firesight.detection.shipped_model import default_model_path

    return DetectorBundle.load(default_model_path())


@pytest.mark.parametrize("seed, outdoor_co2_ppm, target_ppm", [(0, 420.0, 400.0), (1, 440.0, 400.0),
                                                                 (2, 415.0, 440.0)])
def test_steady_room_for_days_with_asc_and_pressure_changes_never_alarms(model, seed, outdoor_co2_ppm,
                                                                          target_ppm):
    days = simulate_scd41_days(9.0, seed=seed, outdoor_co2_ppm=outdoor_co2_ppm, occupants_weekday=0.0,
                               occupants_weekend=0.0, air_changes_unoccupied_per_h=0.7,
                               asc_target_ppm=target_ppm)
    r = days.readings
    corrections = r.asc_corrections
    assert [c[0] for c in corrections] == [44 * H, 200 * H]
    # the first correction takes the device's own error out: a real step, not a no-op
    assert abs(corrections[0][1]) > 1.0
    assert days.pressure_pa.max() - days.pressure_pa.min() > 500.0
    frame = r.to_frame()
    frame = frame[frame["status"] == 0][["time_s", "co2_ppm", "temperature_c", "humidity_rh"]]
    for at, step, _ in corrections:
        window = frame[(frame["time_s"] >= at - 1.5 * H) & (frame["time_s"] < at + 1.5 * H)]
        before = window[window["time_s"] < at]["co2_ppm"].mean()
        after = window[window["time_s"] >= at]["co2_ppm"].mean()
        assert abs((after - before) - step) < 3.0  # the step is in the replayed readings
        report = replay_recording(model, window.reset_index(drop=True))
        assert report["first_alarm_s"] is None, (seed, at, step, report["changes"][:5])
        assert report["longest_watch_s"] <= 60.0, (seed, at, step, report["changes"][:5])
