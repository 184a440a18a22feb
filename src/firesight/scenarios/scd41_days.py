"""An SCD41 over days in an ordinary room, on a coarse time step: occupancy with a weekly
pattern, ventilation, weather-driven pressure, and the device's automatic
self-calibration (ASC) corrections (:class:`firesight.sensors.scd41.SCD41Sensor`).

Room air: one well-mixed zone, ``dC/dt = G n(t) / V - lambda(t) (C - C_out)``, integrated
exactly over each step (occupancy and air-change rate held over the step). Pressure: the
site's mean plus an Ornstein-Uhlenbeck weather excursion (2-day correlation time),
clipped to ±2 kPa. Temperature and humidity: a small daily cycle.

References
----------
1. A. Persily, L. de Jonge, "Carbon dioxide generation rates for building occupants",
   *Indoor Air* 27 (2017) 868-879: about 0.0050 L/s of CO2 per sedentary adult.
2. Sensirion, *Datasheet SCD4x* v1.4, sections 3.6-3.7 (see the device model).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from firesight.errors import require
from firesight.sensors.scd41 import SCD41Readings, SCD41Sensor

#: CO2 exhaled by a sedentary adult [m3/s] [1].
CO2_PER_PERSON_M3_S = 0.0050e-3
_DAY_S = 86400.0


@dataclass
class SCD41Days:
    """True room fields on the coarse grid and the device's readings (every 5 s or 30 s),
    with the ASC corrections it made (``readings.asc_corrections``)."""

    time_s: np.ndarray
    co2_ppm: np.ndarray
    temperature_c: np.ndarray
    humidity_rh: np.ndarray
    pressure_pa: np.ndarray
    occupants: np.ndarray
    readings: SCD41Readings
    sensor: SCD41Sensor

    def summary(self) -> dict:
        """Corrections and the reading error at outdoor-level air before and after them."""
        r = self.readings
        true = np.interp(r.time_s, self.time_s, self.co2_ppm)
        err = r.co2_ppm - true
        fresh = true <= float(np.min(self.co2_ppm)) + 10.0
        first = r.asc_corrections[0][0] if r.asc_corrections else float(r.time_s[-1]) + 1.0
        before, after = fresh & (r.time_s < first), fresh & (r.time_s >= first)
        return {
            "days": round(float(self.time_s[-1] - self.time_s[0]) / _DAY_S, 3),
            "readings": len(r),
            "asc_corrections": [{"time_h": round(t / 3600.0, 3), "correction_ppm": round(c, 2), "kind": k}
                                for t, c, k in r.asc_corrections],
            "device_offset_ppm": round(self.sensor.co2_offset_ppm, 2),
            "fresh_air_error_before_first_correction_ppm":
                round(float(np.nanmean(err[before])), 2) if before.any() else None,
            "fresh_air_error_after_first_correction_ppm":
                round(float(np.nanmean(err[after])), 2) if after.any() else None,
            "pressure_kpa_range": [round(float(self.pressure_pa.min()) / 1e3, 3),
                                   round(float(self.pressure_pa.max()) / 1e3, 3)],
        }


def occupancy(time_s: np.ndarray, *, weekday: float = 2.0, weekend: float = 1.0, night: float = 0.0,
              start_hour: float = 8.0, end_hour: float = 18.0, start_weekday: int = 0) -> np.ndarray:
    """People in the room: ``weekday`` / ``weekend`` between ``start_hour`` and
    ``end_hour``, ``night`` otherwise; day 0 is weekday ``start_weekday`` (0 = Monday)."""
    t = np.asarray(time_s, dtype=np.float64)
    day = np.floor(t / _DAY_S).astype(np.int64)
    hour = (t - day * _DAY_S) / 3600.0
    is_weekend = (day + start_weekday) % 7 >= 5
    busy = (hour >= start_hour) & (hour < end_hour)
    return np.where(busy, np.where(is_weekend, weekend, weekday), night).astype(np.float64)


def room_co2(time_s: np.ndarray, occupants: np.ndarray, air_changes_per_h: np.ndarray, *, volume_m3: float,
             outdoor_co2_ppm: float, initial_co2_ppm: float | None = None) -> np.ndarray:
    """Well-mixed room CO2 [ppm], exact per step for inputs held over the step."""
    t = np.asarray(time_s, dtype=np.float64)
    out = np.empty(t.size)
    out[0] = outdoor_co2_ppm if initial_co2_ppm is None else initial_co2_ppm
    lam = np.asarray(air_changes_per_h, dtype=np.float64) / 3600.0
    ss = outdoor_co2_ppm + np.asarray(occupants) * CO2_PER_PERSON_M3_S / (lam * volume_m3) * 1e6
    decay = np.exp(-lam[:-1] * np.diff(t))
    for i in range(t.size - 1):
        out[i + 1] = ss[i] + (out[i] - ss[i]) * decay[i]
    return out


def weather_pressure(time_s: np.ndarray, rng: np.random.Generator, *, mean_pa: float,
                     sigma_pa: float = 800.0, correlation_s: float = 2.0 * _DAY_S,
                     max_excursion_pa: float = 2000.0) -> np.ndarray:
    """Ambient pressure [Pa]: ``mean_pa`` plus an Ornstein-Uhlenbeck excursion (exact
    discretisation), clipped to ±``max_excursion_pa``."""
    t = np.asarray(time_s, dtype=np.float64)
    x = np.empty(t.size)
    x[0] = rng.normal(0.0, sigma_pa)
    a = np.exp(-np.diff(t) / correlation_s)
    shocks = rng.standard_normal(t.size - 1) * sigma_pa * np.sqrt(1.0 - a * a)
    for i in range(t.size - 1):
        x[i + 1] = a[i] * x[i] + shocks[i]
    return mean_pa + np.clip(x, -max_excursion_pa, max_excursion_pa)


def simulate_scd41_days(days: float, *, seed: int = 0, step_s: float = 60.0, volume_m3: float = 50.0,
                        outdoor_co2_ppm: float = 420.0, occupants_weekday: float = 2.0,
                        occupants_weekend: float = 1.0, occupants_night: float = 0.0,
                        air_changes_occupied_per_h: float = 2.0, air_changes_unoccupied_per_h: float = 0.5,
                        site_pressure_pa: float | None = None, pressure_excursion_pa: float = 2000.0,
                        uptime_s: float | None = 0.0, mode: str = "periodic", **sensor_kwargs) -> SCD41Days:
    """Simulate one SCD41 for ``days`` in an ordinary room on a ``step_s`` grid.

    The device is powered on at the start (``uptime_s=0``: ASC corrections at 44 h, then
    every 156 h) and compensated for sea level (101,300 Pa) unless ``sensor_kwargs`` set
    ``ambient_pressure_pa`` / ``sensor_altitude_m``. The site's mean pressure is drawn in
    100.3-102.3 kPa (near sea level) unless ``site_pressure_pa`` is given; weather moves it
    by up to ``pressure_excursion_pa``. Everything random descends from ``seed``.
    """
    require(days > 0 and np.isfinite(days), "days", "> 0", days)
    require(0 < step_s <= 600.0, "step_s", "in (0, 600] [s]", step_s)
    require(volume_m3 > 0, "volume_m3", "> 0 [m3]", volume_m3)
    require(min(air_changes_occupied_per_h, air_changes_unoccupied_per_h) > 0, "air_changes_per_h", "> 0 [1/h]",
            (air_changes_occupied_per_h, air_changes_unoccupied_per_h))
    s_room, s_device = np.random.SeedSequence(seed).spawn(2)
    rng = np.random.default_rng(s_room)
    t = np.arange(0.0, days * _DAY_S + step_s / 2.0, step_s)
    n = occupancy(t, weekday=occupants_weekday, weekend=occupants_weekend, night=occupants_night)
    ach = np.where(n > occupants_night, air_changes_occupied_per_h, air_changes_unoccupied_per_h)
    co2 = room_co2(t, n, ach, volume_m3=volume_m3, outdoor_co2_ppm=outdoor_co2_ppm)
    mean_pa = rng.uniform(100300.0, 102300.0) if site_pressure_pa is None else float(site_pressure_pa)
    pressure = weather_pressure(t, rng, mean_pa=mean_pa, max_excursion_pa=pressure_excursion_pa)
    day_phase = 2.0 * np.pi * (t / _DAY_S - 0.625)  # warmest mid-afternoon
    temp = 21.0 + 1.5 * np.cos(day_phase) + 0.3 * n
    rh = np.clip(45.0 - 4.0 * np.cos(day_phase) + 1.0 * n, 5.0, 95.0)
    sensor = SCD41Sensor(rng=np.random.default_rng(s_device), mode=mode, uptime_s=uptime_s, **sensor_kwargs)
    readings = sensor.measure(t, co2, temp, rh, pressure_pa=pressure)
    return SCD41Days(time_s=t, co2_ppm=co2, temperature_c=temp, humidity_rh=rh, pressure_pa=pressure,
                     occupants=n, readings=readings, sensor=sensor)


__all__ = ["CO2_PER_PERSON_M3_S", "SCD41Days", "occupancy", "room_co2", "simulate_scd41_days",
           "weather_pressure"]
