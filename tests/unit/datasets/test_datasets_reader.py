"""Dataset reader, writer pieces and catalog on a tiny dataset: every corruption gives a
DataError that names the file and what is wrong."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pandas as pd
import pytest

from firesight.adapters.local.metadata import SQLiteMetadataStore
from firesight.datasets import catalog, generate_dataset, open_dataset
from firesight.datasets.generate import family_for_index, open_writable_store, validate_arguments
from firesight.datasets.writer import manifest_table
from firesight.errors import DataError, InvalidParameterError, NotFoundError
from firesight.sensors.frames import LeptonFrames


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny") / "ds"
    store = SQLiteMetadataStore(":memory:")
    generate_dataset(str(root), count=3, seed=5, duration_s=30.0, frame_rate_hz=1.0,
                     families=["empty_room", "radiator", "tf3_smouldering_cotton"], metadata=store)
    return root, store


@pytest.fixture()
def copy(tiny, tmp_path):
    dst = tmp_path / "copy"
    shutil.copytree(tiny[0], dst)
    return dst


def test_reader_returns_the_documented_records(tiny):
    ds = open_dataset(str(tiny[0]))
    assert ds.ids == sorted(ds.ids) and len(ds) == 3
    assert list(ds.manifest.columns[:4]) == ["id", "index", "family", "label"]
    fire_id = next(i for i in ds.ids if "tf3" in i)
    s = ds.load(fire_id)
    assert s.is_fire and s.label == "fire" and s.family == "tf3_smouldering_cotton"
    assert s.ignition_time_s == float(s.truth.loc[s.truth["state"] != 0, "time_s"].iloc[0])
    assert isinstance(s.thermal, LeptonFrames)  # the type the camera model renders
    assert s.thermal.frames.shape == (30, 120, 160) and s.thermal.frames.dtype == np.uint16
    assert s.thermal.frames[2:4].shape == (2, 120, 160)
    np.testing.assert_allclose(s.thermal.time_s, np.arange(30.0))
    celsius = s.thermal.celsius(0)
    assert -20 < float(np.median(celsius)) < 40
    assert list(s.scd41.columns) == ["time_s", "co2_ppm", "temperature_c", "humidity_rh", "status"]
    assert s.meta["id"] == fire_id and s.meta["params"]["fire"]["fuel"] == "cotton"
    other = ds.load(next(i for i in ds.ids if "empty_room" in i))
    assert other.ignition_time_s is None and not other.is_fire


def test_unknown_scenario_is_not_found(tiny):
    with pytest.raises(NotFoundError, match="nope"):
        open_dataset(str(tiny[0])).load("nope")


def test_missing_manifest_names_the_file(tmp_path):
    with pytest.raises(DataError, match="manifest.parquet: missing"):
        open_dataset(str(tmp_path))


def test_corrupt_manifest_names_the_file(copy):
    (copy / "manifest.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(DataError, match="manifest.parquet: not a readable parquet file"):
        open_dataset(str(copy))


def test_missing_truth_names_the_file(copy):
    ds = open_dataset(str(copy))
    os.remove(copy / "scenarios" / ds.ids[0] / "truth.parquet")
    with pytest.raises(DataError, match=rf"{ds.ids[0]}/truth.parquet: missing"):
        ds.load(ds.ids[0])


def test_scd41_without_a_column_names_it(copy):
    ds = open_dataset(str(copy))
    path = copy / "scenarios" / ds.ids[1] / "scd41.parquet"
    pd.read_parquet(path).drop(columns=["co2_ppm"]).to_parquet(path)
    with pytest.raises(DataError, match=r"scd41.parquet: lacks columns \['co2_ppm'\]"):
        ds.load(ds.ids[1])


def test_invalid_scenario_json_names_the_file(copy):
    ds = open_dataset(str(copy))
    (copy / "scenarios" / ds.ids[0] / "scenario.json").write_text("{broken")
    with pytest.raises(DataError, match="scenario.json: not valid JSON"):
        ds.load(ds.ids[0])


def test_wrong_frame_dtype_and_length_mismatch_are_reported(copy):
    import zarr

    ds = open_dataset(str(copy))
    group = zarr.open_group(str(copy / "scenarios" / ds.ids[0] / "thermal.zarr"), mode="a")
    del group["frames"]
    group.create_array("frames", shape=(30, 120, 160), dtype="uint8")
    with pytest.raises(DataError, match="frames: dtype uint8, expected uint16"):
        ds.load(ds.ids[0])
    group2 = zarr.open_group(str(copy / "scenarios" / ds.ids[1] / "thermal.zarr"), mode="a")
    del group2["valid"]
    group2.create_array("valid", shape=(7,), dtype="bool")
    with pytest.raises(DataError, match=r"valid: shape \(7,\), expected \(30,\)"):
        ds.load(ds.ids[1])


def test_corrupt_frame_chunk_raises_data_error_when_read(copy):
    ds = open_dataset(str(copy))
    chunk = copy / "scenarios" / ds.ids[0] / "thermal.zarr" / "frames" / "c" / "0" / "0" / "0"
    assert chunk.exists()
    chunk.write_bytes(b"\x00garbage" * 10)
    scenario = ds.load(ds.ids[0])
    with pytest.raises(DataError, match="frames: unreadable chunk"):
        scenario.thermal.frames[0:2]


def test_catalog_records_scenarios_queryable_by_family_label_and_parameters(tiny):
    root, store = tiny
    url = str(root)
    assert len(catalog.list_scenarios(store, dataset=url)) == 3
    fires = catalog.list_scenarios(store, label="fire")
    assert [f["family"] for f in fires] == ["tf3_smouldering_cotton"]
    assert fires[0]["fire_fuel"] == "cotton" and fires[0]["ignition_time_s"] > 0
    radiators = catalog.list_scenarios(store, family="radiator")
    assert len(radiators) == 1
    big = catalog.list_scenarios(store, where=["room_volume_m3>=0", "room_height_m<100"])
    assert len(big) == 3
    none = catalog.list_scenarios(store, where=["room_height_m>100"])
    assert none == []
    by_fuel = catalog.list_scenarios(store, where=["fire_fuel=cotton"])
    assert [i["family"] for i in by_fuel] == ["tf3_smouldering_cotton"]
    datasets = catalog.list_datasets(store)
    assert datasets[0]["status"] == "complete" and datasets[0]["scenario_count"] == 3


def test_where_expressions_are_parsed_and_bad_ones_refused():
    assert catalog.parse_where(["a=1", "b>=2.5", "c!=x", "d=true"]) == [
        ("a", "=", 1), ("b", ">=", 2.5), ("c", "!=", "x"), ("d", "=", True)]
    with pytest.raises(InvalidParameterError, match="where must be KEY=VALUE"):
        catalog.parse_where(["no operator"])


@pytest.mark.parametrize("kwargs, name", [
    ({"count": 0}, "count"), ({"duration_s": -5.0}, "duration_s"), ({"workers": 0}, "workers"),
    ({"frame_rate_hz": 30.0}, "frame_rate_hz"), ({"families": ["bonfire"]}, "families"), ({"seed": -1}, "seed"),
])
def test_invalid_generate_arguments_name_the_parameter(kwargs, name, tmp_path):
    args = {"out": str(tmp_path / "x"), "count": 2, "seed": 1, "duration_s": 60.0, "workers": 1,
            "frame_rate_hz": 8.7, "families": None, **kwargs}
    with pytest.raises(InvalidParameterError) as info:
        validate_arguments(**args)
    assert info.value.name == name
    assert not (tmp_path / "x").exists()


def test_unwritable_output_is_refused(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(InvalidParameterError, match="out must be a writable folder"):
        open_writable_store(str(blocker / "ds"))


def test_family_schedule_visits_every_family_once_per_cycle():
    fams = ("a", "b", "c", "d")
    first = [family_for_index(fams, 3, i) for i in range(4)]
    second = [family_for_index(fams, 3, i) for i in range(4, 8)]
    assert sorted(first) == list(fams) and sorted(second) == list(fams)
    assert first == [family_for_index(fams, 3, i) for i in range(4)]


def test_manifest_table_sorts_rows_and_keeps_nan_ignition():
    base = {c: 0 for c in ("index", "seed", "n_frames")}
    rows = [{**base, "id": "s2", "is_fire": False, "ignition_time_s": float("nan")},
            {**base, "id": "s1", "is_fire": True, "ignition_time_s": 12.0}]
    table = manifest_table(rows)
    assert table["id"].tolist() == ["s1", "s2"]
    assert np.isnan(table["ignition_time_s"].iloc[1]) and table["is_fire"].dtype == bool


def test_scenario_json_holds_no_timestamps(tiny):
    ds = open_dataset(str(tiny[0]))
    meta = json.loads((tiny[0] / "scenarios" / ds.ids[0] / "scenario.json").read_text())
    assert {"params", "camera_pose", "sensor_position_m", "software_version", "seed_sequence"} <= set(meta)
    assert not any("time" in k and "stamp" in k for k in meta)


def test_extending_a_dataset_with_other_settings_is_refused(copy):
    with pytest.raises(InvalidParameterError) as info:
        generate_dataset(str(copy), count=4, seed=6, duration_s=30.0, frame_rate_hz=1.0,
                         families=["empty_room", "radiator", "tf3_smouldering_cotton"])
    assert info.value.name == "seed" and "as in the existing dataset" in str(info.value)
    assert len(open_dataset(str(copy))) == 3
