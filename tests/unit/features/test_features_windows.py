"""Fused windows: offline == online, degraded sensors, labels from truth, bad input."""

from __future__ import annotations


import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from firesight.errors import DataError, InvalidParameterError
from firesight.features import (FEATURE_NAMES, OnlineFeatureExtractor, compute_scenario_features, label_windows)
from firesight.features.gas import GAS_FEATURES
from firesight.features.thermal import THERMAL_FEATURES
from firesight.features.windows import emission_times


def replay_online(scenario, times, *, step_s=1.0, window_s=60.0):
    """Feed a scenario's readings in time order into the online extractor, emitting at ``times``."""
    extractor = OnlineFeatureExtractor(step_s=step_s, window_s=window_s)
    events = []
    if scenario.thermal is not None:
        events += [(t, 0, k) for k, t in enumerate(scenario.thermal.time_s)]
    events += [(t, 1, k) for k, t in enumerate(scenario.scd41["time_s"])]
    events.sort()
    rows, i = [], 0
    for now in times:
        while i < len(events) and events[i][0] <= now:
            t, kind, k = events[i]
            i += 1
            if kind == 0:
                th = scenario.thermal
                extractor.push_thermal(t, th.frames[k], float(th.resolution_k[k]), int(th.ffc_state[k]),
                                       valid=bool(th.valid[k]))
            else:
                r = scenario.scd41.iloc[k]
                extractor.push_scd41(t, r.co2_ppm, r.temperature_c, r.humidity_rh)
        rows.append(extractor.emit(now))
    return extractor, pd.DataFrame(rows)


def test_feature_names_are_thermal_then_gas():
    assert FEATURE_NAMES == THERMAL_FEATURES + GAS_FEATURES
    assert len(set(FEATURE_NAMES)) == len(FEATURE_NAMES)
    assert all(n.startswith("thermal_") for n in THERMAL_FEATURES)
    assert all(n.startswith("scd41_") for n in GAS_FEATURES)


def test_offline_equals_online(fire_scenario):
    """The offline table and the online extractor give the same numbers, bit for bit,
    through FFC freezes, a gain switch and the SCD41's 5 s cadence."""
    offline = compute_scenario_features(fire_scenario, step_s=1.0, window_s=30.0)
    assert list(offline.columns) == ["time_s", *FEATURE_NAMES]
    extractor, online = replay_online(fire_scenario, offline["time_s"], window_s=30.0)
    assert list(online.columns) == list(offline.columns)
    assert np.array_equal(online.to_numpy(), offline.to_numpy(), equal_nan=True)
    assert extractor.frames_skipped == int(np.sum(fire_scenario.thermal.ffc_state == 2))
    assert extractor._n_frames < len(fire_scenario.thermal)  # the online buffer was trimmed


def test_fire_shows_in_the_features(fire_scenario):
    table = compute_scenario_features(fire_scenario).set_index("time_s")
    before, after = table.loc[20.0], table.loc[60.0]
    assert before["thermal_max_c"] < 21.0 and after["thermal_max_c"] > 200.0
    assert before["thermal_flicker_power_c2"] < 0.01 and after["thermal_flicker_power_c2"] > 10.0
    assert after["thermal_blob_area_px"] > 50 and after["thermal_blob_growth_px_per_s"] > 0.5
    assert_allclose(after["thermal_blob_centroid_x_px"], 80.0, atol=0.5)
    late = table.loc[85.0]
    assert late["scd41_co2_above_baseline_ppm"] > before["scd41_co2_above_baseline_ppm"] + 10
    assert after["scd41_co2_lag_corrected_ppm"] > after["scd41_co2_ppm"]


def test_camera_missing_gives_nan_thermal_columns(make_scenario):
    scenario = make_scenario(with_camera=False, duration_s=40.0)
    table = compute_scenario_features(scenario)
    assert table[list(THERMAL_FEATURES)].isna().all().all()
    assert table["scd41_co2_ppm"].notna().all()
    _, online = replay_online(scenario, table["time_s"])
    assert np.array_equal(online.to_numpy(), table.to_numpy(), equal_nan=True)


def test_scd41_missing_gives_nan_gas_columns(make_scenario):
    scenario = make_scenario(with_scd41=False, duration_s=40.0)
    table = compute_scenario_features(scenario)
    assert table[list(GAS_FEATURES)].isna().all().all()
    assert table["thermal_max_c"].notna().all()


def test_scd41_rows_flagged_by_status_are_dropped(make_scenario):
    scenario = make_scenario(duration_s=40.0)
    scd41 = scenario.scd41.copy()
    scd41.loc[3, ["co2_ppm", "status"]] = [np.nan, 2]  # an I2C error: no value
    scenario.scd41 = scd41
    table = compute_scenario_features(scenario)
    assert table["scd41_co2_ppm"].notna().all()


def test_emission_grid_and_step(fire_scenario):
    assert_allclose(emission_times(0.3, 3.0, 1.0), [1.0, 2.0, 3.0])
    assert_allclose(emission_times(0.0, 1.0, 0.25), [0.0, 0.25, 0.5, 0.75, 1.0])
    extractor = OnlineFeatureExtractor(step_s=2.0, window_s=30.0)
    assert extractor.emit(0.0) is None  # nothing received yet
    extractor.push_scd41(-300.0, 420.0, 21.0, 45.0)
    assert np.isnan(extractor.emit(-300.0)["scd41_co2_ppm"])  # warming up: not scored
    for t in (-200.0, -100.0, 0.0):
        extractor.push_scd41(t, 420.0, 21.0, 45.0)
    assert extractor.emit(0.0)["scd41_co2_ppm"] == 420.0
    assert extractor.emit(1.0) is None  # step not yet passed
    assert extractor.emit(2.0)["time_s"] == 2.0


def test_labels_come_from_truth(fire_scenario):
    table = compute_scenario_features(fire_scenario)
    labels = label_windows(table, fire_scenario.truth)
    assert labels.name == "burning"
    expected = (table["time_s"] >= fire_scenario.ignition_time_s).astype(int)
    assert (labels.to_numpy() == expected.to_numpy()).all()


def test_online_rejects_bad_frames_and_readings():
    extractor = OnlineFeatureExtractor()
    with pytest.raises(DataError, match=r"shape \(120, 160\)"):
        extractor.push_thermal(0.0, np.zeros((160, 120), np.uint16), 0.01)
    with pytest.raises(DataError, match="uint16"):
        extractor.push_thermal(0.0, np.zeros((120, 160), np.int32), 0.01)
    with pytest.raises(DataError, match="ffc_state"):
        extractor.push_thermal(0.0, np.zeros((120, 160), np.uint16), 0.01, ffc_state=7)
    extractor.push_thermal(1.0, np.full((120, 160), 29315, np.uint16), 0.01)
    with pytest.raises(DataError, match="non-decreasing"):
        extractor.push_thermal(0.5, np.full((120, 160), 29315, np.uint16), 0.01)
    with pytest.raises(DataError, match="co2_ppm must be finite"):
        extractor.push_scd41(1.0, float("nan"), 21.0, 45.0)
    with pytest.raises(InvalidParameterError, match="window_s"):
        OnlineFeatureExtractor(window_s=2.0)


def test_offline_rejects_bad_scenarios(make_scenario):
    scenario = make_scenario(duration_s=30.0)
    scenario.scd41 = scenario.scd41.drop(columns=["humidity_rh"])
    with pytest.raises(DataError, match=r"lack columns \['humidity_rh'\]"):
        compute_scenario_features(scenario)
    scenario = make_scenario(duration_s=30.0)
    scenario.scd41.loc[2, "temperature_c"] = np.inf
    with pytest.raises(DataError, match="temperature_c must be finite"):
        compute_scenario_features(scenario)
    scenario = make_scenario(duration_s=30.0)
    scenario.thermal.frames = scenario.thermal.frames[:].astype(np.float32)
    with pytest.raises(DataError, match="uint16"):
        compute_scenario_features(scenario)
    with pytest.raises(InvalidParameterError, match="step_s"):
        compute_scenario_features(make_scenario(duration_s=30.0), step_s=0)


def test_every_feature_is_documented_with_a_unit():
    from pathlib import Path

    docs = (Path(__file__).resolve().parents[3] / "docs" / "features.md").read_text()
    rows = {line.split("|")[1].strip().strip("`"): line.split("|")[2].strip()
            for line in docs.splitlines() if line.startswith("| `")}
    for name in FEATURE_NAMES:
        assert name in rows, f"{name} is not in docs/features.md"
        assert rows[name], f"{name} has no unit column in docs/features.md"
