"""Quality guards of the shipped model: it finds fires and ignores nuisances (so a model
that always says 0 or always says 1 fails), every scoring path gives the same numbers, and
`evaluate` refuses features the model was not trained on.

Scenarios: drawn by the real generator with seed 9191 (neither the training seed 303 nor
the test seed 404), 300 s each at the Lepton's 8.7 Hz, as in training.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from firesight.detection.alerts import LEVEL_CODE, alert_levels
from firesight.detection.bundle import DetectorBundle
from firesight.detection.shipped_model import default_model_path
from firesight.detection.online import OnlineDetector, replay_recording, replay_scd41_vectorised
from firesight.features import FEATURE_NAMES, compute_scenario_features

from .test_detection_cli import firesight

GUARD_SEED = 9191
FIRES = ("tf1_open_wood", "tf4_flaming_polyurethane")
NUISANCES = ("people_gathering", "radiator", "empty_room")


@pytest.fixture(scope="module")
def model() -> DetectorBundle:
    return DetectorBundle.load(default_model_path())


@pytest.fixture(scope="module")
def guard_scenarios(tmp_path_factory):
    """(scenario, offline feature table) of each guard family."""
    from firesight.datasets import generate_dataset, open_dataset

    root = str(tmp_path_factory.mktemp("guards") / "data")
    families = FIRES + NUISANCES
    generate_dataset(root, count=len(families), seed=GUARD_SEED, duration_s=300.0, families=families,
                     frame_rate_hz=8.7, workers=1)
    ds = open_dataset(root)
    out = {}
    for sid in ds.ids:
        scenario = ds.load(sid)
        out[scenario.family] = (scenario, compute_scenario_features(scenario))
    return out


def _alarm_times(model, table, variant="full"):
    det = model.variants[variant]
    p = det.fire_probability(table)
    levels = alert_levels(table["time_s"].to_numpy(), p, model.policies[variant])
    return table["time_s"].to_numpy()[levels == LEVEL_CODE["alarm"]], p


@pytest.mark.parametrize("family", FIRES)
def test_the_shipped_model_alarms_on_fixed_fires(model, guard_scenarios, family):
    scenario, table = guard_scenarios[family]
    alarms, p = _alarm_times(model, table)
    assert alarms.size, f"{family}: no alarm (max p {np.nanmax(p):.3f})"
    assert alarms[0] >= scenario.ignition_time_s, f"{family}: alarm at {alarms[0]} before ignition"


@pytest.mark.parametrize("family", NUISANCES)
def test_the_shipped_model_does_not_alarm_on_fixed_nuisances(model, guard_scenarios, family):
    _, table = guard_scenarios[family]
    for variant in ("full", "thermal", "gas"):
        alarms, p = _alarm_times(model, table, variant)
        assert alarms.size == 0, f"{family} ({variant}): alarm at {alarms[:3]} (max p {np.nanmax(p):.3f})"


def test_online_path_agrees_with_offline_probabilities(model, guard_scenarios):
    """OnlineDetector (frames and readings pushed one by one), predict_last and the
    compiled fast path (serving) give the offline probabilities of the same windows
    within 1e-6, for every variant."""
    from firesight.serving.fast import CompiledDetector

    scenario, table = guard_scenarios["tf1_open_wood"]
    thermal, scd41 = scenario.thermal, scenario.scd41[scenario.scd41["status"] == 0]
    for variant, use_frames, use_gas in (("full", True, True), ("thermal", True, False), ("gas", False, True)):
        det = model.variants[variant]
        offline = det.fire_probability(table)
        online = OnlineDetector(model, variant=variant)
        got, gi, fi = {}, 0, 0
        gt = scd41["time_s"].to_numpy()
        for now in table["time_s"].to_numpy():
            while use_gas and gi < len(gt) and gt[gi] <= now:
                row = scd41.iloc[gi]
                online.push_scd41(row["time_s"], row["co2_ppm"], row["temperature_c"], row["humidity_rh"])
                gi += 1
            while use_frames and fi < len(thermal.time_s) and thermal.time_s[fi] <= now:
                if thermal.valid[fi]:
                    online.push_thermal(float(thermal.time_s[fi]), np.asarray(thermal.frames[fi]),
                                        float(thermal.resolution_k[fi]), int(thermal.ffc_state[fi]))
                fi += 1
            got[float(now)] = online.step(float(now))["probability"]
        on = np.array([got[float(t)] for t in table["time_s"]])
        np.testing.assert_allclose(on, offline, atol=1e-6, equal_nan=True, err_msg=variant)
        names = list(det.feature_names_)
        rows = table[names].reset_index(drop=True)
        for k in (60, 150, len(rows) - 1):
            assert abs(det.predict_last(rows.iloc[:k + 1]) - offline[k]) <= 1e-6
        fast = CompiledDetector(det).predict(rows.to_numpy(dtype=np.float64))
        np.testing.assert_allclose(fast, offline, atol=1e-6, equal_nan=True, err_msg=f"fast {variant}")


def test_vectorised_replay_equals_the_online_detector(model, guard_scenarios):
    """The one-pass SCD41 replay (used for long recordings) and the window-by-window
    OnlineDetector give the same probabilities and the same alert changes."""
    scenario, _ = guard_scenarios["tf4_flaming_polyurethane"]
    readings = scenario.scd41[scenario.scd41["status"] == 0].reset_index(drop=True)
    fast = replay_scd41_vectorised(model, readings)
    slow = replay_recording(model, readings, vectorised=False)
    assert fast["n_windows"] == slow["n_windows"]
    assert abs(fast["max_probability"] - slow["max_probability"]) <= 1e-6
    assert [(c["time_s"], c["level"]) for c in fast["changes"]] == [(c["time_s"], c["level"]) for c in slow["changes"]]
    assert fast["n_windows"] > 1000 and fast["max_probability"] > 0.0  # a real comparison, not two empty ones


def test_evaluate_refuses_features_of_another_step_window_or_version(detect_dataset, tmp_path):
    from firesight.features.dataset import compute_dataset_features

    home = tmp_path / "home"
    good = compute_dataset_features(detect_dataset, str(tmp_path / "good.parquet"))["path"]
    firesight("evaluate", "--data", detect_dataset, "--features", good, "--report", str(tmp_path / "ok.json"),
              env_home=home)
    other_step = compute_dataset_features(detect_dataset, str(tmp_path / "step2.parquet"), step_s=2.0)["path"]
    out = firesight("evaluate", "--data", detect_dataset, "--features", other_step, "--report",
                    str(tmp_path / "r.json"), env_home=home, check=False)
    assert out.returncode != 0 and "step_s 2.0" in out.stdout + out.stderr
    table = pd.read_parquet(good)
    table.attrs["firesight_features"] = {**table.attrs["firesight_features"], "features_version": 1}
    old = tmp_path / "old.parquet"
    table.to_parquet(old)
    out = firesight("evaluate", "--data", detect_dataset, "--features", str(old), "--report",
                    str(tmp_path / "r.json"), env_home=home, check=False)
    assert out.returncode != 0 and "features_version 1" in out.stdout + out.stderr
    table.attrs.clear()
    table.to_parquet(old)
    out = firesight("evaluate", "--data", detect_dataset, "--features", str(old), "--report",
                    str(tmp_path / "r.json"), env_home=home, check=False)
    assert out.returncode != 0 and "no version stamp" in out.stdout + out.stderr
    assert not (tmp_path / "r.json").exists()
    assert list(FEATURE_NAMES)  # the stamp covers this feature list
