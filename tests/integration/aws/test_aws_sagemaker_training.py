"""SageMaker script-mode training writes the same model folder as ``firesight train``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from firesight.errors import InvalidParameterError



def _feature_table(n_scenarios: int = 8, n_windows: int = 60):
    """Windows with the real feature names: fires ramp up after 30 s, nuisances do not."""
    import numpy as np
    import pandas as pd

    from firesight.features import FEATURE_NAMES

    rng = np.random.default_rng(0)
    parts = []
    for s in range(n_scenarios):
        t = np.arange(1, n_windows + 1, dtype=float)
        fire = s % 2 == 0
        ramp = np.clip(t - 30.0, 0, None) if fire else np.zeros(n_windows)
        frame = pd.DataFrame(np.nan, index=range(n_windows), columns=list(FEATURE_NAMES))
        frame["thermal_max_c"] = 25 + rng.normal(0, 0.5, n_windows) + 3 * ramp
        frame["scd41_co2_above_baseline_ppm"] = rng.normal(0, 10, n_windows) + 5 * ramp
        frame.insert(0, "time_s", t)
        frame.insert(0, "ignition_time_s", 30.0 if fire else np.nan)
        frame.insert(0, "label", "fire" if fire else "nuisance")
        frame.insert(0, "family", "tf1_open_wood" if fire else "gas_stove_cooking")
        frame.insert(0, "scenario_id", f"s{s:03d}")
        frame["burning"] = ((t >= 30.0) if fire else np.zeros(n_windows, bool)).astype(np.int8)
        parts.append(frame)
    return pd.concat(parts, ignore_index=True)


def test_script_mode_matches_firesight_train(tmp_path):
    from typer.testing import CliRunner

    from firesight.adapters.aws.sagemaker_entry import main
    from firesight.cli import app

    channel = tmp_path / "input" / "data" / "train"
    channel.mkdir(parents=True)
    _feature_table().to_parquet(channel / "features.parquet", index=False)
    params = tmp_path / "params.json"
    params.write_text(json.dumps({"xgb": {"n_estimators": 10, "n_jobs": 1}}))
    env = {"SM_CHANNEL_TRAIN": str(channel), "SM_MODEL_DIR": str(tmp_path / "model"),
           "SM_OUTPUT_DATA_DIR": str(tmp_path / "output")}
    assert main(["--kind", "xgb", "--seed", "3", "--params", str(params)], env) == 0
    local = CliRunner().invoke(app, ["train", "--data", str(channel / "features.parquet"), "--out",
                                     str(tmp_path / "local"), "--kind", "xgb", "--seed", "3", "--params", str(params)])
    assert local.exit_code == 0, local.output
    sm_files = sorted(p.relative_to(tmp_path / "model") for p in (tmp_path / "model").rglob("*") if p.is_file())
    local_files = sorted(p.relative_to(tmp_path / "local") for p in (tmp_path / "local").rglob("*") if p.is_file())
    assert sm_files == local_files and Path("bundle.json") in sm_files
    for rel in sm_files:
        if rel.suffix == ".json" and rel.name != "bundle.json":
            assert (tmp_path / "model" / rel).read_bytes() == (tmp_path / "local" / rel).read_bytes(), rel
    assert json.loads((tmp_path / "output" / "training.json").read_text())["arguments"][0] == "train"


def test_bad_channels_and_hyperparameters(tmp_path):
    from firesight.adapters.aws.sagemaker_entry import train_arguments

    (tmp_path / "a.parquet").write_bytes(b"")
    (tmp_path / "b.parquet").write_bytes(b"")
    with pytest.raises(InvalidParameterError, match="SM_CHANNEL_TRAIN"):
        train_arguments([], {"SM_CHANNEL_TRAIN": str(tmp_path)})
    with pytest.raises(InvalidParameterError, match="SM_CHANNEL_TRAIN"):
        train_arguments([], {"SM_CHANNEL_TRAIN": str(tmp_path / "missing")})
    (tmp_path / "b.parquet").unlink()
    with pytest.raises(InvalidParameterError, match="hyperparameters"):
        train_arguments(["--out", "/elsewhere"], {"SM_CHANNEL_TRAIN": str(tmp_path)})
    assert train_arguments(["--test_fraction", "0.2"], {"SM_CHANNEL_TRAIN": str(tmp_path), "SM_MODEL_DIR": "/m"}) == \
        ["train", "--data", str(tmp_path / "a.parquet"), "--out", "/m", "--test-fraction", "0.2"]
