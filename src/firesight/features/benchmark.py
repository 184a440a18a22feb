"""Feature throughput benchmark (``firesight bench features``, ``benchmarks/bench_features.py``).

Figures, all measured on this machine in one process unless stated:

- ``thermal_frames_per_s_per_core``: Lepton frames through the per-frame stage
  (:func:`lepton_frame_features`) per second of one core;
- ``thermal_windows_per_s`` / ``scd41_windows_per_s``: window vectors per second of the
  window stage;
- ``scd41_readings_per_s``: SCD41 readings turned into gas feature vectors per second (one
  vector per reading);
- ``scenario_frames_per_s``: end-to-end :func:`compute_scenario_features` on one recording;
- ``engines``: the same dataset in the calling process (``local_inline``), through the local
  engine (``workers`` processes, including their start-up) and Spark local mode
  (``local[workers]``), wall time with and without Spark's JVM start-up, and whether
  Spark and the local engine wrote identical tables.

The recordings are synthesised here (a 20 C room with sensor-like noise and a growing,
flickering hot spot; SCD41 readings every 5 s) so the benchmark runs without a generator;
the engine comparison uses ``firesight generate`` data when the scenario generator is
installed, or a dataset passed with ``--data``.
"""

from __future__ import annotations

import os
import platform
import tempfile
import time

import numpy as np
import pandas as pd

from firesight.features.gas import scd41_reading_table, scd41_window_features
from firesight.features.thermal import lepton_frame_features, thermal_window_features
from firesight.features.windows import FEATURE_NAMES, compute_scenario_features, emission_times
from firesight.units import ZERO_CELSIUS_K

FRAME_RATE_HZ = 8.7


def synthetic_recording(duration_s: float, *, seed: int = 0, ignition_time_s: float | None = None,
                        scd41_period_s: float = 5.0) -> dict:
    """A synthetic Lepton + SCD41 recording (benchmark input, not training data).

    Returns ``{"frames" (n, 120, 160) uint16, "time_s", "resolution_k", "ffc_state", "valid",
    "scd41" DataFrame}``; from ``ignition_time_s`` (default: a third in) a disc grows
    0.15 px/s and heats 8 C/s while flickering at 2 Hz; an FFC freezes 0.9 s every 180 s.
    """
    rng = np.random.default_rng(seed)
    ignition = duration_s / 3 if ignition_time_s is None else ignition_time_s
    n = int(duration_s * FRAME_RATE_HZ)
    time_s = np.arange(n) / FRAME_RATE_HZ
    temp_c = 20.0 + rng.normal(0.0, 0.05, (n, 120, 160)).astype(np.float32)
    yy, xx = np.mgrid[0:120, 0:160]
    dist2 = ((yy - 60) ** 2 + (xx - 80) ** 2).astype(np.float32)
    age = np.clip(time_s - ignition, 0, None)
    burning = time_s >= ignition
    radius2 = ((1.0 + 0.15 * age) ** 2).astype(np.float32)
    peak = (60.0 + 8.0 * age + 15.0 * np.sin(2 * np.pi * 2.0 * time_s)).astype(np.float32)
    inside = burning[:, None, None] & (dist2[None] <= radius2[:, None, None])
    temp_c = np.where(inside, peak[:, None, None], temp_c)
    resolution = np.where(temp_c.reshape(n, -1).max(axis=1) > 140.0, 0.1, 0.01).astype(np.float32)
    frames = np.clip(np.round((temp_c + ZERO_CELSIUS_K) / resolution[:, None, None]), 0, 65535).astype(np.uint16)
    phase = time_s % 180.0
    ffc = np.where((time_s >= 180.0) & (phase < 0.9), 2, np.where(phase >= 178.0, 1, 0)).astype(np.uint8)
    t_scd = np.arange(0.0, duration_s, scd41_period_s)
    after = np.clip(t_scd - ignition, 0, None)
    scd41 = pd.DataFrame({"time_s": t_scd,
                          "co2_ppm": np.round(430 + 3.0 * after + rng.normal(0, 2, t_scd.size)),
                          "temperature_c": np.round(21 + 0.05 * after, 2),
                          "humidity_rh": 45 - 0.01 * after, "status": np.zeros(t_scd.size, np.uint8)})
    return {"frames": frames, "time_s": time_s, "resolution_k": resolution, "ffc_state": ffc,
            "valid": np.ones(n, bool), "scd41": scd41, "ignition_time_s": ignition}


def _best_of(repeats: int, fn) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def bench_feature_stages(*, frames: int = 2000, duration_s: float = 120.0, repeats: int = 3) -> dict:
    """Throughput of the per-frame, window and SCD41 stages on a synthetic recording."""
    rec = synthetic_recording(max(duration_s, frames / FRAME_RATE_HZ))
    keep = rec["ffc_state"] != 2
    batch = rec["frames"][keep][:frames]
    times, res = rec["time_s"][keep][:frames], rec["resolution_k"][keep][:frames].astype(np.float64)
    lepton_frame_features(batch[:2], times[:2], res[:2])  # compile (cached after the first run)
    frame_seconds = _best_of(repeats, lambda: lepton_frame_features(batch, times, res))
    table = lepton_frame_features(batch, times, res)
    window_times = emission_times(times[0], times[-1], 1.0)
    thermal_seconds = _best_of(repeats, lambda: [thermal_window_features(table, t, window_s=60.0)
                                                 for t in window_times])
    scd = rec["scd41"]
    readings = scd41_reading_table(scd.time_s, scd.co2_ppm, scd.temperature_c, scd.humidity_rh)
    gas_seconds = _best_of(repeats, lambda: [scd41_window_features(readings, t) for t in window_times])
    per_reading = _best_of(repeats, lambda: [scd41_window_features(
        scd41_reading_table(scd.time_s, scd.co2_ppm, scd.temperature_c, scd.humidity_rh), t)
        for t in readings[:, 0]])
    from firesight.datasets.reader import LazyFrames, ScenarioData
    from firesight.sensors.frames import LeptonFrames

    n = int(duration_s * FRAME_RATE_HZ)
    thermal = LeptonFrames(frames=LazyFrames(rec["frames"][:n], "synthetic"), time_s=rec["time_s"][:n],
                           gain=np.zeros(n, np.uint8), resolution_k=rec["resolution_k"][:n],
                           ffc_state=rec["ffc_state"][:n], frame_counter=np.arange(n, dtype=np.uint32),
                           valid=rec["valid"][:n])
    scenario = ScenarioData(id="bench", family="synthetic", label="fire", is_fire=True,
                            ignition_time_s=rec["ignition_time_s"], meta={}, thermal=thermal,
                            scd41=scd[scd.time_s < duration_s], truth=pd.DataFrame())
    scenario_seconds = _best_of(repeats, lambda: compute_scenario_features(scenario))
    windows = int(duration_s)
    return {
        "thermal_frames_per_s_per_core": len(batch) / frame_seconds,
        "thermal_frame_us": 1e6 * frame_seconds / len(batch),
        "thermal_windows_per_s": len(window_times) / thermal_seconds,
        "scd41_windows_per_s": len(window_times) / gas_seconds,
        "scd41_readings_per_s": len(readings) / per_reading,
        "scenario_frames_per_s": n / scenario_seconds,
        "scenario_windows_per_s": windows / scenario_seconds,
        "scenario_realtime_factor": duration_s / scenario_seconds,
        "frames_timed": len(batch),
        "features": len(FEATURE_NAMES),
    }


def _benchmark_dataset(root: str, scenarios: int, duration_s: float) -> str:
    """A dataset from ``firesight generate`` (seed 7, all families) in ``root``."""
    from firesight.datasets import generate_dataset

    generate_dataset(root, count=scenarios, seed=7, duration_s=duration_s, workers=1)
    return root


def bench_engines(data: str, *, workers: int = 2, spark: bool = True) -> dict:
    """Local engine vs Spark local mode on the dataset ``data``; wall times [s]."""
    from firesight.datasets import open_dataset
    from firesight.features.dataset import compute_dataset_features, read_features

    dataset = open_dataset(data)
    frames = int(dataset.manifest["n_frames"].sum()) if "n_frames" in dataset.manifest.columns else None
    result: dict = {"dataset": data, "scenarios": len(dataset), "frames": frames, "workers": workers}
    with tempfile.TemporaryDirectory() as scratch:
        inline = compute_dataset_features(data, os.path.join(scratch, "inline.parquet"), engine="local", workers=1)
        result["local_inline"] = {"seconds": inline["seconds"], "windows": inline["windows"],
                                  "scenarios_per_s": inline["scenarios"] / inline["seconds"],
                                  "frames_per_s": frames / inline["seconds"] if frames else None}
        local_out = os.path.join(scratch, "local.parquet")
        local = compute_dataset_features(data, local_out, engine="local", workers=workers)
        result["local"] = {"seconds": local["seconds"], "windows": local["windows"],
                           "scenarios_per_s": local["scenarios"] / local["seconds"],
                           "frames_per_s": frames / local["seconds"] if frames else None}
        if spark:
            from firesight.engines.spark import spark_session

            started = time.perf_counter()
            session = spark_session(f"local[{workers}]", app_name="firesight-bench")
            startup = time.perf_counter() - started
            try:
                spark_out = os.path.join(scratch, "spark.parquet")
                run = compute_dataset_features(data, spark_out, engine="spark", spark_master=f"local[{workers}]")
            finally:
                session.stop()
            result["spark"] = {"startup_seconds": startup, "seconds": run["seconds"],
                               "seconds_with_startup": run["seconds"] + startup,
                               "scenarios_per_s": run["scenarios"] / run["seconds"],
                               "frames_per_s": frames / run["seconds"] if frames else None}
            result["spark_vs_local_speed"] = local["seconds"] / run["seconds"]
            result["identical_tables"] = bool(read_features(local_out).equals(read_features(spark_out)))
    return result


def run_feature_benchmark(*, frames: int = 2000, duration_s: float = 120.0, scenarios: int = 4,
                          workers: int = 2, data: str | None = None, spark: bool = True) -> dict:
    """All feature figures as one JSON-ready dict."""
    result = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                          "processor": platform.processor() or platform.machine()},
              "stages": bench_feature_stages(frames=frames, duration_s=duration_s)}
    if data is not None:
        result["engines"] = bench_engines(data, workers=workers, spark=spark)
        return result
    with tempfile.TemporaryDirectory() as scratch:
        root = _benchmark_dataset(os.path.join(scratch, "data"), scenarios, duration_s)
        result["engines"] = bench_engines(root, workers=workers, spark=spark)
    return result
