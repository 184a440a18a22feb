"""From scenario parameters to physics, a thermal scene, true sensor fields and ground
truth.

``build_scenario(params, rng)`` runs the physics (fire history, room zone model at the
SCD41's position) and assembles the :class:`~firesight.scenarios.scene.ThermalScene`.
The catalog (:mod:`firesight.scenarios.families`) builds its scenarios with it;
:mod:`firesight.scenarios.simulate` adds the two device models on top. This module
imports neither.

Labels come only from the simulated truth: ``state`` (0 none, 1 smouldering, 2
flaming) per time step, and ``ignition_time_s``, the first time ``state`` leaves 0.
``precursor`` marks the steps where a fire's fuel or apparatus is being heated towards
ignition while ``state`` is still 0 (:func:`firesight.scenarios.fires.precursor_flags`).

References
----------
.. [1] W. H. Dalzell, A. F. Sarofim, "Optical constants of soot and their application to
   heat-flux calculations", J. Heat Transfer 91 (1969) 100-104: soot absorption in the
   small-particle limit scales as 1/wavelength, so extinction at 10 um is about
   0.633/10 of that at the 633 nm used for smoke obscuration.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from firesight.physics.fuels import FUEL_PROPERTIES
from firesight.physics.room import Room, RoomSources, Thermostat, simulate_room
from firesight.scenarios.fires import fire_objects, precursor_flags
from firesight.scenarios.fires_home import fire_apparatus, fire_history
from firesight.scenarios.profiles import first_order
from firesight.scenarios.scene import CameraPose, SmokeLayer, ThermalObject, ThermalScene
from firesight.scenarios.sources import Contribution, SourceContext, model_source
from firesight.units import ZERO_CELSIUS_K as K0

#: LWIR (10 um) to visible (633 nm) soot extinction ratio (Dalzell & Sarofim [1]).
SOOT_LWIR_TO_VISIBLE_EXTINCTION = 0.633 / 10.0
#: Lag of the walls' surface temperature behind the lower-layer air [s] (a thin gypsum
#: skin: rho c delta / h = 800 * 1090 * 0.01 / 10 ~ 900 s; model assumption).
WALL_TIME_CONSTANT_S = 900.0
#: Source kinds whose flames flicker at a few hertz and so need a finer scene grid (the
#: flambé and a stove's flames when its door opens: :mod:`firesight.scenarios.sources_home`).
FLAME_KINDS = ("gas_stove", "candles", "wok_flambe", "fireplace_stove")


@dataclass
class BuiltScenario:
    """Physics, scene and truth of one scenario (before the device models)."""

    params: dict
    family: str
    label: str
    scene: ThermalScene
    camera_pose: CameraPose
    sensor_xyz_m: np.ndarray
    #: physics time grid [s] and the true fields at the SCD41 on it
    time_s: np.ndarray
    co2_ppm: np.ndarray
    temperature_c: np.ndarray
    humidity_rh: np.ndarray
    truth: pd.DataFrame
    ignition_time_s: float | None
    scene_step_s: float
    physics_step_s: float


#: Scene step of flame scenarios when the camera's frame rate is not given [s]: twice the
#: 4.7 Hz puffing of a 0.1 m flame (Cetegen & Ahmed, :mod:`firesight.scenarios.profiles`).
FLAME_SCENE_STEP_S = 0.1


def time_steps_s(params: dict, frame_rate_hz: float | None = None) -> tuple[float, float]:
    """(scene step, physics step) [s]. Scenes with flames are sampled at the camera's frame
    period (``1 / frame_rate_hz``; :data:`FLAME_SCENE_STEP_S` when not given), so the flame
    geometry is computed for every frame and its puffing (2.7-4.7 Hz for 0.1-0.3 m flames)
    reaches the frames as the camera would see it, aliased by its frame rate, instead of
    being interpolated between coarse samples; 1 s otherwise. 1 s physics steps; both
    coarser for multi-hour scenarios."""
    duration = params["duration_s"]
    flames = params.get("fire") is not None or any(s["kind"] in FLAME_KINDS for s in params["sources"])
    if duration <= 3600.0:
        flame_step = 1.0 / float(frame_rate_hz) if frame_rate_hz else FLAME_SCENE_STEP_S
        return (flame_step if flames else 1.0), 1.0
    if duration <= 6 * 3600.0:
        return 1.0, 1.0
    return 5.0, 5.0


def _grid(duration_s: float, step_s: float) -> np.ndarray:
    t = np.arange(0.0, duration_s + 1e-9, step_s)
    if t[-1] < duration_s - 1e-9:
        t = np.append(t, duration_s)
    return t


def _on_grid(value, source_t: np.ndarray, target_t: np.ndarray) -> np.ndarray:
    a = np.asarray(value, dtype=float)
    if a.ndim == 0:
        return np.full(target_t.size, float(a))
    return np.interp(target_t, source_t, a)


def _sum_contributions(parts: list[Contribution], ts: np.ndarray, tp: np.ndarray, scale: float) -> dict:
    """Sum the sources' room inputs on the physics grid; gas release and air changes are
    multiplied by the time compression ``scale`` (a day squeezed into minutes keeps its
    CO2 shape: the gas balance is linear, so scaling every rate is a change of time)."""
    total = {name: np.zeros(tp.size) for name in ("heat_kw", "co2_g_s", "h2o_g_s", "soot_g_s",
                                                   "extra_air_changes_per_hour", "flame_kw")}
    for part in parts:
        for name in ("co2_g_s", "h2o_g_s", "soot_g_s", "extra_air_changes_per_hour"):
            total[name] += _on_grid(getattr(part, name), ts, tp) * scale
        # heat is not time-compressed: the walls that absorb it in a real day are not
        total["heat_kw"] += _on_grid(part.heat_kw, ts, tp)
        if part.plume_hrr_kw is not None:
            total["flame_kw"] += _on_grid(part.plume_hrr_kw, ts, tp)
    return total


def build_scenario(params: dict, rng: np.random.Generator, *, frame_rate_hz: float | None = None) -> BuiltScenario:
    """Run the physics of ``params`` and assemble the thermal scene and ground truth.

    Parameters
    ----------
    params : dict
        Parameters drawn by a family's ``sample`` (JSON round-trip safe).
    rng : numpy.random.Generator
        Draws flame flicker and other fine-grained randomness of the build.
    frame_rate_hz : float, optional
        The camera's frame rate: flame scenes are sampled at its frame times.

    Returns
    -------
    BuiltScenario
    """
    duration = float(params["duration_s"])
    scene_step, physics_step = time_steps_s(params, frame_rate_hz)
    ts, tp = _grid(duration, scene_step), _grid(duration, physics_step)
    rd = params["room"]
    ambient_c = rd["ambient_temperature_c"]
    scale = float(params.get("time_compression") or 1.0)
    ctx = SourceContext(room=rd, camera=params["camera"], duration_s=duration, rng=rng)
    parts = [model_source(spec, ts, ctx) for spec in params["sources"]]
    fire = params.get("fire")
    if fire is not None:
        fine = fire_history(fire, ts)
        coarse = fire_history(fire, tp)
        apparatus = fire_apparatus(fire, fine, ambient_c)  # hob and pan, battery pack, ...
        if apparatus is not None:
            parts.append(apparatus)
    totals = _sum_contributions(parts, ts, tp, scale)

    objects: list[ThermalObject] = [obj for part in parts for obj in part.objects]
    state = np.zeros(tp.size, dtype=np.int8)
    hrr = np.zeros(tp.size)
    flame_height = np.zeros(tp.size)
    plume_hrr = totals["flame_kw"]
    heat = totals["heat_kw"]
    plume = {"x_m": rd["width_m"] / 2, "y_m": rd["depth_m"] / 2, "z_m": 0.0, "diameter_m": 0.3,
             "radiative_fraction": 0.3}
    flame_parts = [p for p in parts if p.plume_hrr_kw is not None]
    if flame_parts:
        plume = flame_parts[0].plume
    co2, h2o, soot = totals["co2_g_s"], totals["h2o_g_s"], totals["soot_g_s"]
    if fire is not None:
        fire_objs, fine_height = fire_objects(fire, fine, ambient_c, rng)
        objects.extend(fire_objs)
        state, hrr = coarse.state.astype(np.int8), coarse.hrr_kw
        flame_height = np.interp(tp, ts, fine_height)
        heat = heat + plume_hrr  # a stove next to a fire heats the room without its own plume
        plume_hrr = hrr
        co2, h2o, soot = co2 + coarse.co2_g_s, h2o + coarse.h2o_g_s, soot + coarse.soot_g_s
        plume = {"x_m": fire["x_m"], "y_m": fire["y_m"], "z_m": fire["z_m"], "diameter_m": fire["diameter_m"],
                 "radiative_fraction": FUEL_PROPERTIES[fire["fuel"]].radiative_fraction}
    room = Room(width_m=rd["width_m"], depth_m=rd["depth_m"], height_m=rd["height_m"],
                air_changes_per_hour=rd["air_changes_per_hour"] * scale, outdoor_co2_ppm=rd["outdoor_co2_ppm"],
                ambient_temperature_c=ambient_c, relative_humidity_rh=rd["relative_humidity_rh"],
                initial_co2_ppm=rd.get("initial_co2_ppm"))
    sources = RoomSources(plume_hrr_kw=plume_hrr, plume_xy_m=np.array([plume["x_m"], plume["y_m"]]),
                          plume_radiative_fraction=plume["radiative_fraction"], distributed_heat_kw=heat,
                          co2_g_s=co2, h2o_g_s=h2o, soot_g_s=soot,
                          air_changes_per_hour=rd["air_changes_per_hour"] * scale + totals["extra_air_changes_per_hour"],
                          plume_base_height_m=min(plume["z_m"], rd["height_m"] * 0.9),
                          plume_diameter_m=plume["diameter_m"],
                          thermostat=next((Thermostat(**p.thermostat) for p in parts if p.thermostat), None))
    sensor = params["sensor"]
    sensor_xyz = np.array([sensor["x_m"], sensor["y_m"], sensor["z_m"]])
    history = simulate_room(tp, room, sources, sensor_xyz_m=sensor_xyz)

    lower_c = history.lower_layer_temperature_c if history.lower_layer_temperature_c is not None \
        else history.temperature_c_at_sensor
    wall_c = first_order(tp, lower_c, WALL_TIME_CONSTANT_S / max(scale, 1.0), initial=ambient_c)
    layer_depth = np.clip(history.layer_depth_m, 0.0, rd["height_m"])
    upper_c = history.upper_layer_temperature_c
    kappa_ir = SOOT_LWIR_TO_VISIBLE_EXTINCTION * math.log(10.0) * np.clip(history.smoke_optical_density_per_m, 0, None)
    smoke_eps = 1.0 - np.exp(-kappa_ir * layer_depth)
    cam = params["camera"]
    pose = CameraPose(position_m=np.array([cam["x_m"], cam["y_m"], cam["z_m"]]), yaw_deg=cam["yaw_deg"],
                      tilt_deg=cam["tilt_deg"])
    scene = ThermalScene(
        time_s=ts, width_m=rd["width_m"], depth_m=rd["depth_m"], height_m=rd["height_m"],
        surface_temperature_k=np.interp(ts, tp, wall_c) + K0, objects=objects,
        smoke=SmokeLayer(depth_m=np.interp(ts, tp, layer_depth),
                         temperature_k=np.interp(ts, tp, upper_c) + K0,
                         emissivity=np.interp(ts, tp, smoke_eps)))
    truth = pd.DataFrame({
        "time_s": tp, "state": state.astype(np.int8), "hrr_kw": hrr, "flame_height_m": flame_height,
        "upper_layer_temperature_c": upper_c, "layer_depth_m": layer_depth,
        "smoke_optical_density_per_m": history.smoke_optical_density_per_m,
        "co2_ppm_true": history.co2_ppm_at_sensor, "temperature_c_true": history.temperature_c_at_sensor,
        "humidity_rh_true": history.humidity_rh_at_sensor, "co2_ppm_mean": history.co2_ppm_mean,
        "nuisance_flame_hrr_kw": totals["flame_kw"],
        "precursor": precursor_flags(fire, tp, state, ambient_c),
    })
    burning = np.flatnonzero(state != 0)
    ignition = float(tp[burning[0]]) if burning.size else None
    return BuiltScenario(params=params, family=params["family"], label=params["label"], scene=scene,
                         camera_pose=pose, sensor_xyz_m=sensor_xyz, time_s=tp,
                         co2_ppm=history.co2_ppm_at_sensor, temperature_c=history.temperature_c_at_sensor,
                         humidity_rh=history.humidity_rh_at_sensor, truth=truth, ignition_time_s=ignition,
                         scene_step_s=scene_step, physics_step_s=physics_step)


__all__ = ["BuiltScenario", "build_scenario"]
