"""A tiny dataset from the real generator and a small model, shared by the detection
integration tests (short scenarios at a low frame rate keep them fast)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

FAMILIES = ("tf5_heptane_pool", "gas_stove_cooking", "tf1_open_wood", "empty_room")


@pytest.fixture(scope="session")
def detect_dataset(tmp_path_factory) -> str:
    """Four 90 s scenarios (seed 5, 2 Hz frames): two fires, a gas stove, an empty room."""
    from firesight.datasets import generate_dataset

    root = str(tmp_path_factory.mktemp("detect-data") / "data")
    generate_dataset(root, count=4, seed=5, duration_s=90.0, families=FAMILIES, frame_rate_hz=2.0,
                     workers=1)
    return root


def real_feature_table(n_scenarios: int = 12, n_windows: int = 90, seed: int = 0) -> pd.DataFrame:
    """Windows with real feature names (a subset filled, the rest NaN as when undefined)."""
    from firesight.features import FEATURE_NAMES

    rng = np.random.default_rng(seed)
    parts = []
    for s in range(n_scenarios):
        t = np.arange(1, n_windows + 1, dtype=float)
        fire = s % 2 == 0
        ign = 40.0 if fire else np.nan
        ramp = np.clip(t - 40.0, 0, None) if fire else np.zeros(n_windows)
        frame = pd.DataFrame(np.nan, index=range(n_windows), columns=list(FEATURE_NAMES))
        frame["thermal_max_c"] = 25 + rng.normal(0, 0.5, n_windows) + 3 * ramp
        frame["scd41_co2_above_baseline_ppm"] = rng.normal(0, 10, n_windows) + 5 * ramp
        frame["scd41_temperature_rise_c"] = rng.normal(0, 0.1, n_windows) + 0.05 * ramp
        frame.insert(0, "time_s", t)
        frame.insert(0, "ignition_time_s", ign)
        frame.insert(0, "label", "fire" if fire else "nuisance")
        frame.insert(0, "family", "tf1_open_wood" if fire else "gas_stove_cooking")
        frame.insert(0, "scenario_id", f"s{s:03d}")
        frame["burning"] = ((t >= ign) if fire else np.zeros(n_windows, bool)).astype(np.int8)
        parts.append(frame)
    return pd.concat(parts, ignore_index=True)


@pytest.fixture(scope="session")
def small_model(tmp_path_factory) -> str:
    """A small XGBoost bundle (full, camera-only, SCD41-only) trained on synthetic windows."""
    from firesight.detection.training import train_bundle

    bundle = train_bundle(real_feature_table(), kind="xgb",
                          params={"xgb": {"n_estimators": 20, "n_jobs": 1}}, seed=0)
    return str(bundle.save(tmp_path_factory.mktemp("models") / "small"))


@pytest.fixture(scope="session")
def feature_file(tmp_path_factory) -> str:
    """The synthetic window table written as a features parquet file."""
    path = tmp_path_factory.mktemp("features") / "features.parquet"
    real_feature_table().to_parquet(path, index=False)
    return str(path)


@pytest.fixture(scope="session")
def feature_table() -> pd.DataFrame:
    """The synthetic window table with real feature names."""
    return real_feature_table()
