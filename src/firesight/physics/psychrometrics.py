"""Psychrometrics: the saturation vapour pressure of water (Magnus form) and relative
humidity from the vapour partial pressure. Used by the room zone model
(:mod:`firesight.physics.room`) and the SCD41 device model.

References
----------
.. [4] O. A. Alduchov, R. E. Eskridge, "Improved Magnus form approximation of saturation
   vapor pressure", J. Appl. Meteor. 35 (1996) 601-609: e_s = 6.1094 exp(17.625 T /
   (T + 243.04)) hPa.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "MAGNUS_CONSTANTS",
    "magnus_saturation_vapour_pressure_pa",
    "relative_humidity_from_vapour_pressure",
]

#: Magnus coefficients over liquid water [4]: ``a`` [Pa], ``b`` [-], ``c`` [C].
MAGNUS_CONSTANTS = {
    "magnus_a_pa": 610.94,
    "magnus_b": 17.625,
    "magnus_c_c": 243.04,
}


def magnus_saturation_vapour_pressure_pa(temperature_c):
    """Saturation vapour pressure of water over a liquid surface (Magnus form).

    Parameters
    ----------
    temperature_c : array_like
        Temperature [C] (fitted for -40 to 50 C; extrapolated above).

    Returns
    -------
    numpy.ndarray
        Saturation vapour pressure [Pa].

    Notes
    -----
    .. math:: e_s = 610.94 \\exp\\left(\\frac{17.625\\,T}{T + 243.04}\\right)

    References
    ----------
    .. [4] Alduchov & Eskridge, J. Appl. Meteor. 35 (1996), Eq. 21.
    """
    t = np.asarray(temperature_c, dtype=float)
    c = MAGNUS_CONSTANTS
    return c["magnus_a_pa"] * np.exp(c["magnus_b"] * t / (t + c["magnus_c_c"]))


def relative_humidity_from_vapour_pressure(vapour_pressure_pa, temperature_c):
    """Relative humidity [%] from water vapour partial pressure [Pa] and temperature [C],
    clipped to 0-100 % (Magnus saturation pressure [4])."""
    e = np.asarray(vapour_pressure_pa, dtype=float)
    return np.clip(100.0 * e / magnus_saturation_vapour_pressure_pa(temperature_c), 0.0, 100.0)
