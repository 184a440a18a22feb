"""Heskestad plume and Alpert ceiling-jet correlations against their published forms
(SFPE Handbook 5th ed., Chapters 13 and 14; NUREG-1805 Chapters 9 and 10)."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from firesight.errors import InvalidParameterError
from firesight.physics.plume import (
    _plume_coefficient,
    alpert_ceiling_jet_temperature_rise,
    alpert_ceiling_jet_velocity,
    heskestad_flame_height,
    heskestad_plume_centerline_temperature_rise,
    heskestad_plume_mass_flow,
    heskestad_virtual_origin,
)


def test_heskestad_normal_air_coefficient_is_25():
    """SFPE Ch. 13: in normal air (293 K, 1.2 kg/m3, cp 1.0) the plume temperature law
    is dT0 = 25 Qc^(2/3) (z - z0)^(-5/3)."""
    assert_allclose(_plume_coefficient(293.15), 25.0, rtol=0.005)


@pytest.mark.parametrize("q_kw, d_m", [(10.0, 0.1), (1000.0, 1.0), (5000.0, 2.0), (50.0, 0.3)])
def test_flame_height_dimensional_equals_dimensionless_form(q_kw, d_m):
    """Heskestad's general form L/D = 15.6 N^(1/5) - 1.02 with N = cp T / (g rho^2
    (dHc/r)^3) Q^2/D^5 and dHc/r = 3000 kJ/kg reduces to 0.235 Q^(2/5) - 1.02 D (1 %)."""
    n = 1.0 * 293.0 / (9.81 * 1.2**2 * 3000.0**3) * q_kw**2 / d_m**5
    expected = d_m * (15.6 * n**0.2 - 1.02)
    assert_allclose(heskestad_flame_height(q_kw, d_m), max(expected, 0.0), rtol=0.01)


def test_flame_height_1mw_1m_pool():
    """A 1 MW fire of 1 m diameter: L = 0.235*1000^0.4 - 1.02 = 2.70 m, z0 = 0.30 m
    (SFPE Ch. 13 Eqs. 13.8, 13.24)."""
    assert_allclose(heskestad_flame_height(1000.0, 1.0), 2.70, atol=0.01)
    assert_allclose(heskestad_virtual_origin(1000.0, 1.0), 0.295, atol=0.005)


@pytest.mark.parametrize("q_kw, d_m", [(100.0, 0.3), (1000.0, 0.8), (5000.0, 1.5)])
def test_centreline_temperature_at_flame_tip_is_about_500k(q_kw, d_m):
    """Heskestad (SFPE Ch. 13): the mean flame height is where the centreline excess
    temperature is about 500 K; with chi_r = 0.3 the law gives ~455 K (within 10 %)."""
    length = heskestad_flame_height(q_kw, d_m)
    dt = heskestad_plume_centerline_temperature_rise(q_kw, length, d_m, radiative_fraction=0.3)
    assert_allclose(dt, 500.0, rtol=0.10)


def test_centreline_decays_with_five_thirds_power():
    z = np.array([4.0, 8.0])
    dt = heskestad_plume_centerline_temperature_rise(500.0, z, 0.5)
    z0 = heskestad_virtual_origin(500.0, 0.5)
    assert_allclose(dt[0] / dt[1], ((8.0 - z0) / (4.0 - z0)) ** (5 / 3), rtol=1e-9)


def test_centreline_rejects_heights_inside_the_flame():
    with pytest.raises(InvalidParameterError, match="height_m"):
        heskestad_plume_centerline_temperature_rise(1000.0, 1.0, 1.0)


def test_plume_mass_flow_heskestad():
    """m = 0.071 Qc^(1/3) z^(5/3) (1 + 0.026 Qc^(2/3) z^(-5/3)) (SFPE Eq. 13.28):
    Qc = 700 kW at z = 5 m gives 0.071*8.879*14.62*(1+0.026*78.8/14.62) = 10.6 kg/s."""
    assert_allclose(heskestad_plume_mass_flow(1000.0, 5.0, radiative_fraction=0.3),
                    10.55, rtol=0.01)


def test_alpert_impingement_values():
    """Alpert (SFPE Ch. 14; NUREG-1805 Ch. 10): 1 MW under a 5 m ceiling,
    dT = 16.9 * 1000^(2/3) / 5^(5/3) = 115.6 K and U = 0.96 (1000/5)^(1/3) = 5.61 m/s."""
    assert_allclose(alpert_ceiling_jet_temperature_rise(1000.0, 5.0, 0.0), 115.6, rtol=0.002)
    assert_allclose(alpert_ceiling_jet_velocity(1000.0, 5.0, 0.0), 5.61, rtol=0.002)


def test_alpert_far_field_values():
    """r = 5 m: dT = 5.38 (1000/5)^(2/3) / 5 = 36.8 K; U = 0.195 1000^(1/3) 5^(1/2)
    / 5^(5/6) = 1.14 m/s."""
    assert_allclose(alpert_ceiling_jet_temperature_rise(1000.0, 5.0, 5.0), 36.8, rtol=0.002)
    assert_allclose(alpert_ceiling_jet_velocity(1000.0, 5.0, 5.0), 1.14, rtol=0.005)


def test_alpert_branches_meet_at_turning_points():
    """The near and far branches agree within 2 % at r/H = 0.18 (T) and 0.15 (U)."""
    h = 4.0
    near_t = alpert_ceiling_jet_temperature_rise(300.0, h, 0.18 * h)
    far_t = alpert_ceiling_jet_temperature_rise(300.0, h, 0.18 * h + 1e-9)
    assert_allclose(near_t, far_t, rtol=0.02)
    near_u = alpert_ceiling_jet_velocity(300.0, h, 0.15 * h)
    far_u = alpert_ceiling_jet_velocity(300.0, h, 0.15 * h + 1e-9)
    assert_allclose(near_u, far_u, rtol=0.02)


def test_alpert_arrays_broadcast_and_decrease_with_radius():
    r = np.linspace(0.0, 10.0, 50)
    dt = alpert_ceiling_jet_temperature_rise(500.0, 3.0, r)
    u = alpert_ceiling_jet_velocity(500.0, 3.0, r)
    assert dt.shape == r.shape == u.shape
    assert np.all(np.diff(dt) <= 1e-9) and np.all(np.diff(u) <= 1e-9)


@pytest.mark.parametrize(
    "fn, args, name",
    [
        (alpert_ceiling_jet_temperature_rise, (-1.0, 3.0, 1.0), "hrr_kw"),
        (alpert_ceiling_jet_temperature_rise, (10.0, 0.0, 1.0), "ceiling_height_m"),
        (alpert_ceiling_jet_velocity, (10.0, 3.0, -1.0), "radial_distance_m"),
        (heskestad_flame_height, (10.0, 0.0), "diameter_m"),
        (heskestad_virtual_origin, (np.nan, 1.0), "hrr_kw"),
    ],
)
def test_invalid_inputs_name_parameter(fn, args, name):
    with pytest.raises(InvalidParameterError) as err:
        fn(*args)
    assert err.value.name == name
