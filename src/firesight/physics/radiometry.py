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
_N_GAUSS = 64  # Gauss–Legendre nodes across the band
_LUT_T_MIN_K, _LUT_T_MAX_K, _LUT_STEP_K = 100.0, 3000.0, 0.05


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
    nodes, weights = np.polynomial.legendre.leggauss(_N_GAUSS)
    lo, hi = band_um
    half = 0.5 * (hi - lo)
    return lo + half * (nodes + 1.0), weights * half


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
    64-node Gauss–Legendre rule (relative error < 1e-10 for T >= 100 K in 8–14 um).
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
