"""The synthetic ordinary room against a real office: ``normal_day`` and ``people_gathering``
scenarios from firesight's generator set beside the real occupied office of the UCI
"Occupancy Detection" data set [1] (``../shared/real-data/Occupancy_Office``), by the same
statistic on both.

The criteria below were written down before either side was computed; they are not fitted
to anything, and nothing is fitted to the office data.

Statistics
----------
* **Arrival rise rate** [ppm/min]: the least-squares slope of CO2 over the 10 minutes after
  people first enter a room that was empty. Real: every 0 -> 1 step of the office's
  occupancy flag preceded by at least 30 min of 0 (the log covering that half hour and the
  10 min after it with no gap over 2 min). Synthetic: scenarios whose room is empty at the
  start (nobody present before t = 0); the first person's ``enter_s`` starts the window,
  which must end within the scenario; slope of the SCD41's valid readings.
* **CO2 level** [ppm]: every reading. Real: weekdays 08:00-18:00 (the working day that
  ``normal_day`` stands for). Synthetic: every valid SCD41 reading of the ``normal_day``
  scenarios (t >= 0).
* **Temperature drift** [K/h]: the absolute least-squares slope of temperature over
  non-overlapping 10-min windows; its 90th percentile. Real: weekday windows from 08:00 to
  18:00 on the 10-minute marks, at least 8 log rows and no gap over 2 min. Synthetic: the
  windows [0, 600) s and [600, 1200) s of each ``normal_day`` scenario, at least 60 valid
  readings each. (The office logger is not an SCD41: slopes over 10 min compare trends, not
  sensor noise.)

Criteria (stated a priori, with their reasoning)
------------------------------------------------
* ``normal_day_arrival_rate``: the median synthetic arrival rise rate lies within the real
  interquartile range. A typical synthetic arrival must look like a typical real one.
* ``people_gathering_arrival_rate``: the median ``people_gathering`` arrival rise rate lies
  within the real range (minimum to maximum). A gathering of 2-12 people is the busy end
  of ordinary occupancy, so it need not be typical of one office, but its typical rise
  must be one a real occupied room has produced.
* ``normal_day_co2_level``: the synthetic 5th-95th percentile range of readings lies within
  the real working-day range (minimum to maximum): synthetic ordinary rooms must not show
  CO2 levels an occupied office never reaches, nor sit below outdoor air.
* ``normal_day_temperature_drift``: the synthetic 90th percentile of the 10-min temperature
  drift is within a factor of two of the real one (0.5-2x). A factor of two is the
  customary acceptance of a model's order of magnitude against field data (FAC2, Chang &
  Hanna [2]); a detector that watches temperature rise rates needs the background drift
  right to within that, not better.

Synthetic scenarios: ``SYNTHETIC_COUNT`` of each family from
:func:`firesight.scenarios.simulate.simulate_scenario`, ``SYNTHETIC_DURATION_S`` long (so that
a 10-min window fits after an arrival), Lepton at 1 Hz (its frames are never rendered here).

References
----------
1. L. M. Candanedo, V. Feldheim, "Accurate occupancy detection of an office room from light,
   temperature, humidity and CO2 measurements using statistical learning models", Energy and
   Buildings 112 (2016) 28-39; UCI Machine Learning Repository, CC BY 4.0.
2. J. C. Chang, S. R. Hanna, "Air quality model performance evaluation", Meteorology and
   Atmospheric Physics 87 (2004) 167-196 (FAC2, the fraction within a factor of two).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from firesight.validation.realcheck import read_office_log

__all__ = ["OFFICE_CRITERIA", "OFFICE_FILES", "SYNTHETIC_COUNT", "SYNTHETIC_DURATION_S",
           "real_office_statistics", "synthetic_statistics",
           "compare_office", "summarise"]

#: The office log files (``Occupancy_Office/``), joined in time order.
OFFICE_FILES = ("datatest.txt", "datatraining.txt")
#: Window after an arrival over which the CO2 slope is taken [s].
ARRIVAL_WINDOW_S = 600.0
#: How long the room must have been empty before an arrival [s].
ARRIVAL_EMPTY_BEFORE_S = 1800.0
#: Longest gap between office log rows inside a window [s].
MAX_LOG_GAP_S = 120.0
#: Working day of the real office (local hours, Monday-Friday).
WORKING_HOURS = (8, 18)
#: Temperature-drift window [s].
DRIFT_WINDOW_S = 600.0
#: Synthetic scenarios per family, and their length [s].
SYNTHETIC_COUNT = 30
SYNTHETIC_DURATION_S = 1200.0
#: Lepton frame rate of the synthetic scenarios [Hz] (frames are not rendered).
SYNTHETIC_FRAME_RATE_HZ = 1.0

#: The criteria: name -> (statement, reasoning). See the module docstring.
OFFICE_CRITERIA = {
    "normal_day_arrival_rate": (
        "median normal_day arrival rise rate within the real interquartile range",
        "a typical synthetic arrival must look like a typical real one"),
    "people_gathering_arrival_rate": (
        "median people_gathering arrival rise rate within the real minimum-maximum",
        "a gathering is the busy end of ordinary occupancy, but its typical rise must be one "
        "a real occupied room has produced"),
    "normal_day_co2_level": (
        "normal_day readings' 5th-95th percentiles within the real working-day minimum-maximum",
        "synthetic ordinary rooms must not show CO2 levels an occupied office never reaches"),
    "normal_day_temperature_drift": (
        "normal_day 90th percentile of the absolute 10-min temperature slope within 0.5-2x the real one",
        "factor-of-two agreement (FAC2, Chang & Hanna 2004) is the order of magnitude a "
        "rate-of-rise detector needs"),
}


def _slope_per_min(t_s: np.ndarray, y: np.ndarray) -> float:
    return float(np.polyfit(t_s / 60.0, y, 1)[0])


def _covered(t_s: np.ndarray, start_s: float, end_s: float) -> bool:
    """Rows span [start, end] with no gap over MAX_LOG_GAP_S (the edges included)."""
    inside = t_s[(t_s >= start_s) & (t_s <= end_s)]
    if inside.size < 2:
        return False
    edges = np.concatenate([[start_s], inside, [end_s]])
    return bool(np.max(np.diff(edges)) <= MAX_LOG_GAP_S)


def real_office_statistics(office_dir: Path | str) -> dict:
    """The three statistics of the real office: ``arrival_rates_ppm_min`` (with
    ``arrival_times``), ``co2_ppm`` (working-day readings) and ``drift_k_per_h``."""
    base = Path(office_dir)
    log = pd.concat([read_office_log(base / name) for name in OFFICE_FILES], ignore_index=True)
    log = log.sort_values("time", kind="stable").drop_duplicates("time", keep="first").reset_index(drop=True)
    t = (log["time"] - log["time"].iloc[0]).dt.total_seconds().to_numpy()
    co2 = log["co2_ppm"].to_numpy()
    temp = log["temperature_c"].to_numpy()
    occ = log["occupied"].to_numpy()
    rates, times = [], []
    for k in np.flatnonzero(occ[1:] & ~occ[:-1]) + 1:
        t0 = t[k]
        before = (t >= t0 - ARRIVAL_EMPTY_BEFORE_S) & (t < t0)
        if occ[before].any() or not _covered(t, t0 - ARRIVAL_EMPTY_BEFORE_S, t0):
            continue
        if not _covered(t, t0, t0 + ARRIVAL_WINDOW_S):
            continue
        w = (t >= t0) & (t <= t0 + ARRIVAL_WINDOW_S)
        rates.append(_slope_per_min(t[w] - t0, co2[w]))
        times.append(str(log["time"].iloc[k]))
    when = log["time"]
    working = (when.dt.dayofweek < 5) & (when.dt.hour >= WORKING_HOURS[0]) & (when.dt.hour < WORKING_HOURS[1])
    drift = []
    for day in sorted(set(when[working].dt.normalize())):
        for start in pd.date_range(day + pd.Timedelta(hours=WORKING_HOURS[0]),
                                   day + pd.Timedelta(hours=WORKING_HOURS[1]) - pd.Timedelta(seconds=DRIFT_WINDOW_S),
                                   freq=pd.Timedelta(seconds=DRIFT_WINDOW_S)):
            s0 = (start - log["time"].iloc[0]).total_seconds()
            w = (t >= s0) & (t < s0 + DRIFT_WINDOW_S)
            if w.sum() < 8 or not _covered(t, s0, s0 + DRIFT_WINDOW_S - 60.0):
                continue
            drift.append(abs(_slope_per_min(t[w], temp[w])) * 60.0)
    return {"arrival_rates_ppm_min": np.array(rates), "arrival_times": times,
            "co2_ppm": co2[working.to_numpy()], "drift_k_per_h": np.array(drift)}


def _people(params: dict) -> list[dict]:
    return [p for src in params["sources"] if src.get("kind") == "people" for p in src["people"]]


def synthetic_statistics(family: str, *, seed: int, count: int = SYNTHETIC_COUNT,
                         duration_s: float = SYNTHETIC_DURATION_S) -> dict:
    """The three statistics over ``count`` scenarios of ``family`` (indices 0..count-1 of a
    dataset seeded ``seed``), from their SCD41 readings. Also ``scenarios`` (how many were
    simulated) and ``arrivals`` (how many had an arrival into an empty room with a whole
    window after it)."""
    from firesight.scenarios.simulate import simulate_scenario

    rates, levels, drift = [], [], []
    for index in range(count):
        sim = simulate_scenario(family, seed=seed, index=index, duration_s=duration_s,
                                frame_rate_hz=SYNTHETIC_FRAME_RATE_HZ)
        r = sim.scd41
        ok = (r["status"].to_numpy() == 0) & np.isfinite(r["co2_ppm"].to_numpy()) & (r["time_s"].to_numpy() >= 0)
        t = r["time_s"].to_numpy()[ok]
        co2 = r["co2_ppm"].to_numpy()[ok]
        temp = r["temperature_c"].to_numpy()[ok]
        levels.append(co2)
        for s0 in np.arange(0.0, duration_s - DRIFT_WINDOW_S + 1e-9, DRIFT_WINDOW_S):
            w = (t >= s0) & (t < s0 + DRIFT_WINDOW_S) & np.isfinite(temp)
            if w.sum() >= 60:
                drift.append(abs(_slope_per_min(t[w], temp[w])) * 60.0)
        people = _people(sim.built.params)
        enters = [float(p["enter_s"]) for p in people]
        if not enters or min(enters) < 0.0:
            continue
        t0 = min(enters)
        if t0 + ARRIVAL_WINDOW_S > duration_s:
            continue
        w = (t >= t0) & (t <= t0 + ARRIVAL_WINDOW_S)
        if w.sum() >= 60:
            rates.append(_slope_per_min(t[w] - t0, co2[w]))
    return {"arrival_rates_ppm_min": np.array(rates), "co2_ppm": np.concatenate(levels) if levels else np.array([]),
            "drift_k_per_h": np.array(drift), "scenarios": count, "arrivals": len(rates)}


def summarise(values) -> dict:
    """n, min, 5th, 25th, 50th, 75th, 95th percentile and max of ``values`` (NaN if empty)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    keys = ("min", "p5", "p25", "median", "p75", "p95", "max")
    if v.size == 0:
        return {"n": 0, **{k: math.nan for k in keys}}
    q = np.percentile(v, [0, 5, 25, 50, 75, 95, 100])
    return {"n": int(v.size), **dict(zip(keys, (float(x) for x in q)))}


def _p90(values) -> float:
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    return float(np.percentile(v, 90)) if v.size else math.nan


def compare_office(office_dir: Path | str, *, seed: int = 0, count: int = SYNTHETIC_COUNT) -> dict:
    """Real office against ``normal_day`` and ``people_gathering``: ``real``, ``normal_day``,
    ``people_gathering`` (raw statistics), ``summary`` (statistic -> source -> summary) and
    ``checks`` (one dict per criterion: ``criterion``, ``row``, ``value``, ``low``, ``high``,
    ``ok``, ``statement``, ``reasoning``)."""
    real = real_office_statistics(office_dir)
    normal = synthetic_statistics("normal_day", seed=seed, count=count)
    people = synthetic_statistics("people_gathering", seed=seed, count=count)
    summary = {
        "arrival rise rate [ppm/min]": {"real office": summarise(real["arrival_rates_ppm_min"]),
                                        "normal_day": summarise(normal["arrival_rates_ppm_min"]),
                                        "people_gathering": summarise(people["arrival_rates_ppm_min"])},
        "CO2 level [ppm]": {"real office": summarise(real["co2_ppm"]),
                            "normal_day": summarise(normal["co2_ppm"])},
        "temperature drift over 10 min, absolute [K/h]": {"real office": summarise(real["drift_k_per_h"]),
                                                  "normal_day": summarise(normal["drift_k_per_h"])},
    }
    ra = summary["arrival rise rate [ppm/min]"]["real office"]
    rc = summary["CO2 level [ppm]"]["real office"]
    nc = summary["CO2 level [ppm]"]["normal_day"]
    real_p90, synth_p90 = _p90(real["drift_k_per_h"]), _p90(normal["drift_k_per_h"])
    checks = []

    def add(name, row, value, low, high):
        statement, reasoning = OFFICE_CRITERIA[name]
        ok = math.isfinite(value) and low <= value <= high
        checks.append({"criterion": name, "row": row, "value": float(value), "low": float(low),
                       "high": float(high), "ok": bool(ok), "statement": statement,
                       "reasoning": reasoning})

    add("normal_day_arrival_rate", "normal_day median [ppm/min]",
        summary["arrival rise rate [ppm/min]"]["normal_day"]["median"], ra["p25"], ra["p75"])
    add("people_gathering_arrival_rate", "people_gathering median [ppm/min]",
        summary["arrival rise rate [ppm/min]"]["people_gathering"]["median"], ra["min"], ra["max"])
    add("normal_day_co2_level", "normal_day 5th percentile [ppm]", nc["p5"], rc["min"], rc["max"])
    add("normal_day_co2_level", "normal_day 95th percentile [ppm]", nc["p95"], rc["min"], rc["max"])
    ratio = synth_p90 / real_p90 if real_p90 > 0 else math.nan
    add("normal_day_temperature_drift", "normal_day / real 90th percentile of the absolute drift", ratio, 0.5, 2.0)
    return {"real": real, "normal_day": normal, "people_gathering": people, "summary": summary,
            "drift_p90_k_per_h": {"real office": real_p90, "normal_day": synth_p90},
            "checks": checks, "seed": seed, "count": count}
