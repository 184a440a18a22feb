"""Nuisance and occupancy sources: what each one looks like to the Lepton (thermal
objects) and what it adds to the room (heat, CO2, water vapour, aerosol, ventilation).

Each source kind has a sampler ``sample(rng, ctx) -> spec`` (a JSON-serialisable dict) and
a model ``model(spec, time_s, ctx) -> Contribution``. Models are deterministic given the
spec, except for an injected generator used for motion and flicker.

References
----------
.. [1] Tewarson, SFPE Handbook 4th ed., Table 3-4.14: methane and paraffin yields (via
   :data:`firesight.physics.fuels.FUEL_PROPERTIES`).
.. [2] A. Hamins, M. Bundy, S. E. Dillon, "Characterization of candle flames", Journal of
   Fire Protection Engineering 15 (2005) 265-285: heat release 40-80 W per candle,
   flame about 1 cm wide and 4-5 cm tall.
.. [3] ASHRAE Handbook - Fundamentals (2021), Ch. 9 and Ch. 18: occupant sensible heat
   about 60 % of metabolic heat at rest; skin 33-34 C, clothing surface 28-32 C;
   appliance heat gains (toasters 0.8-1.2 kW, hair dryers 1.2-2 kW, hobs 1-2.5 kW).
.. [4] EN 442-2:2014, Radiators and convectors: heat output Q = Q50 (dT/50)^n with
   n = 1.3 for panel radiators.
.. [5] CIBSE AM10 (2005), Natural ventilation in non-domestic buildings: an open window
   gives roughly 5-20 air changes per hour in a small room.
.. [6] Engineering Toolbox / Incropera, Fundamentals of Heat and Mass Transfer, 7th ed.,
   Table A.11: emissivity of polished stainless steel 0.1-0.2, oxidised or enamelled
   cookware 0.8-0.95, glass 0.84-0.92, human skin 0.98, paint 0.9-0.95.
.. [7] Latent heat of vaporisation of water 2257 kJ/kg at 100 C (CRC Handbook).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from firesight.physics.fuels import FUEL_PROPERTIES
from firesight.physics.occupants import occupant_co2_g_s, occupant_heat_w
from firesight.scenarios.profiles import first_order, flame_flicker, newton_cooling_c, window
from firesight.scenarios.sampler import choose, place_source, r
from firesight.scenarios.scene import ThermalObject
from firesight.units import ZERO_CELSIUS_K as K0

#: latent heat of water [kJ/g] [7]
LATENT_HEAT_WATER_KJ_PER_G = 2.257
#: share of an occupant's metabolic heat that is sensible (the rest leaves as vapour) [3]
OCCUPANT_SENSIBLE_FRACTION = 0.6
#: apparent surface of a clothed person [C] [3]
CLOTHED_PERSON_SURFACE_C = (29.0, 32.0)
#: air density [kg/m3] and specific heat [kJ/(kg K)] for ventilation heat balances
AIR_RHO_CP_KJ_M3K = 1.2 * 1.005


@dataclass
class Contribution:
    """What one source adds, on the scene time grid (arrays of shape ``(n_t,)``)."""

    objects: list[ThermalObject] = field(default_factory=list)
    heat_kw: np.ndarray | float = 0.0
    co2_g_s: np.ndarray | float = 0.0
    h2o_g_s: np.ndarray | float = 0.0
    soot_g_s: np.ndarray | float = 0.0
    extra_air_changes_per_hour: np.ndarray | float = 0.0
    #: a buoyant flame plume (gas stove): HRR [kW], position, base height, diameter, chi_r
    plume_hrr_kw: np.ndarray | None = None
    plume: dict | None = None
    #: a thermostat-controlled terminal (an ``hvac`` source with a ``thermostat``): the
    #: keyword arguments of :class:`firesight.physics.room.Thermostat`
    thermostat: dict | None = None


@dataclass
class SourceContext:
    """What samplers and models know about the scenario."""

    room: dict
    camera: dict
    duration_s: float
    rng: np.random.Generator | None = None


def _k(temperature_c):
    return np.asarray(temperature_c, dtype=float) + K0


def _center(x, y, z) -> np.ndarray:
    """A fixed (3,) centre, or (n_t, 3) when any coordinate varies in time."""
    if all(np.ndim(v) == 0 for v in (x, y, z)):
        return np.array([float(x), float(y), float(z)])
    x, y, z = np.broadcast_arrays(np.asarray(x, float), np.asarray(y, float), np.asarray(z, float))
    return np.column_stack([x, y, z])


def _vertical(name, x, y, base_z, width, height, temperature_c, emissivity, occlusion=0.0):
    return ThermalObject(name=name, center_m=_center(x, y, base_z + np.asarray(height) / 2.0), width_m=width,
                         height_m=height, temperature_k=_k(temperature_c), emissivity=emissivity,
                         orientation="vertical", occlusion=float(occlusion))


def _horizontal(name, x, y, z, width, depth, temperature_c, emissivity, occlusion=0.0):
    return ThermalObject(name=name, center_m=_center(x, y, z), width_m=width, height_m=depth,
                         temperature_k=_k(temperature_c), emissivity=emissivity,
                         orientation="horizontal", occlusion=float(occlusion))


#: Least horizontal distance from the node to a stationary cooking appliance [m]. NFPA 72
#: (2013 and later editions), Chapter 29: household smoke alarms and detectors are not
#: installed within a 10 ft (3.0 m) radial distance of a stationary or fixed cooking
#: appliance unless listed for that location, and beyond 6 ft (1.8 m) where the 10 ft
#: exclusion would leave no place for a required one; the node is installed as one. (In a
#: room too small even for that, :func:`~firesight.scenarios.sampler.place_source` falls
#: back to the room's centre.)
COOKING_CLEARANCE_M = (3.0, 1.83)


def _placed(rng, ctx: SourceContext, size_m: float, z_m: float, view: str | None = None,
            min_distance_m: float | tuple[float, ...] = 1.0) -> dict:
    """A source placed at least ``min_distance_m`` (horizontally) from the node; with a
    tuple, the first distance the room allows."""
    clearances = min_distance_m if isinstance(min_distance_m, tuple) else (min_distance_m,)
    for clearance in clearances:
        pos = place_source(rng, ctx.room, ctx.camera, size_m=size_m, z_m=z_m, view=view,
                           min_distance_m=clearance)
        if math.hypot(pos["x_m"] - ctx.camera["x_m"], pos["y_m"] - ctx.camera["y_m"]) >= clearance:
            break
    return pos


def _span(rng, duration_s: float, start=(0.1, 0.4), length=(0.3, 0.8)) -> tuple[float, float]:
    t0 = rng.uniform(*start) * duration_s
    return r(t0, 2), r(min(duration_s * 1.2, t0 + rng.uniform(*length) * duration_s), 2)


# --- cooking -----------------------------------------------------------------------------

def sample_gas_stove(rng, ctx):
    pos = _placed(rng, ctx, 0.6, 0.9, min_distance_m=COOKING_CLEARANCE_M)
    start, end = _span(rng, ctx.duration_s)
    vessel = choose(rng, ["pot", "pan"])
    return {**pos, "kind": "gas_stove", "start_s": start, "end_s": end, "burners": int(rng.integers(1, 3)),
            "hrr_per_burner_kw": r(rng.uniform(1.2, 3.0)), "vessel": vessel,
            "vessel_diameter_m": r(rng.uniform(0.18, 0.3)),
            "vessel_emissivity": r(rng.uniform(0.1, 0.95)),
            "vessel_target_c": r(100.0 if vessel == "pot" else rng.uniform(170.0, 230.0), 1),
            "vessel_time_constant_s": r(rng.uniform(240.0, 600.0) if vessel == "pot" else rng.uniform(60.0, 150.0)),
            "cooking_aerosol_g_s": r(rng.uniform(1e-4, 1e-3) if vessel == "pan" else 0.0, 6)}


def model_gas_stove(spec, t, ctx):
    """Methane burners under a pot or pan: a thin, non-luminous flame fringe around the
    vessel, a vessel heating towards its cooking temperature, and the combustion products
    of natural gas [1] (a real CO2 and H2O rise)."""
    fuel = FUEL_PROPERTIES["methane"]
    on = window(t, spec["start_s"], spec["end_s"], ramp_s=2.0)
    hrr = spec["burners"] * spec["hrr_per_burner_kw"] * on
    mass = hrr / fuel.heat_of_combustion_kj_per_g
    amb = ctx.room["ambient_temperature_c"]
    vessel_c = first_order(t, amb + (spec["vessel_target_c"] - amb) * on, spec["vessel_time_constant_s"])
    boiling = np.clip((vessel_c - 90.0) / 10.0, 0.0, 1.0) if spec["vessel"] == "pot" else 0.0
    steam = 0.4 * hrr * boiling / LATENT_HEAT_WATER_KJ_PER_G
    d = spec["vessel_diameter_m"]
    height = 0.14 if spec["vessel"] == "pot" else 0.05
    flicker = flame_flicker(t, 0.1, ctx.rng, amplitude=0.15)
    objects = [
        _vertical("stove-flame", spec["x_m"], spec["y_m"], spec["z_m"], d + 0.05, 0.035 * flicker,
                  1600.0 - K0, 0.04 * on, occlusion=max(spec["occlusion"], 0.4)),
        _vertical("stove-vessel", spec["x_m"], spec["y_m"], spec["z_m"] + 0.03, d, height, vessel_c,
                  spec["vessel_emissivity"], occlusion=spec["occlusion"]),
    ]
    return Contribution(objects=objects, co2_g_s=mass * fuel.co2_yield_g_per_g,
                        h2o_g_s=mass * fuel.h2o_yield_g_per_g + steam,
                        soot_g_s=spec["cooking_aerosol_g_s"] * on, plume_hrr_kw=hrr,
                        plume={"x_m": spec["x_m"], "y_m": spec["y_m"], "z_m": spec["z_m"],
                               "diameter_m": 0.3, "radiative_fraction": fuel.radiative_fraction})


def sample_electric_cooking(rng, ctx):
    pos = _placed(rng, ctx, 0.6, 0.9, min_distance_m=COOKING_CLEARANCE_M)
    start, end = _span(rng, ctx.duration_s)
    return {**pos, "kind": "electric_cooking", "start_s": start, "end_s": end,
            "hob": choose(rng, ["radiant", "induction"]), "power_kw": r(rng.uniform(1.0, 2.5)),
            "hob_glow_c": r(rng.uniform(450.0, 600.0), 1), "pan_target_c": r(rng.uniform(150.0, 230.0), 1),
            "pan_emissivity": r(rng.uniform(0.15, 0.9)), "pan_diameter_m": r(rng.uniform(0.2, 0.3)),
            "h2o_g_s": r(rng.uniform(0.05, 0.3)), "cooking_aerosol_g_s": r(rng.uniform(1e-4, 2e-3), 6)}


def model_electric_cooking(spec, t, ctx):
    """Electric hob and frying pan: a glowing radiant zone (ceramic hobs) or none
    (induction), a hot pan whose LWIR brightness depends strongly on its emissivity [6],
    steam and cooking fumes; heat released into the room air."""
    on = window(t, spec["start_s"], spec["end_s"], ramp_s=2.0)
    amb = ctx.room["ambient_temperature_c"]
    pan_c = first_order(t, amb + (spec["pan_target_c"] - amb) * on, 90.0)
    objects = [_vertical("pan", spec["x_m"], spec["y_m"], spec["z_m"], spec["pan_diameter_m"], 0.05, pan_c,
                         spec["pan_emissivity"], occlusion=spec["occlusion"])]
    if spec["hob"] == "radiant":
        glow_c = first_order(t, amb + (spec["hob_glow_c"] - amb) * on, 40.0)
        objects.insert(0, _horizontal("hob-ring", spec["x_m"] + spec["pan_diameter_m"] * 0.45, spec["y_m"],
                                      spec["z_m"], 0.05, spec["pan_diameter_m"], glow_c, 0.9,
                                      occlusion=spec["occlusion"]))
    heat = spec["power_kw"] * first_order(t, on, 60.0)
    return Contribution(objects=objects, heat_kw=heat, h2o_g_s=spec["h2o_g_s"] * on * (pan_c > 90.0),
                        soot_g_s=spec["cooking_aerosol_g_s"] * on * (pan_c > 140.0))


def sample_toaster(rng, ctx):
    pos = _placed(rng, ctx, 0.3, 0.9)
    start = r(rng.uniform(0.15, 0.5) * ctx.duration_s, 2)
    return {**pos, "kind": "toaster", "start_s": start, "end_s": r(start + rng.uniform(120.0, 240.0), 2),
            "power_kw": r(rng.uniform(0.8, 1.2)), "element_c": r(rng.uniform(550.0, 700.0), 1),
            "slot_occlusion": r(rng.uniform(0.6, 0.85)), "body_target_c": r(rng.uniform(55.0, 80.0), 1)}


def model_toaster(spec, t, ctx):
    """Toaster: glowing elements seen only through the slots, a warming body, ~1 kW [3]."""
    on = window(t, spec["start_s"], spec["end_s"], ramp_s=1.0)
    amb = ctx.room["ambient_temperature_c"]
    element_c = first_order(t, amb + (spec["element_c"] - amb) * on, 15.0)
    body_c = first_order(t, amb + (spec["body_target_c"] - amb) * on, 90.0)
    occ = spec["occlusion"]
    objects = [_vertical("toaster-body", spec["x_m"], spec["y_m"], spec["z_m"], 0.28, 0.2, body_c, 0.85, occ),
               _horizontal("toaster-slots", spec["x_m"], spec["y_m"], spec["z_m"] + 0.2, 0.24, 0.08, element_c,
                           0.9, 1.0 - (1.0 - spec["slot_occlusion"]) * (1.0 - occ))]
    return Contribution(objects=objects, heat_kw=spec["power_kw"] * on, h2o_g_s=0.05 * on)


def sample_oven_door(rng, ctx):
    pos = _placed(rng, ctx, 0.6, 0.0, min_distance_m=COOKING_CLEARANCE_M)
    openings = sorted(r(rng.uniform(0.2, 0.85) * ctx.duration_s, 2) for _ in range(int(rng.integers(1, 4))))
    return {**pos, "kind": "oven_door", "oven_c": r(rng.uniform(160.0, 230.0), 1),
            "door_glass_c": r(rng.uniform(35.0, 60.0), 1), "open_s": openings,
            "open_duration_s": r(rng.uniform(10.0, 45.0)), "oven_heat_kw": r(rng.uniform(0.5, 1.5)),
            "steam_g_s": r(rng.uniform(0.1, 1.0))}


def model_oven_door(spec, t, ctx):
    """Oven: warm door glass; each opening shows the 160-230 C cavity and lets out a
    puff of hot, moist air."""
    opened = np.zeros_like(t)
    for t_open in spec["open_s"]:
        opened = np.maximum(opened, window(t, t_open, t_open + spec["open_duration_s"], ramp_s=1.5))
    occ = spec["occlusion"]
    objects = [_vertical("oven-door", spec["x_m"], spec["y_m"], 0.15, 0.6, 0.6, spec["door_glass_c"], 0.88, occ),
               _vertical("oven-cavity", spec["x_m"], spec["y_m"] - 0.02, 0.25, 0.45, 0.35, spec["oven_c"],
                         0.9 * opened, occ)]
    return Contribution(objects=objects, heat_kw=spec["oven_heat_kw"] + 2.5 * opened,
                        h2o_g_s=spec["steam_g_s"] * opened)


# --- heating -------------------------------------------------------------------------------

def sample_space_heater(rng, ctx):
    pos = _placed(rng, ctx, 0.5, 0.0)
    kind = choose(rng, ["radiant", "fan"])
    start, end = _span(rng, ctx.duration_s, start=(0.05, 0.4), length=(0.4, 1.0))
    return {**pos, "kind": "space_heater", "heater": kind, "start_s": start, "end_s": end,
            "power_kw": r(rng.uniform(1.0, 2.5)),
            "element_c": r(rng.uniform(500.0, 850.0) if kind == "radiant" else rng.uniform(60.0, 95.0), 1)}


def model_space_heater(spec, t, ctx):
    """Electric heater: a radiant bar glowing at 500-850 C behind a guard, or a fan
    heater grille at 60-95 C [3]; its power heats the room air."""
    on = window(t, spec["start_s"], spec["end_s"], ramp_s=1.0)
    amb = ctx.room["ambient_temperature_c"]
    occ = spec["occlusion"]
    if spec["heater"] == "radiant":
        elem_c = first_order(t, amb + (spec["element_c"] - amb) * on, 30.0)
        body_c = first_order(t, amb + 25.0 * on, 200.0)
        objects = [_vertical("heater-body", spec["x_m"], spec["y_m"], 0.0, 0.45, 0.55, body_c, 0.9, occ),
                   _vertical("heater-element", spec["x_m"], spec["y_m"] - 0.03, 0.3, 0.35, 0.06, elem_c, 0.9,
                             max(occ, 0.2))]
    else:
        grille_c = first_order(t, amb + (spec["element_c"] - amb) * on, 40.0)
        objects = [_vertical("fan-heater", spec["x_m"], spec["y_m"], 0.0, 0.3, 0.35, grille_c, 0.9, occ)]
    return Contribution(objects=objects, heat_kw=spec["power_kw"] * first_order(t, on, 30.0))


def sample_radiator(rng, ctx):
    pos = _placed(rng, ctx, 1.0, 0.0)
    on_s = r(rng.uniform(-0.5, 0.5) * ctx.duration_s, 2)
    return {**pos, "kind": "radiator", "y_m": r(max(pos["y_m"], ctx.room["depth_m"] - 0.1)),
            "width_m": r(rng.uniform(0.6, 1.6)), "height_m": r(rng.uniform(0.4, 0.7)),
            "water_c": r(rng.uniform(45.0, 75.0), 1), "on_s": on_s,
            "time_constant_s": r(rng.uniform(300.0, 900.0)), "q50_kw": r(rng.uniform(0.5, 2.0))}


def model_radiator(spec, t, ctx):
    """Water panel radiator against the back wall: surface follows the water temperature
    after the valve opens; output Q = Q50 (dT/50)^1.3 (EN 442 [4])."""
    amb = ctx.room["ambient_temperature_c"]
    on = (t >= spec["on_s"]).astype(float)
    since = np.clip(t - spec["on_s"], 0.0, None)
    surface_c = amb + (spec["water_c"] - amb) * on * (1.0 - np.exp(-since / spec["time_constant_s"]))
    heat = spec["q50_kw"] * (np.clip(surface_c - amb, 0.0, None) / 50.0) ** 1.3
    obj = _vertical("radiator", spec["x_m"], spec["y_m"], 0.2, spec["width_m"], spec["height_m"], surface_c,
                    0.93, spec["occlusion"])
    return Contribution(objects=[obj], heat_kw=heat)


def sample_sunlight_patch(rng, ctx):
    pos = _placed(rng, ctx, 1.0, 0.0)
    clouds = [[r(rng.uniform(0.0, 1.0) * ctx.duration_s, 2), r(rng.uniform(20.0, 120.0)),
               r(rng.uniform(0.5, 0.95))] for _ in range(int(rng.integers(0, 4)))]
    return {**pos, "kind": "sunlight_patch", "width_m": r(rng.uniform(0.5, 1.5)), "depth_m": r(rng.uniform(0.4, 1.2)),
            "floor_rise_c": r(rng.uniform(5.0, 20.0), 2), "drift_m_per_s": r(rng.uniform(-0.0005, 0.0005), 6),
            "clouds": clouds, "solar_gain_kw": r(rng.uniform(0.2, 1.0)),
            "floor_time_constant_s": r(rng.uniform(60.0, 180.0))}


def model_sunlight_patch(spec, t, ctx):
    """Sun through a window warms a floor patch 5-20 K above the room; the patch drifts
    with the sun's motion and dims and recovers as clouds pass (the floor's thermal lag
    smooths the change)."""
    sun = np.ones_like(t)
    for t_c, dur, depth in spec["clouds"]:
        sun -= depth * window(t, t_c, t_c + dur, ramp_s=10.0)
    sun = np.clip(sun, 0.0, 1.0)
    rise = first_order(t, spec["floor_rise_c"] * sun, spec["floor_time_constant_s"], initial=spec["floor_rise_c"] * sun[0])
    x = spec["x_m"] + spec["drift_m_per_s"] * t
    center = np.stack([x, np.full_like(t, spec["y_m"]), np.full_like(t, 0.002)], axis=1)
    obj = ThermalObject("sun-patch", center, spec["width_m"], spec["depth_m"],
                        _k(ctx.room["ambient_temperature_c"] + rise), 0.92, "horizontal", spec["occlusion"])
    return Contribution(objects=[obj], heat_kw=spec["solar_gain_kw"] * sun)


# --- people and small appliances -----------------------------------------------------------

def sample_people(rng, ctx, *, count=(2, 10), enter=(0.05, 0.7), present_from_start=False):
    n = int(rng.integers(count[0], count[1] + 1))
    door = {"x_m": r(rng.choice([0.2, ctx.room["width_m"] - 0.2])), "y_m": r(rng.uniform(0.5, ctx.room["depth_m"] * 0.6))}
    people = []
    for i in range(n):
        spot = _placed(rng, ctx, 0.5, 0.0)
        t_in = -120.0 if present_from_start else r(rng.uniform(*enter) * ctx.duration_s, 2)
        stay_from = max(t_in, 0.0) + min(60.0, 0.2 * ctx.duration_s)
        t_out = r(rng.uniform(stay_from, max(stay_from, 1.5 * ctx.duration_s)), 2) if rng.random() < 0.3 else None
        people.append({"x_m": spot["x_m"], "y_m": spot["y_m"], "occlusion": spot["occlusion"], "enter_s": t_in,
                       "leave_s": t_out, "posture": choose(rng, ["standing", "seated"]),
                       "surface_c": r(rng.uniform(*CLOTHED_PERSON_SURFACE_C), 2),
                       "activity_met": r(rng.uniform(1.0, 1.6), 2)})
    return {"kind": "people", "door": door, "people": people}


def model_people(spec, t, ctx):
    """People walking in from the door at 1.2 m/s to their places (standing 1.7 m or
    seated 1.3 m tall), clothed surface 29-32 C, emissivity 0.97 [3, 6]; each exhales CO2
    (Persily & de Jonge, via :func:`~firesight.physics.occupants.occupant_co2_g_s`) and
    releases metabolic heat, 60 % sensible and 40 % as water vapour [3]."""
    objects, heat, co2, h2o = [], np.zeros_like(t), np.zeros_like(t), np.zeros_like(t)
    door = np.array([spec["door"]["x_m"], spec["door"]["y_m"]])
    for i, p in enumerate(spec["people"]):
        present = window(t, p["enter_s"], p["leave_s"], ramp_s=0.5)
        spot = np.array([p["x_m"], p["y_m"]])
        walk_s = float(np.linalg.norm(spot - door)) / 1.2
        frac_in = np.clip((t - p["enter_s"]) / walk_s, 0.0, 1.0)
        frac = frac_in
        if p["leave_s"] is not None:
            frac = np.minimum(frac_in, np.clip((p["leave_s"] - t) / walk_s, 0.0, 1.0))
            present = window(t, p["enter_s"], p["leave_s"] + walk_s, ramp_s=0.5)
        xy = door[None, :] + frac[:, None] * (spot - door)[None, :]
        height = 1.7 if p["posture"] == "standing" else 1.3
        center = np.column_stack([xy, np.full_like(t, height / 2.0)])
        objects.append(ThermalObject(f"person-{i}", center, 0.45, height, _k(p["surface_c"]), 0.97 * present,
                                     "vertical", p["occlusion"]))
        met_w = float(occupant_heat_w(1, activity_met=p["activity_met"]))
        heat += present * met_w * OCCUPANT_SENSIBLE_FRACTION / 1000.0
        h2o += present * met_w * (1 - OCCUPANT_SENSIBLE_FRACTION) / 1000.0 / 2.45
        co2 += present * float(occupant_co2_g_s(1, activity_met=p["activity_met"]))
    return Contribution(objects=objects, heat_kw=heat, co2_g_s=co2, h2o_g_s=h2o)


def sample_hot_drinks(rng, ctx):
    pos = _placed(rng, ctx, 0.6, 0.75)
    pours = sorted(r(rng.uniform(0.1, 0.6) * ctx.duration_s, 2) for _ in range(int(rng.integers(1, 5))))
    return {**pos, "kind": "hot_drinks", "pour_s": pours, "drink_c": r(rng.uniform(70.0, 90.0), 1),
            "cooling_time_constant_s": r(rng.uniform(900.0, 1800.0)), "kettle": bool(rng.random() < 0.5),
            "kettle_power_kw": r(rng.uniform(2.0, 3.0))}


def model_hot_drinks(spec, t, ctx):
    """Mugs filled at 70-90 C that cool towards the room (Newton, tau 15-30 min); an
    optional kettle boiling (100 C body, steam) for the minute before the first pour."""
    amb = ctx.room["ambient_temperature_c"]
    objects = []
    for i, t_pour in enumerate(spec["pour_s"]):
        temp = np.where(t >= t_pour, newton_cooling_c(t, t_pour, spec["drink_c"], amb,
                                                      spec["cooling_time_constant_s"]), amb)
        objects.append(_vertical(f"mug-{i}", spec["x_m"] + 0.12 * i, spec["y_m"], spec["z_m"], 0.08, 0.1, temp,
                                 0.92, spec["occlusion"]))
    heat = np.zeros_like(t)
    h2o = np.zeros_like(t)
    if spec["kettle"]:
        t0 = spec["pour_s"][0] - 90.0
        boil = window(t, t0, spec["pour_s"][0], ramp_s=1.0)
        body_c = first_order(t, amb + (100.0 - amb) * np.clip((t - t0) / 90.0, 0.0, 1.0) * (t <= spec["pour_s"][0]),
                             120.0)
        objects.append(_vertical("kettle", spec["x_m"] - 0.3, spec["y_m"], spec["z_m"], 0.18, 0.24, body_c,
                                 0.3, spec["occlusion"]))
        heat += spec["kettle_power_kw"] * boil * 0.3
        h2o += spec["kettle_power_kw"] * boil * (body_c > 95.0) * 0.7 / LATENT_HEAT_WATER_KJ_PER_G
    return Contribution(objects=objects, heat_kw=heat, h2o_g_s=h2o)


def sample_candles(rng, ctx):
    pos = _placed(rng, ctx, 0.4, 0.75)
    start, end = _span(rng, ctx.duration_s, length=(0.5, 1.0))
    return {**pos, "kind": "candles", "count": int(rng.integers(1, 7)), "start_s": start, "end_s": end,
            "hrr_per_candle_kw": r(rng.uniform(0.04, 0.08), 4), "candle_height_m": r(rng.uniform(0.08, 0.2))}


def model_candles(spec, t, ctx):
    """Candles: flames ~1 cm x 4-5 cm at ~1400 K with 40-80 W each (Hamins et al. [2]);
    thin, so weakly emitting in the LWIR; paraffin combustion products [1]."""
    fuel = FUEL_PROPERTIES["candle_wax"]
    on = window(t, spec["start_s"], spec["end_s"], ramp_s=3.0)
    objects = []
    for i in range(spec["count"]):
        x = spec["x_m"] + 0.08 * (i - spec["count"] / 2)
        flicker = flame_flicker(t, 0.01, ctx.rng, amplitude=0.08)
        objects.append(_vertical(f"candle-{i}", x, spec["y_m"], spec["z_m"], 0.06, spec["candle_height_m"],
                                 ctx.room["ambient_temperature_c"] + 8.0 * on, 0.95, spec["occlusion"]))
        objects.append(_vertical(f"candle-flame-{i}", x, spec["y_m"], spec["z_m"] + spec["candle_height_m"], 0.012,
                                 0.045 * flicker, 1400.0 - K0, 0.1 * on, spec["occlusion"]))
    hrr = spec["count"] * spec["hrr_per_candle_kw"] * on
    mass = hrr / fuel.heat_of_combustion_kj_per_g
    return Contribution(objects=objects, heat_kw=hrr, co2_g_s=mass * fuel.co2_yield_g_per_g,
                        h2o_g_s=mass * fuel.h2o_yield_g_per_g, soot_g_s=mass * fuel.soot_yield_g_per_g)


def sample_hair_dryer(rng, ctx):
    pos = _placed(rng, ctx, 0.6, 0.0)
    start = r(rng.uniform(0.15, 0.5) * ctx.duration_s, 2)
    return {**pos, "kind": "hair_dryer", "start_s": start, "end_s": r(start + rng.uniform(120.0, 300.0), 2),
            "power_kw": r(rng.uniform(1.2, 2.0)), "nozzle_c": r(rng.uniform(60.0, 100.0), 1),
            "sway_hz": r(rng.uniform(0.3, 0.8)), "h2o_g_s": r(rng.uniform(0.05, 0.2))}


def model_hair_dryer(spec, t, ctx):
    """A person drying hair: a 60-100 C nozzle swaying around the head, 1.2-2 kW [3]."""
    on = window(t, spec["start_s"], spec["end_s"], ramp_s=1.0)
    present = window(t, spec["start_s"] - 15.0, spec["end_s"] + 15.0, ramp_s=0.5)
    amb = ctx.room["ambient_temperature_c"]
    sway = 0.15 * np.sin(2 * np.pi * spec["sway_hz"] * t)
    nozzle = np.column_stack([spec["x_m"] + 0.25 + sway, np.full_like(t, spec["y_m"] - 0.1),
                              1.55 + 0.5 * sway])
    objects = [
        ThermalObject("person-dryer", np.array([spec["x_m"], spec["y_m"], 0.85]), 0.45, 1.7, _k(31.0),
                      0.97 * present, "vertical", spec["occlusion"]),
        ThermalObject("dryer-nozzle", nozzle, 0.06, 0.06,
                      _k(first_order(t, amb + (spec["nozzle_c"] - amb) * on, 10.0)), 0.9 * present, "vertical",
                      spec["occlusion"]),
    ]
    met_w = float(occupant_heat_w(1, activity_met=1.4))
    return Contribution(objects=objects, heat_kw=spec["power_kw"] * on + present * met_w * 0.6 / 1000.0,
                        co2_g_s=present * float(occupant_co2_g_s(1, activity_met=1.4)),
                        h2o_g_s=spec["h2o_g_s"] * on)


# --- ventilation -----------------------------------------------------------------------------

def sample_hvac(rng, ctx):
    toggles = sorted(r(rng.uniform(0.1, 0.9) * ctx.duration_s, 2) for _ in range(int(rng.integers(1, 4))))
    mode = choose(rng, ["heating", "cooling"])
    return {"kind": "hvac", "mode": mode, "toggles_s": toggles, "initially_on": bool(rng.random() < 0.5),
            "extra_air_changes_per_hour": r(rng.uniform(2.0, 6.0)),
            "supply_delta_c": r(rng.uniform(8.0, 15.0) if mode == "heating" else -rng.uniform(6.0, 10.0), 2),
            "x_m": r(rng.uniform(0.3, 0.7) * ctx.room["width_m"]),
            "y_m": r(rng.uniform(0.4, 0.9) * ctx.room["depth_m"])}


def model_hvac(spec, t, ctx):
    """HVAC switching on and off: extra outdoor-air changes, supply air warmer or cooler
    than the room (heat = rho cp q dT), and a ceiling diffuser that follows the supply
    temperature.

    With a ``thermostat`` (a dict of :class:`firesight.physics.room.Thermostat`'s fields)
    the heat is not open-loop: the terminal's thermostat sets it in the room model from
    the room's temperature, and the outdoor-air changes and the diffuser switch as
    before."""
    state = np.full(t.shape, 1.0 if spec["initially_on"] else 0.0)
    for toggle in spec["toggles_s"]:
        state = np.where(t >= toggle, 1.0 - state, state)
    on = first_order(t, state, 5.0)
    flow_m3_s = spec["extra_air_changes_per_hour"] * ctx.room["volume_m3"] / 3600.0 * on
    amb = ctx.room["ambient_temperature_c"]
    diffuser_c = first_order(t, amb + spec["supply_delta_c"] * state, 60.0, initial=amb + spec["supply_delta_c"] * state[0])
    obj = _horizontal("hvac-diffuser", spec["x_m"], spec["y_m"], ctx.room["height_m"] - 0.01, 0.6, 0.6,
                      diffuser_c, 0.9)
    thermostat = spec.get("thermostat")
    heat = 0.0 if thermostat else AIR_RHO_CP_KJ_M3K * flow_m3_s * spec["supply_delta_c"]
    return Contribution(objects=[obj], heat_kw=heat,
                        extra_air_changes_per_hour=spec["extra_air_changes_per_hour"] * on,
                        thermostat=dict(thermostat) if thermostat else None)


def sample_window(rng, ctx):
    pos = _placed(rng, ctx, 1.0, 0.0, view=choose(rng, ["in_view", "in_view", "partly_out_of_view"]))
    t_open = r(rng.uniform(0.15, 0.35) * ctx.duration_s, 2)
    t_close = r(t_open + rng.uniform(0.3, 0.7) * ctx.duration_s, 2) if rng.random() < 0.4 else None
    return {**pos, "kind": "window", "y_m": r(ctx.room["depth_m"] - 0.02), "open_s": t_open, "close_s": t_close,
            "outdoor_c": r(rng.uniform(-5.0, 30.0), 2), "width_m": r(rng.uniform(0.8, 1.2)),
            "height_m": r(rng.uniform(1.0, 1.4)), "open_air_changes_per_hour": r(rng.uniform(8.0, 20.0))}


def model_window(spec, t, ctx):
    """Window on the back wall: closed, warm-ish glass (emissivity 0.84 [6]); open, the
    outdoor scene at outdoor temperature; opening adds 5-20 air changes per hour
    (CIBSE AM10 [5]) that flush CO2 towards outdoor levels and carry outdoor heat."""
    amb = ctx.room["ambient_temperature_c"]
    is_open = window(t, spec["open_s"], spec["close_s"], ramp_s=3.0)
    glass_c = amb + 0.3 * (spec["outdoor_c"] - amb)
    apparent_c = glass_c + (spec["outdoor_c"] - glass_c) * is_open
    obj = _vertical("window", spec["x_m"], spec["y_m"], 0.9, spec["width_m"], spec["height_m"], apparent_c,
                    0.84 + 0.11 * is_open, spec["occlusion"])
    extra = spec["open_air_changes_per_hour"] * is_open
    heat = AIR_RHO_CP_KJ_M3K * extra * ctx.room["volume_m3"] / 3600.0 * (spec["outdoor_c"] - amb)
    return Contribution(objects=[obj], heat_kw=heat, extra_air_changes_per_hour=extra)


#: kind -> (sampler, model)
SOURCE_KINDS: dict[str, tuple[Callable, Callable]] = {
    "gas_stove": (sample_gas_stove, model_gas_stove),
    "electric_cooking": (sample_electric_cooking, model_electric_cooking),
    "toaster": (sample_toaster, model_toaster),
    "oven_door": (sample_oven_door, model_oven_door),
    "space_heater": (sample_space_heater, model_space_heater),
    "radiator": (sample_radiator, model_radiator),
    "sunlight_patch": (sample_sunlight_patch, model_sunlight_patch),
    "people": (sample_people, model_people),
    "hot_drinks": (sample_hot_drinks, model_hot_drinks),
    "candles": (sample_candles, model_candles),
    "hair_dryer": (sample_hair_dryer, model_hair_dryer),
    "hvac": (sample_hvac, model_hvac),
    "window": (sample_window, model_window),
}


def model_source(spec: dict, time_s: np.ndarray, ctx: SourceContext) -> Contribution:
    """The contribution of one source spec (dispatch on ``spec["kind"]``)."""
    return SOURCE_KINDS[spec["kind"]][1](spec, time_s, ctx)
