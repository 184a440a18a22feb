"""LWIR radiometry: Planck band radiance and its inverse."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.integrate import quad
from scipy.optimize import brentq

from firesight.errors import InvalidParameterError
from firesight.physics.radiometry import (
    band_radiance_to_temperature,
    planck_band_radiance,
)

# CODATA 2018 exact SI values, written out here so the check does not share code with
# the module under test.
H, C, KB, SIGMA = 6.62607015e-34, 299792458.0, 1.380649e-23, 5.670374419e-8


def _planck_um(lam_um, t_k):
    lam = lam_um * 1e-6
    return 2 * H * C**2 / lam**5 / np.expm1(H * C / (lam * KB * t_k)) * 1e-6


@pytest.mark.parametrize("t_k", [250.0, 293.15, 373.15, 873.15, 1500.0])
def test_band_radiance_matches_independent_quadrature(t_k):
    """Planck's law [Planck 1901] integrated over 8–14 um with adaptive quadrature."""
    expected = quad(_planck_um, 8.0, 14.0, args=(t_k,), epsabs=0, epsrel=1e-12)[0]
    assert_allclose(planck_band_radiance(t_k), expected, rtol=1e-9)


def test_band_fraction_matches_blackbody_radiation_function_table():
    """Incropera et al., *Fundamentals of Heat and Mass Transfer*, 7th ed., Table 12.2:
    F(0->2400 um K) = 0.140256, F(0->4200 um K) = 0.516014, so 8–14 um at 300 K holds
    0.375758 of sigma T^4 / pi."""
    total = SIGMA * 300.0**4 / np.pi
    assert_allclose(planck_band_radiance(300.0) / total, 0.516014 - 0.140256, rtol=2e-4)


def test_wide_band_approaches_stefan_boltzmann():
    """Stefan–Boltzmann: the integral over all wavelengths is sigma T^4 / pi; 2–200 um at
    1000 K misses F(0->2000 um K) = 0.066728 (Incropera Table 12.2) below and a
    Rayleigh–Jeans tail of ~1e-5 above."""
    t = 1000.0
    wide = planck_band_radiance(t, band_um=(2.0, 200.0))
    assert_allclose(wide / (SIGMA * t**4 / np.pi), 1.0 - 0.066728, atol=5e-5)


def test_emissivity_scales_radiance_and_broadcasts():
    t = np.array([300.0, 400.0])
    assert_allclose(planck_band_radiance(t, emissivity=0.5), 0.5 * planck_band_radiance(t), rtol=1e-12)
    grid = planck_band_radiance(t[:, None], emissivity=np.array([0.2, 0.9])[None, :])
    assert grid.shape == (2, 2)


def test_inverse_round_trip_is_accurate():
    """The lookup-table inverse returns the blackbody temperature to < 1 mK."""
    t = np.linspace(200.0, 2000.0, 5001)
    assert_allclose(band_radiance_to_temperature(planck_band_radiance(t)), t, atol=1e-3)


def test_grey_body_reads_cooler_than_its_temperature():
    """A grey body (eps 0.5) at 600 C reads the blackbody temperature of half its band
    radiance (Vollmer & Möllmann, Infrared Thermal Imaging, ch. 1.4): found here by an
    independent root search on the quadrature."""
    t_app = band_radiance_to_temperature(planck_band_radiance(873.15, emissivity=0.5))
    half = 0.5 * quad(_planck_um, 8.0, 14.0, args=(873.15,), epsrel=1e-12)[0]
    expected = brentq(lambda t: quad(_planck_um, 8.0, 14.0, args=(t,), epsrel=1e-12)[0] - half, 300, 873)
    assert_allclose(t_app, expected, atol=1e-3)
    assert t_app < 873.15 - 200.0


def test_invalid_inputs_name_the_parameter():
    with pytest.raises(InvalidParameterError, match="temperature_k"):
        planck_band_radiance(-1.0)
    with pytest.raises(InvalidParameterError, match="emissivity"):
        planck_band_radiance(300.0, emissivity=1.5)
    with pytest.raises(InvalidParameterError, match="band_um"):
        planck_band_radiance(300.0, band_um=(14.0, 8.0))
