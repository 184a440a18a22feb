"""The FAA cargo-compartment fire tests, modelled with firesight's zone model.

Four small flaming fires (peak about 5 kW) in aircraft cargo bays, measured by the FAA
and published by NIST as fire-model validation data: tests 1-3 in a Boeing 707 bay
(3.18 m wide at the ceiling, 6.73 m long, 1.37 m high; fire at the centre, near the
forward corner, near a side wall), test 4 in a DC-10 bay (4.36 m x 14.0 m x 1.68 m,
ventilated at 0.188 m3/s).

Inputs taken from the FDS validation suite's description of the same tests [1] (no
fitting to the measurements): the fire's mass-loss ramp (0.016 kg/(m2 s) on a 0.1 m
square, times a ramp peaking at 1.45 after 80 s: 4.9 kW at 21 kJ/g), soot and CO yields
(0.125, 0.065 g/g), radiative fraction 0.55, sensor and fire positions, ceiling linings
(0.58 mm fibreglass in the B707, 1 mm steel in the DC-10) and the DC-10 ventilation.

Each test burns its own input's fuel (``&REAC``): ``FAA_B707_Test_1.fds`` and
``FAA_DC10.fds`` give C = 1, H = 12.2 (written so; more hydrogen per carbon than any real
fuel), ``FAA_B707_Test_2.fds`` and ``_3.fds`` give C = 8, H = 8. The CO2 and H2O yields are
the carbon and hydrogen balance of that formula after the CO and soot yields (soot taken
as pure carbon, all hydrogen to water, :func:`carbon_balance_yields`): CO2 1.25 g/g and
H2O 4.5 g/g for CH12.2, CO2 2.82 g/g and H2O 0.69 g/g for C8H8. The sloped floor corners
are kept by using a rectangular room of the same volume (effective width 2.68 m and
4.24 m); radial distances use the real layout.

References
----------
.. [1] NIST, FDS Validation Suite, ``Validation/FAA_Cargo_Compartments`` (inputs
   ``FAA_B707_Test_{1,2,3}.fds``, ``FAA_DC10.fds``), github.com/firemodels/fds; K. McGrattan
   et al., FDS Validation Guide, NIST SP 1018-3, section "FAA Cargo Compartments".
.. [2] D. Blake, "Development of a standardized fire source for aircraft cargo
   compartment fire detection systems", DOT/FAA/AR-06/21 (2006).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from firesight.physics.room import Room, RoomSources, simulate_room
from firesight.validation.metrics import compare_series
from firesight.validation.nist import read_faa_test

__all__ = ["FAA_FIRE", "FAA_FUELS", "FaaTest", "FAA_TESTS", "carbon_balance_yields", "faa_hrr_kw", "fuel_yields",
           "simulate_faa_test", "nearest_thermocouple", "compare_faa_test", "faa_rows_frame"]

#: The FAA fire source as the FDS validation inputs describe it [1] (all four tests).
FAA_FIRE = {
    "mass_flux_kg_m2_s": 0.016,
    "area_m2": 0.01,
    "heat_of_combustion_kj_per_g": 21.0,
    "co_yield_g_per_g": 0.065,
    "soot_yield_g_per_g": 0.125,
    "radiative_fraction": 0.55,
    "diameter_m": 0.113,  # equal-area circle of the 0.1 m square
    "ramp_time_s": (0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 56, 60, 65, 71, 75, 80, 86, 90,
                    95, 100, 105, 110, 115, 120, 125, 130, 135, 140, 145, 150, 155, 160, 165,
                    170, 175, 180, 350),
    "ramp_fraction": (0.0, 0.0233684375, 0.105843125, 0.11022875, 0.14745625, 0.2131425,
                      0.27080875, 0.3445275, 0.433569375, 0.548884375, 0.67879375, 0.89261875,
                      1.0838375, 1.19621875, 1.33341875, 1.3903375, 1.45018125, 1.4436125,
                      1.4034625, 1.333375, 1.25163125, 1.18521875, 1.12245625, 1.04436875,
                      0.98816875, 0.904975, 0.86264375, 0.82178125, 0.79843125, 0.77143125,
                      0.74661875, 0.7488125, 0.728375, 0.71961875, 0.715975, 0.72108125,
                      0.69041875, 0.0),
}

#: Fuel formula (C, H) of each test's ``&REAC`` line in the FDS inputs [1].
FAA_FUELS = {1: (1.0, 12.2), 2: (8.0, 8.0), 3: (8.0, 8.0), 4: (1.0, 12.2)}

_M_C, _M_H, _M_CO, _M_CO2, _M_H2O = 12.011, 1.008, 28.010, 44.009, 18.015


def carbon_balance_yields(carbon: float, hydrogen: float, *, co_yield_g_per_g: float,
                          soot_yield_g_per_g: float) -> dict[str, float]:
    """CO2 and H2O yields [g/g] of a fuel C_carbon H_hydrogen: the carbon left after CO
    and soot (taken as pure carbon) burns to CO2, all hydrogen to water.

    Returns ``{"co2_yield_g_per_g", "h2o_yield_g_per_g"}``.
    """
    m_fuel = carbon * _M_C + hydrogen * _M_H
    carbon_fraction = carbon * _M_C / m_fuel
    carbon_left = carbon_fraction - co_yield_g_per_g * _M_C / _M_CO - soot_yield_g_per_g
    if carbon_left < 0:
        raise ValueError(f"CO and soot yields take more carbon than C{carbon:g}H{hydrogen:g} holds")
    return {"co2_yield_g_per_g": carbon_left * _M_CO2 / _M_C,
            "h2o_yield_g_per_g": hydrogen * _M_H / m_fuel * _M_H2O / (2 * _M_H)}


_B707_X = (-1.37, -0.4567, 0.0, 0.4567, 1.37)
_B707_Y = (0.17, 1.08, 1.99, 2.91, 3.82, 4.74, 5.65, 6.57)
_DC10_X = (-1.4986, -0.7620, -0.0254, 0.7112, 1.4478)
_DC10_Y = tuple(0.74 + 0.7366 * k for k in range(9))


def _grid(xs, ys, z, narrow_rows=(), narrow_x=None):
    out = {}
    k = 1
    for row, y in enumerate(ys):
        for col, x in enumerate(xs):
            if row in narrow_rows and col == len(xs) - 1:
                x = narrow_x
            out[f"TC{k}"] = (x, y, z)
            k += 1
    return out


@dataclass(frozen=True)
class FaaTest:
    """One FAA test: bay, fire and sensor positions in the FDS frame (x across the bay
    from its centre line, y along it, z up) [m]."""

    test: int
    name: str
    width_m: float  # volume-equivalent rectangular width
    ceiling_width_m: float
    depth_m: float
    height_m: float
    air_changes_per_hour: float
    lining_heat_capacity_j_m2k: float
    fire_xy_m: tuple[float, float]
    thermocouples: dict
    gas_samplers: dict


FAA_TESTS: dict[int, FaaTest] = {}
for _n, _xy, _name in ((1, (0.08, 3.73), "B707 centre fire"),
                       (2, (0.43, 0.28), "B707 forward-corner fire"),
                       (3, (0.43, 1.80), "B707 side-wall fire")):
    FAA_TESTS[_n] = FaaTest(
        test=_n, name=_name, width_m=2.684, ceiling_width_m=3.18, depth_m=6.73, height_m=1.37,
        air_changes_per_hour=0.0, lining_heat_capacity_j_m2k=1694.0 * 1000.0 * 0.00058,
        fire_xy_m=_xy,
        thermocouples=_grid(_B707_X, _B707_Y, 1.33, narrow_rows=(2, 3, 4), narrow_x=1.10),
        gas_samplers={"Mid Pan CO2": (0.0, 3.23, 1.37), "Aft Pan CO2": (0.0, 4.75, 1.37),
                      "TC36 CO2": (-1.32, 6.57, 1.33)},
    )
FAA_TESTS[4] = FaaTest(
    test=4, name="DC-10 bay, ventilated", width_m=4.239, ceiling_width_m=4.36, depth_m=14.0,
    height_m=1.68, air_changes_per_hour=0.188 * 3600.0 / (4.239 * 14.0 * 1.68),
    lining_heat_capacity_j_m2k=7850.0 * 460.0 * 0.001, fire_xy_m=(-0.0762, 3.402),
    thermocouples=_grid(_DC10_X, _DC10_Y, 1.65),
    gas_samplers={"Fwd Pan CO2": (0.0508, 2.67, 1.67), "Aft Pan CO2": (0.0508, 6.43, 1.67),
                  "TC5 CO2": (1.4478, 0.74, 1.65)},
)


def faa_hrr_kw(time_s) -> np.ndarray:
    """Heat release rate of the FAA fire source [kW] (the FDS ramp [1])."""
    f = FAA_FIRE
    ramp = np.interp(np.asarray(time_s, float), f["ramp_time_s"], f["ramp_fraction"])
    return f["mass_flux_kg_m2_s"] * 1000.0 * f["area_m2"] * ramp * f["heat_of_combustion_kj_per_g"]


def _room_and_sources(cfg: FaaTest, time_s):
    room = Room(width_m=cfg.width_m, depth_m=cfg.depth_m, height_m=cfg.height_m,
                air_changes_per_hour=cfg.air_changes_per_hour, ambient_temperature_c=20.0,
                wall_heat_capacity_j_m2k=cfg.lining_heat_capacity_j_m2k)
    hrr = faa_hrr_kw(time_s)
    mass_g_s = hrr / FAA_FIRE["heat_of_combustion_kj_per_g"]
    yields = fuel_yields(cfg.test)
    sources = RoomSources(
        plume_hrr_kw=hrr, plume_xy_m=np.array(_to_room(cfg, *cfg.fire_xy_m)),
        plume_radiative_fraction=FAA_FIRE["radiative_fraction"],
        co2_g_s=mass_g_s * yields["co2_yield_g_per_g"],
        h2o_g_s=mass_g_s * yields["h2o_yield_g_per_g"],
        soot_g_s=mass_g_s * FAA_FIRE["soot_yield_g_per_g"],
        plume_diameter_m=FAA_FIRE["diameter_m"], plume_base_height_m=0.02,
    )
    return room, sources


def fuel_yields(test: int) -> dict[str, float]:
    """CO2 and H2O yields [g/g] of FAA test ``test``'s own fuel (:data:`FAA_FUELS`)."""
    carbon, hydrogen = FAA_FUELS[test]
    return carbon_balance_yields(carbon, hydrogen, co_yield_g_per_g=FAA_FIRE["co_yield_g_per_g"],
                                 soot_yield_g_per_g=FAA_FIRE["soot_yield_g_per_g"])


def _to_room(cfg: FaaTest, x, y):
    return x + cfg.width_m / 2.0, y


def simulate_faa_test(cfg: FaaTest, time_s) -> dict[str, dict[str, np.ndarray]]:
    """Model rises above the initial state at every thermocouple [K] and gas sampler
    [ppm], on ``time_s`` [s]. Returns ``{"temperature_k": {TC: array},
    "co2_ppm": {column: array}, "absolute": {column: (co2_ppm, temperature_c, rh)}}``."""
    t = np.asarray(time_s, dtype=float)
    room, sources = _room_and_sources(cfg, t)
    out = {"temperature_k": {}, "co2_ppm": {}, "absolute": {}}
    for name, (x, y, z) in cfg.thermocouples.items():
        hist = simulate_room(t, room, sources, sensor_xyz_m=[*_to_room(cfg, x, y), z])
        out["temperature_k"][name] = hist.temperature_c_at_sensor - hist.temperature_c_at_sensor[0]
    for name, (x, y, z) in cfg.gas_samplers.items():
        hist = simulate_room(t, room, sources, sensor_xyz_m=[*_to_room(cfg, x, y), z])
        out["co2_ppm"][name] = hist.co2_ppm_at_sensor - hist.co2_ppm_at_sensor[0]
        out["absolute"][name] = (hist.co2_ppm_at_sensor, hist.temperature_c_at_sensor,
                                 hist.humidity_rh_at_sensor)
    return out


def nearest_thermocouple(cfg: FaaTest) -> tuple[str, float]:
    """The ceiling thermocouple closest to the plume axis and its radius [m]."""
    fx, fy = cfg.fire_xy_m
    best = min(cfg.thermocouples.items(), key=lambda kv: np.hypot(kv[1][0] - fx, kv[1][1] - fy))
    return best[0], float(np.hypot(best[1][0] - fx, best[1][1] - fy))


def compare_faa_test(real_data_dir, test: int, *, scd41_rng=None) -> dict:
    """Model against measurement for one FAA test.

    Returns ``{"rows": [metric dicts], "series": {...}}``: one row for the thermocouple
    nearest the fire, one for the average of all ceiling thermocouples, one per gas
    sampler with data, and (when ``firesight.sensors.scd41`` is available and
    ``scd41_rng`` is given) one for an SCD41 placed at the first gas sampler.
    """
    cfg = FAA_TESTS[test]
    data = read_faa_test(real_data_dir, test)
    t = data["Time"].to_numpy(float)
    t_fine = np.arange(0.0, t[-1] + 1.0, 1.0)
    model = simulate_faa_test(cfg, t_fine)
    rows, series = [], {"time_s": t}
    near, radius = nearest_thermocouple(cfg)
    tc_names = [n for n in cfg.thermocouples if n in data.columns]
    meas_near = data[near].to_numpy(float)
    mod_near = np.interp(t, t_fine, model["temperature_k"][near])
    rows.append({"test": test, "quantity": f"ceiling dT at {near} (r = {radius:.2f} m)",
                 "unit": "K", **compare_series(t, meas_near, mod_near)})
    series["near"] = (near, meas_near, mod_near)
    meas_mean = data[tc_names].mean(axis=1).to_numpy(float)
    mod_mean = np.mean([np.interp(t, t_fine, model["temperature_k"][n]) for n in tc_names], axis=0)
    rows.append({"test": test, "quantity": f"ceiling dT, mean of {len(tc_names)} TCs",
                 "unit": "K", **compare_series(t, meas_mean, mod_mean)})
    series["mean"] = (meas_mean, mod_mean)
    series["gas"] = {}
    for col in cfg.gas_samplers:
        if col not in data.columns or data[col].notna().sum() < 10:
            continue
        meas = data[col].to_numpy(float) * 1e6
        mod = np.interp(t, t_fine, model["co2_ppm"][col])
        rows.append({"test": test, "quantity": f"CO2 rise at {col.replace(' CO2', '')}",
                     "unit": "ppm", **compare_series(t, meas, mod)})
        series["gas"][col] = (meas, mod)
    scd41 = _scd41_class()
    if scd41 is not None and scd41_rng is not None and series["gas"]:
        col = next(iter(series["gas"]))
        co2, temp, rh = model["absolute"][col]
        sensor = scd41(rng=scd41_rng, mode="periodic")
        readings = sensor.measure(t_fine, co2, temp, rh)
        frame = readings.to_frame()
        read_rise = np.interp(t, frame["time_s"], frame["co2_ppm"] - co2[0],
                              left=np.nan)
        meas = series["gas"][col][0]
        rows.append({"test": test, "quantity": f"CO2 rise at {col.replace(' CO2', '')}, "
                     "model + SCD41", "unit": "ppm", **compare_series(t, meas, read_rise)})
        series["scd41"] = (col, read_rise)
    return {"rows": rows, "series": series, "config": cfg}


def _scd41_class():
    """The SCD41 device model class if the sensors package provides one."""
    try:
        from firesight.sensors import scd41 as module
    except ImportError:
        return None
    for name in ("SCD41Sensor", "SCD41"):
        cls = getattr(module, name, None)
        if isinstance(cls, type):
            return cls
    return None


def faa_rows_frame(results: list[dict]) -> pd.DataFrame:
    """All comparison rows of several tests as one table."""
    return pd.DataFrame([row for res in results for row in res["rows"]])
