"""One dataset scenario end to end: draw its parameters from the catalog, build its
physics and scene, and attach the two device models.

``simulate_scenario(family, seed=..., index=...)`` draws the parameters
(:mod:`firesight.scenarios.families`), builds the scenario
(:func:`firesight.scenarios.build.build_scenario`) and attaches the Lepton and the SCD41
(:mod:`firesight.sensors`), ready for the dataset writer to stream frames chunk by chunk.
It sits above both the catalog and the build, so that neither imports the other's
caller (the catalog uses the build; the build knows no catalog).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

import firesight
from firesight.physics.lag import first_order_response
from firesight.physics.psychrometrics import (
    magnus_saturation_vapour_pressure_pa,
    relative_humidity_from_vapour_pressure,
)
from firesight.scenarios.build import BuiltScenario
from firesight.scenarios.families import get_family
from firesight.sensors.lepton import LeptonCamera, LeptonFaults
from firesight.sensors.scd41 import SCD41Faults, SCD41Sensor


@dataclass
class SimulatedScenario:
    """A built scenario with its two devices: SCD41 readings in memory, Lepton frames
    rendered on demand in chunks (:meth:`iter_frames`)."""

    scenario_id: str
    seed: int
    index: int
    built: BuiltScenario
    camera: object
    frame_times_s: np.ndarray
    scd41: pd.DataFrame

    @property
    def n_frames(self) -> int:
        return int(self.frame_times_s.size)

    @property
    def truth(self) -> pd.DataFrame:
        return self.built.truth

    def iter_frames(self, *, chunk_frames: int = 256) -> Iterator:
        """Lepton frames in chunks of ``chunk_frames`` (memory flat in the scenario length)."""
        from firesight.scenarios.render import iter_render_thermal

        yield from iter_render_thermal(self.built.scene, self.camera, self.frame_times_s, chunk_frames=chunk_frames)

    @property
    def meta(self) -> dict:
        """The ``scenario.json`` content (no timestamps: same seed, same bytes)."""
        b = self.built
        pose = b.camera_pose
        return {
            "id": self.scenario_id, "family": b.family, "label": b.label, "is_fire": b.label == "fire",
            "ignition_time_s": b.ignition_time_s, "seed": self.seed, "index": self.index,
            "seed_sequence": [self.seed, self.index], "duration_s": b.params["duration_s"],
            "frame_rate_hz": float(self.camera.frame_rate_hz), "n_frames": self.n_frames,
            "scene_step_s": b.scene_step_s, "physics_step_s": b.physics_step_s,
            "camera_pose": {"position_m": [float(v) for v in pose.position_m], "yaw_deg": pose.yaw_deg,
                            "tilt_deg": pose.tilt_deg, "roll_deg": pose.roll_deg},
            "sensor_position_m": [float(v) for v in b.sensor_xyz_m], "scd41_mode": b.params["scd41_mode"],
            "faults": b.params["faults"], "params": b.params, "software_version": firesight.__version__,
        }

    def manifest_row(self) -> dict:
        """This scenario's row of ``manifest.parquet``."""
        b, p = self.built, self.built.params
        primary = p["fire"] or next((s for s in p["sources"] if "view" in s), {})
        nan = float("nan")
        return {
            "id": self.scenario_id, "index": self.index, "family": b.family, "label": b.label,
            "is_fire": b.label == "fire", "seed": self.seed, "duration_s": float(p["duration_s"]),
            "frame_rate_hz": float(self.camera.frame_rate_hz), "n_frames": self.n_frames,
            "ignition_time_s": nan if b.ignition_time_s is None else b.ignition_time_s,
            "peak_hrr_kw": float(b.truth["hrr_kw"].max()), "room_volume_m3": float(p["room"]["volume_m3"]),
            "ceiling_height_m": float(p["room"]["height_m"]),
            "air_changes_per_hour": float(p["room"]["air_changes_per_hour"]),
            "ambient_temperature_c": float(p["room"]["ambient_temperature_c"]),
            "relative_humidity_rh": float(p["room"]["relative_humidity_rh"]),
            "source_view": str(primary.get("view", "")), "source_distance_m": float(primary.get("distance_m", nan)),
            "sensor_distance_m": float(p["sensor"]["distance_m"]),
            "params_json": json.dumps(p, sort_keys=True, allow_nan=False),
        }


def scd41_true_fields(built: BuiltScenario, history: dict) -> tuple[np.ndarray, ...]:
    """True fields at the SCD41 with the node's history before the scenario prepended.

    The node runs continuously, so its SCD41 has readings before the scenario's time
    origin: ``history["duration_s"]`` [s] of room air that reaches the scenario's initial
    state along linear trends (``co2_trend_ppm_per_min``, ``temperature_trend_c_per_min``;
    CO2 never below the outdoor level), at the physics step. Relative humidity keeps the
    initial absolute humidity. Without a history the scenario's own fields are returned.

    Returns
    -------
    time_s, co2_ppm, temperature_c, humidity_rh : ndarray
        Strictly increasing times [s] (negative during the history) and the true fields.
    """
    t, co2, temp, rh = _with_history(built, history)
    return node_enclosure(t, co2, temp, rh, built.params.get("sensor") or {})


def node_enclosure(time_s: np.ndarray, co2_ppm: np.ndarray, temperature_c: np.ndarray, humidity_rh: np.ndarray,
                   sensor: dict) -> tuple[np.ndarray, ...]:
    """The air inside the node's enclosure, which the SCD41 samples: the room air at the
    node lagged by the enclosure's air exchange (first order, ``enclosure_tau_s``) and
    warmed by the node's electronics (``self_heating_k``; the same vapour, so a lower
    relative humidity). Parameters absent (older scenario files): the room air itself.
    See :data:`firesight.scenarios.sampler.NODE_ENCLOSURE_TAU_S`."""
    tau = float(sensor.get("enclosure_tau_s") or 0.0)
    heating = float(sensor.get("self_heating_k") or 0.0)
    t = np.asarray(time_s, dtype=float)
    co2, temp, rh = (np.asarray(a, dtype=float) for a in (co2_ppm, temperature_c, humidity_rh))
    lagged = tau > 0.0 and t.size > 1
    if not lagged and heating <= 0.0:
        return t, co2, temp, np.clip(rh, 0.0, 100.0)
    # the enclosure exchanges and warms the room's vapour, not its relative humidity
    vapour_pa = rh / 100.0 * magnus_saturation_vapour_pressure_pa(temp)
    if lagged:
        co2, temp, vapour_pa = (first_order_response(t, a, tau) for a in (co2, temp, vapour_pa))
    if heating > 0.0:
        temp = temp + heating
    return t, co2, temp, relative_humidity_from_vapour_pressure(vapour_pa, temp)


def _with_history(built: BuiltScenario, history: dict) -> tuple[np.ndarray, ...]:
    t, co2, temp, rh = built.time_s, built.co2_ppm, built.temperature_c, built.humidity_rh
    length = float(history.get("duration_s") or 0.0)
    if length <= 0.0:
        return t, co2, temp, rh
    step = float(built.physics_step_s)
    th = -np.arange(int(math.floor(length / step + 1e-9)), 0, -1, dtype=np.float64) * step
    outdoor = float(built.params["room"]["outdoor_co2_ppm"])
    co2_h = np.maximum(co2[0] + float(history.get("co2_trend_ppm_per_min", 0.0)) * th / 60.0,
                       min(outdoor, co2[0]))
    temp_h = temp[0] + float(history.get("temperature_trend_c_per_min", 0.0)) * th / 60.0
    vapour_pa = rh[0] / 100.0 * magnus_saturation_vapour_pressure_pa(temp[0])
    rh_h = relative_humidity_from_vapour_pressure(vapour_pa, temp_h)
    return (np.concatenate([th, t]), np.concatenate([co2_h, co2]), np.concatenate([temp_h, temp]),
            np.concatenate([rh_h, rh]))


def seed_sequences(seed: int, index: int) -> list[np.random.SeedSequence]:
    """The four independent streams of scenario ``index``: parameters, build, Lepton, SCD41."""
    return np.random.SeedSequence([int(seed), int(index)]).spawn(4)


def simulate_scenario(family: str, *, seed: int, index: int, duration_s: float | None,
                      frame_rate_hz: float = 8.7, scenario_id: str | None = None) -> SimulatedScenario:
    """Draw, build and attach devices to scenario ``index`` of a dataset seeded ``seed``,
    ``duration_s`` long (``None``: the family's :attr:`~Family.natural_duration_s`).

    Everything random descends from ``SeedSequence([seed, index])``, so the result does
    not depend on which process runs it or in which order.
    """
    fam = get_family(family)
    s_params, s_build, s_lepton, s_scd41 = seed_sequences(seed, index)
    params = fam.sample(np.random.default_rng(s_params), fam.natural_duration_s if duration_s is None else duration_s)
    params = json.loads(json.dumps(params))  # exactly what scenario.json will hold
    built = fam.build(params, np.random.default_rng(s_build), frame_rate_hz=frame_rate_hz)
    faults = params["faults"]
    camera = LeptonCamera(pose=built.camera_pose, rng=np.random.default_rng(s_lepton), frame_rate_hz=frame_rate_hz,
                          faults=LeptonFaults(**faults["lepton"]) if faults["lepton"] else None)
    history = params.get("scd41_history") or {}
    site = params.get("site") or {}  # absent in scenario files written before sites
    sensor = SCD41Sensor(rng=np.random.default_rng(s_scd41), mode=params["scd41_mode"],
                         faults=SCD41Faults(**faults["scd41"]) if faults["scd41"] else None,
                         asc_steps=[tuple(step) for step in history.get("asc_steps", ())],
                         sensor_altitude_m=float(site.get("scd41_altitude_setting_m", 0.0)),
                         # power-on warm-up: only when the scenario says when [s, scenario clock]
                         power_on_s=history.get("power_on_s"))
    readings = sensor.measure(*scd41_true_fields(built, history), pressure_pa=site.get("pressure_pa")).to_frame()
    n_frames = int(math.floor(float(params["duration_s"]) * frame_rate_hz + 1e-9))
    frame_times = np.arange(n_frames, dtype=np.float64) / float(frame_rate_hz)
    return SimulatedScenario(scenario_id=scenario_id or f"s{index:05d}-{family}", seed=int(seed), index=int(index),
                             built=built, camera=camera, frame_times_s=frame_times, scd41=readings)


__all__ = ["SimulatedScenario", "node_enclosure", "scd41_true_fields", "seed_sequences", "simulate_scenario"]
