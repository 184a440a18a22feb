"""Time profiles used to drive scene objects and room sources: smooth switching, first-
order thermal lag, Newton cooling and flame flicker. Plain functions over time arrays.

References
----------
.. [1] B. M. Cetegen, T. A. Ahmed, "Experiments on the periodic instability of buoyant
   plumes and pool fires", Combustion and Flame 93 (1993) 157-184: puffing frequency
   f = 1.5 D^-1/2 Hz (D in m) over pool diameters of 0.03-50 m.
.. [2] G. Heskestad, "Fire plumes, flame height, and air entrainment", SFPE Handbook
   5th ed., Ch. 13: the mean flame height is where the flame is present half the time;
   the intermittent region spans roughly 0.5-1.5 times the mean height.
"""

from __future__ import annotations

import numpy as np

from firesight.physics.lag import first_order_lag

#: Flame puffing (Cetegen & Ahmed [1]): f = coefficient * D**-0.5 [Hz, D in m].
PUFFING_COEFFICIENT_HZ_M05 = 1.5
#: Relative amplitude of the flame-tip oscillation about the mean height ([2]: the
#: intermittent region reaches about 1.5 L, so tips swing by about a third of L).
FLAME_TIP_AMPLITUDE = 0.33


def window(time_s: np.ndarray, start_s: float, end_s: float | None = None, *, ramp_s: float = 1.0) -> np.ndarray:
    """1 between ``start_s`` and ``end_s`` with linear ramps of ``ramp_s`` [-]."""
    t = np.asarray(time_s, dtype=float)
    ramp = max(float(ramp_s), 1e-6)
    on = np.clip((t - start_s) / ramp, 0.0, 1.0)
    if end_s is not None:
        on = np.minimum(on, np.clip((end_s - t) / ramp + 1.0, 0.0, 1.0))
    return on


#: First-order lag of ``target`` with time constant ``tau_s`` [s] on a uniform grid
#: (:func:`firesight.physics.lag.first_order_lag`).
first_order = first_order_lag


def puffing_frequency_hz(diameter_m):
    """Puffing frequency of a buoyant diffusion flame [Hz] (Cetegen & Ahmed [1]); a number
    or an array of burning diameters [m] (at least 1 mm)."""
    return PUFFING_COEFFICIENT_HZ_M05 / np.sqrt(np.maximum(np.asarray(diameter_m, dtype=float), 1e-3))


def flame_flicker(time_s: np.ndarray, diameter_m, rng: np.random.Generator,
                  *, amplitude: float = FLAME_TIP_AMPLITUDE) -> np.ndarray:
    """Multiplicative flame-height modulation (mean 1) at the puffing frequency, with
    random phase drift so the flicker is quasi-periodic as in real flames [-].

    ``diameter_m`` is the burning diameter [m], a number or one value per sample: a
    growing fire puffs at the instantaneous ``1.5 / sqrt(D(t))`` Hz [1] (the phase is the
    integral of the frequency), so a small flame that spreads over its fuel slows from
    several hertz towards the full pool's frequency. The grid must resolve the frequency
    (sample at the camera's frame times, :func:`firesight.scenarios.build.time_steps_s`);
    a camera slower than twice the puffing frequency then sees it aliased, as a real one
    does.
    """
    t = np.asarray(time_s, dtype=float)
    f = np.broadcast_to(puffing_frequency_hz(diameter_m), t.shape)
    dt = np.diff(t, prepend=t[0]) if t.size > 1 else np.ones(t.size)
    phase = 2 * np.pi * np.cumsum(f * dt)
    step = float(np.median(dt[1:])) if t.size > 1 else 1.0
    phase_noise = np.cumsum(rng.normal(0.0, 0.6 * np.sqrt(step), t.size))
    wobble = np.sin(phase + rng.uniform(0, 2 * np.pi) + phase_noise)
    second = 0.35 * np.sin(1.9 * phase + rng.uniform(0, 2 * np.pi) + 0.7 * phase_noise)
    return np.clip(1.0 + amplitude * (wobble + second) / 1.35, 0.2, None)


def newton_cooling_c(time_s: np.ndarray, start_s: float, initial_c: float, ambient_c: float,
                     tau_s: float) -> np.ndarray:
    """Temperature of a body cooling towards ambient after ``start_s`` [C]."""
    t = np.asarray(time_s, dtype=float)
    since = np.clip(t - start_s, 0.0, None)
    return ambient_c + (initial_c - ambient_c) * np.exp(-since / tau_s)
