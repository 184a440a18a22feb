"""SCD41 power-on warm-up: the transient of a device that was just powered on.

A device that has been running reads settled (the default of
:class:`firesight.sensors.scd41.SCD41Sensor`). After power-on (``power_on_s``) the module
starts at the temperature of its surroundings and warms by its own dissipation toward the
settled self-heating; its CO2 reading starts off its settled value and converges as it
warms. Sensirion publishes no transient shape, so the shape is physical and its parameters
are stated a priori (below), never fitted to real logs.

What Sensirion documents
------------------------
1. *Datasheet SCD4x* v1.3 (Sept. 2022), section 3.1: after the supply reaches 2.25 V the
   sensor needs 1000 ms to enter the idle state; section 3.5 (``start_periodic_measurement``):
   signal update interval 5 s, so the first reading comes one interval after the start
   (already the model's first reading time).
2. Same datasheet, section 3.10: "After a power cycle, the initial single shot reading
   should be discarded to maximize accuracy"; section 3.10.4 (``wake_up``): the first
   ``measure_single_shot`` reading after waking up "should be discarded". So the first
   reading after power-on is off by a deviation worth discarding, i.e. of the order of the
   accuracy bound ±(40 ppm + 5 % of reading) (table 1).
3. Same datasheet, section 3.7.1 (``perform_forced_recalibration``): operate the sensor in
   its normal mode "for > 3 minutes" in constant CO2 before a forced recalibration; the
   Sensirion FRC example (Sensirion/arduino-snippets, issue #5, confirmed by Sensirion,
   2023-11-07) waits 5 minutes "to equilibrate sensor to ambient". So the transient is
   minutes long.
4. Same datasheet, section 3.6.1 (``set_temperature_offset``): the temperature offset (4 C
   by default) depends on the measurement mode and self-heating and is to be determined
   "in thermal equilibrium" — the reading only equals ambient once the module has warmed.
5. Datasheet SCD4x v1.4, tables 1–3 (as cited in :mod:`firesight.sensors.scd41`):
   temperature response time tau63 120 s; average supply current 15 mA at 3.3 V in
   periodic mode (~50 mW).

Model (assumptions marked)
--------------------------
* Temperature: the module is one lumped thermal mass (assumption) whose response to the
  ambient has the datasheet's tau63 = 120 s [5]; its own dissipation, switched on at
  power-on, heats it through the same thermal resistance, so the self-heating grows as
  ``dT_sh (1 - exp(-t/tau))`` with the same tau (the step response of the same first-order
  system). ``dT_sh`` is the model's settled self-heating (4 C periodic, scaled by supply
  current in low power). Plausibility only: 4 K at ~50 mW is 81 K/W, and tau = 120 s then
  means a heat capacity of ~1.5 J/K, that of ~2 g of board and metal, the order of the
  10.1 x 10.1 x 6.5 mm module on its carrier.
* Relative humidity: the vapour is unchanged, so the reported RH follows the reported
  temperature (the module's RH formula re-references it; nothing extra here).
* CO2: the deviation is proportional to the module's remaining departure from its operating
  temperature, ``e(t) = s A exp(-t/tau)`` (assumption: an uncompensated temperature
  dependence of the photoacoustic signal — emitter, microphone, cell — while the module is
  away from the temperature it was calibrated at; the ideal-gas part is compensated on chip
  with the SHT4x and a ~1 K lag between SHT4x and cell would give only ~0.3 %, a few ppm).
  ``A`` = the datasheet accuracy bound at the reading, 40 ppm + 5 % [2] (assumption: "worth
  discarding" = about one accuracy bound); at 3 min it has decayed to 22 % of that, below
  the accuracy bound as an FRC after > 3 min [3] requires. The sign ``s`` is not documented:
  drawn per device (+1 or -1, equal odds, from the device's own seed stream).
"""

from __future__ import annotations

import numpy as np

#: A-priori warm-up parameters (sources in the module docstring).
SCD41_WARMUP = {
    "tau_s": 120.0,  # datasheet temperature response time tau63 [5], lumped module (assumption)
    "co2_amplitude_offset_ppm": 40.0,  # accuracy bound 40 ppm + 5 % of reading [2]
    "co2_amplitude_fraction": 0.05,
}


def elapsed_since_power_on(time_s, power_on_s: float) -> np.ndarray:
    """Time since power-on [s], 0 before it."""
    return np.maximum(np.asarray(time_s, dtype=np.float64) - float(power_on_s), 0.0)


def remaining_fraction(elapsed_s, tau_s: float = SCD41_WARMUP["tau_s"]) -> np.ndarray:
    """Share of the warm-up still to come, ``exp(-t/tau)`` (1 at power-on, -> 0)."""
    return np.exp(-np.asarray(elapsed_s, dtype=np.float64) / float(tau_s))


def temperature_deficit_c(elapsed_s, self_heating_c: float, tau_s: float = SCD41_WARMUP["tau_s"]) -> np.ndarray:
    """Self-heating not yet reached [C] (<= 0): add to the settled temperature reading."""
    return -float(self_heating_c) * remaining_fraction(elapsed_s, tau_s)


def co2_deviation_ppm(elapsed_s, reading_ppm, sign: float, tau_s: float = SCD41_WARMUP["tau_s"],
                      offset_ppm: float = SCD41_WARMUP["co2_amplitude_offset_ppm"],
                      fraction: float = SCD41_WARMUP["co2_amplitude_fraction"]) -> np.ndarray:
    """CO2 warm-up deviation [ppm]: ``sign (offset + fraction |reading|) exp(-t/tau)``."""
    amplitude = offset_ppm + fraction * np.abs(np.asarray(reading_ppm, dtype=np.float64))
    return float(sign) * amplitude * remaining_fraction(elapsed_s, tau_s)


def device_sign(stream_seed: int) -> float:
    """The device's warm-up sign (+1 or -1), from its own seed without touching the
    construction stream (so devices without warm-up draw exactly what they drew before)."""
    return 1.0 if np.random.default_rng([int(stream_seed), 0x5CD41]).random() < 0.5 else -1.0


__all__ = ["SCD41_WARMUP", "co2_deviation_ppm", "device_sign", "elapsed_since_power_on",
           "remaining_fraction", "temperature_deficit_c"]
