"""Fire plume and ceiling jet correlations: Heskestad flame height, virtual origin,
plume centreline temperature and plume mass flow; Alpert ceiling-jet temperature and
velocity.

All functions take NumPy arrays (broadcast together) and return arrays. Inputs outside
the range the correlations were fitted on raise :class:`InvalidParameterError`.

References
----------
.. [1] G. Heskestad, "Fire plumes, flame height, and air entrainment", SFPE Handbook of
   Fire Protection Engineering, 5th ed. (Springer, 2016), Chapter 13.
.. [2] R. L. Alpert, "Ceiling jet flows", SFPE Handbook of Fire Protection Engineering,
   5th ed. (Springer, 2016), Chapter 14; R. L. Alpert, "Calculation of response time of
   ceiling-mounted fire detectors", Fire Technology 8 (1972) 181-195.
.. [3] U.S. NRC, NUREG-1805, Fire Dynamics Tools (FDTs), Chapter 9 (plume centreline
   temperature, Heskestad) and Chapter 10 (ceiling jet temperature, Alpert), 2004.
"""

from __future__ import annotations

import numpy as np

from firesight.errors import InvalidParameterError

__all__ = [
    "AMBIENT",
    "heskestad_flame_height",
    "heskestad_virtual_origin",
    "heskestad_plume_centerline_temperature_rise",
    "heskestad_plume_mass_flow",
    "alpert_ceiling_jet_temperature_rise",
    "alpert_ceiling_jet_velocity",
    "ALPERT_TEMPERATURE_TURNING_POINT",
    "ALPERT_VELOCITY_TURNING_POINT",
]

#: Standard ambient air used by the correlations' normalised forms [1]:
#: gravity [m/s2], specific heat [kJ/(kg K)], density [kg/m3], temperature [K].
AMBIENT = {"g_m_s2": 9.81, "cp_kj_kg_k": 1.0, "density_kg_m3": 1.2, "temperature_k": 293.15}

#: r/H below which Alpert's ceiling-jet temperature is the plume-impingement value [2].
ALPERT_TEMPERATURE_TURNING_POINT = 0.18
#: r/H below which Alpert's ceiling-jet velocity is the plume-impingement value [2].
ALPERT_VELOCITY_TURNING_POINT = 0.15


def _nonnegative(name, value):
    a = np.asarray(value, dtype=float)
    if not np.all(np.isfinite(a)) or np.any(a < 0):
        raise InvalidParameterError(name, "finite and >= 0", value)
    return a


def _positive(name, value):
    a = np.asarray(value, dtype=float)
    if not np.all(np.isfinite(a)) or np.any(a <= 0):
        raise InvalidParameterError(name, "finite and > 0", value)
    return a


def heskestad_flame_height(hrr_kw, diameter_m):
    """Mean flame height of a fire plume (Heskestad).

    Parameters
    ----------
    hrr_kw : array_like
        Total heat release rate [kW], >= 0.
    diameter_m : array_like
        Effective fire diameter [m], > 0.

    Returns
    -------
    numpy.ndarray
        Mean flame height above the fire base [m], clipped at 0 (a very small fire on a
        large area has no coherent flame).

    Notes
    -----
    .. math:: L = 0.235\\,\\dot Q^{2/5} - 1.02\\,D

    Valid for flame heights from a fraction of a diameter to tens of diameters in normal
    air [1].

    References
    ----------
    .. [1] Heskestad, SFPE Handbook 5th ed., Ch. 13, Eq. 13.8.
    """
    q = _nonnegative("hrr_kw", hrr_kw)
    d = _positive("diameter_m", diameter_m)
    return np.clip(0.235 * q**0.4 - 1.02 * d, 0.0, None)


def heskestad_virtual_origin(hrr_kw, diameter_m):
    """Height of the plume's virtual point source above the fire base (Heskestad).

    Parameters
    ----------
    hrr_kw : array_like
        Total heat release rate [kW], >= 0.
    diameter_m : array_like
        Effective fire diameter [m], > 0.

    Returns
    -------
    numpy.ndarray
        Virtual origin height [m]; negative means below the fire base.

    Notes
    -----
    .. math:: z_0 = 0.083\\,\\dot Q^{2/5} - 1.02\\,D

    References
    ----------
    .. [1] Heskestad, SFPE Handbook 5th ed., Ch. 13, Eq. 13.24.
    """
    q = _nonnegative("hrr_kw", hrr_kw)
    d = _positive("diameter_m", diameter_m)
    return 0.083 * q**0.4 - 1.02 * d


def _plume_coefficient(ambient_temperature_k):
    """9.1 (T / (g cp^2 rho^2))^(1/3) with rho from the ideal gas at 101.325 kPa [K m^(5/3) kW^(-2/3)]."""
    rho = AMBIENT["density_kg_m3"] * AMBIENT["temperature_k"] / ambient_temperature_k
    cp = AMBIENT["cp_kj_kg_k"]
    return 9.1 * (ambient_temperature_k / (AMBIENT["g_m_s2"] * cp**2 * rho**2)) ** (1.0 / 3.0)


def heskestad_plume_centerline_temperature_rise(
    hrr_kw, height_m, diameter_m, *, ambient_temperature_k=293.15, radiative_fraction=0.3
):
    """Time-averaged centreline temperature rise of a fire plume above the flames.

    Parameters
    ----------
    hrr_kw : array_like
        Total heat release rate [kW], >= 0.
    height_m : array_like
        Height above the fire base [m]; must be at or above the mean flame height.
    diameter_m : array_like
        Effective fire diameter [m], > 0.
    ambient_temperature_k : float
        Ambient temperature [K].
    radiative_fraction : float
        Fraction of the heat release radiated away [-]; the plume carries the rest.

    Returns
    -------
    numpy.ndarray
        Centreline temperature rise [K].

    Notes
    -----
    .. math:: \\Delta T_0 = 9.1 \\left(\\frac{T_\\infty}{g c_p^2 \\rho_\\infty^2}\\right)^{1/3}
              \\dot Q_c^{2/3} (z - z_0)^{-5/3}, \\quad \\dot Q_c = (1-\\chi_r)\\dot Q

    which is :math:`25\\,\\dot Q_c^{2/3}(z-z_0)^{-5/3}` in normal air [1, 3]. The
    correlation holds in the buoyant plume above the mean flame height :math:`L`;
    heights below :math:`L` raise :class:`InvalidParameterError`.

    References
    ----------
    .. [1] Heskestad, SFPE Handbook 5th ed., Ch. 13, Eq. 13.21.
    .. [3] NUREG-1805, Chapter 9.
    """
    q = _nonnegative("hrr_kw", hrr_kw)
    z = _nonnegative("height_m", height_m)
    if not (0 <= radiative_fraction < 1):
        raise InvalidParameterError("radiative_fraction", "in [0, 1)", radiative_fraction)
    t_amb = float(_positive("ambient_temperature_k", ambient_temperature_k))
    length = heskestad_flame_height(q, diameter_m)
    if np.any(z < length - 1e-9):
        raise InvalidParameterError(
            "height_m", "at or above the mean flame height (Heskestad plume region)",
            {"height_m": z.tolist(), "flame_height_m": length.tolist()},
        )
    z0 = heskestad_virtual_origin(q, diameter_m)
    qc = (1.0 - radiative_fraction) * q
    dz = np.maximum(z - z0, 1e-6)
    return _plume_coefficient(t_amb) * qc ** (2.0 / 3.0) * dz ** (-5.0 / 3.0)


def heskestad_plume_mass_flow(hrr_kw, height_m, *, radiative_fraction=0.3):
    """Mass flow rate carried up a fire plume through a height above the fire (Heskestad).

    Parameters
    ----------
    hrr_kw : array_like
        Total heat release rate [kW], >= 0.
    height_m : array_like
        Height above the virtual origin [m], >= 0.
    radiative_fraction : float
        Radiated fraction of the heat release [-].

    Returns
    -------
    numpy.ndarray
        Plume mass flow [kg/s].

    Notes
    -----
    Above the flames [1]:

    .. math:: \\dot m_p = 0.071\\,\\dot Q_c^{1/3} z^{5/3}\\left[1 + 0.026\\,\\dot Q_c^{2/3} z^{-5/3}\\right]
              = 0.071\\,\\dot Q_c^{1/3} z^{5/3} + 1.85\\times10^{-3}\\dot Q_c

    References
    ----------
    .. [1] Heskestad, SFPE Handbook 5th ed., Ch. 13, Eq. 13.28.
    """
    q = _nonnegative("hrr_kw", hrr_kw)
    z = _nonnegative("height_m", height_m)
    qc = (1.0 - radiative_fraction) * q
    return 0.071 * qc ** (1.0 / 3.0) * z ** (5.0 / 3.0) + 0.071 * 0.026 * qc


def _alpert_inputs(hrr_kw, ceiling_height_m, radial_distance_m):
    q = _nonnegative("hrr_kw", hrr_kw)
    h = _positive("ceiling_height_m", ceiling_height_m)
    r = _nonnegative("radial_distance_m", radial_distance_m)
    return np.broadcast_arrays(q, h, r)


def alpert_ceiling_jet_temperature_rise(hrr_kw, ceiling_height_m, radial_distance_m):
    """Maximum temperature rise of the ceiling jet of a steady fire (Alpert).

    Parameters
    ----------
    hrr_kw : array_like
        Total heat release rate [kW], >= 0.
    ceiling_height_m : array_like
        Ceiling height above the fire base [m], > 0.
    radial_distance_m : array_like
        Horizontal distance from the plume axis [m], >= 0.

    Returns
    -------
    numpy.ndarray
        Maximum ceiling-jet temperature rise above ambient [K].

    Notes
    -----
    .. math::
        \\Delta T = 16.9\\,\\dot Q^{2/3} / H^{5/3}, \\quad r/H \\le 0.18

        \\Delta T = 5.38\\,(\\dot Q / r)^{2/3} / H, \\quad r/H > 0.18

    Fitted on fires of 668 kW to 98 MW under unconfined ceilings 4.6-15.5 m high;
    the gas under the ceiling must not be a deep hot layer [2, 3].

    References
    ----------
    .. [2] Alpert, SFPE Handbook 5th ed., Ch. 14, Eqs. 14.1-14.2; Fire Technology 8 (1972).
    .. [3] NUREG-1805, Chapter 10.
    """
    q, h, r = _alpert_inputs(hrr_kw, ceiling_height_m, radial_distance_m)
    near = r / h <= ALPERT_TEMPERATURE_TURNING_POINT
    r_safe = np.where(near, 1.0, r)
    return np.where(near, 16.9 * q ** (2 / 3) / h ** (5 / 3), 5.38 * (q / r_safe) ** (2 / 3) / h)


def alpert_ceiling_jet_velocity(hrr_kw, ceiling_height_m, radial_distance_m):
    """Maximum velocity of the ceiling jet of a steady fire (Alpert).

    Parameters
    ----------
    hrr_kw : array_like
        Total heat release rate [kW], >= 0.
    ceiling_height_m : array_like
        Ceiling height above the fire base [m], > 0.
    radial_distance_m : array_like
        Horizontal distance from the plume axis [m], >= 0.

    Returns
    -------
    numpy.ndarray
        Maximum ceiling-jet velocity [m/s].

    Notes
    -----
    .. math::
        U = 0.96\\,(\\dot Q / H)^{1/3}, \\quad r/H \\le 0.15

        U = 0.195\\,\\dot Q^{1/3} H^{1/2} / r^{5/6}, \\quad r/H > 0.15

    References
    ----------
    .. [2] Alpert, SFPE Handbook 5th ed., Ch. 14, Eqs. 14.3-14.4.
    """
    q, h, r = _alpert_inputs(hrr_kw, ceiling_height_m, radial_distance_m)
    near = r / h <= ALPERT_VELOCITY_TURNING_POINT
    r_safe = np.where(near, 1.0, r)
    return np.where(
        near, 0.96 * (q / h) ** (1 / 3), 0.195 * q ** (1 / 3) * h**0.5 / r_safe ** (5 / 6)
    )
