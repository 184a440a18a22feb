"""Write one simulated scenario into a staging folder, and tables as deterministic bytes.

Nothing here knows about the destination store: :mod:`firesight.datasets.generate`
stages a scenario in a local folder with :func:`write_scenario_folder`, then commits it
(rename or upload) and rewrites the manifest. Files carry no timestamps, so the same
scenario always gives the same bytes.
"""

from __future__ import annotations

import io
import json
import os
from typing import Any

import numpy as np
import pandas as pd

from firesight.datasets import layout


def table_bytes(table: pd.DataFrame) -> bytes:
    """Parquet bytes of ``table`` (zstd, no index); identical tables give identical bytes."""
    buffer = io.BytesIO()
    table.to_parquet(buffer, index=False, engine="pyarrow", compression="zstd")
    return buffer.getvalue()


def json_bytes(value: Any) -> bytes:
    """Sorted, indented JSON (NaN refused: use ``None``)."""
    return (json.dumps(value, sort_keys=True, indent=1, allow_nan=False) + "\n").encode()


def _write_file(path: str, data: bytes) -> None:
    with open(path, "wb") as fh:
        fh.write(data)


def _frame_compressors():
    from zarr.codecs import BloscCodec, BloscShuffle

    # byte shuffle beats bitshuffle on noisy TLinear frames (x3.2 against x2.4 measured)
    return [BloscCodec(cname="zstd", clevel=5, shuffle=BloscShuffle.shuffle)]


def write_thermal_zarr(path: str, frame_chunks, n_frames: int) -> dict[str, int]:
    """Stream Lepton frame chunks into a zarr v3 group at ``path``.

    Parameters
    ----------
    path : str
        Local folder of the group (created).
    frame_chunks : iterable of LeptonFrames
        Consecutive chunks whose frame counts add up to ``n_frames``; each chunk is written
        and dropped, so memory stays at one chunk whatever the scenario length.
    n_frames : int
        Total number of frames [-].

    Returns
    -------
    dict
        ``{"bytes_raw", "bytes_stored"}`` of the frames array.
    """
    import zarr

    group = zarr.open_group(path, mode="w", zarr_format=3)
    frames = group.create_array("frames", shape=(n_frames, *layout.FRAME_SHAPE), dtype="uint16",
                                chunks=(layout.FRAME_CHUNK, *layout.FRAME_SHAPE),
                                compressors=_frame_compressors(), fill_value=0)
    frames.attrs.update({"units": "TLinear counts: kelvin = count * resolution_k",
                         "device": "FLIR Lepton 3.5"})
    per_frame: dict[str, list[np.ndarray]] = {name: [] for name in layout.THERMAL_ARRAYS}
    start = 0
    for chunk in frame_chunks:
        count = chunk.frames.shape[0]
        frames[start:start + count] = chunk.frames
        for name in layout.THERMAL_ARRAYS:
            per_frame[name].append(np.asarray(getattr(chunk, name)))
        start += count
    if start != n_frames:
        raise RuntimeError(f"renderer produced {start} frames, expected {n_frames}")
    for name, dtype in layout.THERMAL_ARRAYS.items():
        values = np.concatenate(per_frame[name]).astype(dtype) if per_frame[name] else np.zeros(0, dtype)
        array = group.create_array(name, shape=values.shape, dtype=dtype, chunks=(max(len(values), 1),),
                                   fill_value=0)
        array[...] = values
    group["time_s"].attrs["units"] = "s"
    group["resolution_k"].attrs["units"] = "K per count"
    return {"bytes_raw": int(frames.nbytes), "bytes_stored": int(frames.nbytes_stored())}


def write_scenario_folder(folder: str, simulated, *, chunk_frames: int = 256) -> dict[str, int]:
    """Write the four scenario files of ``simulated`` (a
    :class:`firesight.scenarios.simulate.SimulatedScenario`) into ``folder``.

    Returns the frames' raw and stored sizes [bytes].
    """
    os.makedirs(folder, exist_ok=True)
    sizes = write_thermal_zarr(os.path.join(folder, layout.THERMAL),
                               simulated.iter_frames(chunk_frames=chunk_frames), simulated.n_frames)
    _write_file(os.path.join(folder, layout.SCD41), table_bytes(simulated.scd41))
    _write_file(os.path.join(folder, layout.TRUTH), table_bytes(simulated.truth))
    _write_file(os.path.join(folder, layout.SCENARIO_JSON), json_bytes(simulated.meta))
    return sizes


def manifest_table(rows: list[dict]) -> pd.DataFrame:
    """The manifest as a table: rows sorted by id, columns in :data:`layout.MANIFEST_COLUMNS`."""
    table = pd.DataFrame(sorted(rows, key=lambda r: r["id"]), columns=list(layout.MANIFEST_COLUMNS))
    table["ignition_time_s"] = table["ignition_time_s"].astype("float64")
    table["is_fire"] = table["is_fire"].astype(bool)
    for name in ("index", "seed", "n_frames"):
        table[name] = table[name].astype("int64")
    return table
