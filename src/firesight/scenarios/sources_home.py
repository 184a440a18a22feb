"""Home nuisance sources: the everyday things that fool fire detectors most (issue 8,
section 1.5). Here burnt toast, broiling (the UL 217 hamburger test), wok cooking with
a flambé, cigarettes and incense, shower steam, irons and hair straighteners; halogen
lamps, pets, a wood stove or glass-fronted fireplace and a car driven into a garage are
in :mod:`firesight.scenarios.sources_warm`. :data:`HOME_SOURCE_KINDS` holds both.

Same contract as :mod:`firesight.scenarios.sources`: a sampler ``sample(rng, ctx) ->
spec`` (a JSON-serialisable dict) and a model ``model(spec, time_s, ctx) ->
Contribution`` per kind, registered in :data:`HOME_SOURCE_KINDS`. Models are
deterministic given the spec, except for flame flicker drawn from ``ctx.rng``. None of
them burns: a flambé or the fire in a stove is a contained, intended flame and its
scenario stays a nuisance. Smoke is given as light-extinction-equivalent flaming soot
(the room model's convention): smouldering and cooking aerosols are scaled by the ratio
of specific extinction coefficients 4.4 / 8.7 (:data:`SPECIFIC_EXTINCTION_M2_PER_G`).
Every range below is either from the reference it cites or marked "model assumption".

References
----------
.. [1] ANSI/UL 217, Standard for Smoke Alarms, 8th ed. (2015), cooking nuisance smoke
   test: hamburger patties broiled in a broiler pan under an electric range's broiler; a
   listed alarm must not alarm before the smoke obscuration near it reaches 1.5 %/ft
   (about 5 %/m). T. G. Cleary, "A study on the performance of current smoke alarms to
   the new fire and nuisance tests prescribed in ANSI/UL 217-2015", NIST TN 1947 (2016).
.. [2] T. G. Cleary, A. Chernovsky, "Smoke alarm performance in kitchen fires and
   nuisance alarm scenarios", NIST TN 1784 (2014): toasting, broiling, stir-frying and
   frying as the cooking nuisance sources; burnt toast and broiling among the strongest.
.. [3] ASTM F1275 / F1695, performance of griddles and underfired broilers: frozen 1/4 lb
   (113 g) 20 % fat hamburger patties are cooked to a 35 +- 2 % weight loss (mostly
   water, the rest rendered fat).
.. [4] T. J. Ohlemiller, "Smoldering combustion", SFPE Handbook 4th ed., Ch. 2-9, via
   :data:`firesight.physics.fuels.SMOULDERING_PROPERTIES`: cellulosic smoulder yields
   (CO2 0.85-0.9 g/g, smoke 0.10-0.15 g/g, H2O 0.4 g/g, 5.5-6 kJ/g).
.. [5] Tewarson, SFPE Handbook 4th ed., Table 3-4.14, via
   :data:`firesight.physics.fuels.FUEL_PROPERTIES`: methane, ethanol and wood yields;
   Heskestad flame height (:func:`firesight.physics.plume.heskestad_flame_height`).
.. [6] R. R. Baker, "Temperature distribution inside a burning cigarette", Nature 247
   (1974) 405-406: coal 700-800 C inside during the natural smoulder and 800-900 C
   during a puff, the periphery up to 300 C cooler; radiation measurements of the coal
   surface 850-920 C during a puff. ISO 3308: the standard smoking regime, a 2 s puff
   every 60 s.
.. [7] J. J. Jetter, Z. Guo, J. A. McBrian, M. R. Flynn, "Characterization of emissions
   from burning incense", Sci. Total Environ. 295 (2002) 51-67: PM2.5 emission
   7-202 mg/h and 5-56 mg per g burned (so 1.4-3.6 g/h burned). Secondhand tobacco
   smoke: about 10-20 mg PM2.5 per cigarette (Klepeis, Ott and Switzer's measurements;
   14 mg the commonly used mean).
.. [8] ASHRAE Handbook - Fundamentals (2021), Ch. 16 (ventilation): two-way flow
   through a doorway between rooms at temperatures differing by dT,
   Q = C_d (W / 3) sqrt(g H^3 dT / T), C_d about 0.6; psychrometrics by Magnus
   (:func:`firesight.physics.psychrometrics.magnus_saturation_vapour_pressure_pa`).
.. [9] IEC 60311, Electric irons for household use: soleplate temperatures of the dot
   settings, up to about 220 C for cotton and linen; steam irons 1.8-2.6 kW with 15-40 g
   of continuous steam per minute (manufacturers' datasheets); hair straighteners
   30-60 W with plates set to 180-230 C (datasheets).
.. [10] Incropera, Fundamentals of Heat and Mass Transfer, 7th ed., Table A.11:
   emissivity of polished metals 0.1-0.3, oxidised or coated cookware and char
   0.8-0.95, glass 0.84-0.92, skin 0.98; NFPA 72 ch. 29 clearance of the node from
   stationary cooking appliances (:data:`~firesight.scenarios.sources.COOKING_CLEARANCE_M`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from firesight.physics.fire import SPECIFIC_EXTINCTION_M2_PER_G
from firesight.physics.fuels import FUEL_PROPERTIES, SMOULDERING_PROPERTIES
from firesight.physics.occupants import occupant_co2_g_s, occupant_heat_w
from firesight.physics.plume import heskestad_flame_height
from firesight.physics.psychrometrics import magnus_saturation_vapour_pressure_pa
from firesight.scenarios.fires import FLAME_ABSORPTION_PER_M, FLAME_TEMPERATURE_K
from firesight.scenarios.profiles import first_order, flame_flicker, window
from firesight.scenarios.sampler import choose, r
from firesight.scenarios.scene import ThermalObject
from firesight.scenarios.sources import (
    AIR_RHO_CP_KJ_M3K,
    CLOTHED_PERSON_SURFACE_C,
    COOKING_CLEARANCE_M,
    OCCUPANT_SENSIBLE_FRACTION,
    SOURCE_KINDS,
    Contribution,
    _center,
    _horizontal,
    _k,
    _placed,
    _span,
    _vertical,
)
from firesight.scenarios.sources_warm import WARM_SOURCE_KINDS, _lagged
from firesight.units import ZERO_CELSIUS_K as K0

#: smouldering / cooking aerosol mass -> flaming-soot extinction equivalent [-] [4]
SMOKE_TO_SOOT = SPECIFIC_EXTINCTION_M2_PER_G["smouldering"] / SPECIFIC_EXTINCTION_M2_PER_G["flaming"]
#: ethanol density [g/mL] (CRC Handbook)
ETHANOL_DENSITY_G_ML = 0.789
#: water vapour gas constant [J/(kg K)]
R_VAPOUR_J_KG_K = 461.5
#: doorway discharge coefficient [8]
DOORWAY_CD = 0.6


def _person(name, x, y, present, occlusion, *, height=1.7, surface_c=31.0):
    """A clothed person standing (or seated, ``height`` 1.3 m) at (x, y), which may move."""
    return ThermalObject(name, _center(x, y, height / 2.0), 0.45, height, _k(surface_c), 0.97 * present,
                         "vertical", float(occlusion))


def _metabolism(present, met: float = 1.2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Heat [kW], CO2 [g/s] and H2O [g/s] of one person present ``present`` of the time
    (ASHRAE 60 % sensible; Persily & de Jonge CO2)."""
    met_w = float(occupant_heat_w(1, activity_met=met))
    return (present * met_w * OCCUPANT_SENSIBLE_FRACTION / 1000.0,
            present * float(occupant_co2_g_s(1, activity_met=met)),
            present * met_w * (1 - OCCUPANT_SENSIBLE_FRACTION) / 1000.0 / 2.45)


# --- cooking ----------------------------------------------------------------------------------

#: burnt toast: golden surface at the end of a normal cycle, then charring at 200-300 C;
#: charred mass and water lost per slice (model assumptions: a 25-40 g slice loses 3-6 g
#: of water toasting; 0.5-2 g of its surface chars, given off with cellulose smoulder
#: yields [4], an upper bound on the CO2 of what is mostly pyrolysis)
TOAST_GOLDEN_C = (140.0, 170.0)
TOAST_CHAR_C = (200.0, 300.0)
TOAST_CHARRED_G_PER_SLICE = (0.5, 2.0)
TOAST_WATER_G_PER_SLICE = (3.0, 6.0)


def sample_burnt_toast(rng, ctx):
    pos = _placed(rng, ctx, 0.3, 0.9)
    return {**pos, "kind": "burnt_toast", "start_s": r(rng.uniform(0.1, 0.3) * ctx.duration_s, 2),
            "cycle_s": r(rng.uniform(120.0, 200.0)), "overrun_s": r(rng.uniform(60.0, 240.0)),
            "slices": int(rng.integers(1, 5)), "power_kw": r(rng.uniform(0.8, 1.2)),
            "element_c": r(rng.uniform(550.0, 700.0), 1), "golden_c": r(rng.uniform(*TOAST_GOLDEN_C), 1),
            "char_c": r(rng.uniform(*TOAST_CHAR_C), 1),
            "charred_g_per_slice": r(rng.uniform(*TOAST_CHARRED_G_PER_SLICE)),
            "water_g_per_slice": r(rng.uniform(*TOAST_WATER_G_PER_SLICE)),
            "slot_occlusion": r(rng.uniform(0.6, 0.85)), "body_target_c": r(rng.uniform(55.0, 80.0), 1)}


def model_burnt_toast(spec, t, ctx):
    """A toaster that over-runs (a second cycle, a stuck lever): elements glowing through
    the slots (550-700 C), the bread golden at the end of the normal cycle, then charring
    at 200-300 C; the char smoulders with cellulose yields [4]: dense smoke, a little
    CO2 and water [2]; ~1 kW into the room."""
    amb = ctx.room["ambient_temperature_c"]
    t_golden = spec["start_s"] + spec["cycle_s"]
    end = t_golden + spec["overrun_s"]
    on = window(t, spec["start_s"], end, ramp_s=1.0)
    target = np.where(t < t_golden, spec["golden_c"], spec["char_c"])
    bread_c = first_order(t, amb + (target - amb) * on, 45.0)
    charring = np.clip((bread_c - 180.0) / max(spec["char_c"] - 180.0, 1.0), 0.0, 1.0) * on
    char_g_s = spec["slices"] * spec["charred_g_per_slice"] / spec["overrun_s"] * charring
    smoulder = SMOULDERING_PROPERTIES["cotton"]
    occ = spec["occlusion"]
    objects = [
        _vertical("toaster-body", spec["x_m"], spec["y_m"], spec["z_m"], 0.28, 0.2,
                  _lagged(t, amb, spec["body_target_c"], on, 90.0), 0.85, occ),
        _horizontal("toaster-slots", spec["x_m"], spec["y_m"], spec["z_m"] + 0.2, 0.24, 0.08,
                    _lagged(t, amb, spec["element_c"], on, 15.0), 0.9,
                    1.0 - (1.0 - spec["slot_occlusion"]) * (1.0 - occ)),
        _horizontal("toast", spec["x_m"], spec["y_m"], spec["z_m"] + 0.21, 0.2, 0.015 * spec["slices"], bread_c,
                    0.95, occ),
    ]
    water = spec["slices"] * spec["water_g_per_slice"] / (spec["cycle_s"] + spec["overrun_s"]) * on
    return Contribution(objects=objects, heat_kw=spec["power_kw"] * on,
                        co2_g_s=char_g_s * smoulder.co2_yield_g_per_g,
                        h2o_g_s=water + char_g_s * smoulder.h2o_yield_g_per_g,
                        soot_g_s=char_g_s * smoulder.smoke_yield_g_per_g * SMOKE_TO_SOOT)


#: broiling [1, 3]: patty mass (1/4-1/3 lb), weight loss when done and its water share;
#: broil power (electric elements 3-3.6 kW, gas broil burners 13-18 kBtu/h: range
#: datasheets); broil cavity 230-290 C (450-550 F settings); the element glows between
#: the Draper point (525 C) and orange heat (model assumption 600-850 C). Fat smoke
#: (soot-equivalent) 0.5-4 mg/s: what brings a ~200 m3 room to UL 217's 1.5 %/ft (5.7
#: mg/m3 of 8.7 m2/g soot) in about 10 min.
PATTY_G = (113.0, 151.0)
PATTY_WEIGHT_LOSS = (0.33, 0.37)
BROIL_KW = {"electric": (3.0, 3.6), "gas": (3.8, 5.3)}
BROIL_SMOKE_G_S = (5e-4, 4e-3)


def sample_broiling(rng, ctx):
    pos = _placed(rng, ctx, 0.6, 0.0, min_distance_m=COOKING_CLEARANCE_M)
    broiler = choose(rng, ["electric", "gas"])
    return {**pos, "kind": "broiling", "broiler": broiler, "start_s": r(rng.uniform(0.05, 0.25) * ctx.duration_s, 2),
            "preheat_s": r(rng.uniform(180.0, 300.0)), "cook_s": r(rng.uniform(480.0, 1200.0)),
            "open_s": r(rng.uniform(15.0, 40.0)), "door_ajar": bool(rng.random() < 0.5),
            "broil_kw": r(rng.uniform(*BROIL_KW[broiler])), "duty": r(rng.uniform(0.7, 1.0)),
            "element_c": r(rng.uniform(600.0, 850.0), 1), "cavity_c": r(rng.uniform(230.0, 290.0), 1),
            "door_glass_c": r(rng.uniform(40.0, 70.0), 1), "patties": int(rng.integers(2, 5)),
            "patty_g": r(rng.uniform(*PATTY_G), 1), "weight_loss": r(rng.uniform(*PATTY_WEIGHT_LOSS)),
            "water_share": r(rng.uniform(0.8, 0.9)), "smoke_g_s": r(rng.uniform(*BROIL_SMOKE_G_S), 6)}


def model_broiling(spec, t, ctx):
    """UL 217's cooking nuisance [1]: hamburgers under the broiler of a range. The door
    glass warms (40-70 C, opaque in the LWIR); the door is opened to load, turn and take
    out the pan, showing the 230-290 C cavity and the glowing element, or left ajar as
    many cooks broil; the patties lose 35 % of their mass, mostly as vapour [3], and
    give fat smoke; an electric broiler's power heats the kitchen, a gas broiler's
    flame adds methane's CO2 and H2O [5]."""
    amb = ctx.room["ambient_temperature_c"]
    t_in = spec["start_s"] + spec["preheat_s"]
    end = t_in + spec["cook_s"]
    on = window(t, spec["start_s"], end, ramp_s=2.0)
    cooking = window(t, t_in, end, ramp_s=2.0)
    opened = np.zeros_like(t)
    for t_open in (t_in - spec["open_s"], t_in + spec["cook_s"] / 2.0, end):
        opened = np.maximum(opened, window(t, t_open, t_open + spec["open_s"], ramp_s=1.5))
    cavity_c = _lagged(t, amb, spec["cavity_c"], on, 150.0)
    element_c = _lagged(t, amb, spec["element_c"], on, 30.0)
    x, y, occ = spec["x_m"], spec["y_m"], spec["occlusion"]
    ajar = 1.0 if spec["door_ajar"] else 0.0
    objects = [
        _vertical("oven-door", x, y, 0.15, 0.6, 0.6, _lagged(t, amb, spec["door_glass_c"], on, 300.0), 0.88, occ),
        _vertical("oven-cavity", x, y - 0.02, 0.25, 0.45, 0.35, cavity_c, 0.9 * opened, occ),
        _vertical("oven-gap", x, y - 0.01, 0.72, 0.5, 0.05, cavity_c, 0.9 * ajar * on * (1 - opened), occ),
        _vertical("broil-element", x, y - 0.03, 0.55, 0.4, 0.02, element_c, 0.9 * np.maximum(opened, 0.5 * ajar),
                  occ),
    ]
    water = spec["patties"] * spec["patty_g"] * spec["weight_loss"] * spec["water_share"] / spec["cook_s"]
    smoke = spec["smoke_g_s"] * cooking * np.clip((t - t_in) / 120.0, 0.0, 1.0)
    power = spec["broil_kw"] * spec["duty"] * on
    part = Contribution(objects=objects, h2o_g_s=water * cooking, soot_g_s=smoke)
    if spec["broiler"] == "gas":
        fuel = FUEL_PROPERTIES["methane"]
        mass = power / fuel.heat_of_combustion_kj_per_g
        part.co2_g_s = mass * fuel.co2_yield_g_per_g
        part.h2o_g_s = part.h2o_g_s + mass * fuel.h2o_yield_g_per_g
        part.plume_hrr_kw = power
        part.plume = {"x_m": x, "y_m": y, "z_m": 0.9, "diameter_m": 0.3,
                      "radiative_fraction": fuel.radiative_fraction}
    else:
        part.heat_kw = power + 2.0 * opened * on
    return part


#: wok and flambé: domestic wok burners 2.5-5 kW (range datasheets); a seasoned carbon
#: steel wok (emissivity 0.7-0.9 [10]) at 200-300 C; 20-60 mL of 35-45 % spirit poured;
#: the burst of flame 1-5 s at 10-40 kW and a tail over 10-40 s, with the flambé's energy
#: bounded by the alcohol's (model assumptions); LWIR absorption of the flambé flame from
#: clean ethanol (0.1 1/m) to a luminous one with burning oil and sugar droplets (0.6 1/m,
#: as propane's) (:data:`~firesight.scenarios.fires.FLAME_ABSORPTION_PER_M`).
FLAMBE_PEAK_KW = (10.0, 40.0)
FLAMBE_PUFF_S = (1.0, 5.0)


def sample_wok_flambe(rng, ctx):
    pos = _placed(rng, ctx, 0.6, 0.9, min_distance_m=COOKING_CLEARANCE_M)
    start, end = _span(rng, ctx.duration_s, start=(0.05, 0.3), length=(0.4, 0.8))
    flambes = [{"t_s": r(rng.uniform(start + 0.2 * (end - start), max(end - 45.0, start + 0.3 * (end - start))), 2),
                "alcohol_ml": r(rng.uniform(20.0, 60.0), 1), "abv": r(rng.uniform(0.35, 0.45)),
                "burned_fraction": r(rng.uniform(0.3, 0.8)), "peak_kw": r(rng.uniform(*FLAMBE_PEAK_KW), 2),
                "puff_s": r(rng.uniform(*FLAMBE_PUFF_S), 2), "tail_s": r(rng.uniform(10.0, 40.0), 2)}
               for _ in range(int(rng.integers(1, 3)))]
    return {**pos, "kind": "wok_flambe", "start_s": start, "end_s": end, "burner_kw": r(rng.uniform(2.5, 5.0)),
            "wok_diameter_m": r(rng.uniform(0.3, 0.36)), "wok_c": r(rng.uniform(200.0, 300.0), 1),
            "wok_emissivity": r(rng.uniform(0.7, 0.9)), "flame_absorption_per_m": r(rng.uniform(
                FLAME_ABSORPTION_PER_M["ethanol"], FLAME_ABSORPTION_PER_M["propane"])),
            "flame_temperature_k": r(rng.uniform(*FLAME_TEMPERATURE_K), 1), "flambes": flambes,
            "h2o_g_s": r(rng.uniform(0.1, 0.4)), "cooking_aerosol_g_s": r(rng.uniform(5e-4, 3e-3), 6)}


def flambe_hrr_kw(flambe: dict, t: np.ndarray) -> np.ndarray:
    """Heat release of one flambé [kW]: a burst at ``peak_kw`` for ``puff_s`` (at most 60 %
    of the energy), then the rest of the burned alcohol's energy (25.6 kJ/g [5]) decaying
    linearly from at most 0.4 of the burst over ``tail_s`` or longer; never more energy
    than the alcohol holds."""
    energy_kj = (flambe["alcohol_ml"] * flambe["abv"] * ETHANOL_DENSITY_G_ML * flambe["burned_fraction"]
                 * FUEL_PROPERTIES["ethanol"].heat_of_combustion_kj_per_g)
    puff_kj = min(flambe["peak_kw"] * flambe["puff_s"], 0.6 * energy_kj)
    burst_kw = puff_kj / flambe["puff_s"]
    tail_kj = energy_kj - puff_kj
    tail_s = max(flambe["tail_s"], 2.0 * tail_kj / (0.4 * burst_kw))
    t0, t1 = flambe["t_s"], flambe["t_s"] + flambe["puff_s"]
    since = t - (t1 + 0.2)
    tail = np.where((since >= 0) & (since < tail_s), 1.0 - since / tail_s, 0.0)
    return burst_kw * window(t, t0, t1, ramp_s=0.2) + 2.0 * tail_kj / tail_s * tail


def model_wok_flambe(spec, t, ctx):
    """Wok cooking on a gas burner: the methane flame fringe under the wok, the wok at
    200-300 C, steam and cooking fumes; one or two flambés, a tall alcohol flame for a
    few seconds (Heskestad height over the wok [5], flickering at its puffing frequency)
    whose heat release is reported as ``nuisance_flame_hrr_kw`` together with the
    burner's, and whose ethanol adds real CO2 and H2O."""
    methane, ethanol = FUEL_PROPERTIES["methane"], FUEL_PROPERTIES["ethanol"]
    on = window(t, spec["start_s"], spec["end_s"], ramp_s=2.0)
    burner = spec["burner_kw"] * on
    flambe = sum((flambe_hrr_kw(f, t) for f in spec["flambes"]), np.zeros_like(t))
    d = spec["wok_diameter_m"]
    pool_d = 0.7 * d
    amb = ctx.room["ambient_temperature_c"]
    height = heskestad_flame_height(flambe, pool_d) * flame_flicker(t, pool_d, ctx.rng)
    eps = (1.0 - math.exp(-spec["flame_absorption_per_m"] * pool_d)) * (flambe > 0.05)
    x, y, z, occ = spec["x_m"], spec["y_m"], spec["z_m"], spec["occlusion"]
    objects = [
        _vertical("wok-burner-flame", x, y, z, d + 0.05, 0.035 * flame_flicker(t, 0.1, ctx.rng, amplitude=0.15),
                  1600.0 - K0, 0.04 * on, occlusion=max(occ, 0.4)),
        _vertical("wok", x, y, z + 0.03, d, 0.1, _lagged(t, amb, spec["wok_c"], on, 60.0), spec["wok_emissivity"],
                  occ),
        _vertical("flambe-flame", x, y, z + 0.1, pool_d, height, spec["flame_temperature_k"] - K0, eps, occ),
    ]
    gas, alcohol = burner / methane.heat_of_combustion_kj_per_g, flambe / ethanol.heat_of_combustion_kj_per_g
    return Contribution(objects=objects, co2_g_s=gas * methane.co2_yield_g_per_g + alcohol * ethanol.co2_yield_g_per_g,
                        h2o_g_s=gas * methane.h2o_yield_g_per_g + alcohol * ethanol.h2o_yield_g_per_g
                        + spec["h2o_g_s"] * on, soot_g_s=spec["cooking_aerosol_g_s"] * on * SMOKE_TO_SOOT,
                        plume_hrr_kw=burner + flambe,
                        plume={"x_m": x, "y_m": y, "z_m": z, "diameter_m": d,
                               "radiative_fraction": ethanol.radiative_fraction})


# --- smoking ----------------------------------------------------------------------------------

#: cigarette coal surface [6]: between puffs (the centre's 700-800 C less the cooler
#: periphery) and during a puff; tobacco burned per cigarette (0.5-0.8 g, model
#: assumption), PM2.5 per cigarette [7]; incense tip (a dim red glow just above the
#: Draper point, model assumption), burn rate and PM2.5 per g [7]
CIGARETTE_SMOULDER_C = (500.0, 700.0)
CIGARETTE_PUFF_C = (800.0, 900.0)
CIGARETTE_PM_MG = (10.0, 20.0)
INCENSE_TIP_C = (500.0, 650.0)
INCENSE_BURN_G_H = (1.4, 3.6)
INCENSE_PM_MG_PER_G = (5.0, 56.0)


def sample_cigarette_incense(rng, ctx):
    variant = choose(rng, ["cigarette", "incense"])
    start = r(rng.uniform(0.05, 0.3) * ctx.duration_s, 2)
    if variant == "cigarette":
        pos = _placed(rng, ctx, 0.5, 0.0)
        return {**pos, "kind": "cigarette_incense", "variant": variant, "start_s": start,
                "count": int(rng.integers(1, 3)), "burn_s": r(rng.uniform(300.0, 480.0)),
                "gap_s": r(rng.uniform(30.0, 120.0)), "puff_interval_s": r(rng.uniform(30.0, 60.0)), "puff_s": 2.0,
                "smoulder_c": r(rng.uniform(*CIGARETTE_SMOULDER_C), 1), "puff_c": r(rng.uniform(*CIGARETTE_PUFF_C), 1),
                "tobacco_g": r(rng.uniform(0.5, 0.8)), "pm_mg": r(rng.uniform(*CIGARETTE_PM_MG), 2),
                "posture": choose(rng, ["standing", "seated"]),
                "surface_c": r(rng.uniform(*CLOTHED_PERSON_SURFACE_C), 2)}
    pos = _placed(rng, ctx, 0.4, r(rng.uniform(0.7, 1.2)))
    return {**pos, "kind": "cigarette_incense", "variant": variant, "start_s": start,
            "count": int(rng.integers(1, 4)), "stick_g": r(rng.uniform(0.5, 1.5)),
            "burn_g_h": r(rng.uniform(*INCENSE_BURN_G_H)), "tip_c": r(rng.uniform(*INCENSE_TIP_C), 1),
            "pm_mg_per_g": r(rng.uniform(*INCENSE_PM_MG_PER_G), 2)}


def model_cigarette_incense(spec, t, ctx):
    """A person smoking (an 8 mm coal at 500-700 C, 800-900 C and raised to the mouth for
    a 2 s puff every 30-60 s [6]; sidestream smoke [7]; the smoker's breath and body) or
    incense sticks (a 2-3 mm tip glowing at 500-650 C, sinking as the stick burns; smoke
    [7]); both smoulder with cellulose yields [4]: a few watts and a trickle of CO2."""
    smoulder = SMOULDERING_PROPERTIES["cotton" if spec["variant"] == "cigarette" else "wood"]
    x, y, z, occ = spec["x_m"], spec["y_m"], spec["z_m"], spec["occlusion"]
    objects, burn, smoke = [], np.zeros_like(t), np.zeros_like(t)
    heat, co2, h2o = np.zeros_like(t), np.zeros_like(t), np.zeros_like(t)
    if spec["variant"] == "cigarette":
        seated = spec["posture"] == "seated"
        period = spec["burn_s"] + spec["gap_s"]
        lit = sum((window(t, spec["start_s"] + i * period, spec["start_s"] + i * period + spec["burn_s"], ramp_s=2.0)
                   for i in range(spec["count"])), np.zeros_like(t))
        since = np.clip(t - spec["start_s"], 0.0, None) % spec["puff_interval_s"]
        puffing = lit * np.clip(np.minimum(since, spec["puff_s"] + 0.5 - since) / 0.5, 0.0, 1.0)
        coal_c = spec["smoulder_c"] + (spec["puff_c"] - spec["smoulder_c"]) * puffing
        mouth, rest = (1.15, 0.7) if seated else (1.55, 1.0)
        objects.append(ThermalObject("cigarette-coal", _center(x + 0.25 * (1 - puffing), y - 0.1,
                                                               rest + (mouth - rest) * puffing),
                                     0.008, 0.008, _k(coal_c), 0.9 * lit, "vertical", occ))
        present = window(t, spec["start_s"] - 30.0, spec["start_s"] + spec["count"] * period + 30.0, ramp_s=0.5)
        objects.append(_person("smoker", x, y, present, occ, height=1.3 if seated else 1.7,
                               surface_c=spec["surface_c"]))
        heat, co2, h2o = _metabolism(present)
        burn = spec["tobacco_g"] / spec["burn_s"] * lit
        smoke = spec["pm_mg"] / 1000.0 / spec["burn_s"] * lit
    else:
        burn_s = spec["stick_g"] / spec["burn_g_h"] * 3600.0
        burnt = np.clip((t - spec["start_s"]) / burn_s, 0.0, 1.0)
        lit = window(t, spec["start_s"], spec["start_s"] + burn_s, ramp_s=2.0)
        for i in range(spec["count"]):
            objects.append(ThermalObject(f"incense-tip-{i}", _center(x + 0.04 * i, y, z + 0.22 * (1.0 - burnt)),
                                         0.004, 0.008, _k(spec["tip_c"]), 0.9 * lit, "vertical", occ))
        burn = spec["count"] * spec["burn_g_h"] / 3600.0 * lit
        smoke = burn * spec["pm_mg_per_g"] / 1000.0
    return Contribution(objects=objects, heat_kw=heat + burn * smoulder.heat_of_combustion_kj_per_g,
                        co2_g_s=co2 + burn * smoulder.co2_yield_g_per_g,
                        h2o_g_s=h2o + burn * smoulder.h2o_yield_g_per_g, soot_g_s=smoke * SMOKE_TO_SOOT)


# --- bathroom and grooming ---------------------------------------------------------------------

#: bathroom after a shower (model assumptions, the air range from the issue): volume,
#: air 35-40 C near saturation, its surfaces 27-33 C; fog in the doorway, LWIR
#: emissivity 0.1-0.3; wet surfaces and towels keep giving off 30-80 % more vapour
SHOWER_AIR_C = (35.0, 40.0)
SHOWER_RH = (90.0, 100.0)
BATHROOM_M3 = (5.0, 15.0)


def doorway_exchange_m3_s(width_m, height_m, delta_t_k, mean_temperature_k, *, cd=DOORWAY_CD):
    """Two-way buoyant exchange through an open doorway [m3/s] [8]:
    ``Q = cd (W/3) sqrt(g H^3 dT / T)``."""
    return cd * width_m / 3.0 * np.sqrt(9.81 * height_m**3 * np.abs(delta_t_k) / mean_temperature_k)


def bathroom_flush(bathroom_m3, room_m3, door_width_m, delta_t_k, mean_temperature_k) -> tuple[float, float]:
    """(time constant [s], share [-]) of the bathroom's excess vapour and heat that the
    room receives through the open door: two well-mixed volumes exchanging ``Q`` [8]
    equalise with the rate ``Q (1/V_bath + 1/V_room)``, and the room ends up with its
    volume's share ``V_room / (V_bath + V_room)`` of the excess."""
    q = max(float(doorway_exchange_m3_s(door_width_m, 2.0, delta_t_k, mean_temperature_k)), 1e-3)
    return 1.0 / (q * (1.0 / bathroom_m3 + 1.0 / room_m3)), room_m3 / (bathroom_m3 + room_m3)


def vapour_density_g_m3(temperature_c, rh_percent):
    """Water vapour density [g/m3] at ``temperature_c`` and ``rh_percent`` (Magnus, ideal gas)."""
    e = magnus_saturation_vapour_pressure_pa(temperature_c) * rh_percent / 100.0
    return 1000.0 * e / (R_VAPOUR_J_KG_K * (np.asarray(temperature_c) + K0))


def sample_shower_steam(rng, ctx):
    pos = _placed(rng, ctx, 0.9, 0.0, view=choose(rng, ["in_view", "in_view", "partly_out_of_view"]))
    spot = _placed(rng, ctx, 0.5, 0.0)
    t_open = r(rng.uniform(0.15, 0.4) * ctx.duration_s, 2)
    return {**pos, "kind": "shower_steam", "y_m": r(ctx.room["depth_m"] - 0.02), "open_s": t_open,
            "close_s": r(t_open + rng.uniform(60.0, 300.0), 2) if rng.random() < 0.5 else None,
            "door_width_m": r(rng.uniform(0.7, 0.9)), "bathroom_m3": r(rng.uniform(*BATHROOM_M3), 2),
            "air_c": r(rng.uniform(*SHOWER_AIR_C), 2), "rh": r(rng.uniform(*SHOWER_RH), 1),
            "walls_c": r(rng.uniform(27.0, 33.0), 2), "fog_emissivity": r(rng.uniform(0.1, 0.3)),
            "tail_fraction": r(rng.uniform(0.3, 0.8)), "tail_tau_s": r(rng.uniform(300.0, 900.0)),
            "person": bool(rng.random() < 0.8), "spot": {"x_m": spot["x_m"], "y_m": spot["y_m"]},
            "person_stays_s": r(rng.uniform(60.0, 300.0)), "skin_c": r(rng.uniform(31.0, 34.0), 2)}


def model_shower_steam(spec, t, ctx):
    """A bathroom door opening after a shower: the saturated 35-40 C air leaves through
    the doorway at the buoyant exchange rate [8] and then the wet room keeps steaming, so
    the room's humidity jumps with some heat and no combustion CO2; the camera sees the
    warm tiles through the doorway, a faint fog cloud under its lintel and the person
    coming out (only their breath adds CO2)."""
    amb = ctx.room["ambient_temperature_c"]
    dt = spec["air_c"] - amb
    tau, share = bathroom_flush(spec["bathroom_m3"], ctx.room["volume_m3"], spec["door_width_m"], dt,
                                0.5 * (spec["air_c"] + amb) + K0)
    vapour_g = share * spec["bathroom_m3"] * float(vapour_density_g_m3(spec["air_c"], spec["rh"])
                                                   - vapour_density_g_m3(amb, ctx.room["relative_humidity_rh"]))
    heat_kj = share * AIR_RHO_CP_KJ_M3K * spec["bathroom_m3"] * dt
    since = np.clip(t - spec["open_s"], 0.0, None)
    after = (t >= spec["open_s"]).astype(float)
    flush = after * np.exp(-since / tau) / tau
    tail = after * np.exp(-since / spec["tail_tau_s"]) / spec["tail_tau_s"] * spec["tail_fraction"]
    is_open = window(t, spec["open_s"], spec["close_s"], ramp_s=2.0)
    x, y, occ, w = spec["x_m"], spec["y_m"], spec["occlusion"], spec["door_width_m"]
    inside_c = amb + (spec["walls_c"] - amb) * np.exp(-since / (4 * spec["tail_tau_s"]))
    objects = [_vertical("bathroom-doorway", x, y, 0.0, w, 2.0, amb + (inside_c - amb) * is_open, 0.93, occ),
               _vertical("steam-cloud", x, y - 0.3, 1.4, w + 0.3, 0.8, amb + dt * np.exp(-since / tau),
                         spec["fog_emissivity"] * np.exp(-since / tau) * after, occ)]
    heat, co2, h2o = np.zeros_like(t), np.zeros_like(t), np.zeros_like(t)
    if spec["person"]:
        leave = spec["open_s"] + spec["person_stays_s"]
        present = window(t, spec["open_s"], leave, ramp_s=0.5)
        door, spot = np.array([x, y - 0.4]), np.array([spec["spot"]["x_m"], spec["spot"]["y_m"]])
        frac = np.clip(since / max(float(np.linalg.norm(spot - door)) / 1.2, 1.0), 0.0, 1.0)
        objects.append(_person("person-towel", door[0] + frac * (spot[0] - door[0]),
                               door[1] + frac * (spot[1] - door[1]), present, occ, surface_c=spec["skin_c"]))
        heat, co2, h2o = _metabolism(present)
    return Contribution(objects=objects, heat_kw=heat + heat_kj * (flush + tail), co2_g_s=co2,
                        h2o_g_s=h2o + vapour_g * (flush + tail))


#: soleplate / plate temperatures and powers [9]; soleplate emissivity polished
#: (0.1-0.3) to ceramic-coated (0.8-0.9) [10]; the iron rests on its heel (soleplate
#: facing out) 5-15 s every 20-60 s, the straightener opens between 4-10 s strokes
#: (model assumptions)
IRON_PLATE_C = (150.0, 220.0)
STRAIGHTENER_PLATE_C = (180.0, 230.0)


def sample_iron_straightener(rng, ctx):
    pos = _placed(rng, ctx, 0.8, 0.0)
    start, end = _span(rng, ctx.duration_s, start=(0.05, 0.3), length=(0.5, 0.9))
    appliance = choose(rng, ["iron", "straightener"])
    spec = {**pos, "kind": "iron_straightener", "appliance": appliance, "start_s": start, "end_s": end,
            "surface_c": r(rng.uniform(*CLOTHED_PERSON_SURFACE_C), 2)}
    if appliance == "iron":
        spec.update({"plate_c": r(rng.uniform(*IRON_PLATE_C), 1), "power_kw": r(rng.uniform(1.8, 2.6)),
                     "duty": r(rng.uniform(0.4, 0.7)), "steam_g_min": r(rng.uniform(15.0, 40.0)),
                     "steam_share": r(rng.uniform(0.3, 0.6)), "plate_emissivity": r(rng.uniform(0.1, 0.9)),
                     "rest_period_s": r(rng.uniform(20.0, 60.0)), "rest_s": r(rng.uniform(5.0, 15.0)),
                     "stroke_hz": r(rng.uniform(0.2, 0.4)), "cloth_c": r(rng.uniform(35.0, 60.0), 1)})
    else:
        spec.update({"plate_c": r(rng.uniform(*STRAIGHTENER_PLATE_C), 1), "power_kw": r(rng.uniform(0.03, 0.06), 4),
                     "housing_c": r(rng.uniform(50.0, 80.0), 1), "plate_emissivity": r(rng.uniform(0.8, 0.9)),
                     "stroke_s": r(rng.uniform(4.0, 10.0)), "posture": choose(rng, ["standing", "seated"])})
    return spec


def model_iron_straightener(spec, t, ctx):
    """A person ironing (soleplate 150-220 C, seen when the iron rests on its heel; the
    pressed cloth warmed; steam and up to 2.6 kW [9]) or straightening hair (ceramic
    plates at 180-230 C seen when the tongs open, 30-60 W [9])."""
    amb = ctx.room["ambient_temperature_c"]
    on = window(t, spec["start_s"], spec["end_s"], ramp_s=2.0)
    heating = window(t, spec["start_s"] - 90.0, spec["end_s"], ramp_s=1.0)
    plate_c = _lagged(t, amb, spec["plate_c"], heating, 60.0)
    x, y, occ = spec["x_m"], spec["y_m"], spec["occlusion"]
    since = np.clip(t - spec["start_s"], 0.0, None)
    if spec["appliance"] == "iron":
        resting = on * (since % spec["rest_period_s"] > spec["rest_period_s"] - spec["rest_s"])
        ironing = on * (1.0 - resting)
        stroke_x = x + 0.2 * np.sin(2 * np.pi * spec["stroke_hz"] * t) * ironing
        objects = [_horizontal("ironed-cloth", x, y, 0.9, 0.5, 0.35, _lagged(t, amb, spec["cloth_c"], ironing, 20.0),
                               0.9, occ),
                   _vertical("iron-body", stroke_x, y, 0.9, 0.12, 0.12, amb + 0.2 * (plate_c - amb), 0.9, occ),
                   _vertical("iron-soleplate", stroke_x, y - 0.02, 0.9, 0.12, 0.25, plate_c,
                             spec["plate_emissivity"] * resting, occ)]
        present = window(t, spec["start_s"] - 90.0, spec["end_s"] + 30.0, ramp_s=0.5)
        objects.append(_person("person-ironing", x, y + 0.45, present, occ, surface_c=spec["surface_c"]))
        heat, co2, h2o = _metabolism(present, met=1.8)
        steam = spec["steam_g_min"] / 60.0 * spec["steam_share"] * ironing
        return Contribution(objects=objects, heat_kw=heat + spec["power_kw"] * spec["duty"] * heating,
                            co2_g_s=co2, h2o_g_s=h2o + steam)
    head = 1.15 if spec["posture"] == "seated" else 1.55
    phase = (since % spec["stroke_s"]) / spec["stroke_s"]
    is_open = on * (phase > 0.8)
    z = head - 0.35 * np.minimum(phase / 0.8, 1.0) * on
    objects = [_vertical("straightener-housing", x + 0.2, y - 0.1, z, 0.03, 0.25, amb + (spec["housing_c"] - amb)
                         * (plate_c - amb) / max(spec["plate_c"] - amb, 1.0), 0.9, occ),
               _vertical("straightener-plates", x + 0.2, y - 0.12, z + 0.1, 0.025, 0.1, plate_c,
                         spec["plate_emissivity"] * is_open, occ)]
    present = window(t, spec["start_s"] - 90.0, spec["end_s"] + 30.0, ramp_s=0.5)
    objects.append(_person("person-hair", x, y, present, occ, height=1.3 if spec["posture"] == "seated" else 1.7,
                           surface_c=spec["surface_c"]))
    heat, co2, h2o = _metabolism(present)
    return Contribution(objects=objects, heat_kw=heat + spec["power_kw"] * heating, co2_g_s=co2, h2o_g_s=h2o)


#: kind -> (sampler, model) of every home nuisance kind (these and
#: :data:`~firesight.scenarios.sources_warm.WARM_SOURCE_KINDS`), merged into
#: :data:`firesight.scenarios.sources.SOURCE_KINDS` below
HOME_SOURCE_KINDS: dict[str, tuple[Callable, Callable]] = {
    "burnt_toast": (sample_burnt_toast, model_burnt_toast),
    "broiling": (sample_broiling, model_broiling),
    "wok_flambe": (sample_wok_flambe, model_wok_flambe),
    "cigarette_incense": (sample_cigarette_incense, model_cigarette_incense),
    "shower_steam": (sample_shower_steam, model_shower_steam),
    "iron_straightener": (sample_iron_straightener, model_iron_straightener),
    **WARM_SOURCE_KINDS,
}
SOURCE_KINDS.update(HOME_SOURCE_KINDS)
