"""Long-wave infrared radiometry: Planck band radiance over the 8–14 um band of a
microbolometer such as the FLIR Lepton 3.5, and its inverse.

A thermal camera measures radiance, not temperature. Everything that mixes inside one
pixel (a sub-pixel flame, the optics blur, a half-transparent smoke layer) mixes in
radiance; the camera then reports the blackbody temperature whose band radiance equals
the mixture. These two functions are that round trip.

References
----------
1. M. Planck, "Ueber das Gesetz der Energieverteilung im Normalspectrum",
   Annalen der Physik 309 (1901) 553–563.
2. CODATA 2018 recommended values of the fundamental physical constants (via
   :mod:`scipy.constants`).
3. M. Vollmer, K.-P. Möllmann, *Infrared Thermal Imaging*, 2nd ed., Wiley-VCH 2018,
   ch. 1.3 (band radiance, emissivity) and ch. 2.
4. FLIR Lepton 3.5 engineering datasheet (FLIR doc. 500-0771-01-09), spectral range
   8–14 um.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import constants as _c

from firesight.errors import require

#: Physical constants (CODATA 2018 via scipy.constants) [SI].
PLANCK_CONSTANTS = {
    "h_js": _c.h,  # Planck constant [J s]
    "c_m_per_s": _c.c,  # speed of light [m/s]
    "k_j_per_k": _c.k,  # Boltzmann constant [J/K]
}

#: Lepton 3.5 spectral band [um] (FLIR Lepton 3.5 datasheet, "spectral range 8–14 um").
LWIR_BAND_UM = (8.0, 14.0)

_C1 = 2.0 * _c.h * _c.c**2  # first radiation constant for radiance [W m2 sr-1]
_C2 = _c.h * _c.c / _c.k  # second radiation constant [m K]
#: Gauss–Legendre node counts tried across the band; the first whose band radiance
#: agrees with the rule of twice as many nodes to 1e-13 (relative, 100–10,000 K) is used
#: (12 for 8–14 um; more for wide bands).
_GAUSS_NODE_COUNTS = (12, 16, 24, 32, 48, 64, 96, 128, 192, 256)
_GAUSS_CHECK_K = np.array([100.0, 300.0, 1000.0, 3000.0, 10000.0])
_LUT_T_MIN_K, _LUT_T_MAX_K, _LUT_STEP_K = 100.0, 3000.0, 0.05
#: Degree and temperature range [K] of the polynomial inverse (see
#: :func:`band_radiance_inverse_polynomial`).
INVERSE_POLYNOMIAL_DEGREE = 12
INVERSE_POLYNOMIAL_RANGE_K = (200.0, 3000.0)


def planck_spectral_radiance(wavelength_um, temperature_k):
    """Blackbody spectral radiance, Planck's law [1].

    Parameters
    ----------
    wavelength_um : array_like
        Wavelength [um].
    temperature_k : array_like
        Temperature [K]; broadcast against ``wavelength_um``.

    Returns
    -------
    ndarray
        Spectral radiance [W m-2 sr-1 um-1].

    Notes
    -----
    ``L(lambda, T) = 2 h c^2 / lambda^5 / (exp(h c / (lambda k T)) - 1)``.
    """
    lam_m = np.asarray(wavelength_um, dtype=np.float64) * 1e-6
    t = np.asarray(temperature_k, dtype=np.float64)
    with np.errstate(over="ignore", divide="ignore"):
        x = _C2 / (lam_m * t)
        per_m = _C1 / lam_m**5 / np.expm1(x)
    return per_m * 1e-6


@lru_cache(maxsize=16)
def _gauss_nodes(band_um: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = band_um
    half = 0.5 * (hi - lo)

    def rule(n: int) -> tuple[np.ndarray, np.ndarray]:
        nodes, weights = np.polynomial.legendre.leggauss(n)
        return lo + half * (nodes + 1.0), weights * half

    for n in _GAUSS_NODE_COUNTS:
        lam, w = rule(n)
        lam2, w2 = rule(2 * n)
        coarse = planck_spectral_radiance(lam[None, :], _GAUSS_CHECK_K[:, None]) @ w
        fine = planck_spectral_radiance(lam2[None, :], _GAUSS_CHECK_K[:, None]) @ w2
        if np.all(np.abs(coarse - fine) <= 1e-13 * np.abs(fine)):
            return lam, w
    return rule(2 * _GAUSS_NODE_COUNTS[-1])


def _check_band(band_um) -> tuple[float, float]:
    band = (float(band_um[0]), float(band_um[1]))
    require(0.0 < band[0] < band[1], "band_um", "(lo, hi) with 0 < lo < hi [um]", band_um)
    return band


def planck_band_radiance(temperature_k, *, emissivity=1.0, band_um=LWIR_BAND_UM):
    """Band-integrated radiance of a grey body over ``band_um`` [1, 3].

    Parameters
    ----------
    temperature_k : array_like
        Surface temperature [K], > 0.
    emissivity : array_like, default 1.0
        Grey-body emissivity in the band [-], 0..1; broadcast against the temperature.
    band_um : (float, float), default (8, 14)
        Band limits [um] (Lepton 3.5 spectral range [4]).

    Returns
    -------
    ndarray or float
        Radiance [W m-2 sr-1] integrated over the band.

    Notes
    -----
    ``L_band(T) = eps * integral_{lo}^{hi} L(lambda, T) d lambda``, evaluated with a
    Gauss–Legendre rule with as many nodes as it takes to converge to 1e-13
    (relative) between 100 K and 10,000 K — 12 nodes for 8–14 um.
    """
    band = _check_band(band_um)
    t = np.asarray(temperature_k, dtype=np.float64)
    require(bool(np.all(t > 0)), "temperature_k", "> 0 [K]", float(np.min(t)) if t.size else t)
    eps = np.asarray(emissivity, dtype=np.float64)
    require(
        bool(np.all((eps >= 0) & (eps <= 1))), "emissivity", "within [0, 1]", emissivity
    )
    lam, w = _gauss_nodes(band)
    flat = t.reshape(-1)
    out = np.empty(flat.shape, dtype=np.float64)
    step = 65536
    for i in range(0, flat.size, step):
        block = flat[i : i + step, None]
        out[i : i + step] = planck_spectral_radiance(lam[None, :], block) @ w
    result = eps * out.reshape(t.shape)
    return float(result) if result.ndim == 0 else result


@lru_cache(maxsize=16)
def band_radiance_table(band_um: tuple[float, float] = LWIR_BAND_UM) -> tuple[np.ndarray, np.ndarray]:
    """Monotone lookup table ``(temperature_k, radiance)`` for ``band_um``.

    Temperatures run from 100 K to 3000 K in 0.05 K steps; radiance in W m-2 sr-1.
    Cached per band; the arrays are read-only.
    """
    band = _check_band(band_um)
    n = int(round((_LUT_T_MAX_K - _LUT_T_MIN_K) / _LUT_STEP_K)) + 1
    temps = np.linspace(_LUT_T_MIN_K, _LUT_T_MAX_K, n)
    rad = planck_band_radiance(temps, band_um=band)
    temps.flags.writeable = False
    rad.flags.writeable = False
    return temps, rad


def band_radiance_to_temperature(radiance, *, band_um=LWIR_BAND_UM):
    """Blackbody (apparent, "radiometric") temperature whose band radiance equals
    ``radiance`` — what a radiometric camera reports for a pixel [3].

    Parameters
    ----------
    radiance : array_like
        Band radiance [W m-2 sr-1].
    band_um : (float, float), default (8, 14)
        Band limits [um].

    Returns
    -------
    ndarray or float
        Temperature [K], clipped to the table range 100–3000 K.

    Notes
    -----
    Inverts :func:`planck_band_radiance` (``emissivity=1``) by linear interpolation in
    a monotone table of 0.05 K steps (``np.interp``); the inversion error is below
    1e-4 K between 200 K and 2000 K.
    """
    temps, rad = band_radiance_table(_check_band(band_um))
    r = np.asarray(radiance, dtype=np.float64)
    result = np.interp(r, rad, temps)
    return float(result) if result.ndim == 0 else result


def _band_radiance_and_slope(temperature_k, band: tuple[float, float]):
    """Band radiance [W m-2 sr-1] and its derivative dL/dT [W m-2 sr-1 K-1] (blackbody)."""
    lam, w = _gauss_nodes(band)
    lam_m = lam * 1e-6
    t = np.asarray(temperature_k, dtype=np.float64)[:, None]
    x = _C2 / (lam_m[None, :] * t)
    em1 = np.expm1(x)
    spectral = _C1 / lam_m[None, :] ** 5 / em1 * 1e-6
    slope = spectral * x * (em1 + 1.0) / em1 / t
    return spectral @ w, slope @ w


def band_radiance_to_temperature_exact(radiance, *, band_um=LWIR_BAND_UM, iterations=3):
    """Blackbody temperature of a band radiance, solved by Newton's method on
    :func:`planck_band_radiance` to machine precision [1, 3].

    Parameters
    ----------
    radiance : array_like
        Band radiance [W m-2 sr-1], within the range of 100–3000 K.
    band_um : (float, float), default (8, 14)
        Band limits [um].
    iterations : int, default 3
        Newton steps after the table start (each squares the relative error).

    Returns
    -------
    ndarray
        Temperature [K].

    Notes
    -----
    Starts from :func:`band_radiance_to_temperature` (error < 1e-4 K) and iterates
    ``T <- T - (L(T) - L) / L'(T)`` with the analytic derivative
    ``dB/dT = B x e^x / ((e^x - 1) T)``, ``x = h c / (lambda k T)``.
    """
    band = _check_band(band_um)
    r = np.asarray(radiance, dtype=np.float64)
    t = np.asarray(band_radiance_to_temperature(r, band_um=band), dtype=np.float64).reshape(-1)
    flat = r.reshape(-1)
    for _ in range(int(iterations)):
        value, slope = _band_radiance_and_slope(t, band)
        t = t - (value - flat) / slope
    return t.reshape(r.shape)


@lru_cache(maxsize=16)
def band_radiance_inverse_polynomial(
    band_um: tuple[float, float] = LWIR_BAND_UM,
    *,
    degree: int = INVERSE_POLYNOMIAL_DEGREE,
    range_k: tuple[float, float] = INVERSE_POLYNOMIAL_RANGE_K,
) -> tuple[float, float, tuple[float, ...]]:
    """Inverse Planck function as one polynomial in the fourth root of the radiance, for
    compiled per-pixel conversion without a table search or gather [1, 3].

    Parameters
    ----------
    band_um : (float, float), default (8, 14)
        Band limits [um].
    degree : int, default 12
        Polynomial degree.
    range_k : (float, float), default (200, 3000)
        Temperatures [K] over which the polynomial holds; outside it the result is
        clipped to the range ends.

    Returns
    -------
    (scale, offset, coefficients)
        ``u = clip(scale * L**0.25 + offset, -1, 1)`` maps the band radiance ``L``
        [W m-2 sr-1] onto [-1, 1]; ``T = sum_i coefficients[i] * u**i`` [K] (Horner).

    Notes
    -----
    In the 8–14 um band, ``L`` grows like ``T^4.6`` near room temperature and like
    ``T`` far above it; in ``s = L^(1/4)`` the inverse is smooth enough that a degree-12
    Chebyshev interpolant of the exact inverse
    (:func:`band_radiance_to_temperature_exact` at the Chebyshev nodes) stays within
    0.15 mK of it from 200 K to 3000 K (test_sensors_radiometry.py) — far below the
    Lepton's 50 mK NETD and 10 mK resolution. ``s`` costs two square roots.
    """
    band = _check_band(band_um)
    require(int(degree) >= 1, "degree", ">= 1", degree)
    t_lo, t_hi = float(range_k[0]), float(range_k[1])
    require(0.0 < t_lo < t_hi, "range_k", "(lo, hi) with 0 < lo < hi [K]", range_k)
    s_lo = planck_band_radiance(t_lo, band_um=band) ** 0.25
    s_hi = planck_band_radiance(t_hi, band_um=band) ** 0.25
    n = int(degree)
    nodes = np.cos(np.pi * (np.arange(n + 1) + 0.5) / (n + 1))
    s_nodes = 0.5 * (s_lo + s_hi) + 0.5 * (s_hi - s_lo) * nodes
    t_nodes = band_radiance_to_temperature_exact(s_nodes**4, band_um=band)
    cheb = np.polynomial.chebyshev.chebfit(nodes, t_nodes, n)
    coefficients = np.polynomial.chebyshev.cheb2poly(cheb)
    scale = 2.0 / (s_hi - s_lo)
    return scale, -(s_hi + s_lo) / (s_hi - s_lo), tuple(float(c) for c in coefficients)
