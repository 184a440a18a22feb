"""Fires: the fire spec of each fire family (modelled on the EN 54 / ISO 7240 test fires
and on two common real ignition sequences) and how a burning fire looks in the LWIR.

A flaming fire is a partly transparent vertical flame of Heskestad mean height over its
burning area, flickering at the puffing frequency, above a hot fuel bed; a smouldering
fire is a small hot glow spot (or, for pyrolysis fires, the hot plate under the wood);
an overheating cable is a thin hot line before it ignites. Heat release, burning state
and products come from :func:`firesight.physics.fire.simulate_fire`. The home fires
(cooking oil, waste bin, cigarette on bedding, battery, armchair, wall/corner) are in
:mod:`firesight.scenarios.fires_home`; :func:`precursor_flags` labels the steps where a
fire's fuel or apparatus is heated towards ignition before it ignites (the hotplate of
TF2/TF7, the overloaded cable, the home fires' hob, cigarette and self-heating cells).

References
----------
.. [1] EN 54-7:2018 Annex and EN 54-20 / ISO 7240-9:2022: test fires TF1 (open
   cellulosic, beech-wood crib), TF2 (smouldering pyrolysis, beech wood on a hotplate
   reaching 600 C in about 11 min), TF3 (glowing smouldering cotton), TF4 (flaming
   plastics, polyurethane mats), TF5 (n-heptane pool), TF6 (methylated spirit pool,
   clean burning), TF7 (slow pyrolysis of beech wood), TF8 (low-temperature black smoke,
   decalin).
.. [2] V. Babrauskas, "Heat release rates", SFPE Handbook 5th ed. (2016), Ch. 26,
   Table 26.16 (pool burning: n-heptane m'' = 0.101 kg/(m2 s), k beta = 1.1 1/m;
   ethanol m'' = 0.015 kg/(m2 s)).
.. [3] D. Drysdale, An Introduction to Fire Dynamics, 3rd ed. (2011), Section 2.4.2 and
   Table 2.6: effective emission coefficients of flames, wood crib 0.8 1/m,
   polystyrene 1.2 1/m; flame emissivity 1 - exp(-kappa L).
.. [4] B. J. McCaffrey, "Purely buoyant diffusion flames: some experimental results",
   NBSIR 79-1910 (1979): mean centre-line temperature about 1100-1200 K in the
   continuous flame region.
.. [5] T. J. Ohlemiller, "Smoldering combustion", SFPE Handbook 4th ed., Ch. 2-9: peak
   smoulder temperatures 600-750 C in cellulosics, 10-50 W per cm2 of glowing front.
.. [6] Thermal overload of PVC insulation: decomposition (HCl release) from about
   200-250 C (Babrauskas, Ignition Handbook, 2003, Section 7 "Plastics" and
   Section 14 "Electrical").
"""

from __future__ import annotations

import math

import numpy as np

from firesight.physics.fire import T_SQUARED_ALPHA_KW_S2, FireHistory, FireSpec, simulate_fire
from firesight.physics.fuels import FUEL_PROPERTIES
from firesight.physics.plume import heskestad_flame_height
from firesight.scenarios.profiles import first_order, flame_flicker
from firesight.scenarios.sampler import loguniform, place_source, r, sample_ignition_time
from firesight.scenarios.scene import ThermalObject
from firesight.units import ZERO_CELSIUS_K as K0


#: Effective LWIR absorption (emission) coefficient of each fuel's flame [1/m]: wood from
#: Drysdale [3]; polyurethane and PVC take polystyrene's 1.2 1/m (sooty polymer flames,
#: an assumption); n-heptane Babrauskas' k beta 1.1 1/m [2]; ethanol, methane and
#: candle flames are non- or weakly luminous, their 8-14 um emission is from the gas
#: bands only (model assumption 0.05-0.3 1/m).
FLAME_ABSORPTION_PER_M = {
    "wood": 0.8, "cotton": 0.8, "polyurethane_foam": 1.2, "pvc_cable": 1.2, "n_heptane": 1.1,
    "ethanol": 0.1, "methane": 0.05, "candle_wax": 0.3, "propane": 0.6,
    # home fires (:mod:`firesight.scenarios.fires_home`): cooking oil burns with a sooty,
    # luminous flame (taken as n-heptane's 1.1 1/m) and battery jet flames carry glowing
    # particles (1.0 1/m); both model assumptions
    "cooking_oil": 1.1, "li_ion_battery": 1.0,
}
#: Mean flame temperature over the visible flame (McCaffrey [4], continuous region) [K].
FLAME_TEMPERATURE_K = (1100.0, 1250.0)
#: Burning fuel-bed surface temperature [C]: charring solids glow at 600-800 C;
#: liquid pools sit near their boiling point (n-heptane 98 C, ethanol 78 C); burning cooking
#: oil near its autoignition temperature (about 380 C) and a battery's casing in thermal
#: runaway at 600-700 C (Yu et al. 2024, :mod:`firesight.scenarios.fires_home`).
FUEL_BED_C = {"wood": 700.0, "cotton": 650.0, "polyurethane_foam": 450.0, "pvc_cable": 500.0,
              "n_heptane": 98.0, "ethanol": 78.0, "cooking_oil": 380.0, "li_ion_battery": 650.0}


def _fire_base(rng, ctx, diameter_m: float, z_m: float, view: str | None = None) -> dict:
    return place_source(rng, ctx.room, ctx.camera, size_m=diameter_m, z_m=z_m, view=view)


def _flaming(rng, ctx, *, fuel, diameter_m, alpha, peak_hrr_kw, energy_kj, z_m=0.0, smoulder_s=0.0,
             smoulder_hrr_kw=0.0, extra=None) -> dict:
    t_ign = sample_ignition_time(rng, ctx.duration_s)
    remaining = ctx.duration_s - t_ign
    suppression = r(t_ign + rng.uniform(0.6, 0.95) * remaining, 2) if rng.random() < 0.15 else None
    spec = {"fuel": fuel, "ignition_time_s": t_ign, "growth_alpha_kw_s2": r(alpha, 5),
            "peak_hrr_kw": r(peak_hrr_kw, 2), "fuel_energy_kj": None if energy_kj is None else r(energy_kj, 0),
            "smoulder_duration_s": r(smoulder_s, 2), "smoulder_hrr_kw": r(smoulder_hrr_kw, 4),
            "transition_to_flaming": True, "suppression_time_s": suppression, "diameter_m": r(diameter_m),
            "flame_temperature_k": r(rng.uniform(*FLAME_TEMPERATURE_K), 1),
            "flame_absorption_per_m": FLAME_ABSORPTION_PER_M[fuel],
            "fuel_bed_c": FUEL_BED_C.get(fuel, 400.0), "glow_c": r(rng.uniform(450.0, 650.0), 1),
            "glow_diameter_m": r(rng.uniform(0.02, 0.06))}
    spec.update(_fire_base(rng, ctx, diameter_m, z_m))
    spec.update(extra or {})
    return spec


def _smouldering(rng, ctx, *, fuel, hrr_kw, glow_c, glow_diameter_m, diameter_m, z_m=0.0, extra=None) -> dict:
    t_ign = sample_ignition_time(rng, ctx.duration_s)
    spec = {"fuel": fuel, "ignition_time_s": t_ign, "growth_alpha_kw_s2": T_SQUARED_ALPHA_KW_S2["slow"],
            "peak_hrr_kw": r(max(hrr_kw * 1.5, 0.1), 3), "fuel_energy_kj": None,
            "smoulder_duration_s": r(rng.uniform(0.3, 0.8) * (ctx.duration_s - t_ign), 2),
            "smoulder_hrr_kw": r(hrr_kw, 4), "transition_to_flaming": False, "suppression_time_s": None,
            "diameter_m": r(diameter_m), "flame_temperature_k": 1100.0,
            "flame_absorption_per_m": FLAME_ABSORPTION_PER_M[fuel], "fuel_bed_c": FUEL_BED_C.get(fuel, 400.0),
            "glow_c": r(glow_c, 1), "glow_diameter_m": r(glow_diameter_m, 4)}
    spec.update(_fire_base(rng, ctx, diameter_m, z_m))
    spec.update(extra or {})
    return spec


def pool_peak_hrr_kw(diameter_m: float, burning_rate_kg_m2s: float, k_beta_per_m: float, fuel: str) -> float:
    """Steady pool-fire heat release (Babrauskas [2]):
    Q = m''_inf (1 - exp(-k beta D)) dHc A [kW]."""
    area = math.pi * diameter_m ** 2 / 4.0
    dh = FUEL_PROPERTIES[fuel].heat_of_combustion_kj_per_g * 1000.0
    return burning_rate_kg_m2s * (1.0 - math.exp(-k_beta_per_m * diameter_m)) * dh * area


# --- the fire families' specs ----------------------------------------------------------------

def tf1_open_wood(rng, ctx):
    return _flaming(rng, ctx, fuel="wood", diameter_m=rng.uniform(0.4, 0.6),
                    alpha=rng.uniform(T_SQUARED_ALPHA_KW_S2["medium"], T_SQUARED_ALPHA_KW_S2["fast"]),
                    peak_hrr_kw=rng.uniform(40.0, 150.0), energy_kj=rng.uniform(20e3, 40e3))


def tf2_smouldering_wood(rng, ctx):
    spec = _smouldering(rng, ctx, fuel="wood", hrr_kw=rng.uniform(0.05, 0.4), glow_c=rng.uniform(300.0, 450.0),
                        glow_diameter_m=rng.uniform(0.05, 0.12), diameter_m=0.22, z_m=rng.uniform(0.0, 0.9))
    spec["hotplate"] = {"onset_c": r(rng.uniform(250.0, 300.0), 1), "rate_c_per_s": r(rng.uniform(0.6, 0.9), 3),
                        "max_c": 600.0, "diameter_m": 0.22}
    return spec


def tf3_smouldering_cotton(rng, ctx):
    return _smouldering(rng, ctx, fuel="cotton", hrr_kw=rng.uniform(0.1, 0.8), glow_c=rng.uniform(600.0, 750.0),
                        glow_diameter_m=rng.uniform(0.02, 0.08), diameter_m=0.3, z_m=rng.uniform(0.0, 1.0))


def tf4_flaming_polyurethane(rng, ctx):
    return _flaming(rng, ctx, fuel="polyurethane_foam", diameter_m=rng.uniform(0.4, 0.6),
                    alpha=rng.uniform(T_SQUARED_ALPHA_KW_S2["fast"], T_SQUARED_ALPHA_KW_S2["ultrafast"]),
                    peak_hrr_kw=rng.uniform(50.0, 250.0), energy_kj=rng.uniform(4e3, 20e3))


def tf5_heptane_pool(rng, ctx):
    d = rng.uniform(0.25, 0.5)
    peak = pool_peak_hrr_kw(d, 0.101, 1.1, "n_heptane")
    litres = rng.uniform(0.5, 1.5)
    return _flaming(rng, ctx, fuel="n_heptane", diameter_m=d, alpha=T_SQUARED_ALPHA_KW_S2["ultrafast"] * 4,
                    peak_hrr_kw=peak, energy_kj=litres * 684.0 * FUEL_PROPERTIES["n_heptane"].heat_of_combustion_kj_per_g)


def tf6_methylated_spirit(rng, ctx):
    d = rng.uniform(0.3, 0.5)
    peak = pool_peak_hrr_kw(d, 0.015, 100.0, "ethanol")
    litres = rng.uniform(1.0, 2.0)
    return _flaming(rng, ctx, fuel="ethanol", diameter_m=d, alpha=T_SQUARED_ALPHA_KW_S2["ultrafast"],
                    peak_hrr_kw=peak, energy_kj=litres * 789.0 * FUEL_PROPERTIES["ethanol"].heat_of_combustion_kj_per_g)


def tf7_slow_smouldering(rng, ctx):
    spec = _smouldering(rng, ctx, fuel="wood", hrr_kw=rng.uniform(0.02, 0.1), glow_c=rng.uniform(250.0, 350.0),
                        glow_diameter_m=rng.uniform(0.03, 0.08), diameter_m=0.2, z_m=rng.uniform(0.0, 0.9))
    spec["hotplate"] = {"onset_c": r(rng.uniform(220.0, 260.0), 1), "rate_c_per_s": r(rng.uniform(0.1, 0.25), 3),
                        "max_c": 400.0, "diameter_m": 0.2}
    return spec


def tf8_low_temperature_black_smoke(rng, ctx):
    d = rng.uniform(0.1, 0.2)
    return _flaming(rng, ctx, fuel="n_heptane", diameter_m=d, alpha=T_SQUARED_ALPHA_KW_S2["fast"],
                    peak_hrr_kw=pool_peak_hrr_kw(d, 0.101, 1.1, "n_heptane"), energy_kj=rng.uniform(1.5e3, 4e3),
                    extra={"soot_multiplier": r(rng.uniform(2.0, 4.0), 2)})


def cable_overheating(rng, ctx):
    t_ign_pre = sample_ignition_time(rng, ctx.duration_s)
    remaining = ctx.duration_s - t_ign_pre
    smoulder_s = rng.uniform(0.2, 0.6) * remaining
    spec = _flaming(rng, ctx, fuel="pvc_cable", diameter_m=rng.uniform(0.1, 0.3),
                    alpha=rng.uniform(T_SQUARED_ALPHA_KW_S2["slow"], T_SQUARED_ALPHA_KW_S2["medium"]),
                    peak_hrr_kw=rng.uniform(20.0, 100.0), energy_kj=None, z_m=rng.uniform(0.3, 2.0),
                    smoulder_s=smoulder_s, smoulder_hrr_kw=rng.uniform(0.1, 0.5))
    spec["ignition_time_s"] = t_ign_pre
    spec["cable"] = {"overload_s": r(rng.uniform(60.0, 180.0), 1), "ignition_c": r(rng.uniform(200.0, 260.0), 1),
                     "pyrolysis_c": r(rng.uniform(300.0, 400.0), 1), "length_m": r(rng.uniform(0.6, 1.5)),
                     "thickness_m": r(rng.uniform(0.02, 0.05))}
    return spec


def smoulder_to_flaming(rng, ctx):
    t_ign = sample_ignition_time(rng, ctx.duration_s)
    remaining = ctx.duration_s - t_ign
    fuel = "polyurethane_foam" if rng.random() < 0.6 else "cotton"
    spec = _flaming(rng, ctx, fuel=fuel, diameter_m=rng.uniform(0.5, 0.8),
                    alpha=rng.uniform(T_SQUARED_ALPHA_KW_S2["medium"], T_SQUARED_ALPHA_KW_S2["fast"]),
                    peak_hrr_kw=loguniform(rng, 100.0, 600.0), energy_kj=None, z_m=rng.uniform(0.0, 0.5),
                    smoulder_s=rng.uniform(0.3, 0.6) * remaining, smoulder_hrr_kw=rng.uniform(0.1, 1.0))
    spec["ignition_time_s"] = t_ign
    spec["glow_c"] = r(rng.uniform(450.0, 650.0), 1)
    spec["glow_occlusion"] = r(rng.uniform(0.3, 0.8))
    return spec


# --- physics and appearance ------------------------------------------------------------------

def fire_spec(spec: dict) -> FireSpec:
    """The :class:`FireSpec` of a fire parameter dict."""
    energy = spec.get("fuel_energy_kj")
    return FireSpec(fuel=spec["fuel"], ignition_time_s=spec["ignition_time_s"],
                    growth_alpha_kw_s2=spec["growth_alpha_kw_s2"], peak_hrr_kw=spec["peak_hrr_kw"],
                    smoulder_duration_s=spec["smoulder_duration_s"], smoulder_hrr_kw=spec["smoulder_hrr_kw"],
                    fuel_energy_kj=float("inf") if energy is None else float(energy),
                    transition_to_flaming=spec["transition_to_flaming"],
                    suppression_time_s=spec.get("suppression_time_s"))


def simulate_fire_spec(spec: dict, time_s: np.ndarray) -> FireHistory:
    """Fire history of a fire parameter dict (TF8's sootier liquid scaled by its
    ``soot_multiplier``)."""
    history = simulate_fire(fire_spec(spec), time_s)
    if spec.get("soot_multiplier"):
        history.soot_g_s = history.soot_g_s * spec["soot_multiplier"]
    return history


def burning_diameter_m(hrr_kw: np.ndarray, spec: dict) -> np.ndarray:
    """Diameter of the burning area [m]: the flame spreads over the fuel as the heat
    release grows, at the peak's heat release per unit area, up to the fuel's diameter."""
    full_d = spec["diameter_m"]
    q_area = spec["peak_hrr_kw"] / (math.pi * full_d ** 2 / 4.0)
    return np.clip(np.sqrt(4.0 * np.asarray(hrr_kw) / (math.pi * q_area)), 0.02, full_d)


def fire_objects(spec: dict, history: FireHistory, ambient_c: float, rng: np.random.Generator) -> tuple[list[ThermalObject], np.ndarray]:
    """Thermal objects of a fire on ``history.time_s`` and its flame height [m]."""
    t = history.time_s
    x, y, z0, occ = spec["x_m"], spec["y_m"], spec["z_m"], spec["occlusion"]
    flaming = (history.state == 2).astype(float)
    smouldering = (history.state == 1).astype(float)
    d_burn = burning_diameter_m(history.hrr_kw, spec)
    # a flame against a wall or in a corner is as tall as a free flame of 2x or 4x the heat
    # release (mirror images, ``flame_hrr_factor``; fires_home.wall_corner_fire)
    height = heskestad_flame_height(history.hrr_kw * spec.get("flame_hrr_factor", 1.0), d_burn) * flaming
    # small flames still stand about one burning diameter tall where the correlation clips to 0
    height = np.where(flaming > 0, np.maximum(height, 0.6 * d_burn), 0.0)
    flicker = flame_flicker(t, d_burn, rng)  # puffs at the burning, not the fuel's, diameter
    shown = np.maximum(height * flicker, 1e-3)
    eps = (1.0 - np.exp(-spec["flame_absorption_per_m"] * d_burn)) * flaming
    objects: list[ThermalObject] = []
    burning = np.clip(flaming + smouldering, 0.0, 1.0)
    bed_c = first_order(t, ambient_c + (spec["fuel_bed_c"] - ambient_c) * flaming, 20.0)
    objects.append(ThermalObject("fuel-bed", np.array([x, y, z0 + 0.01]), d_burn, d_burn, bed_c + K0,
                                 0.9 * np.maximum(burning, flaming), "horizontal", occ))
    if "hotplate" in spec:
        hp = spec["hotplate"]
        plate_c = np.clip(hp["onset_c"] + hp["rate_c_per_s"] * (t - spec["ignition_time_s"]), ambient_c, hp["max_c"])
        objects.append(ThermalObject("hotplate", np.array([x, y, z0]), hp["diameter_m"] * 1.2, hp["diameter_m"],
                                     plate_c + K0, 0.85, "horizontal", occ))
    if "cable" in spec:
        cb = spec["cable"]
        t_ign = spec["ignition_time_s"]
        t_flame = t_ign + spec["smoulder_duration_s"]
        pre = np.clip((t - (t_ign - cb["overload_s"])) / cb["overload_s"], 0.0, 1.0)
        cable_c = ambient_c + (cb["ignition_c"] - ambient_c) * pre ** 1.5
        during = np.clip((t - t_ign) / max(t_flame - t_ign, 1.0), 0.0, 1.0)
        cable_c = np.where(t >= t_ign, cb["ignition_c"] + (cb["pyrolysis_c"] - cb["ignition_c"]) * during, cable_c)
        objects.append(ThermalObject("cable", np.array([x, y, z0 + cb["thickness_m"] / 2]), cb["length_m"],
                                     cb["thickness_m"], cable_c + K0, 0.9, "vertical", occ))
    glow_d = spec["glow_diameter_m"] * np.sqrt(np.clip(np.cumsum(smouldering) * _dt(t) / 60.0, 0.05, 1.0))
    glow_occ = 1.0 - (1.0 - occ) * (1.0 - spec.get("glow_occlusion", 0.0))
    objects.append(ThermalObject("glow", np.array([x, y, z0 + 0.02]), glow_d, glow_d,
                                 (ambient_c + (spec["glow_c"] - ambient_c) * smouldering) + K0,
                                 0.95 * smouldering, "horizontal", glow_occ))
    center = np.column_stack([np.full_like(t, x), np.full_like(t, y), z0 + shown / 2.0])
    objects.append(ThermalObject("flame", center, np.maximum(d_burn, 0.02), shown,
                                 np.full_like(t, spec["flame_temperature_k"]), eps, "vertical", occ))
    return objects, height


def _dt(t: np.ndarray) -> float:
    return float(t[1] - t[0]) if t.size > 1 else 1.0


# --- precursor phases ------------------------------------------------------------------------

def precursor_start_s(spec: dict, ambient_c: float) -> float | None:
    """Time the fuel or the apparatus starts being heated towards ignition [s] (negative when
    it started before the recording), or None for a fire without a precursor phase.

    * an explicit ``precursor_start_s`` (the home fires of
      :mod:`firesight.scenarios.fires_home`: hob switched on under a pan of oil, a battery's
      self-heating, a cigarette lying on bedding);
    * EN 54 TF2 / TF7: the hotplate rises from ambient at ``rate_c_per_s`` and passes
      ``onset_c``, where the wood starts to pyrolyse (the ignition), at ``ignition_time_s``;
      so it starts heating ``(onset_c - ambient) / rate_c_per_s`` before ignition (its
      switch-on, not the ignition);
    * ``cable_overheating``: the overload heating starts ``overload_s`` before the
      insulation pyrolyses (the ignition).
    """
    if spec.get("precursor_start_s") is not None:
        return float(spec["precursor_start_s"])
    t_ign = float(spec["ignition_time_s"])
    if "hotplate" in spec:
        hp = spec["hotplate"]
        return t_ign - max(hp["onset_c"] - ambient_c, 0.0) / hp["rate_c_per_s"]
    if "cable" in spec:
        return t_ign - float(spec["cable"]["overload_s"])
    return None


def precursor_flags(spec: dict | None, time_s: np.ndarray, state: np.ndarray, ambient_c: float) -> np.ndarray:
    """True where the fuel or apparatus is being heated towards ignition and the fire has
    not yet ignited: from :func:`precursor_start_s` up to the first time ``state`` leaves 0
    (the truth's ignition); False everywhere for non-fires and fires without a precursor."""
    t = np.asarray(time_s, dtype=float)
    start = None if spec is None else precursor_start_s(spec, ambient_c)
    if start is None:
        return np.zeros(t.size, dtype=bool)
    burning = np.flatnonzero(np.asarray(state) != 0)
    end = float(t[burning[0]]) if burning.size else np.inf
    return (t >= start) & (t < end)


#: fire family name -> spec sampler
FIRE_SAMPLERS = {
    "tf1_open_wood": tf1_open_wood,
    "tf2_smouldering_wood": tf2_smouldering_wood,
    "tf3_smouldering_cotton": tf3_smouldering_cotton,
    "tf4_flaming_polyurethane": tf4_flaming_polyurethane,
    "tf5_heptane_pool": tf5_heptane_pool,
    "tf6_methylated_spirit": tf6_methylated_spirit,
    "tf7_slow_smouldering": tf7_slow_smouldering,
    "tf8_low_temperature_black_smoke": tf8_low_temperature_black_smoke,
    "cable_overheating": cable_overheating,
    "smoulder_to_flaming": smoulder_to_flaming,
}
