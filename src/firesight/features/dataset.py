"""Window features of a whole dataset, on the local engine (process pool) or Spark.

Each scenario is one job (:func:`scenario_feature_table`) that opens the dataset, loads
the scenario and returns its window table with identity and truth columns; the engines
only schedule these jobs. Results are assembled in manifest order and written as one
parquet file through the object store of its folder (:mod:`firesight.datasets.objects`:
a local file is replaced atomically, an S3 object by a single PUT), so a failed run leaves
any earlier file untouched and both engines write identical files. Progress is reported
to a callback; drawing a bar is the CLI's business.

Output columns: :data:`ID_COLUMNS`, ``time_s``, :data:`FEATURE_NAMES`, :data:`TRUTH_COLUMNS`, and
``precursor`` (bool, the truth's precursor label at the window's end) when the dataset has it.
"""

from __future__ import annotations

import functools
import io
import math
import posixpath
import time
from collections.abc import Callable, Iterable, Iterator

import numpy as np
import pandas as pd

from firesight.errors import DataError, InvalidParameterError, NotFoundError, require
from firesight.features.windows import FEATURE_NAMES, compute_scenario_features, truth_state_at

#: Identity columns of every window row.
ID_COLUMNS = ("scenario_id", "family", "label", "is_fire", "ignition_time_s")
#: Ground-truth columns: simulated state (0 none, 1 smouldering, 2 flaming) and the label
#: ``burning`` (state != 0) at the window's end.
TRUTH_COLUMNS = ("truth_state", "burning")
OUTPUT_COLUMNS = (*ID_COLUMNS, "time_s", *FEATURE_NAMES, *TRUTH_COLUMNS)
ENGINES = ("local", "spark")
#: Key of the features stamp (step, window, version; :func:`firesight.features.windows.
#: features_stamp`) in the parquet file's metadata (``DataFrame.attrs``).
STAMP_KEY = "firesight_features"
FEATURES_FILE = "features.parquet"


def scenario_feature_table(url: str, scenario_id: str, *, step_s: float = 1.0, window_s: float = 60.0) -> pd.DataFrame:
    """Window features of scenario ``scenario_id`` of the dataset at ``url`` with identity and
    truth columns (:data:`OUTPUT_COLUMNS`). A picklable top-level function: the job every
    engine runs."""
    from firesight.datasets import open_dataset

    scenario = open_dataset(url).load(scenario_id)
    return label_scenario_features(scenario, compute_scenario_features(scenario, step_s=step_s, window_s=window_s))


def label_scenario_features(scenario, features: pd.DataFrame) -> pd.DataFrame:
    """Add the identity columns and the truth columns (from ``scenario.truth``) to ``features``."""
    table = features.copy()
    ignition = scenario.ignition_time_s
    ids = {"scenario_id": str(scenario.id), "family": str(scenario.family), "label": str(scenario.label),
           "is_fire": bool(scenario.is_fire),
           "ignition_time_s": float(ignition) if ignition is not None else math.nan}
    for position, (name, value) in enumerate(ids.items()):
        table.insert(position, name, value)
    state = truth_state_at(table, scenario.truth)
    table["truth_state"] = state.to_numpy()
    table["burning"] = (state.to_numpy() != 0).astype(np.int8)
    table["is_fire"] = table["is_fire"].astype(bool)
    columns = list(OUTPUT_COLUMNS)
    if "precursor" in scenario.truth.columns:  # datasets written since the precursor labels
        flags = scenario.truth.assign(state=scenario.truth["precursor"].astype(np.int8))
        table["precursor"] = truth_state_at(table, flags).to_numpy() != 0
        columns.append("precursor")
    return table[columns]


def resolve_output(out: str) -> str:
    """``out`` itself, or ``out/features.parquet`` when ``out`` ends with ``/`` or is a folder."""
    from firesight.datasets.objects import is_folder

    if out.endswith("/"):
        return out + FEATURES_FILE
    if is_folder(out):
        return posixpath.join(out, FEATURES_FILE)
    return out


def write_features(table: pd.DataFrame, out: str) -> str:
    """Write ``table`` as parquet at ``out`` (path or URL) atomically, through the object
    store of its folder (:func:`firesight.datasets.objects.write_object`); return its local
    path or URL."""
    from firesight.datasets.objects import write_object

    target = resolve_output(out)
    buffer = io.BytesIO()
    table.to_parquet(buffer, index=False, engine="pyarrow", compression="zstd")
    try:
        return write_object(target, buffer.getvalue())
    except OSError as exc:
        raise InvalidParameterError("out", "a writable path", out) from exc


def read_features(path: str) -> pd.DataFrame:
    """Read a features file written by :func:`compute_dataset_features` (path or URL);
    :class:`DataError` if it is unreadable or lacks the documented columns."""
    from firesight.datasets.objects import read_object

    try:
        raw = read_object(path)
    except NotFoundError as exc:
        raise DataError(f"{path}: no features file") from exc
    except OSError as exc:
        raise DataError(f"{path}: unreadable ({exc})") from exc
    try:
        table = pd.read_parquet(io.BytesIO(raw))
    except Exception as exc:  # pyarrow raises several types for corrupt files
        raise DataError(f"{path}: not a readable parquet file ({type(exc).__name__}: {exc})") from exc
    missing = [c for c in OUTPUT_COLUMNS if c not in table.columns]
    if missing:
        raise DataError(f"{path}: lacks feature columns {missing[:8]}{' ...' if len(missing) > 8 else ''}")
    return table


def _iter_local(job: Callable[[str], pd.DataFrame], ids: list[str], workers: int) -> Iterator[tuple[str, pd.DataFrame]]:
    from firesight.engines.local import LocalEngine

    yield from LocalEngine(workers=workers).map_unordered(functools.partial(_keyed, job), ids)


def _keyed(job: Callable[[str], pd.DataFrame], scenario_id: str) -> tuple[str, pd.DataFrame]:
    return scenario_id, job(scenario_id)


def _iter_spark(job: Callable[[str], pd.DataFrame], ids: list[str], master: str) -> Iterator[tuple[str, pd.DataFrame]]:
    from firesight.engines.spark import run_scenarios_spark

    yield from zip(ids, run_scenarios_spark(job, ids, master=master, app_name="firesight-features"))


def compute_dataset_features(url: str, out: str, *, engine: str = "local", workers: int = 1,
                             step_s: float = 1.0, window_s: float = 60.0, spark_master: str = "local[*]",
                             scenario_ids: Iterable[str] | None = None,
                             progress: Callable[[int, int, str], None] | None = None) -> dict:
    """Compute window features for every scenario of the dataset at ``url`` and write them to
    ``out`` (one parquet file, rows in manifest order, then by time).

    Parameters
    ----------
    url : str
        Dataset folder or URL (``s3://``, any fsspec URL).
    out : str
        Output parquet path or URL (``.../features.parquet`` inside it if a folder).
    engine : {"local", "spark"}
        Local process pool, or Spark (``spark_master``: ``local[*]`` or a cluster URL).
    workers : int
        Processes of the local engine [-].
    step_s, window_s : float
        Emission period and thermal window [s].
    scenario_ids : iterable of str, optional
        A subset of the manifest (default: all).
    progress : callable, optional
        Called as ``progress(done, total, scenario_id)`` once before the first scenario
        (``done`` 0, id empty) and after each finished one (the CLI draws its bar from it).

    Returns
    -------
    dict
        ``{"path", "scenarios", "windows", "frames", "seconds", "engine"}``.
    """
    from firesight.datasets import open_dataset

    require(engine in ENGINES, "engine", f"one of {ENGINES}", engine)
    require(isinstance(workers, int) and workers >= 1, "workers", "an integer >= 1", workers)
    dataset = open_dataset(url)
    ids = dataset.ids if scenario_ids is None else [str(x) for x in scenario_ids]
    unknown = sorted(set(ids) - set(dataset.ids))
    if unknown:
        raise InvalidParameterError("scenario_ids", f"ids in {url}/manifest.parquet", unknown[:5])
    require(len(ids) > 0, "data", "a dataset with at least one scenario", url)
    job = functools.partial(scenario_feature_table, dataset.url, step_s=step_s, window_s=window_s)
    started = time.perf_counter()
    stream = _iter_spark(job, ids, spark_master) if engine == "spark" else _iter_local(job, ids, workers)
    results: dict[str, pd.DataFrame] = {}
    if progress is not None:
        progress(0, len(ids), "")
    for scenario_id, table in stream:
        results[scenario_id] = table
        if progress is not None:
            progress(len(results), len(ids), scenario_id)
    table = pd.concat([results[i] for i in ids], ignore_index=True)
    from firesight.features.windows import features_stamp

    table.attrs[STAMP_KEY] = features_stamp(step_s=step_s, window_s=window_s)
    path = write_features(table, out)
    frames = int(dataset.manifest.set_index("id").loc[ids, "n_frames"].sum()) \
        if "n_frames" in dataset.manifest.columns else None
    return {"path": path, "engine": engine, "scenarios": len(ids), "windows": len(table), "frames": frames,
            "seconds": time.perf_counter() - started}

