"""DelCo trainer fires: what happens when a fire grows far beyond detection scale.

Two checks against NIST's measurements in the Delaware County training structure
(propane burners and furnishings; CO2 reaches 6-10 %, gas temperatures 500-860 C):

* device saturation: the measured CO2 fed through the SCD41 model must clamp at the
  sensor's 40,000 ppm output limit (Sensirion SCD4x datasheet), and the measured
  ceiling-level gas temperatures are set against the Lepton 3.5's radiometric ranges
  (high gain to 140 C, low gain to about 400 C; FLIR Lepton 3.5 datasheet);
* the zone model at a large fire: test 2's burn room (3.7 m x 6.1 m x 2.4 m, propane
  burners of 415 + 387 + 94 kW switched on at 5, 185 and 365 s, from the FDS validation
  input [1]) against the measured hot-gas-layer temperature and CO2. The room opens
  through a 1.0 m x 2.0 m doorway; firesight's zone model has no doorway flow, so it is
  given the equivalent air exchange of Kawagoe's opening flow, 0.5 A sqrt(H) kg/s [2].

References
----------
.. [1] NIST, FDS Validation Suite, ``Validation/DelCo_Trainers/FDS_Input_Files/Test_02.fds``.
.. [2] K. Kawagoe, "Fire behaviour in rooms", Building Research Institute Report 27
   (Japan, 1958); D. Drysdale, An Introduction to Fire Dynamics, 3rd ed., Section 10.3.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from firesight.physics.fuels import FUEL_PROPERTIES
from firesight.physics.room import Room, RoomSources, simulate_room
from firesight.validation.metrics import compare_series
from firesight.validation.nist import read_delco_hgl, read_delco_test

__all__ = ["DELCO_TESTS", "SCD41_CO2_LIMIT_PPM", "LEPTON_RANGES_C", "delco_saturation",
           "delco_zone_model_test2"]

DELCO_TESTS = (2, 3, 4, 5, 6, 22, 23, 24, 25)

#: SCD41 CO2 output range upper end [ppm] (Sensirion SCD4x datasheet v1.4, table 1).
SCD41_CO2_LIMIT_PPM = 40000.0


def _lepton_ranges():
    try:
        from firesight.sensors.lepton import LEPTON35

        return {"high_gain": LEPTON35["high_gain_range_c"][1],
                "low_gain": LEPTON35["low_gain_range_c"][1]}
    except (ImportError, KeyError):
        # FLIR Lepton 3.5 datasheet: scene range to 140 C (high gain) / ~400 C (low gain)
        return {"high_gain": 140.0, "low_gain": 400.0}


#: Upper ends of the Lepton 3.5 radiometric ranges [C].
LEPTON_RANGES_C = _lepton_ranges()


def _fill(series: np.ndarray) -> np.ndarray:
    s = pd.Series(series).interpolate(limit_direction="both")
    return s.to_numpy(float)


def delco_saturation(real_data_dir, test: int, *, rng=None) -> dict:
    """Saturation of the device models at one DelCo test.

    Returns measured peak CO2 [ppm], the time it first exceeds 40,000 ppm [s], the
    SCD41 model's peak reading and the time it reaches the clamp (when the sensor model
    is available and ``rng`` is given), the hottest ceiling-level thermocouple [C] and
    how long it stays above the Lepton's high- and low-gain limits [s].
    """
    data = read_delco_test(real_data_dir, test)
    t = data["Time"].to_numpy(float)
    co2_cols = [c for c in ("CO2_A", "CO2_B") if c in data.columns]
    co2_ppm = {c: data[c].to_numpy(float) * 1e6 for c in co2_cols}
    main = max(co2_cols, key=lambda c: np.nanmax(co2_ppm[c]))
    meas = co2_ppm[main]
    above = np.flatnonzero(meas >= SCD41_CO2_LIMIT_PPM)
    out = {
        "test": test, "co2_column": main, "measured_co2_peak_ppm": float(np.nanmax(meas)),
        "t_measured_over_limit_s": float(t[above[0]]) if above.size else float("nan"),
    }
    # Ceiling-level thermocouples: the top bead of each tree (``TC_<tree>_1``).
    top = [c for c in data.columns if c.startswith("TC_") and c.endswith("_1")]
    hottest = data[top].max(axis=1).to_numpy(float)
    dt = np.median(np.diff(t))
    out["ceiling_tc_series"] = (t, hottest)
    out.update({
        "ceiling_tc_peak_c": float(np.nanmax(hottest)),
        "s_above_lepton_high_gain": float(np.sum(hottest > LEPTON_RANGES_C["high_gain"]) * dt),
        "s_above_lepton_low_gain": float(np.sum(hottest > LEPTON_RANGES_C["low_gain"]) * dt),
        "duration_s": float(t[-1] - t[0]),
    })
    from firesight.validation.faa import _scd41_class

    scd41 = _scd41_class()
    if scd41 is not None and rng is not None:
        t_fine = np.arange(t[0], t[-1] + 1.0, 1.0)
        co2_fine = np.interp(t_fine, t, _fill(meas))
        temp_col = "TC_A1_5" if "TC_A1_5" in data.columns else None
        temp = (np.interp(t_fine, t, _fill(data[temp_col].to_numpy(float)))
                if temp_col else np.full_like(t_fine, 25.0))
        readings = scd41(rng=rng, mode="periodic").measure(
            t_fine, co2_fine, temp, np.full_like(t_fine, 50.0)).to_frame()
        clamp = readings.index[readings["co2_ppm"] >= SCD41_CO2_LIMIT_PPM - 0.5]
        out["series"] = {"time_s": t, "measured_co2_ppm": meas,
                         "scd41_time_s": readings["time_s"].to_numpy(float),
                         "scd41_co2_ppm": readings["co2_ppm"].to_numpy(float)}
        out.update({
            "scd41_peak_ppm": float(readings["co2_ppm"].max()),
            "t_scd41_at_limit_s": float(readings.loc[clamp[0], "time_s"]) if len(clamp)
            else float("nan"),
            "scd41_readings_over_temperature": int((readings["status"] == 4).sum()),
            "scd41_readings": int(len(readings)),
        })
    return out


#: DelCo test 2 burn room and burners from the FDS validation input [1].
DELCO_TEST2_ROOM = {
    "width_m": 3.7, "depth_m": 6.1, "height_m": 2.4, "ambient_temperature_c": 32.0,
    "burner_xy_m": (0.9, 4.6), "burner_diameter_m": 1.07,  # three 0.6 m squares side by side
    "burners": (  # (mass flux kg/(m2 s), area m2, on s, off s)
        (0.0264, 0.36, 5.0, 959.0), (0.0246, 0.36, 185.0, 839.0), (0.0060, 0.36, 365.0, 719.0)),
    "doorway_area_m2": 1.0 * 2.0, "doorway_height_m": 2.0,
    "co2_sampler_xyz_m": (1.8, 1.5, 1.22),
}


def delco_test2_hrr_kw(time_s) -> np.ndarray:
    """Heat release rate of test 2's propane burners [kW] (Tewarson's propane heat of
    combustion, 43.7 kJ/g)."""
    t = np.asarray(time_s, float)
    dh = FUEL_PROPERTIES["propane"].heat_of_combustion_kj_per_g
    q = np.zeros_like(t)
    for flux, area, on, off in DELCO_TEST2_ROOM["burners"]:
        q += np.where((t >= on) & (t < off), flux * 1000.0 * area * dh, 0.0)
    return q


def delco_zone_model_test2(real_data_dir) -> dict:
    """Zone model against DelCo test 2's burn room: upper-layer temperature [C] and CO2
    at the sampler [ppm], as comparison rows and series."""
    cfg = DELCO_TEST2_ROOM
    data = read_delco_test(real_data_dir, 2)
    hgl = read_delco_hgl(real_data_dir, 2, "Room_1")
    t_end = float(min(data["Time"].iloc[-1], 1200.0))
    t = np.arange(0.0, t_end + 1.0, 1.0)
    hrr = delco_test2_hrr_kw(t)
    fuel = FUEL_PROPERTIES["propane"]
    mass = hrr / fuel.heat_of_combustion_kj_per_g
    volume = cfg["width_m"] * cfg["depth_m"] * cfg["height_m"]
    kawagoe_kg_s = 0.5 * cfg["doorway_area_m2"] * np.sqrt(cfg["doorway_height_m"])
    ach = kawagoe_kg_s / 1.2 * 3600.0 / volume
    room = Room(width_m=cfg["width_m"], depth_m=cfg["depth_m"], height_m=cfg["height_m"],
                air_changes_per_hour=ach, ambient_temperature_c=cfg["ambient_temperature_c"])
    sources = RoomSources(plume_hrr_kw=hrr, plume_xy_m=np.array(cfg["burner_xy_m"]),
                          plume_radiative_fraction=fuel.radiative_fraction,
                          co2_g_s=mass * fuel.co2_yield_g_per_g,
                          h2o_g_s=mass * fuel.h2o_yield_g_per_g,
                          soot_g_s=mass * fuel.soot_yield_g_per_g,
                          plume_diameter_m=cfg["burner_diameter_m"], plume_base_height_m=0.1)
    hist = simulate_room(t, room, sources, sensor_xyz_m=list(cfg["co2_sampler_xyz_m"]))
    th = hgl["Time"].to_numpy(float)
    keep = th <= t_end
    th = th[keep]
    meas_tu = hgl["T_upper"].to_numpy(float)[keep]
    mod_tu = np.interp(th, t, hist.upper_layer_temperature_c)
    td = data["Time"].to_numpy(float)
    keep_d = td <= t_end
    td = td[keep_d]
    meas_co2 = data["CO2_A"].to_numpy(float)[keep_d] * 1e6
    mod_co2 = np.interp(td, t, hist.co2_ppm_at_sensor)
    rows = [
        {"test": 2, "quantity": "DelCo burn room: upper-layer temperature", "unit": "C",
         **compare_series(th, meas_tu - meas_tu[0], mod_tu - mod_tu[0])},
        {"test": 2, "quantity": "DelCo burn room: CO2 at sampler A (1.22 m)", "unit": "ppm",
         **compare_series(td, meas_co2 - meas_co2[0], mod_co2 - mod_co2[0])},
    ]
    return {
        "rows": rows, "ach": float(ach),
        "series": {"time_s": t, "hrr_kw": hrr, "hgl_time_s": th, "measured_t_upper_c": meas_tu,
                   "model_t_upper_c": mod_tu, "co2_time_s": td, "measured_co2_ppm": meas_co2,
                   "model_co2_ppm": mod_co2, "model_layer_depth_m": hist.layer_depth_m,
                   "model_upper_co2_ppm": hist.upper_layer_co2_ppm},
        "model_max_upper_layer_temperature_c": float(hist.upper_layer_temperature_c.max()),
        "model_max_co2_ppm": float(hist.upper_layer_co2_ppm.max()),
        "model_min_lower_o2_pct": float(100.0 * hist.lower_layer_oxygen_mole_fraction.min()),
        "model_min_burning_fraction": float(np.min(
            np.where(hrr > 0, hist.plume_hrr_kw / np.where(hrr > 0, hrr, 1.0), 1.0))),
        "model_max_layer_depth_m": float(hist.layer_depth_m.max()),
    }
