"""Sensirion SCD41 photoacoustic CO2 / temperature / humidity sensor: the device model.

True fields in (on any fine time grid), device readings out: first-order sensor
responses, per-device accuracy errors within the datasheet bounds, repeatability noise,
self-heating and its on-chip compensation, slow drift between automatic
self-calibration (ASC) corrections, output quantisation and clamping, and optional
faults.

References
----------
1. Sensirion, *Datasheet SCD4x — Photoacoustic NDIR CO2 sensor*, version 1.4
   (April 2023), tables 1–3 and sections 3.5–3.7: SCD41 CO2 accuracy
   ±(40 ppm + 5 % of reading) for 400–5,000 ppm, repeatability ±10 ppm, output range
   0–40,000 ppm, response time tau63 60 s; temperature accuracy ±0.8 C (15–35 C),
   repeatability ±0.1 C, response time tau63 120 s; RH accuracy ±6 %RH, repeatability
   ±0.4 %RH, response time tau63 90 s; periodic measurement every 5 s, low-power
   periodic every 30 s; operating range −10…60 C; default temperature offset 4 C;
   average supply current 15 mA (periodic) / 3.2 mA (low power) at 3.3 V; ASC initial
   period 44 h, standard period 156 h; long-term drift ±(5 ppm + 0.5 % of reading)
   per year with ASC.
2. Sensirion, *Introduction to Humidity* application note (2009): Magnus formula
   ``p_ws(T) = 6.112 hPa * exp(17.62 T / (243.12 C + T))``.
3. Real SCD40 logs (same sensing principle and datasheet family), ``../shared/real-data/
   SCD40_Rooms`` (callmewire/AirScout32, MIT): reading-to-reading noise 16.8 ppm (1 sigma,
   from the MAD of successive differences) at ~1,130 ppm and 17.8 ppm at ~1,400 ppm, well
   above the datasheet's ±10 ppm repeatability: the noise grows with the reading.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from firesight.errors import require
from firesight.physics.lag import linear_input_lag
from firesight.physics.room import magnus_saturation_vapour_pressure_pa

#: Datasheet constants [1].
SCD41 = {
    "co2_range_ppm": (0.0, 40000.0),
    "co2_accuracy_offset_ppm": 40.0,  # ±(40 ppm + 5 % of reading), 400–5,000 ppm
    "co2_accuracy_fraction": 0.05,
    "co2_repeatability_ppm": 10.0,
    "co2_tau63_s": 60.0,
    "temperature_accuracy_c": 0.8,
    "temperature_repeatability_c": 0.1,
    "temperature_tau63_s": 120.0,
    "humidity_accuracy_rh": 6.0,
    "humidity_repeatability_rh": 0.4,
    "humidity_tau63_s": 90.0,
    "periodic_interval_s": 5.0,
    "low_power_interval_s": 30.0,
    "operating_temperature_c": (-10.0, 60.0),
    "default_temperature_offset_c": 4.0,
    "supply_current_periodic_ma": 15.0,
    "supply_current_low_power_ma": 3.2,
    "asc_standard_period_s": 156.0 * 3600.0,
    "drift_ppm_per_year": 5.0,  # + 0.5 % of reading, with ASC
    "drift_fraction_per_year": 0.005,
    "co2_resolution_ppm": 1.0,
    "temperature_resolution_c": 0.01,
    "humidity_resolution_rh": 0.01,
}

#: Model assumptions (docs/sensors.md): repeatability taken as ±2 sigma; per-device
#: errors are normal with 3 sigma inside a share of the datasheet bound, so that
#: systematic error + 3 sigma noise stays within ±(40 ppm + 5 %).
SCD41_MODEL = {
    "repeatability_sigmas": 2.0,
    "co2_offset_max_ppm": 25.0,
    "co2_gain_max_fraction": 0.035,
    "temperature_error_max_c": 0.6,
    "humidity_error_max_rh": 4.5,
    "self_heating_periodic_c": 4.0,  # matches the datasheet's default offset
    # CO2 noise sigma = repeatability / repeatability_sigmas * max(1, reading / this) [ppm]:
    # 5 ppm up to 350 ppm, then proportional to the reading (16 ppm at 1,130 ppm, 20 ppm
    # at 1,400 ppm), calibrated on the real SCD40 logs [3].
    "co2_noise_reference_ppm": 350.0,
    # per-device spread of the noise level: scale factor drawn uniformly in this range
    "co2_noise_scale_range": (0.8, 1.25),
}

STATUS_OK, STATUS_MISSING, STATUS_NACK, STATUS_STUCK, STATUS_OVER_TEMPERATURE = 0, 1, 2, 3, 4
_SECONDS_PER_YEAR = 365.25 * 86400.0


@dataclass
class SCD41Faults:
    """Optional faults: a frozen output after ``stuck_after_s`` [s from the start],
    readings not ready (``missing_prob``) and I2C NACKs (``nack_prob``), per reading."""

    stuck_after_s: float | None = None
    missing_prob: float = 0.0
    nack_prob: float = 0.0

    def __post_init__(self) -> None:
        for name in ("missing_prob", "nack_prob"):
            value = getattr(self, name)
            require(0.0 <= value <= 1.0, name, "within [0, 1]", value)
        if self.stuck_after_s is not None:
            require(self.stuck_after_s >= 0, "stuck_after_s", ">= 0 [s] or None", self.stuck_after_s)


@dataclass
class SCD41Readings:
    """Device readings: ``time_s`` [s], ``co2_ppm`` [ppm], ``temperature_c`` [C],
    ``humidity_rh`` [%RH] (float64, NaN when no value arrived) and ``status`` (uint8:
    0 ok, 1 missing, 2 I2C NACK, 3 stuck, 4 over the 60 C operating limit)."""

    time_s: np.ndarray
    co2_ppm: np.ndarray
    temperature_c: np.ndarray
    humidity_rh: np.ndarray
    status: np.ndarray

    def __len__(self) -> int:
        return int(self.time_s.size)

    def to_frame(self):
        """The readings as a pandas DataFrame (one row per reading)."""
        import pandas as pd

        return pd.DataFrame({
            "time_s": self.time_s, "co2_ppm": self.co2_ppm, "temperature_c": self.temperature_c,
            "humidity_rh": self.humidity_rh, "status": self.status,
        })


def _clipped_normal(rng: np.random.Generator, bound: float) -> float:
    """Normal draw with 3 sigma at ``bound``, clipped to ±bound."""
    return float(np.clip(rng.standard_normal(), -3.0, 3.0) / 3.0 * bound)


class SCD41Sensor:
    """One SCD41 unit with its own calibration errors.

    Parameters
    ----------
    rng : numpy.random.Generator
        Draws this device's CO2 offset and gain error, temperature and humidity errors,
        drift rate and ASC phase, and the seed of its per-reading noise stream.
    mode : {"periodic", "low_power"}
        5 s or 30 s measurement interval [1].
    faults : SCD41Faults or None
    self_heating_c : float or None
        Warming of the sensor above ambient by its own dissipation [C]; default 4.0 C in
        periodic mode, scaled by supply current (3.2 / 15) in low-power mode.
    temperature_offset_c : float, default 4.0
        The on-chip temperature offset setting (datasheet default) [C].
    asc_steps : sequence of (time_s, step_ppm), optional
        Automatic self-calibration corrections applied during the readings: from
        ``time_s`` [s] on, the CO2 output shifts by ``step_ppm`` [ppm] (the device moves
        its baseline in one step when an ASC period ends [1]).
    constants, model : dict, optional
        Override :data:`SCD41` / :data:`SCD41_MODEL` entries (for tests).
    """

    def __init__(self, *, rng: np.random.Generator, mode: str = "periodic",
                 faults: SCD41Faults | None = None, self_heating_c: float | None = None,
                 temperature_offset_c: float | None = None, constants: dict | None = None,
                 model: dict | None = None, asc_steps=()):
        require(isinstance(rng, np.random.Generator), "rng", "a numpy.random.Generator", type(rng).__name__)
        require(mode in ("periodic", "low_power"), "mode", "'periodic' or 'low_power'", mode)
        self.mode = mode
        self.faults = faults or SCD41Faults()
        self.constants = c = {**SCD41, **(constants or {})}
        self.model = m = {**SCD41_MODEL, **(model or {})}
        self.interval_s = float(c["periodic_interval_s"] if mode == "periodic" else c["low_power_interval_s"])
        if self_heating_c is None:
            self_heating_c = m["self_heating_periodic_c"]
            if mode == "low_power":
                self_heating_c *= c["supply_current_low_power_ma"] / c["supply_current_periodic_ma"]
        self.self_heating_c = float(self_heating_c)
        self.temperature_offset_c = float(
            c["default_temperature_offset_c"] if temperature_offset_c is None else temperature_offset_c)
        self.co2_offset_ppm = _clipped_normal(rng, m["co2_offset_max_ppm"])
        self.co2_gain_error = _clipped_normal(rng, m["co2_gain_max_fraction"])
        self.temperature_error_c = _clipped_normal(rng, m["temperature_error_max_c"])
        self.humidity_error_rh = _clipped_normal(rng, m["humidity_error_max_rh"])
        drift_sigma = c["drift_fraction_per_year"] / 3.0
        self.drift_fraction_per_s = float(rng.standard_normal() * drift_sigma / _SECONDS_PER_YEAR)
        self.drift_ppm_per_s = float(rng.standard_normal() * c["drift_ppm_per_year"] / 3.0 / _SECONDS_PER_YEAR)
        self.asc_phase_s = float(rng.uniform(0.0, c["asc_standard_period_s"]))
        self.stream_seed = int(rng.integers(0, 2**63 - 1))
        self.co2_noise_scale = float(rng.uniform(*m["co2_noise_scale_range"]))
        self.asc_steps = tuple((float(t), float(step)) for t, step in asc_steps)
        for t, step in self.asc_steps:
            require(np.isfinite(t) and np.isfinite(step), "asc_steps", "finite (time_s, step_ppm) pairs",
                    (t, step))

    def reading_times(self, time_s) -> np.ndarray:
        """Times the device delivers a reading: one interval after the start, then every
        interval, up to the last input time [s]."""
        t = np.asarray(time_s, dtype=np.float64)
        n = int(np.floor((t[-1] - t[0]) / self.interval_s + 1e-9))
        return t[0] + self.interval_s * np.arange(1, n + 1)

    def measure(self, time_s, co2_ppm, temperature_c, humidity_rh) -> SCD41Readings:
        """Device readings from true fields at the sensor position.

        Parameters
        ----------
        time_s : array (n,)
            Strictly increasing time grid of the true fields [s] (e.g. 1 s steps).
        co2_ppm, temperature_c, humidity_rh : arrays (n,)
            True CO2 [ppm], air temperature [C] and relative humidity [%RH].

        Returns
        -------
        SCD41Readings
            One reading every 5 s (periodic) or 30 s (low power) [1].

        Notes
        -----
        Each channel follows ``tau dy/dt = u - y`` (tau63 60 / 120 / 90 s). CO2 reading
        ``(1 + g) y + b + drift(t) + asc steps + noise`` (noise sigma growing with the
        reading, see :data:`SCD41_MODEL`), rounded to 1 ppm and clamped to
        0–40,000 ppm. Temperature ``y_T + self_heating - offset + e_T + noise``.
        Humidity re-referenced to the reported temperature with the Magnus formula:
        ``RH = y_RH p_ws(y_T) / p_ws(T_reported) + e_RH + noise``.
        """
        t = np.asarray(time_s, dtype=np.float64)
        arrays = [np.asarray(a, dtype=np.float64) for a in (co2_ppm, temperature_c, humidity_rh)]
        require(t.ndim == 1 and t.size >= 2, "time_s", "a 1-D array of >= 2 times [s]", t.shape)
        require(bool(np.all(np.diff(t) > 0)), "time_s", "strictly increasing [s]", "non-increasing")
        for name, a in zip(("co2_ppm", "temperature_c", "humidity_rh"), arrays):
            require(a.shape == t.shape, name, f"shape {t.shape} like time_s", a.shape)
            require(bool(np.all(np.isfinite(a))), name, "finite values", "NaN or inf")
        c, m, f = self.constants, self.model, self.faults
        co2_lag = linear_input_lag(t, arrays[0], float(c["co2_tau63_s"]))
        temp_lag = linear_input_lag(t, arrays[1], float(c["temperature_tau63_s"]))
        rh_lag = linear_input_lag(t, arrays[2], float(c["humidity_tau63_s"]))
        tr = self.reading_times(t)
        n = tr.size
        co2 = np.interp(tr, t, co2_lag)
        temp = np.interp(tr, t, temp_lag)
        rh = np.interp(tr, t, rh_lag)
        ambient_now = np.interp(tr, t, arrays[1])
        rng = np.random.Generator(np.random.PCG64(self.stream_seed))
        noise = rng.standard_normal((n, 3))
        draws = rng.random((n, 2))
        k = 1.0 / m["repeatability_sigmas"]
        age_s = np.mod(self.asc_phase_s + (tr - t[0]), c["asc_standard_period_s"])
        drift = age_s * (self.drift_ppm_per_s + self.drift_fraction_per_s * co2)
        co2_out = (1.0 + self.co2_gain_error) * co2 + self.co2_offset_ppm + drift
        for t_step, step_ppm in self.asc_steps:
            co2_out[tr >= t_step] += step_ppm
        co2_sigma = (c["co2_repeatability_ppm"] * k * self.co2_noise_scale
                     * np.maximum(1.0, np.abs(co2_out) / m["co2_noise_reference_ppm"]))
        co2_out += noise[:, 0] * co2_sigma
        co2_out = np.clip(np.rint(co2_out / c["co2_resolution_ppm"]) * c["co2_resolution_ppm"],
                          *c["co2_range_ppm"])
        temp_out = (temp + self.self_heating_c - self.temperature_offset_c + self.temperature_error_c
                    + noise[:, 1] * c["temperature_repeatability_c"] * k)
        rh_out = rh * magnus_saturation_vapour_pressure_pa(temp) / magnus_saturation_vapour_pressure_pa(temp_out)
        rh_out = rh_out + self.humidity_error_rh + noise[:, 2] * c["humidity_repeatability_rh"] * k
        rh_out = np.clip(rh_out, 0.0, 100.0)
        temp_out = np.round(temp_out / c["temperature_resolution_c"]) * c["temperature_resolution_c"]
        rh_out = np.round(rh_out / c["humidity_resolution_rh"]) * c["humidity_resolution_rh"]
        status = np.zeros(n, dtype=np.uint8)
        status[ambient_now > c["operating_temperature_c"][1]] = STATUS_OVER_TEMPERATURE
        if f.stuck_after_s is not None:
            stuck = tr > t[0] + f.stuck_after_s
            if stuck.any():
                first = int(np.argmax(stuck))
                src = max(first - 1, 0)
                for arr in (co2_out, temp_out, rh_out):
                    arr[first:] = arr[src]
                status[first:] = STATUS_STUCK
        missing = draws[:, 0] < f.missing_prob
        nack = draws[:, 1] < f.nack_prob
        status[missing] = STATUS_MISSING
        status[nack] = STATUS_NACK
        lost = missing | nack
        for arr in (co2_out, temp_out, rh_out):
            arr[lost] = np.nan
        return SCD41Readings(time_s=tr, co2_ppm=co2_out, temperature_c=temp_out,
                             humidity_rh=rh_out, status=status)
