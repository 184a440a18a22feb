"""Commands of the sensors area: ``firesight bench generate`` — how fast the Lepton 3.5
and SCD41 device models produce data on one CPU core, at full fidelity — and
``firesight scd41-days`` — one SCD41 over days of a room, with its ASC corrections."""

from __future__ import annotations

import json
import os
import resource
import time

import numpy as np
import typer

from firesight.errors import require

#: The benchmark scene, described in the JSON it prints.
BENCH_SCENE = {
    "name": "growing flaming fire with smoke layer and a person, camera under the ceiling",
    "room_m": [6.0, 8.0, 3.0],
    "camera": {"position_m": [3.0, 0.1, 2.8], "yaw_deg": 90.0, "tilt_deg": 20.0},
    "scene_time_step_s": 0.25,
    "frame_rate_hz": 8.7,
    "objects": [
        "flame: vertical ellipse at 6 m, grows t-squared to 0.45 x 0.65 m and ~1100 K over 300 s, "
        "height puffing +-30 % at 2 Hz, emissivity 0.3 -> 0.6 (partly transparent)",
        "person: 0.5 x 1.8 m at 305 K, emissivity 0.98",
    ],
    "smoke": "upper layer deepening to 1.0 m, up to 353 K, emissivity up to 0.55",
    "fidelity": "room projection, Planck 8-14 um radiance mixing with supersampled coverage, "
                "Gaussian PSF with wide wings (size-of-source effect), row/column/pixel temporal "
                "noise through the camera's frame filter, row/column/pixel fixed-pattern noise, "
                "per-device offset, focal-plane drift, auto gain, TLinear quantisation, FFC "
                "schedule with frozen frames",
}


def benchmark_scene(duration_s: float, scene_time_step_s: float | None = None):
    """The scene of :data:`BENCH_SCENE` over ``duration_s`` [s] and its camera pose."""
    from firesight.scenarios.scene import CameraPose, SmokeLayer, ThermalObject, ThermalScene

    step = BENCH_SCENE["scene_time_step_s"] if scene_time_step_s is None else scene_time_step_s
    t = np.arange(0.0, duration_s + 1.0, step)
    growth = np.minimum((t / 300.0) ** 2, 1.0)
    puff = 1.0 + 0.3 * np.sin(2.0 * np.pi * 2.0 * t)
    scene = ThermalScene(
        time_s=t, width_m=6.0, depth_m=8.0, height_m=3.0,
        surface_temperature_k=293.15 + 3.0 * growth,
        objects=[
            ThermalObject("flame", np.array([3.0, 6.1, 0.3]), 0.05 + 0.4 * growth, (0.05 + 0.6 * growth) * puff,
                          293.15 + 800.0 * np.sqrt(growth), emissivity=0.3 + 0.3 * growth),
            ThermalObject("person", np.array([1.5, 4.0, 0.9]), 0.5, 1.8, 305.0, emissivity=0.98),
        ],
        smoke=SmokeLayer(depth_m=0.01 + growth, temperature_k=293.15 + 60.0 * growth,
                         emissivity=0.05 + 0.5 * growth),
    )
    cam = BENCH_SCENE["camera"]
    pose = CameraPose(np.array(cam["position_m"]), cam["yaw_deg"], cam["tilt_deg"])
    return scene, pose


def _lepton_rates(duration_s: float, step_s: float, repeats: int, chunk_frames: int,
                  rng) -> tuple[list[float], list[float]]:
    """Frames per wall-clock second and per CPU second of this (single-threaded) process."""
    from firesight.scenarios.render import iter_render_thermal
    from firesight.sensors.lepton import LeptonCamera

    scene, pose = benchmark_scene(duration_s, step_s)
    frame_t = np.arange(int(duration_s * 8.7)) / 8.7
    for _ in iter_render_thermal(scene, LeptonCamera(pose=pose, rng=rng), frame_t[:200]):
        pass  # warm-up: numba compilation / cache load
    wall, cpu = [], []
    for _ in range(repeats):
        camera = LeptonCamera(pose=pose, rng=rng)
        t0, c0 = time.perf_counter(), time.process_time()
        n = 0
        for chunk in iter_render_thermal(scene, camera, frame_t, chunk_frames=chunk_frames):
            n += len(chunk)
        wall.append(n / (time.perf_counter() - t0))
        cpu.append(n / (time.process_time() - c0))
    return wall, cpu


def run_generate_benchmark(*, duration_s: float = 600.0, repeats: int = 3, chunk_frames: int = 256,
                           scd41_devices: int = 200, seed: int = 0) -> dict:
    """Time Lepton frame rendering and SCD41 readings on the current core.

    Returns the figures as a dict (frames per second per core, best and median of
    ``repeats`` runs after a warm-up that compiles the numba kernels).
    """
    from firesight.sensors.scd41 import SCD41Sensor

    require(duration_s > 0, "duration_s", "> 0 [s]", duration_s)
    require(repeats >= 1, "repeats", ">= 1", repeats)
    rng = np.random.default_rng(seed)
    wall, cpu = _lepton_rates(duration_s, BENCH_SCENE["scene_time_step_s"], repeats, chunk_frames, rng)
    wall_1s, cpu_1s = _lepton_rates(duration_s, 1.0, repeats, chunk_frames, rng)
    # SCD41: one hour on a 1 s grid per device
    t = np.arange(0.0, 3600.0)
    co2 = 420.0 + 1600.0 * np.clip((t - 600.0) / 1800.0, 0.0, 1.0)
    temp = 21.0 + 8.0 * np.clip((t - 600.0) / 1800.0, 0.0, 1.0)
    rh = 45.0 - 10.0 * np.clip((t - 600.0) / 1800.0, 0.0, 1.0)
    SCD41Sensor(rng=rng).measure(t, co2, temp, rh)  # warm-up
    n_read = 0
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(scd41_devices):
        n_read += len(SCD41Sensor(rng=rng).measure(t, co2, temp, rh))
    scd_wall = n_read / (time.perf_counter() - t0)
    scd_cpu = n_read / (time.process_time() - c0)
    return {
        "benchmark": "generate",
        "lepton_frames_per_s_per_core": round(float(np.median(cpu)), 1),
        "lepton_frames_per_s_per_core_best": round(max(cpu), 1),
        "lepton_frames_per_s_wall": round(float(np.median(wall)), 1),
        "lepton_frames_per_s_per_core_scene_step_1s": round(float(np.median(cpu_1s)), 1),
        "lepton_frames_per_s_wall_scene_step_1s": round(float(np.median(wall_1s)), 1),
        "lepton_frames_per_run": int(duration_s * 8.7),
        "repeats": repeats,
        "chunk_frames": chunk_frames,
        "scd41_readings_per_s_per_core": round(scd_cpu, 1),
        "scd41_readings_per_s_wall": round(scd_wall, 1),
        "per_core_means": "frames per CPU second of this single-threaded, core-pinned process "
                          "(median of the repeats); *_wall: per elapsed second, lower on a busy machine",
        "scd41_devices": scd41_devices,
        "scd41_scenario": "1 h on a 1 s grid, periodic mode (720 readings per device)",
        "target_frames_per_s_per_core": 20000,
        "scene": {**BENCH_SCENE, "duration_s": duration_s},
        "cpu_affinity": sorted(os.sched_getaffinity(0)),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1),
    }


def pin_to_one_core(cpu: int | None = None) -> int:
    """Restrict this process to one CPU core (the first allowed one by default)."""
    allowed = sorted(os.sched_getaffinity(0))
    core = allowed[0] if cpu is None else int(cpu)
    require(core in allowed, "cpu", f"one of the allowed cores {allowed}", cpu)
    os.sched_setaffinity(0, {core})
    return core


def bench_generate(
    duration_s: float = typer.Option(600.0, "--duration-s", help="Length of the benchmark scene in seconds (default 600)."),
    repeats: int = typer.Option(3, "--repeats", help="Timed runs; the best and the median are reported (default 3)."),
    chunk_frames: int = typer.Option(256, "--chunk-frames", help="Frames per streamed chunk [-] (default 256)."),
    scd41_devices: int = typer.Option(200, "--scd41-devices", help="SCD41 devices, one hour each (default 200)."),
    cpu: int = typer.Option(None, "--cpu", help="CPU core to pin to (default: the first allowed core)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the device draws (default 0)."),
) -> None:
    """Lepton frames per second per core at full fidelity, and SCD41 readings per second
    (prints JSON)."""
    core = pin_to_one_core(cpu)
    result = run_generate_benchmark(duration_s=duration_s, repeats=repeats, chunk_frames=chunk_frames,
                                    scd41_devices=scd41_devices, seed=seed)
    result["cpu"] = core
    typer.echo(json.dumps(result, indent=2))


def scd41_days(
    days: float = typer.Option(10.0, "--days", help="Days to simulate (default 10)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the room, weather and device draws (default 0)."),
    step_s: float = typer.Option(60.0, "--step-s", help="Time step of the room simulation in seconds (default 60)."),
    outdoor_co2_ppm: float = typer.Option(420.0, "--outdoor-co2-ppm", help="Outdoor CO2 [ppm] (default 420)."),
    no_asc: bool = typer.Option(False, "--no-asc", help="Disable automatic self-calibration."),
    out: str = typer.Option(None, "--out", help="Write the readings to this CSV file."),
) -> None:
    """One SCD41 over days in an ordinary room (weekly occupancy, ventilation, weather
    pressure) with its ASC corrections; prints a JSON summary."""
    from firesight.scenarios.scd41_days import simulate_scd41_days

    result = simulate_scd41_days(days, seed=seed, step_s=step_s, outdoor_co2_ppm=outdoor_co2_ppm,
                                 asc_enabled=not no_asc)
    summary = result.summary()
    if out:
        result.readings.to_frame().to_csv(out, index=False)
        summary["out"] = out
    typer.echo(json.dumps(summary, indent=2))


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    """Add ``firesight bench generate`` and ``firesight scd41-days``."""
    bench_app.command("generate")(bench_generate)
    app.command("scd41-days")(scd41_days)
