"""Occupant metabolism: the CO2 and heat that people in a room give off.

References
----------
.. [5] A. Persily, L. de Jonge, "Carbon dioxide generation rates for building occupants",
   Indoor Air 27 (2017) 868-879, Eq. 1 and Table 4; ANSI/ASHRAE Standard 62.1-2022.
.. [6] ASHRAE Handbook - Fundamentals (2021), Chapter 9 (Thermal comfort): 1 met =
   58.1 W/m2, DuBois area of an average adult 1.8 m2.
"""

from __future__ import annotations

import numpy as np

from firesight.errors import InvalidParameterError
from firesight.physics.constants import GAS_CONSTANTS

__all__ = ["OCCUPANT_CONSTANTS", "occupant_co2_g_s", "occupant_heat_w"]

#: Metabolic rate per met [W/m2] and DuBois body area [m2] [6]; Persily & de Jonge's
#: constant [L/s per (MJ/day) per met at T/P, RQ 0.85 built in] [5].
OCCUPANT_CONSTANTS = {
    "met_w_m2": 58.1,
    "dubois_area_m2": 1.8,
    "persily_constant": 0.000211,
}


def _people(n_people, activity_met) -> tuple[np.ndarray, np.ndarray]:
    """``(n, met)`` as float arrays; :class:`InvalidParameterError` for negative counts or a
    non-positive activity."""
    n = np.asarray(n_people, dtype=float)
    met = np.asarray(activity_met, dtype=float)
    if np.any(n < 0):
        raise InvalidParameterError("n_people", ">= 0", n_people)
    if np.any(met <= 0):
        raise InvalidParameterError("activity_met", "> 0", activity_met)
    return n, met


def occupant_co2_g_s(n_people, *, activity_met=1.2, bmr_mj_per_day=6.7):
    """CO2 exhaled by building occupants.

    Parameters
    ----------
    n_people : array_like
        Number of people present [-].
    activity_met : array_like
        Activity level [met] (1.0 seated quiet, 1.2 office work, 2-3 walking).
    bmr_mj_per_day : float
        Basal metabolic rate [MJ/day]; 6.7 is the mean of adult men and women aged
        30-60 in Persily & de Jonge's Table 4 (7.5 and 5.9).

    Returns
    -------
    numpy.ndarray
        CO2 generation [g/s].

    Notes
    -----
    Persily & de Jonge [5], with the respiratory quotient 0.85 built into the constant:

    .. math:: V_{CO_2} = 0.000211\\,\\mathrm{BMR}\\,M\\,T/P \\quad [\\mathrm{L/s}]

    with :math:`T` [K] and :math:`P` [kPa]; as a mass rate,
    :math:`\\dot m = V_{CO_2} P M_{CO_2} / (R T)` which is independent of T and P.

    References
    ----------
    .. [5] Persily & de Jonge, Indoor Air 27 (2017), Eq. 1; ASHRAE 62.1.
    """
    n, met = _people(n_people, activity_met)
    c = {**GAS_CONSTANTS, **OCCUPANT_CONSTANTS}
    # L/s at (T [K], P [kPa]) -> mol/s = P*1000*V/1000 / (R T) -> g/s; T cancels.
    mol_s_per_person = c["persily_constant"] * bmr_mj_per_day * met / c["gas_constant_j_mol_k"]
    return n * mol_s_per_person * c["molar_mass_co2_g_mol"]


def occupant_heat_w(n_people, *, activity_met=1.2):
    """Total (sensible + latent) metabolic heat of occupants.

    Parameters
    ----------
    n_people : array_like
        Number of people [-].
    activity_met : array_like
        Activity level [met].

    Returns
    -------
    numpy.ndarray
        Heat output [W].

    Notes
    -----
    .. math:: \\dot Q = n\\,M\\,58.1\\,\\mathrm{W/m^2}\\times 1.8\\,\\mathrm{m^2}

    References
    ----------
    .. [6] ASHRAE Handbook - Fundamentals (2021), Ch. 9, Table 4.
    """
    n, met = _people(n_people, activity_met)
    return n * met * OCCUPANT_CONSTANTS["met_w_m2"] * OCCUPANT_CONSTANTS["dubois_area_m2"]
