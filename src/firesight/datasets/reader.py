"""Read a firesight dataset from a local folder or any fsspec URL.

>>> ds = open_dataset("data/demo")            # doctest: +SKIP
>>> s = ds.load(ds.ids[0])                    # doctest: +SKIP
>>> s.thermal.frames[100:110]                 # lazily read uint16 TLinear frames  # doctest: +SKIP

Every problem with stored data (missing file, unreadable table, wrong shape or dtype,
mismatched lengths) raises :class:`firesight.errors.DataError` naming the file and what
is wrong.
"""

from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from firesight.datasets import layout
from firesight.errors import DataError, NotFoundError
from firesight.ports import ObjectStore
from firesight.sensors.frames import LeptonFrames


class LazyFrames:
    """A read-only view of the stored ``frames`` array: slicing reads only the chunks it
    needs, and a corrupt chunk raises :class:`DataError` naming the array."""

    def __init__(self, array: Any, where: str):
        self._array = array
        self.where = where
        self.shape = tuple(array.shape)
        self.dtype = np.dtype(array.dtype)
        self.chunks = tuple(getattr(array, "chunks", self.shape))
        self.ndim = len(self.shape)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, index: Any) -> np.ndarray:
        try:
            return np.asarray(self._array[index])
        except (IndexError, TypeError):
            raise
        except Exception as exc:
            raise DataError(f"{self.where}: unreadable chunk ({type(exc).__name__}: {exc})") from exc

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        values = self[...]
        return values if dtype is None else values.astype(dtype)


@dataclass
class ScenarioData:
    """One scenario: its identity, label, ignition time, metadata and the three records
    (``thermal``: its Lepton frames, read lazily through :class:`LazyFrames`)."""

    id: str
    family: str
    label: str
    is_fire: bool
    ignition_time_s: float | None
    meta: dict
    thermal: LeptonFrames
    scd41: pd.DataFrame
    truth: pd.DataFrame


class Dataset:
    """A dataset opened by :func:`open_dataset`: the manifest and lazy access to scenarios."""

    def __init__(self, url: str, store: ObjectStore, manifest: pd.DataFrame, info: dict):
        self.url = url
        self.store = store
        self.manifest = manifest
        self.info = info

    @property
    def ids(self) -> list[str]:
        """Scenario ids in manifest order (sorted)."""
        return [str(x) for x in self.manifest["id"]]

    def __len__(self) -> int:
        return len(self.manifest)

    def row(self, scenario_id: str) -> pd.Series:
        """The manifest row of ``scenario_id``; :class:`NotFoundError` if absent."""
        hits = self.manifest.index[self.manifest["id"] == scenario_id]
        if len(hits) == 0:
            raise NotFoundError(f"scenario {scenario_id!r} is not in {self.url}/{layout.MANIFEST}")
        return self.manifest.loc[hits[0]]

    def load(self, scenario_id: str) -> ScenarioData:
        """Read one scenario (frames stay lazy)."""
        row = self.row(scenario_id)
        meta = read_json_object(self.store, layout.scenario_key(scenario_id, layout.SCENARIO_JSON))
        thermal = _read_thermal(self.store, scenario_id)
        scd41 = _read_table(self.store, layout.scenario_key(scenario_id, layout.SCD41), layout.SCD41_COLUMNS)
        truth = _read_table(self.store, layout.scenario_key(scenario_id, layout.TRUTH), layout.TRUTH_REQUIRED)
        truth_key = layout.scenario_key(scenario_id, layout.TRUTH)
        if len(truth) == 0:
            raise DataError(f"{self.store.fs_url(truth_key)}: truth table is empty")
        ignition = row["ignition_time_s"]
        ignition_time_s = None if ignition is None or (isinstance(ignition, float) and math.isnan(ignition)) \
            else float(ignition)
        return ScenarioData(id=scenario_id, family=str(row["family"]), label=str(row["label"]),
                            is_fire=bool(row["is_fire"]), ignition_time_s=ignition_time_s, meta=meta,
                            thermal=thermal, scd41=scd41, truth=truth)

    def __iter__(self):
        for scenario_id in self.ids:
            yield self.load(scenario_id)


def open_dataset(source: str | ObjectStore) -> Dataset:
    """Open the dataset at ``source`` and read its manifest.

    ``source`` is an :class:`~firesight.ports.ObjectStore` or a URL (a folder, ``s3://``,
    any fsspec URL) that :func:`firesight.bootstrap.object_store` turns into one.
    Raises :class:`DataError` if there is no readable manifest with the documented columns.
    """
    if isinstance(source, ObjectStore):
        store = source
    else:
        from firesight import bootstrap

        store = bootstrap.object_store(source)
    url = store.url
    try:
        raw = store.get_bytes(layout.MANIFEST)
    except NotFoundError as exc:
        raise DataError(f"{store.fs_url(layout.MANIFEST)}: missing; {url} is not a firesight dataset "
                        "(or no scenario has completed yet)") from exc
    manifest = parse_parquet(raw, store.fs_url(layout.MANIFEST))
    missing = [c for c in ("id", "family", "label", "is_fire", "ignition_time_s") if c not in manifest.columns]
    if missing:
        raise DataError(f"{store.fs_url(layout.MANIFEST)}: lacks columns {missing}")
    if manifest["id"].duplicated().any():
        dup = manifest["id"][manifest["id"].duplicated()].tolist()
        raise DataError(f"{store.fs_url(layout.MANIFEST)}: duplicate scenario ids {dup[:5]}")
    info = read_json_object(store, layout.DATASET_JSON) if store.exists(layout.DATASET_JSON) else {}
    return Dataset(store.url, store, manifest.reset_index(drop=True), info)


def parse_parquet(raw: bytes, where: str) -> pd.DataFrame:
    try:
        return pd.read_parquet(io.BytesIO(raw))
    except Exception as exc:  # pyarrow raises several types for corrupt files
        raise DataError(f"{where}: not a readable parquet file ({type(exc).__name__}: {exc})") from exc


def _read_table(store: ObjectStore, key: str, required: tuple[str, ...]) -> pd.DataFrame:
    try:
        raw = store.get_bytes(key)
    except NotFoundError as exc:
        raise DataError(f"{store.fs_url(key)}: missing") from exc
    table = parse_parquet(raw, store.fs_url(key))
    missing = [c for c in required if c not in table.columns]
    if missing:
        raise DataError(f"{store.fs_url(key)}: lacks columns {missing} (has {list(table.columns)})")
    return table


def read_json_object(store: ObjectStore, key: str) -> dict:
    try:
        raw = store.get_bytes(key)
    except NotFoundError as exc:
        raise DataError(f"{store.fs_url(key)}: missing") from exc
    try:
        value = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{store.fs_url(key)}: not valid JSON ({exc})") from exc
    if not isinstance(value, dict):
        raise DataError(f"{store.fs_url(key)}: expected a JSON object, got {type(value).__name__}")
    return value


def open_zarr_group(store: ObjectStore, key: str, *, mode: str = "r"):
    """Open the zarr group at ``key`` of ``store`` (a local path or an fsspec URL)."""
    import zarr

    path = store.local_path(key)
    if path is not None:
        return zarr.open_group(path, mode=mode)
    from zarr.storage import FsspecStore

    return zarr.open_group(FsspecStore.from_url(store.fs_url(key), storage_options=store.storage_options or None,
                                                read_only=(mode == "r")), mode=mode)


def _read_thermal(store: ObjectStore, scenario_id: str) -> LeptonFrames:
    key = layout.scenario_key(scenario_id, layout.THERMAL)
    where = store.fs_url(key)
    if not store.exists(key + "/zarr.json"):
        raise DataError(f"{where}: missing (no zarr.json)")
    try:
        group = open_zarr_group(store, key)
        names = set(group.array_keys())
    except Exception as exc:
        raise DataError(f"{where}: not a readable zarr v3 group ({type(exc).__name__}: {exc})") from exc
    absent = [n for n in ("frames", *layout.THERMAL_ARRAYS) if n not in names]
    if absent:
        raise DataError(f"{where}: lacks arrays {absent}")
    frames = group["frames"]
    if len(frames.shape) != 3 or tuple(frames.shape[1:]) != layout.FRAME_SHAPE:
        raise DataError(f"{where}/frames: shape {tuple(frames.shape)}, expected (n, 120, 160)")
    if np.dtype(frames.dtype) != np.uint16:
        raise DataError(f"{where}/frames: dtype {frames.dtype}, expected uint16 TLinear")
    n = frames.shape[0]
    per_frame = {}
    for name, dtype in layout.THERMAL_ARRAYS.items():
        try:
            values = np.asarray(group[name][...])
        except Exception as exc:
            raise DataError(f"{where}/{name}: unreadable ({type(exc).__name__}: {exc})") from exc
        if values.shape != (n,):
            raise DataError(f"{where}/{name}: shape {values.shape}, expected ({n},) like frames")
        per_frame[name] = values.astype(dtype, copy=False)
    return LeptonFrames(frames=LazyFrames(frames, f"{where}/frames"), **per_frame)
