"""Dataset-level features on the local engine: layout, labels, determinism, CLI, bad data."""

from __future__ import annotations

import hashlib
import os
import shutil

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from firesight.datasets import open_dataset
from firesight.errors import DataError, InvalidParameterError
from firesight.features import FEATURE_NAMES, GAS_FEATURES, compute_scenario_features
from firesight.features.dataset import OUTPUT_COLUMNS, compute_dataset_features, read_features


def _sha(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def test_dataset_features_layout_and_labels(tiny_dataset, tmp_path):
    out = str(tmp_path / "features.parquet")
    summary = compute_dataset_features(tiny_dataset, out, workers=1)
    table = read_features(out)
    dataset = open_dataset(tiny_dataset)
    # the truth's precursor label rides along after the documented columns (datasets that have it)
    assert list(table.columns) == [*OUTPUT_COLUMNS, "precursor"]
    assert summary["scenarios"] == 3 and summary["windows"] == len(table)
    assert list(dict.fromkeys(table["scenario_id"])) == dataset.ids  # manifest order
    for scenario_id, rows in table.groupby("scenario_id", sort=False):
        scenario = dataset.load(scenario_id)
        assert (np.diff(rows["time_s"]) == 1.0).all()
        direct = compute_scenario_features(scenario)
        assert np.array_equal(rows[["time_s", *FEATURE_NAMES]].to_numpy(), direct.to_numpy(), equal_nan=True)
        truth = scenario.truth.sort_values("time_s")
        idx = np.searchsorted(truth["time_s"].to_numpy(), rows["time_s"].to_numpy() + 1e-9, side="right") - 1
        state = np.where(idx >= 0, truth["state"].to_numpy()[np.clip(idx, 0, None)], 0)
        assert (rows["truth_state"].to_numpy() == state).all()
        assert (rows["burning"].to_numpy() == (state != 0)).all()
        precursor = np.where(idx >= 0, truth["precursor"].to_numpy()[np.clip(idx, 0, None)], False)
        assert (rows["precursor"].to_numpy() == precursor).all() and not (precursor & (state != 0)).any()
        assert rows["is_fire"].iloc[0] == scenario.is_fire and rows["family"].iloc[0] == scenario.family
        if scenario.is_fire:
            assert rows["ignition_time_s"].iloc[0] == scenario.ignition_time_s
        assert rows["thermal_max_c"].notna().all()  # the camera sees every window
        first_reading_s = scenario.scd41["time_s"].min()
        assert rows.loc[rows["time_s"] >= first_reading_s, "scd41_staleness_s"].notna().all()
        assert rows.loc[rows["time_s"] < first_reading_s, list(GAS_FEATURES)].isna().all().all()


def test_workers_do_not_change_the_file(tiny_dataset, tmp_path):
    one = compute_dataset_features(tiny_dataset, str(tmp_path / "one.parquet"), workers=1)["path"]
    two = compute_dataset_features(tiny_dataset, str(tmp_path / "two.parquet"), workers=2)["path"]
    assert _sha(one) == _sha(two)


def test_cli_features(tiny_dataset, tmp_path):
    from firesight.cli import app

    out = tmp_path / "cli"
    out.mkdir()
    result = CliRunner().invoke(app, ["features", "--data", tiny_dataset, "--out", str(out), "--step-s", "2",
                                      "--window-s", "20"])
    assert result.exit_code == 0, result.output
    table = read_features(str(out / "features.parquet"))
    assert (table.groupby("scenario_id")["time_s"].diff().dropna() == 2.0).all()
    help_text = CliRunner().invoke(app, ["features", "--help"]).output
    assert "[s]" in help_text and "local[*]" in help_text


def test_corrupt_scenario_fails_clearly_and_keeps_the_old_file(tiny_dataset, tmp_path):
    broken = str(tmp_path / "broken")
    shutil.copytree(tiny_dataset, broken)
    out = str(tmp_path / "features.parquet")
    compute_dataset_features(broken, out)
    before = _sha(out)
    dataset = open_dataset(broken)
    scenario_id = max(dataset.ids, key=lambda i: len(dataset.load(i).scd41))
    scd41 = os.path.join(broken, "scenarios", scenario_id, "scd41.parquet")
    table = pd.read_parquet(scd41)
    table.loc[table.index[-1], ["co2_ppm", "status"]] = [np.nan, 0]  # status ok but no value
    table.to_parquet(scd41, index=False)
    with pytest.raises(DataError, match=rf"scenario {scenario_id} scd41: co2_ppm must be finite"):
        compute_dataset_features(broken, out)
    table.drop(columns=["co2_ppm"]).to_parquet(scd41, index=False)
    with pytest.raises(DataError, match="lacks columns"):
        compute_dataset_features(broken, out)
    with open(scd41, "wb") as fh:
        fh.write(b"not parquet")
    with pytest.raises(DataError, match="not a readable parquet file"):
        compute_dataset_features(broken, out)
    assert _sha(out) == before
    assert [n for n in os.listdir(tmp_path) if n.startswith(".")] == []  # no temporary file left


def test_a_write_failing_half_way_keeps_the_old_file(tiny_dataset, tmp_path, monkeypatch):
    """The disk fills while the new parquet bytes go down: the old file stays whole."""
    out = str(tmp_path / "features.parquet")
    compute_dataset_features(tiny_dataset, out)
    before = _sha(out)
    failed = []

    def full_disk(fd):
        os.ftruncate(fd, 100)  # half of the file made it to disk
        failed.append(fd)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(InvalidParameterError, match="out"):
        compute_dataset_features(tiny_dataset, out)
    monkeypatch.undo()
    assert failed  # the failure did happen during the write
    assert _sha(out) == before
    assert read_features(out)["scenario_id"].nunique() == 3
    assert [n for n in os.listdir(tmp_path) if n.startswith(".")] == []


def test_bad_arguments(tiny_dataset, tmp_path):
    with pytest.raises(InvalidParameterError, match="engine"):
        compute_dataset_features(tiny_dataset, str(tmp_path / "x.parquet"), engine="dask")
    with pytest.raises(InvalidParameterError, match="scenario_ids"):
        compute_dataset_features(tiny_dataset, str(tmp_path / "x.parquet"), scenario_ids=["nope"])
    with pytest.raises(DataError, match="not a firesight dataset"):
        compute_dataset_features(str(tmp_path / "empty"), str(tmp_path / "x.parquet"))


def test_features_to_a_url_through_the_object_store(tiny_dataset, tmp_path):
    """An fsspec URL goes through the object-store port like a folder does; the bytes and
    the features stamp are those of the local file."""
    import uuid

    from firesight.datasets.objects import read_object
    from firesight.detection.data import read_feature_table
    from firesight.features.dataset import STAMP_KEY

    local = compute_dataset_features(tiny_dataset, str(tmp_path / "features.parquet"))["path"]
    folder = f"memory://features-{uuid.uuid4().hex}/run/"
    seen = []
    remote = compute_dataset_features(tiny_dataset, folder, progress=lambda *a: seen.append(a))["path"]
    assert remote == folder + "features.parquet"
    assert read_object(remote) == open(local, "rb").read()
    for table in (read_features(remote), read_feature_table(remote)):
        pd.testing.assert_frame_equal(table, read_features(local))
        assert table.attrs[STAMP_KEY] == read_features(local).attrs[STAMP_KEY]
    ids = open_dataset(tiny_dataset).ids
    assert seen[0] == (0, 3, "") and [s[0] for s in seen] == [0, 1, 2, 3]
    assert sorted(s[2] for s in seen[1:]) == sorted(ids) and all(s[1] == 3 for s in seen)
    with pytest.raises(DataError, match="no features file"):
        read_features(folder + "missing.parquet")
