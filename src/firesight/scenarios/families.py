"""The scenario catalog: named families of fires, nuisances, normal occupancy and sensor
faults, each with randomised parameters.

Every family has a ``name``, a ``label`` (``fire``, ``nuisance``, ``normal`` or
``fault``), a description, ``sample(rng, duration_s) -> params`` (a JSON-serialisable
dict) and ``build(params, rng) -> BuiltScenario``. Parameters shared by all families
(room, camera, SCD41 position) come from :mod:`firesight.scenarios.sampler`; fires from
:mod:`firesight.scenarios.fires`; nuisance sources from
:mod:`firesight.scenarios.sources`. Docs: ``docs/scenarios.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from firesight.errors import InvalidParameterError, require
from firesight.physics.constants import standard_atmosphere_pressure_pa
from firesight.scenarios.build import BuiltScenario, build_scenario
from firesight.scenarios.fires import FIRE_SAMPLERS
from firesight.scenarios.fires_home import HOME_FIRE_SAMPLERS
from firesight.scenarios.sampler import aim_camera, choose, node_sensor, r, sample_camera, sample_room
from firesight.scenarios.sources import SOURCE_KINDS, SourceContext, sample_people
from firesight.scenarios.sources_home import HOME_SOURCE_KINDS  # noqa: F401 (registers the home kinds)

LABELS = ("fire", "nuisance", "normal", "fault")
#: share of fire scenarios that also hold a background nuisance (so that people or a
#: radiator do not by themselves mean "no fire")
FIRE_BACKGROUND_PROBABILITY = 0.3
#: the background sources drawn for fire and fault scenarios
BACKGROUND_KINDS = ("people", "radiator", "sunlight_patch", "hvac", "hot_drinks")
#: SCD41 readings before the scenario's time origin [s]: the node runs continuously, so
#: every window of a scenario sees a full history (the gas features' 10 min baseline and
#: 5 min rates), as a node that has been on for a while does.
SCD41_HISTORY_S = 900.0
#: Room-air trends during that history: CO2 [ppm/min] (people arriving or leaving) and
#: temperature [C/min] (heating cycles), each zero with probability 0.4.
HISTORY_CO2_TREND_PPM_PER_MIN = (-15.0, 25.0)
HISTORY_TEMPERATURE_TREND_C_PER_MIN = (-0.05, 0.08)
#: Share of scenarios in which the SCD41's automatic self-calibration corrects its baseline
#: (a step in the CO2 output) during the readings, and the step size [ppm].
ASC_STEP_PROBABILITY = 0.25
ASC_STEP_PPM = (5.0, 60.0)
#: Share of ``scd41_faults`` scenarios in which the SCD41 is power-cycled (a brown-out or a
#: watchdog reset of the node's I2C side, or a node just installed) and so reads through its
#: warm-up (:mod:`firesight.sensors.scd41_warmup`), and the span of the power-on time as
#: fractions of (history, scenario): from halfway through the history to halfway through the
#: scenario. Both are assumptions (no field statistics of SCD41 resets are published).
SCD41_POWER_CYCLE_PROBABILITY = 0.5
SCD41_POWER_ON_SPAN = (-0.5, 0.5)
#: A scenario's length when none is asked for [s] (``firesight generate`` without
#: ``--duration-s``).
DEFAULT_DURATION_S = 300.0
#: Families whose events run longer than that, at their own length [s]: the EN 54
#: smouldering test fires run 10-15 min (TF2's hotplate reaches 600 C in about 11 min;
#: EN 54-7 Annex, ISO 7240-9:2022), so they get 15 min; cooking runs 10-60 min (issue 8
#: section 1.5), kept at its 10 min lower end here for generation cost (every frame is
#: rendered).
NATURAL_DURATION_S = {
    "tf2_smouldering_wood": 900.0, "tf3_smouldering_cotton": 900.0, "tf7_slow_smouldering": 900.0,
    "gas_stove_cooking": 600.0, "electric_cooking": 600.0,
    # home nuisances (sources_home, sources_warm): toast over-running, broiling and wok cooking, a
    # cigarette or incense, ironing, the humidity tail after a shower and a stove warming up
    "burnt_toast": 600.0, "broiling": 600.0, "wok_flambe": 600.0, "cigarette_incense": 600.0,
    "shower_steam": 600.0, "iron_straightener": 600.0, "fireplace_stove": 600.0,
    # home fires (fires_home): a pan of oil is cooking until it ignites (cooking's 10 min);
    # a cigarette smoulder on bedding runs for tens of minutes (Ohlemiller; Holleyhead
    # 1999), like the EN 54 smouldering tests; a chair reaches its 0.5-2 MW peak minutes
    # after ignition (CBUF)
    "cooking_oil_pan_fire": 600.0, "mattress_cigarette": 900.0, "upholstered_chair": 600.0,
}
#: fire family name -> spec sampler: the EN 54 test fires and two ignition sequences
#: (:mod:`firesight.scenarios.fires`) and the home fires (:mod:`firesight.scenarios.fires_home`)
ALL_FIRE_SAMPLERS = {**FIRE_SAMPLERS, **HOME_FIRE_SAMPLERS}


@dataclass(frozen=True)
class Family:
    """One named scenario family."""

    name: str
    label: str
    description: str
    sampler: Callable[[np.random.Generator, "Family", float], dict]

    @property
    def natural_duration_s(self) -> float:
        """The family's own scenario length [s]: :data:`DEFAULT_DURATION_S`, or longer for
        the families in :data:`NATURAL_DURATION_S`."""
        return NATURAL_DURATION_S.get(self.name, DEFAULT_DURATION_S)

    def sample(self, rng: np.random.Generator, duration_s: float) -> dict:
        """Draw the parameters of one scenario of ``duration_s`` seconds."""
        require(np.isfinite(duration_s) and duration_s > 0, "duration_s", "> 0 [s]", duration_s)
        return self.sampler(rng, self, float(duration_s))

    def build(self, params: dict, rng: np.random.Generator, *, frame_rate_hz: float | None = None) -> BuiltScenario:
        """Physics, scene and true sensor fields of ``params`` (see
        :func:`firesight.scenarios.build.build_scenario`)."""
        return build_scenario(params, rng, frame_rate_hz=frame_rate_hz)


def _base(rng: np.random.Generator, family: Family, duration_s: float) -> tuple[dict, SourceContext]:
    room = sample_room(rng)
    camera = sample_camera(rng, room)
    params = {"family": family.name, "label": family.label, "duration_s": r(duration_s, 3), "room": room,
              "camera": camera, "sensor": None, "fire": None, "sources": [],
              "scd41_mode": "low_power" if rng.random() < 0.2 else "periodic",
              "faults": {"lepton": None, "scd41": None}, "time_compression": 1.0,
              "scd41_history": _sample_history(rng, duration_s), "site": _sample_site(rng)}
    return params, SourceContext(room=room, camera=camera, duration_s=duration_s)


#: Site altitude [m]: most buildings low, a fifth in the hills or mountain towns (model
#: assumption); weather moves the pressure about the standard atmosphere's by up to this
#: much [Pa] (synoptic range of about +-2 kPa); share of nodes whose installer set the
#: SCD41's altitude (``set_sensor_altitude``; otherwise sea level, the default, so the
#: reading scales with the site's pressure: Sensirion SCD4x datasheet section 3.6).
SITE_ALTITUDE_M = ((0.0, 500.0), (500.0, 2000.0), 0.2)
WEATHER_PRESSURE_PA = 2000.0
SCD41_ALTITUDE_SET_PROBABILITY = 0.5


def _sample_site(rng: np.random.Generator) -> dict:
    """Altitude and barometric pressure of the site, and the SCD41's altitude setting."""
    low, high, p_high = SITE_ALTITUDE_M
    altitude = rng.uniform(*(high if rng.random() < p_high else low))
    pressure = standard_atmosphere_pressure_pa(altitude) + rng.uniform(-WEATHER_PRESSURE_PA, WEATHER_PRESSURE_PA)
    setting = altitude if rng.random() < SCD41_ALTITUDE_SET_PROBABILITY else 0.0
    return {"altitude_m": r(altitude, 1), "pressure_pa": r(pressure, 0), "scd41_altitude_setting_m": r(setting, 1)}


def _sample_history(rng: np.random.Generator, duration_s: float) -> dict:
    """The SCD41's readings before the scenario: length, room-air trends and an optional
    ASC baseline step (at any time of the history or the scenario)."""
    co2 = rng.uniform(*HISTORY_CO2_TREND_PPM_PER_MIN) if rng.random() >= 0.4 else 0.0
    temp = rng.uniform(*HISTORY_TEMPERATURE_TREND_C_PER_MIN) if rng.random() >= 0.4 else 0.0
    steps = []
    if rng.random() < ASC_STEP_PROBABILITY:
        steps.append([r(rng.uniform(-0.7 * SCD41_HISTORY_S, duration_s), 2),
                      r(rng.uniform(*ASC_STEP_PPM) * (1.0 if rng.random() < 0.5 else -1.0), 1)])
    return {"duration_s": SCD41_HISTORY_S, "co2_trend_ppm_per_min": r(co2, 2),
            "temperature_trend_c_per_min": r(temp, 4), "asc_steps": steps}


def _finish(rng, params: dict, ctx: SourceContext, primary: dict) -> dict:
    """Aim the camera at the primary source (it was placed relative to the camera's
    heading); the SCD41 is in the same node as the camera."""
    target = {"x_m": primary.get("x_m", params["room"]["width_m"] / 2),
              "y_m": primary.get("y_m", params["room"]["depth_m"] / 2), "z_m": primary.get("z_m", 0.0)}
    aim_camera(rng, params["camera"], target)
    params["sensor"] = node_sensor(rng, params["camera"], target)
    return params


def _maybe_background(rng, params, ctx, probability: float) -> None:
    if rng.random() < probability:
        kind = choose(rng, list(BACKGROUND_KINDS))
        params["sources"].append(SOURCE_KINDS[kind][0](rng, ctx))


def _occupied_start(rng, params) -> None:
    room = params["room"]
    room["initial_co2_ppm"] = r(room["outdoor_co2_ppm"] + rng.uniform(200.0, 1200.0), 1)


def _fire_sampler(rng, family: Family, duration_s: float) -> dict:
    params, ctx = _base(rng, family, duration_s)
    params["fire"] = ALL_FIRE_SAMPLERS[family.name](rng, ctx)
    _maybe_background(rng, params, ctx, FIRE_BACKGROUND_PROBABILITY)
    return _finish(rng, params, ctx, params["fire"])


def _source_sampler(kind: str, *, occupied: bool = False, occupants: tuple[int, int] = (1, 5)):
    def sampler(rng, family: Family, duration_s: float) -> dict:
        params, ctx = _base(rng, family, duration_s)
        source = SOURCE_KINDS[kind][0](rng, ctx)
        params["sources"].append(source)
        if occupied:
            _occupied_start(rng, params)
            params["sources"].append(sample_people(rng, ctx, count=occupants, present_from_start=True))
        primary = source if "x_m" in source else _first_person(source)
        return _finish(rng, params, ctx, primary)

    return sampler


def _first_person(source: dict) -> dict:
    people = source.get("people") or [{}]
    return {"x_m": people[0].get("x_m"), "y_m": people[0].get("y_m"), "z_m": 0.0} if people[0] else {}


def _people_sampler(rng, family: Family, duration_s: float) -> dict:
    params, ctx = _base(rng, family, duration_s)
    people = sample_people(rng, ctx, count=(2, 12))
    params["sources"].append(people)
    return _finish(rng, params, ctx, _first_person(people))


def _empty_room_sampler(rng, family: Family, duration_s: float) -> dict:
    params, ctx = _base(rng, family, duration_s)
    centre = {"x_m": params["room"]["width_m"] / 2, "y_m": params["room"]["depth_m"] / 2, "z_m": 0.0}
    return _finish(rng, params, ctx, centre)


#: Occupants of an ordinary working room per 100 m2 of floor: ANSI/ASHRAE Standard
#: 62.1-2022 Table 6-1's default for office space is 5 people per 100 m2; a room's draw
#: lies between half and twice that (model assumption), at least one person and at most
#: :data:`NORMAL_DAY_MAX_PEOPLE`.
OFFICE_OCCUPANT_DENSITY_PER_100M2 = 5.0
OCCUPANT_DENSITY_FACTOR = (0.5, 2.0)
NORMAL_DAY_MAX_PEOPLE = 8


def normal_day_occupants(rng, room: dict) -> int:
    """How many people use ``room`` on an ordinary working day: its floor area times an
    occupant density drawn around ASHRAE 62.1's office default (see
    :data:`OFFICE_OCCUPANT_DENSITY_PER_100M2`), rounded, within 1 and
    :data:`NORMAL_DAY_MAX_PEOPLE`."""
    floor_m2 = room["width_m"] * room["depth_m"]
    density = OFFICE_OCCUPANT_DENSITY_PER_100M2 * rng.uniform(*OCCUPANT_DENSITY_FACTOR)
    return int(min(NORMAL_DAY_MAX_PEOPLE, max(1, round(floor_m2 * density / 100.0))))


#: The ``normal_day`` room's HVAC terminal runs under a thermostat (proportional-plus-
#: integral control; ASHRAE Handbook - Fundamentals 2021, Ch. 7), which holds the room at
#: its ``ambient_temperature_c`` (the setpoint: the temperature the room was held at
#: before the scenario, and that of the neighbouring zones and the supply air in the zone
#: model). Throttling range [K] (error from zero to full output): 1-3 K, around the 2 K
#: of a room controller's worked example (Vector Controls TRA-F12 manual, 5.8.2) and the
#: 4 F (2.2 K) and 3 F (1.7 K) of the Carrier E20 and DOE-2.1E examples. Integral time
#: [s]: 5-15 min (the TRA-F12's 300 s default; its manual asks for more than 2 min for
#: room temperature, which changes over minutes after the valve moves). Capacity, each way
#: [W per m2 of floor]: 40-100, of the order of an office's design sensible load (people,
#: lights, equipment, sun; model assumption), so that the sun through a small room's
#: window can saturate it.
THERMOSTAT_THROTTLING_RANGE_K = (1.0, 3.0)
THERMOSTAT_INTEGRAL_TIME_S = (300.0, 900.0)
THERMOSTAT_CAPACITY_W_PER_M2 = (40.0, 100.0)
#: Room-temperature trend of a ``normal_day`` node's history [C/min]: a thermostat-held
#: room keeps within ASHRAE 55-2020 section 5.3.5's drift/ramp limit of 2.2 K in an hour
#: (Table 5.3.5), so its trend is drawn within +-2.2 K/h (zero with probability 0.4, as
#: for every family) instead of :data:`HISTORY_TEMPERATURE_TREND_C_PER_MIN`.
NORMAL_DAY_HISTORY_TEMPERATURE_TREND_C_PER_MIN = 2.2 / 60.0


def normal_day_thermostat(rng, room: dict) -> dict:
    """The thermostat of a ``normal_day`` room's HVAC terminal (the fields of
    :class:`firesight.physics.room.Thermostat`), drawn from
    :data:`THERMOSTAT_THROTTLING_RANGE_K`, :data:`THERMOSTAT_INTEGRAL_TIME_S` and
    :data:`THERMOSTAT_CAPACITY_W_PER_M2`; setpoint the room's ambient temperature."""
    capacity_kw = room["width_m"] * room["depth_m"] * rng.uniform(*THERMOSTAT_CAPACITY_W_PER_M2) / 1000.0
    return {"setpoint_c": room["ambient_temperature_c"],
            "throttling_range_k": r(rng.uniform(*THERMOSTAT_THROTTLING_RANGE_K), 2),
            "integral_time_s": r(rng.uniform(*THERMOSTAT_INTEGRAL_TIME_S), 1),
            "heating_capacity_kw": r(capacity_kw, 3), "cooling_capacity_kw": r(capacity_kw, 3)}


def _normal_day_sampler(rng, family: Family, duration_s: float) -> dict:
    """A stretch of an ordinary working day in real time (no time compression): people
    arriving one by one, leaving, or sitting and coming and going, as many as the room's
    floor holds at an office's occupant density (:func:`normal_day_occupants`); the HVAC's
    outdoor air switching once while its thermostat holds the room's temperature
    (:func:`normal_day_thermostat`); sun on 60 % of days."""
    params, ctx = _base(rng, family, duration_s)
    phase = choose(rng, ["arrivals", "departures", "occupied"])
    n = normal_day_occupants(rng, params["room"])
    people = sample_people(rng, ctx, count=(n, n), present_from_start=phase != "arrivals")
    for person in people["people"]:
        if phase == "arrivals":
            person["enter_s"] = r(rng.uniform(0.0, 0.8) * duration_s, 3)
            person["leave_s"] = None
        elif phase == "departures":
            person["leave_s"] = r(rng.uniform(0.1, 0.9) * duration_s, 3) if rng.random() < 0.7 else None
        else:
            person["leave_s"] = r(rng.uniform(0.2, 1.0) * duration_s, 3) if rng.random() < 0.3 else None
    if phase != "arrivals":
        _occupied_start(rng, params)
    params["sources"].append(people)
    hvac = SOURCE_KINDS["hvac"][0](rng, ctx)
    hvac.update({"toggles_s": [r(rng.uniform(0.1, 0.9) * duration_s, 3)], "initially_on": bool(rng.random() < 0.5),
                 "mode": "heating" if params["room"]["ambient_temperature_c"] < 21 else "cooling"})
    hvac["supply_delta_c"] = r(abs(hvac["supply_delta_c"]) * (1 if hvac["mode"] == "heating" else -0.7), 2)
    params["sources"].append(hvac)
    if rng.random() < 0.6:
        params["sources"].append(SOURCE_KINDS["sunlight_patch"][0](rng, ctx))
    params = _finish(rng, params, ctx, _first_person(people))
    # drawn last, so that every other parameter is the one the open-loop HVAC had
    hvac["thermostat"] = normal_day_thermostat(rng, params["room"])
    limit = NORMAL_DAY_HISTORY_TEMPERATURE_TREND_C_PER_MIN
    trend = rng.uniform(-limit, limit) if rng.random() >= 0.4 else 0.0
    params["scd41_history"]["temperature_trend_c_per_min"] = r(trend, 4)
    return params


def _fault_sampler(device: str):
    def sampler(rng, family: Family, duration_s: float) -> dict:
        params, ctx = _base(rng, family, duration_s)
        _maybe_background(rng, params, ctx, 0.8)
        if device == "lepton":
            # lost VoSPI segments: a discarding host drops the frame, a careless one tears it
            params["faults"]["lepton"] = {"dead_pixel_fraction": r(rng.uniform(0.001, 0.02), 4),
                                          "stuck_frame_prob": r(rng.uniform(0.0, 0.05), 4),
                                          "dropped_frame_prob": r(rng.uniform(0.01, 0.1), 4),
                                          "torn_segment_prob": r(rng.uniform(0.0, 0.05), 4) if rng.random() < 0.5
                                          else 0.0,
                                          "bad_rows": int(rng.random() < 0.3)}
        else:
            params["faults"]["scd41"] = {
                "stuck_after_s": r(rng.uniform(0.2, 0.8) * duration_s, 2) if rng.random() < 0.5 else None,
                "missing_prob": r(rng.uniform(0.0, 0.2), 4), "nack_prob": r(rng.uniform(0.0, 0.1), 4)}
        primary = params["sources"][0] if params["sources"] else {}
        if "people" in primary:
            primary = _first_person(primary)
        params = _finish(rng, params, ctx, primary)
        # drawn after every other parameter, so that the rest of a seed's scenario is unchanged
        if device == "scd41" and rng.random() < SCD41_POWER_CYCLE_PROBABILITY:
            low, high = SCD41_POWER_ON_SPAN
            params["scd41_history"]["power_on_s"] = r(rng.uniform(low * SCD41_HISTORY_S, high * duration_s), 2)
        return params

    return sampler


_FIRE_DESCRIPTIONS = {
    "tf1_open_wood": "EN 54 TF1: open cellulosic (beech crib) fire, medium-fast t-squared growth to 40-150 kW, "
                     "tall luminous flames, little smoke.",
    "tf2_smouldering_wood": "EN 54 TF2: smouldering pyrolysis of beech wood on a hotplate rising to 600 C; "
                            "grey smoke, no flames; the plate is visible in the LWIR before the wood pyrolyses.",
    "tf3_smouldering_cotton": "EN 54 TF3: glowing smouldering cotton wicks, small 600-750 C glow spots, "
                              "CO-rich light smoke, 0.1-0.8 kW.",
    "tf4_flaming_polyurethane": "EN 54 TF4: flaming polyurethane foam, fast-ultrafast growth to 50-250 kW, "
                                "dense black smoke.",
    "tf5_heptane_pool": "EN 54 TF5: n-heptane pool (0.25-0.5 m), steady in seconds at the Babrauskas "
                        "pool burning rate; sooty flame.",
    "tf6_methylated_spirit": "EN 54 TF6: methylated spirit pool, clean burning: almost no soot, a weakly "
                             "emitting flame in the 8-14 um band, CO2 and heat only.",
    "tf7_slow_smouldering": "EN 54 TF7: slow pyrolysis of beech wood on a slowly heated plate (to 400 C), "
                            "very low heat release.",
    "tf8_low_temperature_black_smoke": "EN 54 TF8: low-temperature black smoke from a small liquid pool "
                                       "(decalin in the standard; modelled with n-heptane properties and 2-4x "
                                       "its soot yield).",
    "cable_overheating": "Overloaded PVC cable: heats for 1-3 min to 200-260 C, pyrolyses (smouldering, HCl "
                         "and dense smoke) then ignites and grows slow-medium to 20-100 kW.",
    "smoulder_to_flaming": "Upholstered furniture (PU foam or cotton) smoulders from a small hidden glow, "
                           "then transitions to flaming and grows medium-fast to 100-600 kW.",
    "cooking_oil_pan_fire": "A pan of oil left on a hob (electric radiant, induction or gas): the oil heats past "
                            "its smoke point (precursor: looks like cooking), auto-ignites at 350-430 C and grows "
                            "fast to 30-100 kW.",
    "waste_bin_fire": "A household waste bin of paper and plastics: medium growth to 10-50 kW, sometimes after "
                      "a short smoulder from a discarded cigarette.",
    "mattress_cigarette": "A cigarette on bedding (precursor: the lit cigarette lying there), then a long, "
                          "CO-rich smoulder of 0.02-0.3 kW, partly under the covers; 30 % turn to flaming late.",
    "lithium_ion_battery": "A laptop or e-bike pack in thermal runaway: cells self-heat to 150-210 C and vent "
                           "smoke and CO2 (precursor), then jet flames burst cell by cell at 10-120 kW.",
    "upholstered_chair": "An upholstered armchair lit by a small flame: fast-ultrafast growth to 0.5-2 MW "
                         "(CBUF), capped at the room's ventilation limit; dense black smoke.",
    "wall_corner_fire": "Trash or lining burning against a wall or in a corner (ISO 9705-like): medium-fast "
                        "growth to 50-300 kW, taller wall-attached flames and a heated wall behind them.",
}

_NUISANCE_DESCRIPTIONS = {
    "gas_stove_cooking": ("gas_stove", "Cooking on a gas stove: thin blue methane flames under a pot or pan, a "
                          "heating vessel and a real CO2 and H2O rise from natural-gas combustion."),
    "electric_cooking": ("electric_cooking", "Electric hob (radiant glowing zone or induction) and a frying pan "
                         "at 150-230 C; steam and cooking fumes, heat but no CO2."),
    "toaster": ("toaster", "A toaster: glowing elements seen through the slots for 2-4 minutes."),
    "oven_door": ("oven_door", "Oven door opened 1-3 times: a 160-230 C cavity appears with a puff of hot, "
                  "moist air."),
    "space_heater": ("space_heater", "Electric space heater: a radiant bar at 500-850 C or a fan heater at "
                     "60-95 C, heating the room."),
    "radiator": ("radiator", "Hot-water radiator warming up to 45-75 C on the back wall."),
    "sunlight_patch": ("sunlight_patch", "Sunlight patch on the floor 5-20 K above the room, drifting and "
                       "dimming as clouds pass."),
    "hot_drinks": ("hot_drinks", "Mugs poured at 70-90 C and cooling, sometimes after a kettle boils."),
    "candles": ("candles", "1-6 candles lit: small, weakly emitting flames and a little CO2."),
    "hair_dryer": ("hair_dryer", "A person using a hair dryer: a 60-100 C nozzle swaying, 1.2-2 kW."),
    "burnt_toast": ("burnt_toast", "A toaster over-running: elements glowing through the slots, the bread "
                    "charring at 200-300 C, dense smoke and a little CO2 from the char."),
    "broiling": ("broiling", "UL 217's cooking nuisance: hamburgers under an electric or gas broiler; warm door "
                 "glass, the 230-290 C cavity and glowing element when opened or ajar, fat smoke and vapour."),
    "wok_flambe": ("wok_flambe", "Wok cooking on a gas burner with one or two flambés: a 0.3-0.8 m alcohol flame "
                   "for 1-5 s, real CO2 and H2O, reported as nuisance flame HRR."),
    "cigarette_incense": ("cigarette_incense", "A person smoking (an 8 mm coal at 500-900 C raised for each "
                          "puff) or incense sticks glowing at 500-650 C; fine smoke, a trickle of CO2."),
    "shower_steam": ("shower_steam", "A bathroom door opened after a shower: 35-40 C saturated air, a humidity "
                     "jump and a faint fog cloud, warm tiles in the doorway; no combustion CO2."),
    "iron_straightener": ("iron_straightener", "A person ironing (soleplate 150-220 C, steam, up to 2.6 kW) or "
                          "straightening hair (plates 180-230 C)."),
    "halogen_lamp": ("halogen_lamp", "A 300-500 W halogen torchiere (quartz bulb 520-650 C, warm ceiling above) "
                     "or work light (hot glass front)."),
    "pets": ("pets", "One or two cats or dogs (coat 30-35 C) walking between resting places; a little heat and "
             "CO2."),
    "fireplace_stove": ("fireplace_stove", "A wood stove or glass-fronted fireplace: 150-300 C glass (opaque in "
                        "the LWIR), body and flue pipe, 4-9 kW into the room, little CO2; flames seen when the "
                        "door is opened to reload."),
    "car_in_garage": ("car_in_garage", "A car driven into a garage: the door opens, the car idles a minute (an "
                      "exhaust CO2 plume), its hood, grille or tailpipe (60-300 C) cool slowly."),
}


def _families() -> dict[str, Family]:
    fams: dict[str, Family] = {}
    for name, desc in _FIRE_DESCRIPTIONS.items():
        fams[name] = Family(name, "fire", desc, _fire_sampler)
    for name, (kind, desc) in _NUISANCE_DESCRIPTIONS.items():
        fams[name] = Family(name, "nuisance", desc, _source_sampler(kind))
    fams["people_gathering"] = Family(
        "people_gathering", "nuisance",
        "2-12 people walk in and gather (clothed surfaces 29-32 C): body heat, exhaled CO2 and vapour.",
        _people_sampler)
    fams["hvac_switching"] = Family(
        "hvac_switching", "nuisance",
        "HVAC switching on and off in an occupied room: extra air changes, a warm or cool ceiling diffuser, "
        "temperature steps and a CO2 drop.", _source_sampler("hvac", occupied=True))
    fams["window_opening"] = Family(
        "window_opening", "nuisance",
        "A window opened in an occupied room with stale air: outdoor view (-5 to 30 C) and a CO2 drop.",
        _source_sampler("window", occupied=True, occupants=(1, 3)))
    fams["normal_day"] = Family(
        "normal_day", "normal",
        "A stretch of an ordinary working day in real time: people arriving, leaving or coming and going, "
        "HVAC outdoor air switching under a thermostat that holds the temperature, sun; CO2 rises at occupancy "
        "rates (docs/validation.md compares them with the real office's arrivals).", _normal_day_sampler)
    fams["empty_room"] = Family("empty_room", "normal", "An empty room: the quiet baseline.", _empty_room_sampler)
    fams["lepton_faults"] = Family(
        "lepton_faults", "fault", "Lepton faults (dead pixels, stuck and dropped frames) over an ordinary room.",
        _fault_sampler("lepton"))
    fams["scd41_faults"] = Family(
        "scd41_faults", "fault", "SCD41 faults (stuck output, missing readings, I2C NACKs, a power cycle read through the "
        "warm-up) over an ordinary room.",
        _fault_sampler("scd41"))
    return fams


#: every family, by name, in catalog order
FAMILIES: dict[str, Family] = _families()


def get_family(name: str) -> Family:
    """The family called ``name``; :class:`InvalidParameterError` naming the known ones."""
    try:
        return FAMILIES[name]
    except KeyError:
        raise InvalidParameterError("family", f"one of {', '.join(FAMILIES)}", name) from None
