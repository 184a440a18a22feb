"""Focal-plane (FPA) temperature of a Lepton 3.5 in its node: what drives its drift and
its temperature-triggered flat-field corrections.

The FPA sits on the camera's board inside the node. Two things move its temperature:

- **Its surroundings**, lagged by the node's thermal mass: the air around the node — the
  room air, or the fire's hot upper layer once that has come down to the node — reaches
  the housing and the FPA through a first-order lag with time constant
  ``housing_tau_s`` [1] (exact for an input linear between frames,
  :func:`firesight.physics.lag.first_order_response`).
- **Its own power** (~150 mW in operation [2]): after power-on the FPA warms above its
  housing by ``self_heating_k`` with time constant ``warmup_tau_s``. A camera that has
  run for long (``uptime_s`` None) is settled; its constant self-heating is part of the
  calibration and moves nothing.

    T_housing(t) = lag(T_ambient, housing_tau_s)
    T_fpa(t) = T_housing(t) + self_heating_k (1 - exp(-(uptime_s + t - t0) / warmup_tau_s))

Between FFCs the uncorrected offset grows with the FPA's change since the last FFC
(``drift_k_per_k``); the camera runs an FFC when that change exceeds 1.5 C [3]
(:meth:`firesight.sensors.lepton.LeptonCamera.ffc_schedule`), and one at power-on [3].
The sizes (``housing_tau_s``, ``self_heating_k``, ``warmup_tau_s``) are model
assumptions (docs/sensors.md): the datasheet gives the power, the FFC rule and the
operating range, not the module's thermal time constants.

References
----------
1. K. Ogata, *Modern Control Engineering*, 5th ed. (2010), §5-2: first-order systems.
2. FLIR Lepton 3.5 engineering datasheet, doc. 500-0771-01-09: ~150 mW operating power,
   optimum operating range −10…80 C.
3. FLIR Lepton Software IDD, doc. 110-0144-04 (SYS FFC shutter mode: automatic FFC on a
   period and on an FPA temperature change ``desiredFfcTempDelta``); Lepton 3.5
   datasheet: automatic FFC every 3 min or on a 1.5 C change, and at start-up.
"""

from __future__ import annotations

import numpy as np

from firesight.physics.lag import first_order_response

__all__ = ["fpa_temperature_k"]


def fpa_temperature_k(time_s, ambient_k, *, uptime_s: float | None, housing_tau_s: float,
                      self_heating_k: float, warmup_tau_s: float) -> np.ndarray:
    """FPA temperature per frame [K] (see the module docstring).

    Parameters
    ----------
    time_s : array (n,)
        Increasing frame times [s].
    ambient_k : array (n,)
        Air temperature around the node at the frames [K]; the node starts in
        equilibrium with ``ambient_k[0]``.
    uptime_s : float or None
        Time since power-on at the first frame [s]; None: long settled.
    housing_tau_s : float
        Thermal time constant of the node [s]; <= 0 follows the ambient at once.
    self_heating_k : float
        Settled FPA rise over the housing from the module's own power [K].
    warmup_tau_s : float
        Time constant of that rise after power-on [s].

    Returns
    -------
    numpy.ndarray
        FPA temperature, shape (n,) [K]. Relative to a settled camera's, whose constant
        self-heating is left out: a freshly powered one starts ``self_heating_k`` below.
    """
    t = np.asarray(time_s, dtype=np.float64)
    amb = np.broadcast_to(np.asarray(ambient_k, dtype=np.float64), t.shape)
    if t.size == 0:
        return np.zeros(0)
    housing = first_order_response(t, amb, housing_tau_s) if housing_tau_s > 0 and t.size > 1 else amb.copy()
    if uptime_s is None:
        return housing
    since_on = np.maximum(float(uptime_s) + (t - t[0]), 0.0)
    return housing - self_heating_k * np.exp(-since_on / max(warmup_tau_s, 1e-9))
