"""Warm things in a home that are not fires: halogen lamps, pets, a wood stove or
glass-fronted fireplace, and a car driven into a garage (issue 8, section 1.5). The
cooking, smoking and grooming nuisances are in :mod:`firesight.scenarios.sources_home`,
which registers these kinds with its own.

Same contract as :mod:`firesight.scenarios.sources`: a sampler ``sample(rng, ctx) ->
spec`` (a JSON-serialisable dict) and a model ``model(spec, time_s, ctx) ->
Contribution`` per kind. Every range is either from the reference it cites or marked
"model assumption".

References
----------
.. [1] U.S. Consumer Product Safety Commission (1997), halogen torchiere floor lamps:
   300-500 W tubular halogen bulbs operating at about 970-1200 F (520-650 C). Fused
   silica is opaque beyond about 4 um, so the Lepton sees the quartz envelope, not the
   filament; its 8-14 um emissivity is about 0.7-0.85 (reststrahlen band near 9 um).
   Ceiling-jet rise: Alpert (:func:`firesight.physics.plume.alpert_ceiling_jet_temperature_rise`).
.. [2] M. Kleiber, "Body size and metabolic rate", Physiol. Rev. 27 (1947) 511-541:
   basal metabolism 70 M^0.75 kcal/day (M in kg); NRC, Nutrient Requirements of Dogs and
   Cats (2006): maintenance energy of pets about 1.5-2.5 times that. CO2 from the
   metabolic rate by Persily & de Jonge
   (:func:`firesight.physics.occupants.occupant_co2_g_s`).
.. [3] EN 13240 / EN 13229 (room heaters and inset appliances fired by solid fuel):
   nominal heat output of domestic wood stoves 4-9 kW at 70-80 % efficiency; ceramic
   stove glass is opaque in the LWIR (like all glass, Incropera Table A.11: 0.84-0.92),
   so the camera sees the glass at 150-300 C and not the flame behind it. Stoichiometric
   air of cellulose C6H10O5: 5.1 g per g; wood yields from Tewarson (SFPE Handbook 4th
   ed., Table 3-4.14, via :data:`firesight.physics.fuels.FUEL_PROPERTIES`); wood flame
   LWIR absorption 0.8 1/m (Drysdale, via
   :data:`firesight.scenarios.fires.FLAME_ABSORPTION_PER_M`).
.. [4] Idling passenger cars burn about 0.6-1.5 L/h of petrol (U.S. DOE, Argonne idle
   reduction data); petrol as iso-octane: 3.08 g CO2 and 1.42 g H2O per g burned,
   43.4 kJ/g; J. B. Heywood, Internal Combustion Engine Fundamentals (1988), Ch. 12:
   all of an idling engine's fuel power ends up as heat (exhaust, coolant, block).
"""

from __future__ import annotations

import math

import numpy as np

from firesight.physics.fuels import FUEL_PROPERTIES
from firesight.physics.occupants import occupant_co2_g_s
from firesight.physics.plume import alpert_ceiling_jet_temperature_rise
from firesight.scenarios.fires import FLAME_ABSORPTION_PER_M, FLAME_TEMPERATURE_K
from firesight.scenarios.profiles import first_order, flame_flicker, window
from firesight.scenarios.sampler import LEPTON_HALF_HFOV_DEG, choose, r, sample_camera, sample_room
from firesight.scenarios.scene import ThermalObject
from firesight.scenarios.sources import AIR_RHO_CP_KJ_M3K, Contribution, _horizontal, _k, _placed, _vertical
from firesight.units import ZERO_CELSIUS_K as K0

#: iso-octane as petrol [4]: CO2 and H2O per g burned (8 * 44.01 / 114.2, 9 * 18.02 / 114.2)
#: and heat of combustion [kJ/g]; density of petrol [g/mL]
PETROL = {"co2_g_per_g": 3.08, "h2o_g_per_g": 1.42, "heat_kj_per_g": 43.4, "density_g_ml": 0.745}
#: stoichiometric air of dry cellulose (C6H10O5 + 6 O2; air 23.2 % O2 by mass) [g/g] [3]
CELLULOSE_STOICHIOMETRIC_AIR = 6 * 32.0 / 162.1 / 0.232


def _lagged(t, amb, target_c, on, tau_s):
    """A surface heading to ``target_c`` while ``on`` and back to ``amb`` after, with a
    first-order lag ``tau_s`` [C] (in its steady state at the first sample)."""
    return first_order(t, amb + (target_c - amb) * on, tau_s)


#: halogen lamps [1]: 300-500 W; a torchiere's bulb at 520-650 C in a reflector bowl at
#: 1.7-1.9 m; a work light's glass front (also opaque in the LWIR) at 150-300 C (model
#: assumption); the ceiling above a torchiere warms by a fraction of Alpert's ceiling-jet
#: rise over its convected heat (model assumption 0.3-0.6 of it, 60 % convective)
HALOGEN_W = (300.0, 500.0)
TORCHIERE_BULB_C = (520.0, 650.0)
QUARTZ_EMISSIVITY = (0.7, 0.85)


def sample_halogen_lamp(rng, ctx):
    pos = _placed(rng, ctx, 0.4, 0.0)
    lamp = choose(rng, ["torchiere", "worklight"])
    on_s = r(rng.uniform(-0.5, 0.4) * ctx.duration_s, 2)
    spec = {**pos, "kind": "halogen_lamp", "lamp": lamp, "power_w": r(rng.uniform(*HALOGEN_W), 1), "on_s": on_s,
            "off_s": r(max(on_s, 0.0) + rng.uniform(0.3, 0.6) * ctx.duration_s, 2) if rng.random() < 0.3 else None,
            "bulb_emissivity": r(rng.uniform(*QUARTZ_EMISSIVITY))}
    if lamp == "torchiere":
        spec.update({"z_m": r(rng.uniform(1.7, 1.9)), "bulb_c": r(rng.uniform(*TORCHIERE_BULB_C), 1),
                     "bowl_c": r(rng.uniform(100.0, 200.0), 1), "bowl_emissivity": r(rng.uniform(0.2, 0.9)),
                     "bulb_occlusion": r(rng.uniform(0.3, 0.8)), "ceiling_share": r(rng.uniform(0.3, 0.6))})
    else:
        spec.update({"z_m": r(rng.uniform(0.5, 1.5)), "glass_c": r(rng.uniform(150.0, 300.0), 1),
                     "housing_c": r(rng.uniform(80.0, 150.0), 1)})
    return spec


def model_halogen_lamp(spec, t, ctx):
    """A 300-500 W halogen lamp [1]: a torchiere's quartz bulb (seen over its bowl's rim
    from a high camera), its warm bowl and the ceiling patch its plume heats; or a work
    light's hot glass front. All its power heats the room."""
    amb = ctx.room["ambient_temperature_c"]
    lit = window(t, spec["on_s"], spec["off_s"], ramp_s=1.0)
    x, y, z, occ = spec["x_m"], spec["y_m"], spec["z_m"], spec["occlusion"]
    power_kw = spec["power_w"] / 1000.0 * lit
    if spec["lamp"] == "torchiere":
        above = max(ctx.room["height_m"] - z, 0.2)
        rise = float(alpert_ceiling_jet_temperature_rise(0.6 * spec["power_w"] / 1000.0, above, 0.0))
        objects = [
            _horizontal("torchiere-bowl", x, y, z, 0.35, 0.35, _lagged(t, amb, spec["bowl_c"], lit, 180.0),
                        spec["bowl_emissivity"], occ),
            _horizontal("halogen-bulb", x, y, z + 0.02, 0.118, 0.012, _lagged(t, amb, spec["bulb_c"], lit, 10.0),
                        spec["bulb_emissivity"], 1.0 - (1.0 - spec["bulb_occlusion"]) * (1.0 - occ)),
            _horizontal("ceiling-over-lamp", x, y, ctx.room["height_m"] - 0.005, 0.6, 0.6,
                        _lagged(t, amb, amb + spec["ceiling_share"] * rise, lit, 600.0), 0.9),
        ]
    else:
        objects = [_vertical("worklight-housing", x, y, z - 0.08, 0.22, 0.18,
                             _lagged(t, amb, spec["housing_c"], lit, 240.0), 0.9, occ),
                   _vertical("worklight-glass", x, y - 0.03, z - 0.06, 0.15, 0.12,
                             _lagged(t, amb, spec["glass_c"], lit, 60.0), 0.88, occ)]
    return Contribution(objects=objects, heat_kw=power_kw)


#: pets (model assumptions except metabolism [2]): cats 3-6 kg, dogs 5-35 kg; coat
#: surface 30-35 C (core 38-39 C under the fur); walking 0.3-1.2 m/s between resting
#: places; maintenance metabolism 1.5-2.5 x Kleiber's basal 70 M^0.75 kcal/day; 70 % of it
#: sensible (dogs pant)
PET_MASS_KG = {"cat": (3.0, 6.0), "dog": (5.0, 35.0)}
PET_COAT_C = (30.0, 35.0)
KCAL_PER_DAY_W = 4184.0 / 86400.0


def pet_metabolic_w(mass_kg, activity):
    """Metabolic heat of an animal [W]: ``activity`` x Kleiber's 70 M^0.75 kcal/day [2]."""
    return activity * 70.0 * np.asarray(mass_kg, dtype=float) ** 0.75 * KCAL_PER_DAY_W


def sample_pets(rng, ctx):
    pets = []
    for _ in range(int(rng.integers(1, 3))):
        species = choose(rng, ["cat", "dog"])
        spots = [_placed(rng, ctx, 0.5, 0.0) for _ in range(int(rng.integers(2, 6)))]
        times = sorted(r(rng.uniform(0.0, 0.9) * ctx.duration_s, 2) for _ in spots[1:])
        pets.append({"species": species, "mass_kg": r(rng.uniform(*PET_MASS_KG[species]), 1),
                     "coat_c": r(rng.uniform(*PET_COAT_C), 2), "activity": r(rng.uniform(1.5, 2.5)),
                     "speed_m_s": r(rng.uniform(0.3, 0.8) if species == "cat" else rng.uniform(0.5, 1.2)),
                     "path": [[s["x_m"], s["y_m"]] for s in spots], "move_s": times,
                     "occlusion": spots[0]["occlusion"]})
    first = pets[0]["path"][0]
    return {"kind": "pets", "x_m": first[0], "y_m": first[1], "z_m": 0.0, "pets": pets}


def model_pets(spec, t, ctx):
    """Cats and dogs walking between resting places: coat 30-35 C, a body the size their
    mass gives; their metabolism [2] adds a little heat, vapour and CO2."""
    objects, heat, co2, h2o = [], np.zeros_like(t), np.zeros_like(t), np.zeros_like(t)
    for i, pet in enumerate(spec["pets"]):
        path = np.asarray(pet["path"], dtype=float)
        xy = np.tile(path[0], (t.size, 1))
        for k, t_move in enumerate(pet["move_s"]):
            step = path[k + 1] - path[k]
            walk_s = max(float(np.linalg.norm(step)) / pet["speed_m_s"], 0.5)
            xy += np.clip((t - t_move) / walk_s, 0.0, 1.0)[:, None] * step[None, :]
        scale = (pet["mass_kg"] / 20.0) ** (1 / 3)
        length, height = (0.45, 0.25) if pet["species"] == "cat" else (0.75 * scale, 0.55 * scale)
        objects.append(ThermalObject(f"{pet['species']}-{i}", np.column_stack([xy, np.full(t.size, height / 2)]),
                                     length, height, _k(pet["coat_c"]), 0.95, "vertical", pet["occlusion"]))
        watts = float(pet_metabolic_w(pet["mass_kg"], pet["activity"]))
        bmr_mj_day = 70.0 * pet["mass_kg"] ** 0.75 * 4.184e-3
        heat += 0.7 * watts / 1000.0
        h2o += 0.3 * watts / 1000.0 / 2.45
        co2 += float(occupant_co2_g_s(1, activity_met=pet["activity"], bmr_mj_per_day=bmr_mj_day))
    return Contribution(objects=objects, heat_kw=heat, co2_g_s=co2, h2o_g_s=h2o)


#: wood stove [3]: nominal output and efficiency; glass and body 150-300 C once hot,
#: the flue pipe 100-250 C (model assumption); heat-up time constants (model); a leaky
#: stove lets 0-0.5 % of its flue gas into the room, and an opened door for reloading
#: 2-10 % for its 15-40 s (model assumptions); excess air 1.5-3
STOVE_OUTPUT_KW = (4.0, 9.0)
STOVE_EFFICIENCY = (0.7, 0.8)
STOVE_GLASS_C = (150.0, 300.0)


def sample_fireplace_stove(rng, ctx):
    pos = _placed(rng, ctx, 0.7, 0.0)
    lit_s = -3600.0 if rng.random() < 0.6 else r(rng.uniform(0.05, 0.3) * ctx.duration_s, 2)
    reload = r(rng.uniform(0.3, 0.85) * ctx.duration_s, 2) if rng.random() < 0.4 else None
    return {**pos, "kind": "fireplace_stove", "y_m": r(max(pos["y_m"], ctx.room["depth_m"] - 0.5)), "lit_s": lit_s,
            "output_kw": r(rng.uniform(*STOVE_OUTPUT_KW)), "efficiency": r(rng.uniform(*STOVE_EFFICIENCY)),
            "glass_c": r(rng.uniform(*STOVE_GLASS_C), 1), "body_c": r(rng.uniform(150.0, 300.0), 1),
            "flue_c": r(rng.uniform(100.0, 250.0), 1), "glass_tau_s": r(rng.uniform(120.0, 300.0)),
            "body_tau_s": r(rng.uniform(600.0, 1200.0)), "leak_fraction": r(rng.uniform(0.0, 0.005), 5),
            "excess_air": r(rng.uniform(1.5, 3.0)), "reload_s": reload, "reload_open_s": r(rng.uniform(15.0, 40.0)),
            "spill_fraction": r(rng.uniform(0.02, 0.1)),
            "flame_temperature_k": r(rng.uniform(*FLAME_TEMPERATURE_K), 1)}


def model_fireplace_stove(spec, t, ctx):
    """A wood stove or glass-fronted fireplace insert [3]: the camera sees its hot glass
    (opaque in the LWIR, so not the flame), body and flue pipe; it heats the room with its
    nominal output, draws its combustion air from the room (extra air changes) and, flued,
    adds little CO2: a leak, and a puff of smoke when the door is opened to reload, which
    is when the wood flames (sooty, 0.8 1/m) and embers are in view for a few seconds."""
    amb = ctx.room["ambient_temperature_c"]
    wood = FUEL_PROPERTIES["wood"]
    since = np.clip(t - spec["lit_s"], 0.0, None)
    lit = (t >= spec["lit_s"]).astype(float)
    glass = lit * (1.0 - np.exp(-since / spec["glass_tau_s"]))
    body = lit * (1.0 - np.exp(-since / spec["body_tau_s"]))
    door = (window(t, spec["reload_s"], spec["reload_s"] + spec["reload_open_s"], ramp_s=1.0)
            if spec["reload_s"] is not None else np.zeros_like(t))
    x, y, occ = spec["x_m"], spec["y_m"], spec["occlusion"]
    flicker = flame_flicker(t, 0.3, ctx.rng)
    objects = [
        _vertical("stove-body", x, y, 0.0, 0.55, 0.65, amb + (spec["body_c"] - amb) * body, 0.93, occ),
        _vertical("stove-flue", x, y, 0.65, 0.15, 1.0, amb + (spec["flue_c"] - amb) * body, 0.93, occ),
        _vertical("stove-embers", x, y - 0.02, 0.15, 0.3, 0.06, 700.0, 0.9 * door * glass, occ),
        _vertical("stove-flame", x, y - 0.02, 0.2, 0.3, 0.25 * flicker, spec["flame_temperature_k"] - K0,
                  (1.0 - math.exp(-FLAME_ABSORPTION_PER_M["wood"] * 0.3)) * door * glass, occ),
        # the door (its glass) swings aside while open
        _vertical("stove-glass", x + 0.4 * door, y - 0.06, 0.15, 0.35, 0.3, amb + (spec["glass_c"] - amb) * glass,
                  0.9, occ),
    ]
    hrr = spec["output_kw"] / spec["efficiency"] * glass
    burn = hrr / wood.heat_of_combustion_kj_per_g
    into_room = spec["leak_fraction"] + spec["spill_fraction"] * door
    air_m3_h = burn * CELLULOSE_STOICHIOMETRIC_AIR * spec["excess_air"] / 1.2 * 3.6
    return Contribution(objects=objects, heat_kw=spec["output_kw"] * body,
                        co2_g_s=burn * wood.co2_yield_g_per_g * into_room,
                        h2o_g_s=burn * wood.h2o_yield_g_per_g * into_room,
                        soot_g_s=burn * wood.soot_yield_g_per_g * into_room,
                        extra_air_changes_per_hour=air_m3_h / ctx.room["volume_m3"])


#: garage (model assumptions): single to large double garages; car 3.8-4.9 m long,
#: hood 40-70 C and grille 50-90 C after a drive, tailpipe 60-300 C; idling fuel [4];
#: engine block 100-200 kg of metal (0.5 kJ/(kg K)) near 90 C cooling with a 30-60 min
#: time constant; the garage door 10-30 air changes per hour while open
GARAGE_M = {"width_m": (3.0, 6.5), "depth_m": (5.5, 7.5), "height_m": (2.4, 3.0)}
CAR_TAILPIPE_C = (60.0, 300.0)
IDLE_FUEL_L_H = (0.6, 1.5)


def _as_garage(rng, ctx) -> None:
    """Re-draw the scenario's room (and the node's camera in it) as a garage, in place: a
    car needs one. The family's parameters hold the same dicts."""
    room = sample_room(rng)
    width, depth, height = (rng.uniform(*GARAGE_M[k]) for k in ("width_m", "depth_m", "height_m"))
    room.update({"width_m": r(width), "depth_m": r(depth), "height_m": r(height),
                 "volume_m3": r(width * depth * height, 2)})
    ctx.room.clear()
    ctx.room.update(room)
    ctx.camera.clear()
    ctx.camera.update(sample_camera(rng, ctx.room))


def _face(rng, camera: dict, x_m: float, y_m: float) -> None:
    """Turn the camera towards (x, y), the target within 0.6 of the half field of view."""
    bearing = math.degrees(math.atan2(y_m - camera["y_m"], x_m - camera["x_m"]))
    camera["yaw_deg"] = r(bearing + rng.uniform(-0.6, 0.6) * LEPTON_HALF_HFOV_DEG, 2)


def sample_car_in_garage(rng, ctx):
    _as_garage(rng, ctx)
    room = ctx.room
    length = r(rng.uniform(3.8, 4.9))
    t_door = r(rng.uniform(0.1, 0.3) * ctx.duration_s, 2)
    x = r(room["width_m"] / 2 + rng.uniform(-0.25, 0.25) * max(room["width_m"] - 2.4, 0.0))
    y = r(max(room["depth_m"] - 0.4 - length / 2, length / 2 + 0.2))
    _face(rng, ctx.camera, x, y)
    return {"kind": "car_in_garage", "x_m": x, "y_m": y,
            "z_m": 0.0, "occlusion": 0.0, "length_m": length, "facing": choose(rng, ["nose_in", "reverse_in"]),
            "door_open_s": t_door, "arrive_s": r(t_door + rng.uniform(5.0, 15.0), 2),
            "speed_m_s": r(rng.uniform(0.5, 1.5)), "idle_s": r(rng.uniform(10.0, 90.0)),
            "door_close_after_s": r(rng.uniform(10.0, 60.0)) if rng.random() < 0.8 else None,
            "outdoor_c": r(rng.uniform(-5.0, 30.0), 2), "hood_c": r(rng.uniform(40.0, 70.0), 1),
            "grille_c": r(rng.uniform(50.0, 90.0), 1), "tailpipe_c": r(rng.uniform(*CAR_TAILPIPE_C), 1),
            "idle_l_h": r(rng.uniform(*IDLE_FUEL_L_H)), "engine_kg": r(rng.uniform(100.0, 200.0), 1),
            "engine_tau_s": r(rng.uniform(1800.0, 3600.0)), "door_air_changes_per_hour": r(rng.uniform(10.0, 30.0))}


def car_timeline(spec) -> tuple[float, float, float]:
    """(stop, engine off, garage door closed or None) [s] of a car driving in."""
    drive_s = (spec["length_m"] + 0.4) / spec["speed_m_s"]
    stop = spec["arrive_s"] + drive_s
    off = stop + spec["idle_s"]
    closed = None if spec["door_close_after_s"] is None else off + spec["door_close_after_s"]
    return stop, off, closed


def model_car_in_garage(spec, t, ctx):
    """A car driven into a garage [4]: the garage door opens (the outdoors in view, air
    exchange), the car rolls in and idles a minute or so (an exhaust plume of CO2 and
    water, all its fuel power as heat), then stops; its hood and grille (nose in) or its
    tailpipe (reversed in) cool slowly and the engine block warms the garage."""
    amb = ctx.room["ambient_temperature_c"]
    stop, off, closed = car_timeline(spec)
    length, x = spec["length_m"], spec["x_m"]
    travel = np.clip((t - spec["arrive_s"]) / max(stop - spec["arrive_s"], 1e-3), 0.0, 1.0)
    y_out = ctx.room["depth_m"] + length / 2 + 0.4
    y_c = y_out + (spec["y_m"] - y_out) * travel
    inside = np.clip((t - spec["arrive_s"]) / 2.0, 0.0, 1.0)
    front = y_c - length / 2
    warm = np.where(t < off, 1.0, np.exp(-np.clip(t - off, 0.0, None) / spec["engine_tau_s"]))
    pipe = np.where(t < off, 1.0, np.exp(-np.clip(t - off, 0.0, None) / 300.0))
    door = window(t, spec["door_open_s"], closed, ramp_s=8.0)
    out = spec["outdoor_c"]
    objects = [_vertical("garage-door", ctx.room["width_m"] / 2, ctx.room["depth_m"] - 0.02, 0.0,
                         min(2.4, ctx.room["width_m"] - 0.4), 2.1, amb + 0.3 * (out - amb) + 0.7 * (out - amb) * door,
                         0.9),
               _vertical("car-body", x, y_c, 0.2, 1.8, 1.25, np.full_like(t, out), 0.9 * inside)]
    if spec["facing"] == "nose_in":
        objects += [_horizontal("car-hood", x, front + 0.7, 1.0, 1.4, 1.1, out + (spec["hood_c"] - out) * warm,
                                0.9 * inside),
                    _vertical("car-grille", x, front - 0.02, 0.3, 0.9, 0.35, out + (spec["grille_c"] - out) * warm,
                              0.9 * inside)]
    else:
        objects.append(_vertical("car-tailpipe", x + 0.5, front - 0.02, 0.25, 0.08, 0.08,
                                 out + (spec["tailpipe_c"] - out) * pipe, 0.85 * inside))
    fuel_g_s = spec["idle_l_h"] * PETROL["density_g_ml"] * 1000.0 / 3600.0 * inside * (t < off)
    engine_kj = spec["engine_kg"] * 0.5 * max(90.0 - amb, 0.0)
    after = (t >= off).astype(float)
    extra = spec["door_air_changes_per_hour"] * door
    heat = (fuel_g_s * PETROL["heat_kj_per_g"] + after * engine_kj / spec["engine_tau_s"] * warm
            + AIR_RHO_CP_KJ_M3K * extra * ctx.room["volume_m3"] / 3600.0 * (out - amb))
    return Contribution(objects=objects, heat_kw=heat, co2_g_s=fuel_g_s * PETROL["co2_g_per_g"],
                        h2o_g_s=fuel_g_s * PETROL["h2o_g_per_g"], extra_air_changes_per_hour=extra)


#: kind -> (sampler, model)
WARM_SOURCE_KINDS = {
    "halogen_lamp": (sample_halogen_lamp, model_halogen_lamp),
    "pets": (sample_pets, model_pets),
    "fireplace_stove": (sample_fireplace_stove, model_fireplace_stove),
    "car_in_garage": (sample_car_in_garage, model_car_in_garage),
}
