"""Generate a dataset: scenario by scenario, atomic per scenario, resumable, and
byte-identical for the same seed and arguments whatever the number of workers.

How a run stays safe when interrupted (Ctrl-C, ``kill -9``, full disk):

1. each worker stages its scenario in a fresh folder (``scenarios/.tmp-{id}-{uuid}`` for
   a local destination, a local temporary folder for remote URLs);
2. only the parent commits: it renames (or uploads) the staged folder to
   ``scenarios/{id}``, then atomically replaces ``manifest.parquet`` with the new row
   added, then records the scenario in the catalog;
3. a rerun reads the manifest, deletes staging folders and any scenario folder that the
   manifest does not list, re-syncs the catalog, and generates only the missing ids.

Determinism: scenario ``i`` draws everything from ``SeedSequence([seed, i])`` and its
family from a per-cycle permutation seeded by ``SeedSequence([seed, cycle, 1])``.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

import firesight
from firesight.datasets import catalog, layout
from firesight.datasets.reader import parse_parquet, read_json_object
from firesight.datasets.writer import json_bytes, manifest_table, table_bytes, write_scenario_folder
from firesight.engines.local import LocalEngine
from firesight.errors import InvalidParameterError, require
from firesight.ports import MetadataStore, ObjectStore

#: highest frame rate [Hz]: the Lepton 3.5's effective (export) rate
MAX_FRAME_RATE_HZ = 8.7
MIN_DURATION_S = 30.0
MAX_DURATION_S = 7 * 86400.0


@dataclass(frozen=True)
class GenerateSettings:
    """Everything that decides a dataset's content (``count`` only extends it)."""

    seed: int
    duration_s: float | None  # None: each family's natural length
    frame_rate_hz: float
    families: tuple[str, ...]

    def as_json(self) -> dict:
        return {"format": layout.FORMAT, "seed": self.seed, "duration_s": self.duration_s,
                "frame_rate_hz": self.frame_rate_hz, "families": list(self.families)}


@dataclass(frozen=True)
class _Job:
    index: int
    scenario_id: str
    family: str
    settings: GenerateSettings
    staging_dir: str


def family_for_index(families: Sequence[str], seed: int, index: int) -> str:
    """The family of scenario ``index``: each cycle of ``len(families)`` scenarios visits
    every family once, in an order drawn from ``SeedSequence([seed, cycle, 1])``."""
    n = len(families)
    cycle, position = divmod(index, n)
    order = np.random.default_rng(np.random.SeedSequence([seed, cycle, 1])).permutation(n)
    return families[int(order[position])]


def scenario_id_for(index: int, family: str) -> str:
    """``s{index:05d}-{family}``: sorts by index, readable at a glance."""
    return f"s{index:05d}-{family}"


def validate_arguments(*, out: str, count: int, seed: int, duration_s: float | None, workers: int,
                       frame_rate_hz: float, families: Sequence[str] | None) -> tuple[str, ...]:
    """Check every argument before any work; return the canonical family tuple.

    Raises :class:`InvalidParameterError` naming the parameter, the expectation and the value.
    """
    from firesight.scenarios import FAMILIES

    require(isinstance(count, (int, np.integer)) and count >= 1, "count", "an integer >= 1", count)
    require(isinstance(seed, (int, np.integer)) and seed >= 0, "seed", "an integer >= 0", seed)
    require(isinstance(workers, (int, np.integer)) and workers >= 1, "workers", "an integer >= 1", workers)
    require(duration_s is None or (isinstance(duration_s, (int, float)) and math.isfinite(duration_s)
                                   and MIN_DURATION_S <= duration_s <= MAX_DURATION_S),
            "duration_s", f"a number of seconds in [{MIN_DURATION_S:g}, {MAX_DURATION_S:g}], or None (each "
            "family's natural length)", duration_s)
    require(isinstance(frame_rate_hz, (int, float)) and math.isfinite(frame_rate_hz)
            and 0 < frame_rate_hz <= MAX_FRAME_RATE_HZ,
            "frame_rate_hz", f"a rate in (0, {MAX_FRAME_RATE_HZ}] Hz", frame_rate_hz)
    require((isinstance(out, str) and out.strip() != "") or isinstance(out, ObjectStore), "out",
            "a folder path, fsspec URL or object store", out)
    if not families:
        return tuple(FAMILIES)
    unknown = [f for f in families if f not in FAMILIES]
    if unknown:
        raise InvalidParameterError("families", f"names from `firesight scenarios` ({', '.join(FAMILIES)})",
                                    ",".join(unknown))
    chosen = set(families)
    return tuple(f for f in FAMILIES if f in chosen)


def open_writable_store(out: str | ObjectStore) -> ObjectStore:
    """The object store ``out`` (or the one :func:`firesight.bootstrap.object_store` makes
    of a URL), after proving that it accepts a write."""
    try:
        if isinstance(out, ObjectStore):
            store = out
        else:
            from firesight import bootstrap

            store = bootstrap.object_store(out)
        probe = f".write-probe-{uuid.uuid4().hex}"
        store.put_bytes(probe, b"")
        store.delete(probe)
    except Exception as exc:  # permissions, unknown protocol, missing bucket, ...
        raise InvalidParameterError("out", "a writable folder or fsspec URL",
                                    f"{out} ({type(exc).__name__}: {exc})") from exc
    return store


def _run_job(job: _Job) -> dict:
    """Simulate one scenario and stage its files (runs in a worker process)."""
    from firesight.scenarios.simulate import simulate_scenario

    simulated = simulate_scenario(job.family, seed=job.settings.seed, index=job.index,
                                  duration_s=job.settings.duration_s,
                                  frame_rate_hz=job.settings.frame_rate_hz, scenario_id=job.scenario_id)
    sizes = write_scenario_folder(job.staging_dir, simulated)
    return {"id": job.scenario_id, "staging_dir": job.staging_dir, "row": simulated.manifest_row(),
            "sizes": sizes}


class _Committer:
    """The parent's side: commits staged scenarios to the store, manifest and catalog."""

    def __init__(self, store: ObjectStore, metadata: MetadataStore | None):
        self.store = store
        self.metadata = metadata
        self.rows: dict[str, dict] = {}

    def load_manifest(self) -> None:
        if self.store.exists(layout.MANIFEST):
            table = parse_parquet(self.store.get_bytes(layout.MANIFEST), self.store.fs_url(layout.MANIFEST))
            for row in table.to_dict("records"):
                self.rows[str(row["id"])] = row

    def clean_uncommitted(self) -> list[str]:
        """Delete staging folders and scenario folders the manifest does not list."""
        removed = []
        for name in self._scenario_folders():
            if name.startswith(layout.TMP_PREFIX) or name not in self.rows:
                self.store.delete(layout.scenario_key(name))
                removed.append(name)
        return removed

    def _scenario_folders(self) -> list[str]:
        return self.store.children(layout.SCENARIOS_DIR)

    def commit(self, result: dict) -> None:
        scenario_id, staging = result["id"], result["staging_dir"]
        self.store.put_folder(staging, layout.scenario_key(scenario_id))  # a local store renames it
        shutil.rmtree(staging, ignore_errors=True)
        self.rows[scenario_id] = result["row"]
        self.write_manifest()
        if self.metadata is not None:
            catalog.record_scenario(self.metadata, self.store.url, self.rows[scenario_id])

    def write_manifest(self) -> None:
        self.store.put_bytes(layout.MANIFEST, table_bytes(manifest_table(list(self.rows.values()))))


def _check_settings(store: ObjectStore, settings: GenerateSettings) -> None:
    """Refuse to extend a dataset made with other settings (its scenarios would not match)."""
    if not store.exists(layout.DATASET_JSON):
        store.put_bytes(layout.DATASET_JSON, json_bytes({**settings.as_json(),
                                                         "software_version": firesight.__version__}))
        return
    stored = read_json_object(store, layout.DATASET_JSON)
    wanted = settings.as_json()
    for name in ("seed", "duration_s", "frame_rate_hz", "families"):
        if stored.get(name) != wanted[name]:
            raise InvalidParameterError(
                name, f"{stored.get(name)!r} as in the existing dataset at {store.url} (or another --out)",
                wanted[name])


def generate_dataset(out: str | ObjectStore, *, count: int, seed: int, duration_s: float | None = 300.0,
                     families: Sequence[str] | None = None, workers: int = 1,
                     frame_rate_hz: float = MAX_FRAME_RATE_HZ, metadata: MetadataStore | None = None,
                     progress: Callable[[int, int, str], None] | None = None, engine: str = "local",
                     spark_master: str = "local[*]") -> dict:
    """Generate (or resume) ``count`` scenarios into the dataset at ``out``.

    Parameters
    ----------
    out : str or ObjectStore
        The dataset's object store, or its URL (a folder, ``s3://``, any fsspec URL).
    count : int
        Number of scenarios the dataset should hold [-]; ids already committed are kept.
    seed : int
        Dataset seed; scenario ``i`` uses ``SeedSequence([seed, i])``.
    duration_s : float or None
        Length of every scenario [s]; ``None``: each family's natural length
        (:attr:`firesight.scenarios.families.Family.natural_duration_s`: 300 s, the EN 54
        smouldering fires 900 s, cooking 600 s).
    families : sequence of str, optional
        Families to draw from (default: all, see ``firesight scenarios``).
    workers : int
        Worker processes [-].
    frame_rate_hz : float
        Lepton frame rate [Hz], at most 8.7.
    metadata : MetadataStore, optional
        Catalog to record the dataset and its scenarios in.
    engine : {"local", "spark"}
        ``local`` runs the scenarios in a process pool of ``workers``; ``spark`` runs the
        same jobs on Spark at ``spark_master`` (``local[*]`` by default). Scenarios are
        staged on the driver's disk, so a cluster master needs a shared filesystem.
    progress : callable, optional
        Called as ``progress(done, total, scenario_id)`` after each commit.

    Returns
    -------
    dict
        ``url``, ``count``, ``generated`` (ids made by this run), ``resumed`` (ids already
        there), ``cleaned`` (uncommitted folders removed), ``bytes_raw``/``bytes_stored``
        of the frames written by this run.
    """
    chosen = validate_arguments(out=out, count=count, seed=seed, duration_s=duration_s, workers=workers,
                                frame_rate_hz=frame_rate_hz, families=families)
    require(engine in ("local", "spark"), "engine", "'local' or 'spark'", engine)
    settings = GenerateSettings(seed=int(seed), duration_s=None if duration_s is None else float(duration_s),
                                frame_rate_hz=float(frame_rate_hz), families=chosen)
    store = open_writable_store(out)
    _check_settings(store, settings)
    committer = _Committer(store, metadata)
    committer.load_manifest()
    cleaned = committer.clean_uncommitted()
    if metadata is not None:
        catalog.record_dataset(metadata, {**settings.as_json(), "url": store.url, "status": "generating",
                                          "scenario_count": len(committer.rows)})
        catalog.sync_scenarios(metadata, store.url, committer.rows.values())
    wanted = [(i, family_for_index(chosen, settings.seed, i)) for i in range(int(count))]
    todo = [(i, f) for i, f in wanted if scenario_id_for(i, f) not in committer.rows]
    resumed = [scenario_id_for(i, f) for i, f in wanted if scenario_id_for(i, f) in committer.rows]
    local_root = store.local_path(layout.SCENARIOS_DIR)
    staging_root = local_root if local_root is not None else tempfile.mkdtemp(prefix="firesight-")
    os.makedirs(staging_root, exist_ok=True)
    jobs = [_Job(index=i, scenario_id=scenario_id_for(i, f), family=f, settings=settings,
                 staging_dir=os.path.join(staging_root, f"{layout.TMP_PREFIX}{scenario_id_for(i, f)}-"
                                                        f"{uuid.uuid4().hex[:12]}"))
            for i, f in todo]
    generated, raw, stored = [], 0, 0
    done = len(resumed)
    if progress is not None:
        progress(done, int(count), "")
    try:
        if engine == "spark":
            from firesight.engines.spark import run_scenarios_spark

            results = run_scenarios_spark(_run_job, jobs, master=spark_master, app_name="firesight-generate")
        else:
            results = LocalEngine(workers=int(workers)).map_unordered(_run_job, jobs)
        for result in results:
            committer.commit(result)
            generated.append(result["id"])
            raw += result["sizes"]["bytes_raw"]
            stored += result["sizes"]["bytes_stored"]
            done += 1
            if progress is not None:
                progress(done, int(count), result["id"])
    finally:
        if local_root is None:
            shutil.rmtree(staging_root, ignore_errors=True)
    if metadata is not None:
        catalog.record_dataset(metadata, {**settings.as_json(), "url": store.url, "status": "complete",
                                          "scenario_count": len(committer.rows)})
    return {"url": store.url, "count": len(committer.rows), "generated": sorted(generated),
            "resumed": resumed, "cleaned": cleaned, "bytes_raw": raw, "bytes_stored": stored}

