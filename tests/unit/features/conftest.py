"""Synthetic Lepton / SCD41 recordings for the feature tests (built here, independent of the
scenario generator, so each test knows exactly what is in the data)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from firesight.datasets.reader import LazyFrames, ScenarioData
from firesight.sensors.frames import LeptonFrames

FRAME_RATE_HZ = 8.7


def synthetic_scenario(*, duration_s=90.0, ignition_time_s=30.0, fire=True, seed=0, ffc_period_s=40.0,
                       flicker_hz=2.0, with_camera=True, with_scd41=True, scd41_period_s=5.0,
                       scd41_history_s=900.0, scenario_id="synthetic-0") -> ScenarioData:
    """A 20 C room seen by a Lepton (NETD-like noise, FFC freezes every ``ffc_period_s``), and
    from ``ignition_time_s`` a growing, flickering hot blob; SCD41 CO2 and temperature rise
    through a first-order lag after ignition. The SCD41 has ``scd41_history_s`` of readings
    before the scenario's origin, as the generator gives it (the node runs continuously)."""
    rng = np.random.default_rng(seed)
    n = int(duration_s * FRAME_RATE_HZ)
    time_s = np.arange(n) / FRAME_RATE_HZ
    yy, xx = np.mgrid[0:120, 0:160]
    frames = np.empty((n, 120, 160), np.uint16)
    resolution = np.full(n, 0.01, np.float32)
    gain = np.zeros(n, np.uint8)
    ffc = np.zeros(n, np.uint8)
    for k, t in enumerate(time_s):
        temp_c = 20.0 + rng.normal(0.0, 0.05, (120, 160))
        if fire and t >= ignition_time_s:
            age = t - ignition_time_s
            radius = 1.0 + 0.15 * age
            peak = 60.0 + 8.0 * age + 15.0 * np.sin(2 * np.pi * flicker_hz * t)
            temp_c = np.where((yy - 60) ** 2 + (xx - 80) ** 2 <= radius ** 2, peak, temp_c)
        if temp_c.max() > 140.0:
            resolution[k], gain[k] = 0.1, 1
        frames[k] = np.clip(np.round((temp_c + 273.15) / resolution[k]), 0, 65535).astype(np.uint16)
        phase = t % ffc_period_s
        if ffc_period_s - 2.0 <= phase < ffc_period_s:
            ffc[k] = 1
        elif t >= ffc_period_s and phase < 0.9:
            ffc[k] = 2
            frames[k] = frames[k - 1]
    valid = np.ones(n, bool)
    thermal = LeptonFrames(frames=LazyFrames(frames, "synthetic"), time_s=time_s, gain=gain,
                           resolution_k=resolution, ffc_state=ffc, frame_counter=np.arange(n, dtype=np.uint32),
                           valid=valid) if with_camera else None
    t_scd = np.arange(-scd41_history_s, duration_s, scd41_period_s)
    after = np.clip(t_scd - ignition_time_s, 0, None) if fire else np.zeros_like(t_scd)
    co2 = 430.0 + 3.0 * (after - 60.0 * (1 - np.exp(-after / 60.0))) + rng.normal(0, 2.0, t_scd.size)
    temp = 21.0 + 0.05 * (after - 120.0 * (1 - np.exp(-after / 120.0)))
    scd41 = pd.DataFrame({"time_s": t_scd, "co2_ppm": np.round(co2), "temperature_c": np.round(temp, 2),
                          "humidity_rh": 45.0 - 0.01 * after, "status": np.zeros(t_scd.size, np.uint8)}) \
        if with_scd41 else pd.DataFrame(columns=["time_s", "co2_ppm", "temperature_c", "humidity_rh", "status"])
    truth_t = np.arange(0.0, duration_s, 0.5)
    state = np.where(fire & (truth_t >= ignition_time_s), 2, 0).astype(np.int8)
    truth = pd.DataFrame({"time_s": truth_t, "state": state, "hrr_kw": state * 10.0})
    return ScenarioData(id=scenario_id, family="synthetic_fire" if fire else "synthetic_quiet",
                        label="fire" if fire else "normal", is_fire=fire,
                        ignition_time_s=ignition_time_s if fire else None, meta={}, thermal=thermal,
                        scd41=scd41, truth=truth)


@pytest.fixture(scope="session")
def fire_scenario() -> ScenarioData:
    return synthetic_scenario()


@pytest.fixture
def make_scenario():
    return synthetic_scenario
