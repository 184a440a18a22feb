"""Sensirion SCD41 photoacoustic CO2 / temperature / humidity sensor: the device model.

True fields in (on any time grid, fine or coarse), device readings out: first-order
sensor responses, per-device accuracy errors within the datasheet bounds (factory and
assembly offsets), repeatability noise, self-heating and its on-chip compensation, slow
drift, automatic self-calibration (ASC) computed from the device's own readings,
ambient-pressure dependence against the set compensation pressure, output quantisation
and clamping, and optional faults.

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
4. Sensirion, *Datasheet SCD4x* v1.4, section 3.7 (field calibration) and the SCD4x
   *Automatic Self-Calibration* application note: ASC assumes the sensor sees fresh air
   at the ASC target (400 ppm by default, ``set_automatic_self_calibration_target``) at
   least once per period; at the end of each period the baseline is corrected so that
   the lowest CO2 concentration of the period reads the target; initial period 44 h
   after power-on, then standard periods of 156 h (settable in multiples of 4 h); ASC can
   be disabled (``set_automatic_self_calibration_enabled``).
5. Sensirion, *Datasheet SCD4x*, section 3.6 (on-chip output signal compensation):
   ``set_ambient_pressure`` (700–1,200 hPa, default 101,300 Pa) overrides the pressure
   derived from ``set_sensor_altitude`` (0–3,000 m, default 0 m); and Vaisala, "How do
   temperature and pressure affect CO2 measurement?" (FAQ): an NDIR instrument measures
   the CO2 number (mole) density, so by the ideal gas law its reading scales with
   ``p_ambient / p_calibration``. Model: reading = true x p_ambient / p_compensation
   (temperature is compensated on chip with the built-in SHT4x [1]).
6. Sensirion, *Datasheet SCD4x* v1.3, section 4.5 (soldering): reflow soldering can cause
   "minor temporary accuracy deviations of the CO2 reading"; section 3.7: forced
   recalibration "is applied to compensate for drifts originating from the sensor
   assembly process". The size of the assembly offset is not published: model assumption
   |assembly offset| <= 12 ppm (3 sigma), combined with the factory offset (22 ppm) to
   25 ppm (3 sigma), inside the ±(40 ppm + 5 %) accuracy bound.
7. Power-on warm-up (optional, ``power_on_s``): sources and a-priori parameters in
   :mod:`firesight.sensors.scd41_warmup` (datasheet v1.3 sections 3.1, 3.6.1, 3.7.1, 3.10).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from firesight.errors import require
from firesight.physics.constants import standard_atmosphere_pressure_pa
from firesight.physics.lag import linear_input_lag
from firesight.physics.psychrometrics import magnus_saturation_vapour_pressure_pa
from firesight.sensors import scd41_warmup as warmup

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
    "asc_initial_period_s": 44.0 * 3600.0,
    "asc_target_ppm": 400.0,  # default ASC target [4]
    "asc_period_multiple_s": 4.0 * 3600.0,  # periods settable in multiples of 4 h [4]
    "compensation_pressure_pa": 101300.0,  # default ambient-pressure setting [5]
    "ambient_pressure_range_pa": (70000.0, 120000.0),  # set_ambient_pressure range [5]
    "altitude_range_m": (0.0, 3000.0),  # set_sensor_altitude range [5]
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
    "co2_offset_max_ppm": 22.0,  # factory calibration residual, 3 sigma
    "co2_assembly_offset_max_ppm": 12.0,  # soldering / assembly stress, 3 sigma [6]
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
    # ASC looks for the period's lowest concentration on readings averaged over blocks of
    # this length (the device filters its readings; a minimum over raw 5 s readings would
    # pick a noise excursion, ~4 sigma low over 44 h)
    "asc_filter_s": 600.0,
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
    #: ASC corrections made during the readings: ``(time_s, correction_ppm, kind)``,
    #: kind ``"period-minimum"`` (computed from this call's readings) or
    #: ``"history"`` (a period that began before the first reading: assumed to have
    #: seen the target, it removes the drift accumulated since the previous correction)
    asc_corrections: tuple = ()

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
        Extra baseline steps given explicitly (e.g. an ASC correction whose size the
        caller draws, as the scenario generator does): from ``time_s`` [s] on, the CO2
        output shifts by ``step_ppm`` [ppm]. Applied on top of the modelled ASC.
    asc_enabled : bool, default True
        Automatic self-calibration [4] (``set_automatic_self_calibration_enabled``).
    asc_target_ppm, asc_initial_period_h, asc_standard_period_h : float, optional
        ASC settings (defaults 400 ppm, 44 h, 156 h [4]).
    uptime_s : float or None
        Time the device has been powered at the first input time [s]: ASC periods end at
        44 h of uptime, then every 156 h. ``None`` (default): the device is past its initial
        period, at a random phase of a standard period (drawn from ``rng``).
    ambient_pressure_pa, sensor_altitude_m : float, optional
        The device's pressure-compensation settings [5] (``set_ambient_pressure`` wins
        over ``set_sensor_altitude``); default: sea level, 101,300 Pa.
    power_on_s : float or None
        Time the device was powered on and started measuring, on the input time grid [s]
        [7]. ``None`` (default): long running, settled. Otherwise readings start one
        interval after ``max(power_on_s, first input time)``, the temperature reading
        climbs to its settled self-heating and the CO2 reading converges from an offset
        (:mod:`firesight.sensors.scd41_warmup`), and, unless ``uptime_s`` is given, the
        ASC initial period runs from power-on.
    constants, model : dict, optional
        Override :data:`SCD41` / :data:`SCD41_MODEL` entries (for tests).
    """

    def __init__(self, *, rng: np.random.Generator, mode: str = "periodic",
                 faults: SCD41Faults | None = None, self_heating_c: float | None = None,
                 temperature_offset_c: float | None = None, constants: dict | None = None,
                 model: dict | None = None, asc_steps=(), asc_enabled: bool = True,
                 asc_target_ppm: float | None = None, asc_initial_period_h: float | None = None,
                 asc_standard_period_h: float | None = None, uptime_s: float | None = None,
                 ambient_pressure_pa: float | None = None, sensor_altitude_m: float = 0.0,
                 power_on_s: float | None = None):
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
        # drawn last, so the draws above (and the noise stream) are those of earlier versions
        self.co2_assembly_offset_ppm = _clipped_normal(rng, m["co2_assembly_offset_max_ppm"])
        self.co2_factory_offset_ppm = self.co2_offset_ppm
        self.co2_offset_ppm = self.co2_factory_offset_ppm + self.co2_assembly_offset_ppm
        self.asc_enabled = True
        self.asc_target_ppm = float(c["asc_target_ppm"])
        self.asc_initial_period_s = float(c["asc_initial_period_s"])
        self.asc_standard_period_s = float(c["asc_standard_period_s"])
        self.set_automatic_self_calibration_enabled(asc_enabled)
        if asc_target_ppm is not None:
            self.set_automatic_self_calibration_target(asc_target_ppm)
        if asc_initial_period_h is not None:
            self.set_automatic_self_calibration_initial_period(asc_initial_period_h)
        if asc_standard_period_h is not None:
            self.set_automatic_self_calibration_standard_period(asc_standard_period_h)
        if uptime_s is not None:
            require(np.isfinite(uptime_s) and uptime_s >= 0, "uptime_s", ">= 0 [s] or None", uptime_s)
        self.uptime_s = None if uptime_s is None else float(uptime_s)
        self._ambient_pressure_pa: float | None = None
        self.sensor_altitude_m = 0.0
        self.set_sensor_altitude(sensor_altitude_m)
        if ambient_pressure_pa is not None:
            self.set_ambient_pressure(ambient_pressure_pa)
        if power_on_s is not None:
            require(np.isfinite(power_on_s), "power_on_s", "a finite time [s] or None", power_on_s)
        self.power_on_s = None if power_on_s is None else float(power_on_s)
        # from the noise stream's seed, not from rng: devices without warm-up are unchanged
        self.warmup_sign = warmup.device_sign(self.stream_seed)

    # --- device settings, named after the SCD4x commands [4, 5] -----------------------------
    def set_automatic_self_calibration_enabled(self, enabled: bool) -> None:
        """ASC on (default) or off [4]."""
        require(isinstance(enabled, (bool, np.bool_)), "asc_enabled", "True or False", enabled)
        self.asc_enabled = bool(enabled)

    def set_automatic_self_calibration_target(self, ppm: float) -> None:
        """The concentration the lowest reading of a period is corrected to [ppm] [4]."""
        require(np.isfinite(ppm) and 0.0 < ppm <= 2000.0, "asc_target_ppm", "in (0, 2000] [ppm]", ppm)
        self.asc_target_ppm = float(ppm)

    def _period_s(self, hours: float, name: str) -> float:
        step = self.constants["asc_period_multiple_s"]
        seconds = float(hours) * 3600.0
        require(np.isfinite(seconds) and seconds >= step and abs(seconds / step - round(seconds / step)) < 1e-9,
                name, f"a positive multiple of {step / 3600.0:g} h", hours)
        return seconds

    def set_automatic_self_calibration_initial_period(self, hours: float) -> None:
        """Length of the first ASC period after power-on [h], a multiple of 4 h [4]."""
        self.asc_initial_period_s = self._period_s(hours, "asc_initial_period_h")

    def set_automatic_self_calibration_standard_period(self, hours: float) -> None:
        """Length of the later ASC periods [h], a multiple of 4 h [4]."""
        self.asc_standard_period_s = self._period_s(hours, "asc_standard_period_h")

    def set_ambient_pressure(self, pressure_pa: float) -> None:
        """Compensate for this ambient pressure [Pa]; overrides the altitude setting [5]."""
        lo, hi = self.constants["ambient_pressure_range_pa"]
        require(np.isfinite(pressure_pa) and lo <= pressure_pa <= hi, "ambient_pressure_pa",
                f"within [{lo:g}, {hi:g}] [Pa]", pressure_pa)
        self._ambient_pressure_pa = float(pressure_pa)

    def set_sensor_altitude(self, altitude_m: float) -> None:
        """Compensate for the mean pressure at this altitude [m] (ignored while an ambient
        pressure is set) [5]."""
        lo, hi = self.constants["altitude_range_m"]
        require(np.isfinite(altitude_m) and lo <= altitude_m <= hi, "sensor_altitude_m",
                f"within [{lo:g}, {hi:g}] [m]", altitude_m)
        self.sensor_altitude_m = float(altitude_m)

    @property
    def compensation_pressure_pa(self) -> float:
        """The pressure the CO2 output is compensated for [Pa]: the set ambient pressure,
        else the default pressure scaled to the set altitude with the standard-atmosphere
        barometric formula (:func:`firesight.physics.constants.standard_atmosphere_pressure_pa`;
        model assumption)."""
        if self._ambient_pressure_pa is not None:
            return self._ambient_pressure_pa
        return float(standard_atmosphere_pressure_pa(self.sensor_altitude_m,
                                                     self.constants["compensation_pressure_pa"]))

    def asc_schedule(self, t0_s: float, t1_s: float) -> tuple[float, list[tuple[float, float]]]:
        """ASC period ends in ``(t0_s, t1_s]`` as ``(end_s, start_s)`` pairs, and the time
        since the previous correction at ``t0_s`` [s] (the drift age)."""
        if self.uptime_s is None and self.power_on_s is not None:  # ASC starts at power-on
            age0, first_end = t0_s - self.power_on_s, self.power_on_s + self.asc_initial_period_s
            start = self.power_on_s
        elif self.uptime_s is None:
            age0 = self.asc_phase_s % self.asc_standard_period_s
            first_end, start = t0_s + self.asc_standard_period_s - age0, t0_s - age0
        else:
            u0 = self.uptime_s
            if u0 < self.asc_initial_period_s:
                age0, first_end, start = u0, t0_s + self.asc_initial_period_s - u0, t0_s - u0
            else:
                age0 = (u0 - self.asc_initial_period_s) % self.asc_standard_period_s
                first_end, start = t0_s + self.asc_standard_period_s - age0, t0_s - age0
        ends = []
        end = first_end
        while self.asc_enabled and end <= t1_s:
            ends.append((end, start))
            start, end = end, end + self.asc_standard_period_s
        return age0, ends

    def _asc(self, tr: np.ndarray, internal: np.ndarray, t0_s: float,
             ends: list[tuple[float, float]]) -> tuple[np.ndarray, tuple]:
        """Baseline correction at each reading [ppm] and the corrections made [4]."""
        correction = np.zeros(tr.size)
        made = []
        total = 0.0
        filt = float(self.model["asc_filter_s"])
        for end, start in ends:
            if start >= t0_s - 1e-9:
                sel = (tr >= start) & (tr < end)
                if not sel.any():
                    continue
                block = np.floor((tr[sel] - start) / filt).astype(np.int64)
                counts = np.bincount(block)
                filled = counts > 0
                means = np.bincount(block, weights=internal[sel])[filled] / counts[filled]
                step = self.asc_target_ppm - (float(means.min()) + total)
                kind = "period-minimum"
            else:  # the period began before the first input: assumed to have seen the target
                step = -(self.drift_ppm_per_s + self.drift_fraction_per_s * self.asc_target_ppm) * (end - start)
                kind = "history"
            total += step
            correction[tr >= end] += step
            made.append((float(end), float(step), kind))
        return correction, tuple(made)

    def reading_times(self, time_s) -> np.ndarray:
        """Times the device delivers a reading: one interval after the start (the first
        input time, or power-on if later), then every interval, up to the last input time [s]."""
        t = np.asarray(time_s, dtype=np.float64)
        start = float(t[0]) if self.power_on_s is None else max(float(t[0]), self.power_on_s)
        n = max(int(np.floor((t[-1] - start) / self.interval_s + 1e-9)), 0)
        return start + self.interval_s * np.arange(1, n + 1)

    def measure(self, time_s, co2_ppm, temperature_c, humidity_rh, pressure_pa=None) -> SCD41Readings:
        """Device readings from true fields at the sensor position.

        Parameters
        ----------
        time_s : array (n,)
            Strictly increasing time grid of the true fields [s] (e.g. 1 s steps).
        co2_ppm, temperature_c, humidity_rh : arrays (n,)
            True CO2 [ppm], air temperature [C] and relative humidity [%RH].
        pressure_pa : float or array (n,), optional
            True ambient pressure [Pa]; default: the compensation pressure (no error).

        Returns
        -------
        SCD41Readings
            One reading every 5 s (periodic) or 30 s (low power) [1].

        Notes
        -----
        Each channel follows ``tau dy/dt = u - y`` (tau63 60 / 120 / 90 s). CO2 reading
        ``(1 + g) y p/p_comp + b + drift(t) + noise + ASC(t) + asc_steps`` (noise sigma
        growing with the reading, see :data:`SCD41_MODEL`; drift accumulating since the
        last correction; ASC(t) the sum of the corrections made at the period ends, each
        setting the lowest 10 min mean of its period to the target [4]), rounded to 1 ppm
        and clamped to 0–40,000 ppm. Temperature ``y_T + self_heating - offset + e_T + noise``.
        Humidity re-referenced to the reported temperature with the Magnus formula:
        ``RH = y_RH p_ws(y_T) / p_ws(T_reported) + e_RH + noise``. With ``power_on_s``
        the self-heating term is ``self_heating (1 - exp(-t_on/tau))`` and the CO2 reading
        gains ``s (40 ppm + 5 %) exp(-t_on/tau)``, ``t_on`` the time since power-on [7].
        """
        t = np.asarray(time_s, dtype=np.float64)
        arrays = [np.asarray(a, dtype=np.float64) for a in (co2_ppm, temperature_c, humidity_rh)]
        if pressure_pa is None:
            pressure = np.full(t.shape, self.compensation_pressure_pa)
        else:
            pressure = np.broadcast_to(np.asarray(pressure_pa, dtype=np.float64), t.shape)
            require(bool(np.all(np.isfinite(pressure) & (pressure > 0))), "pressure_pa",
                    "finite, > 0 [Pa], a scalar or shaped like time_s", "non-finite or <= 0")
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
        pressure_ratio = np.interp(tr, t, pressure) / self.compensation_pressure_pa
        temp = np.interp(tr, t, temp_lag)
        rh = np.interp(tr, t, rh_lag)
        ambient_now = np.interp(tr, t, arrays[1])
        rng = np.random.Generator(np.random.PCG64(self.stream_seed))
        noise = rng.standard_normal((n, 3))
        draws = rng.random((n, 2))
        k = 1.0 / m["repeatability_sigmas"]
        age0, ends = self.asc_schedule(float(t[0]), float(tr[-1]) if n else float(t[0]))
        drift = (age0 + tr - t[0]) * (self.drift_ppm_per_s + self.drift_fraction_per_s * co2)
        co2_out = (1.0 + self.co2_gain_error) * co2 * pressure_ratio + self.co2_offset_ppm + drift
        heating = np.full(n, self.self_heating_c)
        if self.power_on_s is not None:  # warm-up [7]
            since = warmup.elapsed_since_power_on(tr, self.power_on_s)
            co2_out += warmup.co2_deviation_ppm(since, co2_out, self.warmup_sign)
            heating += warmup.temperature_deficit_c(since, self.self_heating_c)
        for t_step, step_ppm in self.asc_steps:
            co2_out[tr >= t_step] += step_ppm
        co2_sigma = (c["co2_repeatability_ppm"] * k * self.co2_noise_scale
                     * np.maximum(1.0, np.abs(co2_out) / m["co2_noise_reference_ppm"]))
        co2_out += noise[:, 0] * co2_sigma
        asc_correction, asc_made = self._asc(tr, co2_out, float(t[0]), ends)
        co2_out += asc_correction
        co2_out = np.clip(np.rint(co2_out / c["co2_resolution_ppm"]) * c["co2_resolution_ppm"],
                          *c["co2_range_ppm"])
        temp_out = (temp + heating - self.temperature_offset_c + self.temperature_error_c
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
                             humidity_rh=rh_out, status=status, asc_corrections=asc_made)
