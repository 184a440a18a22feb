"""Home fires: the fires that start most fires in dwellings (issue 8 section 1.5), each
with what it heats before it ignites (the precursor phase, labelled in the truth's
``precursor`` column) and what ``ignition`` (the first time the truth ``state`` leaves 0)
means for it.

=========================  ==================================  =====================================
family                     ignition (state leaves 0)           precursor phase (state 0)
=========================  ==================================  =====================================
``cooking_oil_pan_fire``   the oil auto-ignites (flaming)      hob on under the pan: oil heats from
                                                               ambient past its smoke point
``waste_bin_fire``         paper first smoulders or flames     none
``mattress_cigarette``     the bedding starts to smoulder      a lit cigarette lies on the bedding
``lithium_ion_battery``    thermal runaway: first jet flame    cell self-heating and venting
``upholstered_chair``      the chair's first flame             none
``wall_corner_fire``       the trash or lining's first flame   none
=========================  ==================================  =====================================

Specs are drawn with the helpers of :mod:`firesight.scenarios.fires` (``_flaming``,
``_smouldering``) and burn with :func:`firesight.physics.fire.simulate_fire`;
:func:`fire_history` adds the battery's cell-by-cell bursts and :func:`fire_apparatus`
what the camera and the room see besides the fire itself (hob and pan, the pack, the
cigarette, the heated wall) with its heat, gases and fumes.

References
----------
.. [1] M. Ahrens, "Home Structure Fires", NFPA (2021) and "Home Cooking Fires", NFPA
   (2020): cooking is the leading cause of home fires (about half), most often with
   cooking oil or grease first ignited on the range; smoking materials (cigarettes on
   bedding and upholstered furniture) the leading cause of home fire deaths;
   upholstered furniture and mattresses the items first ignited in the deadliest fires.
.. [2] A. Hamins, S. C. Kim, D. Madrzykowski, "Characterization of stovetop cooking oil
   fires", J. Fire Sci. 36 (2018) 224-239, and S. C. Kim, A. Hamins, "Why are cooktop
   fires so hazardous" (NIST, 2020): oil heated on gas and electric ranges until it
   auto-ignites; continued heating makes the ensuing fire grow very fast.
.. [3] K. Buda-Ortins, P. B. Sunderland, "Auto-ignition of cooking oils", University of
   Maryland (2010): autoignition temperatures of canola 424 C, vegetable 406 C, olive
   435 C (hot-surface method); issue 8 quotes about 350-370 C for oil heated in a pan,
   and a smoke point of about 230 C.
.. [4] V. Babrauskas, "Heat release rates", SFPE Handbook 5th ed. (2016), Ch. 26:
   wastebaskets of paper and plastics peak at about 4-50 kW (10-50 kW for the
   household sizes modelled); mattresses and upholstered chairs reach 0.1-2 MW.
.. [5] B. Sundstrom (ed.), "CBUF: Fire safety of upholstered furniture", EUR 16477 EN
   (1995), and V. Babrauskas, J. Krasny, "Fire behavior of upholstered furniture", NBS
   Monograph 173 (1985): armchairs peak at about 0.5-2 MW within a few minutes of
   ignition by a small flame, on t-squared growth of about fast to ultrafast.
.. [6] V. Babrauskas, R. B. Williamson, "Post-flashover compartment fires: basis of a
   theoretical model", Fire and Materials 2 (1978) 39-53 (after Kawagoe): the heat
   release a room can sustain through an opening is at most about 1500 A sqrt(H) kW.
.. [7] T. J. Ohlemiller, "Smoldering combustion", SFPE Handbook 4th ed., Ch. 2-9, and
   R. Holleyhead, "Ignition of solid materials and furniture by lighted cigarettes. A
   review", Science & Justice 39 (1999) 75-102: a cigarette on cellulosic bedding or
   upholstery starts a smoulder after minutes; the smoulder releases 0.01-2 kW, is CO
   rich and may turn to flaming after tens of minutes to hours, or never.
.. [8] R. R. Baker, "Temperature distribution inside a burning cigarette", Nature 247
   (1974) 405-406: the coal's surface is at about 500-750 C between puffs.
.. [9] UL 9540A (4th ed., 2019), Test method for evaluating thermal runaway fire
   propagation in battery energy storage systems: cells self-heat, vent (flammable
   gas: H2, CO, CO2, hydrocarbons, electrolyte vapour) and then go into thermal runaway.
   X. Feng et al., "Thermal runaway mechanism of lithium ion battery for electric
   vehicles: a review", Energy Storage Materials 10 (2018) 246-267: self-heating
   accelerates to a runaway trigger at about 150-250 C. A. W. Golubkov et al., RSC
   Advances 4 (2014) 3633-3642: vent gas mostly H2, CO2 and CO.
.. [10] Z. Yu et al., "Understanding the combustion behavior of electric bicycle
   batteries ...", J. Energy Chem. 91 (2024) 609-618: a 12 Ah e-bike pack peaks at
   40 kW with a total heat release of 1.04 MJ, flames 70-75 cm tall at 600-700 C.
.. [11] ISO 9705-1:2016, Room corner test (100 kW, then 300 kW corner burner); Y. Hasemi,
   T. Tokunaga, "Flame geometry effects on the buoyant plumes from turbulent diffusion
   flames", Fire Sci. Technol. 4 (1984) 15-26, and B. Y. Lattimer, "Heat transfer from
   fires to surfaces", SFPE Handbook 5th ed., Ch. 25: a fire against a wall or in a
   corner behaves as a free fire of 2x or 4x its heat release (mirror images), its
   flames heat the wall with 30-120 kW/m2.
"""

from __future__ import annotations

import math

import numpy as np

from firesight.physics.fire import SPECIFIC_EXTINCTION_M2_PER_G, T_SQUARED_ALPHA_KW_S2, FireHistory
from firesight.physics.fuels import FUEL_PROPERTIES
from firesight.physics.plume import heskestad_flame_height
from firesight.scenarios.fires import _flaming, _smouldering, burning_diameter_m, simulate_fire_spec
from firesight.scenarios.profiles import first_order, newton_cooling_c, window
from firesight.scenarios.sampler import LEPTON_HALF_HFOV_DEG, loguniform, place_source, r
from firesight.scenarios.scene import ThermalObject
from firesight.scenarios.sources import COOKING_CLEARANCE_M, Contribution
from firesight.units import ZERO_CELSIUS_K as K0

#: Autoignition temperature of the oil in the pan [C]: issue 8's 350-370 C in a pan up to
#: the hot-surface values of Buda-Ortins [3] (406-435 C).
OIL_AUTOIGNITION_C = (350.0, 430.0)
#: Smoke point of refined cooking oils [C] (about 230 C [3]; the range a model assumption).
OIL_SMOKE_POINT_C = (200.0, 240.0)
#: Heat release per unit pan area of a fully involved oil pan fire [kW/m2]: chosen so that
#: 0.2-0.3 m pans burn at 30-100 kW (issue 8, [2]); model assumption.
OIL_PAN_HRR_PER_AREA_KW_M2 = (960.0, 1400.0)
#: Density of cooking oil [g/L].
OIL_DENSITY_G_PER_L = 920.0
#: Wastebasket peak heat release [kW] [4].
WASTE_BIN_PEAK_KW = (10.0, 50.0)
#: Upholstered chair peak heat release [kW] before the ventilation cap [5].
CHAIR_PEAK_KW = (500.0, 2000.0)
#: Kawagoe / Babrauskas-Williamson ventilation limit [kW per m^(5/2)] [6] and the door the
#: room is assumed to have (width, height) [m].
VENTILATION_LIMIT_KW_PER_M52 = 1500.0
DOOR_M = ((0.8, 0.9), (2.0, 2.1))
#: Cigarette coal surface temperature [C] [8].
CIGARETTE_COAL_C = (500.0, 700.0)
#: Battery packs: (peak kW, total heat MJ, pack width m) per kind; the e-bike pack after
#: Yu et al. [10] (40 kW, 1.04 MJ for 12 Ah), laptops scaled by their energy (model
#: assumption); together 10-120 kW as issue 8 asks (10-100+ kW).
BATTERY_PACKS = {"laptop": ((10.0, 30.0), (0.1, 0.4), (0.25, 0.35)),
                 "e_mobility": ((30.0, 120.0), (0.8, 4.0), (0.3, 0.45))}
#: Cell surface temperature at the thermal-runaway trigger [C] (issue 8's 150-200 C, within
#: Feng et al.'s 150-250 C [9]) and at which the cells vent [C] (model assumption).
BATTERY_RUNAWAY_C = (150.0, 210.0)
BATTERY_VENT_C = (110.0, 145.0)
#: Wall surface temperature reached behind an attached flame [C]: 30-120 kW/m2 [11] heat a
#: lining to several hundred C (model range).
WALL_HEATED_C = (350.0, 600.0)


# --- placement -------------------------------------------------------------------------------

def _clear_of_node(rng, ctx, spec: dict, size_m: float, z_m: float) -> None:
    """Re-place ``spec`` at least NFPA 72's cooking clearance from the node
    (:data:`firesight.scenarios.sources.COOKING_CLEARANCE_M`, as the cooking nuisances)."""
    for clearance in COOKING_CLEARANCE_M:
        pos = place_source(rng, ctx.room, ctx.camera, size_m=size_m, z_m=z_m, min_distance_m=clearance)
        if math.hypot(pos["x_m"] - ctx.camera["x_m"], pos["y_m"] - ctx.camera["y_m"]) >= clearance:
            break
    spec.update(pos)


def _view(bearing_deg: float, size_m: float, distance_m: float, drawn: str) -> str:
    half = math.degrees(math.atan2(size_m / 2.0, max(distance_m, 0.1)))
    if abs(bearing_deg) > LEPTON_HALF_HFOV_DEG + half:
        return "out_of_view"
    if abs(bearing_deg) > LEPTON_HALF_HFOV_DEG - half:
        return "partly_out_of_view"
    return drawn if drawn in ("in_view", "occluded") else "in_view"


def _against_wall(rng, ctx, spec: dict, size_m: float) -> dict:
    """Move the fire along its bearing from the camera until it touches a wall, or (half of
    the time) into the nearer back corner; returns the ``wall`` description."""
    room, cam = ctx.room, ctx.camera
    margin = size_m / 2.0 + 0.02
    heading = math.radians(cam["yaw_deg"] + spec["bearing_deg"])
    c, s = math.cos(heading), math.sin(heading)
    hits = []
    if c < -1e-9:
        hits.append((margin - cam["x_m"]) / c)
    if c > 1e-9:
        hits.append((room["width_m"] - margin - cam["x_m"]) / c)
    if s > 1e-9:
        hits.append((room["depth_m"] - margin - cam["y_m"]) / s)
    reach = min(h for h in hits if h > 0) if any(h > 0 for h in hits) else 1.0
    x, y = cam["x_m"] + reach * c, cam["y_m"] + reach * s
    corner = bool(rng.random() < 0.5)
    if corner:
        x = margin if x < room["width_m"] / 2 else room["width_m"] - margin
        y = room["depth_m"] - margin
    x = min(max(x, margin), room["width_m"] - margin)
    y = min(max(y, margin), room["depth_m"] - margin)
    # the wall surface behind the fire: the nearest wall, or the corner itself
    to_walls = {"x0": x - margin, "x1": room["width_m"] - margin - x, "y1": room["depth_m"] - margin - y}
    nearest = min(to_walls, key=to_walls.get)
    wx, wy = x, y
    if corner:
        wx = 0.0 if x < room["width_m"] / 2 else room["width_m"]
        wy = room["depth_m"]
    elif nearest == "x0":
        wx = 0.0
    elif nearest == "x1":
        wx = room["width_m"]
    else:
        wy = room["depth_m"]
    bearing = math.degrees(math.atan2(y - cam["y_m"], x - cam["x_m"])) - cam["yaw_deg"]
    bearing = (bearing + 180.0) % 360.0 - 180.0
    distance = math.dist((x, y, spec["z_m"]), (cam["x_m"], cam["y_m"], cam["z_m"]))
    view = _view(bearing, size_m, distance, spec["view"])
    spec.update({"x_m": r(x), "y_m": r(y), "view": view, "distance_m": r(distance), "bearing_deg": r(bearing, 2),
                 "occlusion": spec["occlusion"] if view == "occluded" else 0.0,
                 "flame_hrr_factor": 4.0 if corner else 2.0})
    return {"location": "corner" if corner else "wall", "wall_x_m": r(wx), "wall_y_m": r(wy)}


def ventilation_limit_kw(door_width_m: float, door_height_m: float) -> float:
    """Largest heat release a room can sustain through one open door [kW]: about
    1500 A sqrt(H) (Kawagoe; Babrauskas & Williamson [6])."""
    return VENTILATION_LIMIT_KW_PER_M52 * door_width_m * door_height_m * math.sqrt(door_height_m)


# --- the families' specs ---------------------------------------------------------------------

def cooking_oil_pan_fire(rng, ctx):
    """A pan of oil left on a hob: the oil heats (first order towards the hob's equilibrium),
    smokes past its smoke point, auto-ignites at ``ignition_time_s`` and grows fast to
    30-100 kW [2, 3]. The hob was switched on ``heat_up_s`` before ignition (often before
    the recording starts); the node keeps NFPA 72's clearance from the hob."""
    d = rng.uniform(0.2, 0.3)
    peak = rng.uniform(*OIL_PAN_HRR_PER_AREA_KW_M2) * math.pi * d ** 2 / 4.0
    litres = rng.uniform(0.5, 1.5)
    energy = litres * OIL_DENSITY_G_PER_L * FUEL_PROPERTIES["cooking_oil"].heat_of_combustion_kj_per_g
    z = rng.uniform(0.85, 0.95)
    spec = _flaming(rng, ctx, fuel="cooking_oil", diameter_m=d,
                    alpha=rng.uniform(T_SQUARED_ALPHA_KW_S2["fast"], T_SQUARED_ALPHA_KW_S2["ultrafast"]),
                    peak_hrr_kw=peak, energy_kj=energy, z_m=z)
    _clear_of_node(rng, ctx, spec, 0.6, z)
    ambient = ctx.room["ambient_temperature_c"]
    ai = rng.uniform(*OIL_AUTOIGNITION_C)
    equilibrium = ai + rng.uniform(80.0, 250.0)
    tau = rng.uniform(200.0, 700.0)
    heat_up = tau * math.log((equilibrium - ambient) / (equilibrium - ai))
    hob = ("electric_radiant", "electric_induction", "gas")[int(rng.integers(3))]
    spec["precursor_start_s"] = r(spec["ignition_time_s"] - heat_up, 2)
    spec["pan"] = {"autoignition_c": r(ai, 1), "smoke_point_c": r(rng.uniform(*OIL_SMOKE_POINT_C), 1),
                   "equilibrium_c": r(equilibrium, 1), "time_constant_s": r(tau, 1), "heat_up_s": r(heat_up, 2),
                   "hob": hob, "hob_power_kw": r(rng.uniform(1.5, 3.0)), "hob_glow_c": r(rng.uniform(450.0, 600.0), 1),
                   "pan_emissivity": r(rng.uniform(0.1, 0.95)), "litres": r(litres),
                   "fume_g_s": r(loguniform(rng, 2e-3, 1e-2), 6)}
    return spec


def waste_bin_fire(rng, ctx):
    """A household waste bin of paper and plastics (burned as cellulose): medium growth to
    10-50 kW [4]; 40 % start from a discarded cigarette or match that smoulders 30-150 s
    first (the ignition is then the first smoulder)."""
    smoulder = rng.random() < 0.4
    return _flaming(rng, ctx, fuel="cotton", diameter_m=rng.uniform(0.25, 0.4),
                    alpha=rng.uniform(0.5, 1.6) * T_SQUARED_ALPHA_KW_S2["medium"],
                    peak_hrr_kw=rng.uniform(*WASTE_BIN_PEAK_KW), energy_kj=rng.uniform(3e3, 10e3),
                    smoulder_s=rng.uniform(30.0, 150.0) if smoulder else 0.0,
                    smoulder_hrr_kw=rng.uniform(0.05, 0.3) if smoulder else 0.0)


def mattress_cigarette(rng, ctx):
    """A lit cigarette on bedding: it lies on the fabric for 1-7 min (the precursor) before
    the bedding smoulders (ignition); the smoulder is CO rich at 0.02-0.3 kW, partly under
    the covers; 30 % turn to flaming late in the scenario (after 55-85 % of the time left)
    [7]."""
    fuel = "cotton" if rng.random() < 0.6 else "polyurethane_foam"
    d = rng.uniform(0.9, 1.4)
    z = rng.uniform(0.4, 0.6)
    if rng.random() < 0.3:
        spec = _flaming(rng, ctx, fuel=fuel, diameter_m=d,
                        alpha=rng.uniform(T_SQUARED_ALPHA_KW_S2["medium"], T_SQUARED_ALPHA_KW_S2["fast"]),
                        peak_hrr_kw=loguniform(rng, 300.0, 1500.0), energy_kj=None, z_m=z,
                        smoulder_hrr_kw=rng.uniform(0.02, 0.3))
        spec["smoulder_duration_s"] = r(rng.uniform(0.55, 0.85) * (ctx.duration_s - spec["ignition_time_s"]), 2)
        spec["glow_c"] = r(rng.uniform(450.0, 700.0), 1)
        spec["glow_diameter_m"] = r(rng.uniform(0.03, 0.1), 4)
    else:
        spec = _smouldering(rng, ctx, fuel=fuel, hrr_kw=rng.uniform(0.02, 0.3), glow_c=rng.uniform(450.0, 700.0),
                            glow_diameter_m=rng.uniform(0.03, 0.1), diameter_m=d, z_m=z)
    spec["glow_occlusion"] = r(rng.uniform(0.3, 0.9))
    on_bedding = rng.uniform(60.0, 420.0)
    spec["precursor_start_s"] = r(spec["ignition_time_s"] - on_bedding, 2)
    spec["cigarette"] = {"coal_c": r(rng.uniform(*CIGARETTE_COAL_C), 1), "burn_s": r(rng.uniform(600.0, 900.0), 1),
                         "length_m": 0.06, "diameter_m": 0.008}
    return spec


def lithium_ion_battery(rng, ctx):
    """A laptop (40 %) or e-bike / scooter (60 %) pack in thermal runaway: its cells
    self-heat for 20 s to 5 min (precursor, accelerating from near ambient to the 150-210 C
    runaway trigger) and vent electrolyte smoke and CO2 from 110-145 C; at runaway (the
    ignition) jet flames burst as cell after cell fails, 10-120 kW, with much CO2 and
    smoke [9, 10]."""
    kind = "laptop" if rng.random() < 0.4 else "e_mobility"
    (p_lo, p_hi), (e_lo, e_hi), (w_lo, w_hi) = BATTERY_PACKS[kind]
    peak = loguniform(rng, p_lo, p_hi)
    energy_kj = rng.uniform(e_lo, e_hi) * 1000.0
    width = rng.uniform(w_lo, w_hi)
    alpha = 4.0 * T_SQUARED_ALPHA_KW_S2["ultrafast"]
    z = rng.uniform(0.7, 0.8) if kind == "laptop" else rng.uniform(0.0, 0.3)
    spec = _flaming(rng, ctx, fuel="li_ion_battery", diameter_m=width, alpha=alpha, peak_hrr_kw=peak,
                    energy_kj=energy_kj, z_m=z)
    growth_s = math.sqrt(peak / alpha)
    flames_s = growth_s + 0.7 * energy_kj / peak
    times = [growth_s] + sorted(rng.uniform(0.3 * growth_s, flames_s, int(rng.integers(1, 9))))
    self_heating = rng.uniform(20.0, 300.0)
    spec["precursor_start_s"] = r(spec["ignition_time_s"] - self_heating, 2)
    spec["battery"] = {"kind": kind, "self_heating_s": r(self_heating, 2),
                       "start_c": r(ctx.room["ambient_temperature_c"] + rng.uniform(2.0, 10.0), 1),
                       "runaway_c": r(rng.uniform(*BATTERY_RUNAWAY_C), 1), "vent_c": r(rng.uniform(*BATTERY_VENT_C), 1),
                       "vent_smoke_g_s": r(loguniform(rng, 0.02, 0.3), 4),
                       "vent_co2_g_s": r(loguniform(rng, 0.01, 0.1), 4),
                       "casing_c": r(rng.uniform(600.0, 700.0), 1), "height_m": r(rng.uniform(0.03, 0.12)),
                       "burst_floor": r(rng.uniform(0.25, 0.45)),
                       "bursts": [[r(t, 2), r(rng.uniform(1.5, 5.0), 2)] for t in times]}
    return spec


def upholstered_chair(rng, ctx):
    """An upholstered armchair lit by a small flame: flaming from ignition, fast to
    ultrafast growth to 0.5-2 MW [5], capped at the room's ventilation limit through its
    door [6] (the room model further limits the plume to the oxygen it entrains)."""
    door_w, door_h = rng.uniform(*DOOR_M[0]), rng.uniform(*DOOR_M[1])
    peak = min(rng.uniform(*CHAIR_PEAK_KW), ventilation_limit_kw(door_w, door_h))
    spec = _flaming(rng, ctx, fuel="polyurethane_foam", diameter_m=rng.uniform(0.6, 0.9),
                    alpha=rng.uniform(T_SQUARED_ALPHA_KW_S2["fast"], T_SQUARED_ALPHA_KW_S2["ultrafast"]),
                    peak_hrr_kw=peak, energy_kj=rng.uniform(100e3, 300e3), z_m=rng.uniform(0.3, 0.45))
    spec["door_m"] = [r(door_w), r(door_h)]
    return spec


def wall_corner_fire(rng, ctx):
    """Trash or lining burning against a wall (50 %) or in a corner (50 %), ISO 9705-like:
    medium to fast growth to 50-300 kW (the room corner test's 100 and 300 kW burner
    levels [11]); the flame stands as tall as a free flame of 2x (wall) or 4x (corner) the
    heat release and heats the wall behind it."""
    d = rng.uniform(0.3, 0.6)
    spec = _flaming(rng, ctx, fuel="wood", diameter_m=d,
                    alpha=rng.uniform(T_SQUARED_ALPHA_KW_S2["medium"], T_SQUARED_ALPHA_KW_S2["fast"]),
                    peak_hrr_kw=loguniform(rng, 50.0, 300.0), energy_kj=rng.uniform(20e3, 60e3))
    spec["wall"] = _against_wall(rng, ctx, spec, d)
    spec["wall"].update({"heated_c": r(rng.uniform(*WALL_HEATED_C), 1),
                         "time_constant_s": r(rng.uniform(20.0, 60.0), 1)})
    return spec


#: home fire family name -> spec sampler (merged into the catalog by
#: :mod:`firesight.scenarios.families`)
HOME_FIRE_SAMPLERS = {
    "cooking_oil_pan_fire": cooking_oil_pan_fire,
    "waste_bin_fire": waste_bin_fire,
    "mattress_cigarette": mattress_cigarette,
    "lithium_ion_battery": lithium_ion_battery,
    "upholstered_chair": upholstered_chair,
    "wall_corner_fire": wall_corner_fire,
}


# --- physics and appearance ------------------------------------------------------------------

def battery_bursts(spec: dict, time_s: np.ndarray) -> np.ndarray:
    """Modulation (<= 1) of a battery fire's heat release: a floor with a Gaussian burst
    each time a cell (or group) fails, centred ``t`` s after the runaway, ``width`` s wide."""
    t = np.asarray(time_s, dtype=float) - float(spec["ignition_time_s"])
    b = spec["battery"]
    mod = np.full(t.shape, float(b["burst_floor"]))
    for centre, width in b["bursts"]:
        mod += (1.0 - b["burst_floor"]) * np.exp(-0.5 * ((t - centre) / width) ** 2)
    return np.clip(mod, 0.0, 1.0)


def fire_history(spec: dict, time_s: np.ndarray) -> FireHistory:
    """:func:`firesight.scenarios.fires.simulate_fire_spec`, with a battery's heat release
    and products modulated by its cell bursts (:func:`battery_bursts`)."""
    history = simulate_fire_spec(spec, time_s)
    if "battery" in spec:
        mod = battery_bursts(spec, history.time_s)
        for name in ("hrr_kw", "mass_loss_rate_g_s", "co2_g_s", "co_g_s", "h2o_g_s", "soot_g_s"):
            setattr(history, name, getattr(history, name) * mod)
    return history


def _oil_c(pan: dict, t: np.ndarray, t_on: float, ambient_c: float) -> np.ndarray:
    """Oil temperature: first order from ambient towards the hob's equilibrium from switch-on,
    held at the autoignition temperature once it gets there (the oil burns)."""
    since = np.clip(t - t_on, 0.0, None)
    oil = pan["equilibrium_c"] - (pan["equilibrium_c"] - ambient_c) * np.exp(-since / pan["time_constant_s"])
    return np.minimum(oil, pan["autoignition_c"])


def _pan_part(spec: dict, t: np.ndarray, ambient_c: float) -> Contribution:
    pan, x, y, z, occ = spec["pan"], spec["x_m"], spec["y_m"], spec["z_m"], spec["occlusion"]
    t_on = float(spec["precursor_start_s"])
    on = (t >= t_on).astype(float)
    oil = _oil_c(pan, t, t_on, ambient_c)
    d = spec["diameter_m"]
    objects = [ThermalObject("pan", np.array([x, y, z + 0.025]), d, 0.05, oil + K0, pan["pan_emissivity"],
                             "vertical", occ)]
    heat = pan["hob_power_kw"] * on
    co2 = h2o = 0.0
    if pan["hob"] == "electric_radiant":
        glow = ambient_c + (pan["hob_glow_c"] - ambient_c) * np.clip(np.clip(t - t_on, 0.0, None) / 40.0, 0.0, 1.0)
        objects.insert(0, ThermalObject("hob-ring", np.array([x + d * 0.45, y, z - 0.01]), 0.05, d, glow + K0, 0.9,
                                        "horizontal", occ))
    elif pan["hob"] == "gas":
        methane = FUEL_PROPERTIES["methane"]
        mass = heat / methane.heat_of_combustion_kj_per_g
        co2, h2o = mass * methane.co2_yield_g_per_g, mass * methane.h2o_yield_g_per_g
        objects.insert(0, ThermalObject("hob-flame", np.array([x, y, z - 0.01 + 0.0175]), d + 0.05, 0.035,
                                        1600.0, 0.04 * on, "vertical", max(occ, 0.4)))
    fumes = pan["fume_g_s"] * np.clip((oil - pan["smoke_point_c"]) / (pan["autoignition_c"] - pan["smoke_point_c"]),
                                      0.0, 1.0) ** 2
    return Contribution(objects=objects, heat_kw=heat, co2_g_s=co2, h2o_g_s=h2o, soot_g_s=fumes)


def battery_surface_c(spec: dict, t: np.ndarray, state: np.ndarray, ambient_c: float) -> np.ndarray:
    """Cell surface temperature [C]: warm from charging, then self-heating that accelerates
    (exponentially) to the runaway trigger at ignition, then the casing heating towards
    600-700 C (10 s) while it burns and cooling (120 s) once the fire is out."""
    b = spec["battery"]
    t = np.asarray(t, dtype=float)
    t_ign, t_pre = float(spec["ignition_time_s"]), float(spec["precursor_start_s"])
    u = np.clip((t - t_pre) / max(t_ign - t_pre, 1e-6), 0.0, 1.0)
    k = 3.0
    out = b["start_c"] + (b["runaway_c"] - b["start_c"]) * np.expm1(k * u) / math.expm1(k)
    after = t >= t_ign
    hot = b["casing_c"] + (b["runaway_c"] - b["casing_c"]) * np.exp(-np.clip(t - t_ign, 0.0, None) / 10.0)
    out = np.where(after, hot, out)
    done = np.flatnonzero(after & (np.asarray(state) == 0))
    if done.size:
        t_out = float(t[done[0]])
        level = float(np.interp(t_out, t, hot))
        cooled = newton_cooling_c(t, t_out, level, ambient_c, 120.0)
        out = np.where(t >= t_out, cooled, out)
    return out


def _battery_part(spec: dict, history: FireHistory, ambient_c: float) -> Contribution:
    b, t = spec["battery"], history.time_s
    surface = battery_surface_c(spec, t, history.state, ambient_c)
    venting = (surface >= b["vent_c"]) & (t < spec["ignition_time_s"])
    white = SPECIFIC_EXTINCTION_M2_PER_G["smouldering"] / SPECIFIC_EXTINCTION_M2_PER_G["flaming"]
    pack = ThermalObject("battery-pack", np.array([spec["x_m"], spec["y_m"], spec["z_m"] + b["height_m"] / 2]),
                         spec["diameter_m"], b["height_m"], surface + K0, 0.9, "vertical", spec["occlusion"])
    return Contribution(objects=[pack], soot_g_s=b["vent_smoke_g_s"] * white * venting,
                        co2_g_s=b["vent_co2_g_s"] * venting)


def _cigarette_part(spec: dict, t: np.ndarray, ambient_c: float) -> Contribution:
    cig = spec["cigarette"]
    start = float(spec["precursor_start_s"])
    lit = window(t, start, start + cig["burn_s"], ramp_s=5.0)
    coal = ambient_c + (cig["coal_c"] - ambient_c) * lit
    obj = ThermalObject("cigarette", np.array([spec["x_m"], spec["y_m"], spec["z_m"] + 0.01]), cig["length_m"],
                        cig["diameter_m"], coal + K0, 0.95 * lit, "horizontal", spec["occlusion"])
    return Contribution(objects=[obj])


def _wall_part(spec: dict, history: FireHistory, ambient_c: float) -> Contribution:
    """The wall behind an attached flame heats towards ``heated_c`` with the fire (first
    order) over a patch as wide as 1.5 burning diameters and as tall as the flame."""
    w, t = spec["wall"], history.time_s
    flaming = history.state == 2
    d_burn = burning_diameter_m(history.hrr_kw, spec)
    height = heskestad_flame_height(history.hrr_kw * spec.get("flame_hrr_factor", 1.0), d_burn) * flaming
    height = np.maximum(first_order(t, height, w["time_constant_s"]), 0.05)
    drive = np.clip(history.hrr_kw / (0.3 * spec["peak_hrr_kw"]), 0.0, 1.0)
    wall_c = first_order(t, ambient_c + (w["heated_c"] - ambient_c) * drive, w["time_constant_s"])
    centre = np.column_stack([np.full_like(t, w["wall_x_m"]), np.full_like(t, w["wall_y_m"]), spec["z_m"] + height / 2])
    obj = ThermalObject("heated-wall", centre, 1.5 * d_burn, height, wall_c + K0, 0.9, "vertical", spec["occlusion"])
    return Contribution(objects=[obj])


def fire_apparatus(spec: dict, history: FireHistory, ambient_c: float) -> Contribution | None:
    """What a home fire shows and releases besides the fire itself, on ``history.time_s``:
    the hob and the pan of oil (heat, gas-hob CO2/H2O, oil fumes past the smoke point), the
    battery pack (surface temperature, venting smoke and CO2), the cigarette, the heated
    wall; None for fires without any."""
    t = history.time_s
    if "pan" in spec:
        return _pan_part(spec, t, ambient_c)
    if "battery" in spec:
        return _battery_part(spec, history, ambient_c)
    if "cigarette" in spec:
        return _cigarette_part(spec, t, ambient_c)
    if "wall" in spec:
        return _wall_part(spec, history, ambient_c)
    return None


__all__ = ["HOME_FIRE_SAMPLERS", "battery_bursts", "battery_surface_c", "fire_apparatus", "fire_history",
           "ventilation_limit_kw"]
