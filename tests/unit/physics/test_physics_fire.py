"""Fire growth, decay, suppression and products (NFPA 204, SFPE Handbook, EN 1991-1-2)."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.integrate import trapezoid

from firesight.errors import InvalidParameterError
from firesight.physics.fire import (
    STATE_FLAMING,
    STATE_NONE,
    STATE_SMOULDERING,
    T_SQUARED_ALPHA_KW_S2,
    FireSpec,
    simulate_fire,
    t_squared_hrr,
)
from firesight.physics.fuels import FUEL_PROPERTIES, SMOULDERING_PROPERTIES


@pytest.mark.parametrize(
    "growth, growth_time_s", [("slow", 600), ("medium", 300), ("fast", 150), ("ultrafast", 75)]
)
def test_nfpa204_growth_times(growth, growth_time_s):
    """NFPA 204: a t-squared fire reaches 1055 kW (1000 Btu/s) at its growth time
    (600/300/150/75 s); the tabulated alphas are rounded, hence 0.5 %."""
    q = t_squared_hrr(np.array([growth_time_s + 20.0]), T_SQUARED_ALPHA_KW_S2[growth],
                      ignition_time_s=20.0)
    assert_allclose(q, 1055.0, rtol=0.005)


def test_t_squared_zero_before_ignition():
    q = t_squared_hrr(np.array([0.0, 9.9, 10.0, 20.0]), 0.1, ignition_time_s=10.0)
    assert_allclose(q, [0.0, 0.0, 0.0, 10.0])


def test_flaming_growth_peak_and_products():
    """Growth follows alpha t^2 up to the peak; product rates are y * Q / dHc (Tewarson)."""
    t = np.arange(0.0, 600.0)
    spec = FireSpec(fuel="n_heptane", ignition_time_s=100.0,
                    growth_alpha_kw_s2=T_SQUARED_ALPHA_KW_S2["fast"], peak_hrr_kw=500.0)
    fire = simulate_fire(spec, t)
    assert fire.state[99] == STATE_NONE and fire.state[100] == STATE_FLAMING
    assert_allclose(fire.hrr_kw[150], 0.0469 * 50.0**2, rtol=1e-9)
    assert_allclose(fire.hrr_kw[-1], 500.0)
    fuel = FUEL_PROPERTIES["n_heptane"]
    mass = fire.hrr_kw / fuel.heat_of_combustion_kj_per_g
    assert_allclose(fire.mass_loss_rate_g_s, mass)
    assert_allclose(fire.co2_g_s, mass * 2.85)
    assert_allclose(fire.h2o_g_s, mass * fuel.h2o_yield_g_per_g)
    assert_allclose(fire.soot_g_s, mass * 0.037)
    assert fire.radiative_fraction == fuel.radiative_fraction


def test_smoulder_then_flaming_is_continuous():
    """Smouldering (Ohlemiller: 0.01-2 kW, long) hands over to t-squared growth without a
    jump in heat release."""
    t = np.arange(0.0, 3000.0)
    spec = FireSpec(fuel="polyurethane_foam", ignition_time_s=60.0, smoulder_duration_s=1200.0,
                    smoulder_hrr_kw=0.5, growth_alpha_kw_s2=0.0117, peak_hrr_kw=400.0)
    fire = simulate_fire(spec, t)
    assert np.all(fire.state[60:1260] == STATE_SMOULDERING)
    assert np.all(fire.state[1260:] == STATE_FLAMING)
    assert fire.hrr_kw[60:1260].max() <= 0.5 + 1e-12
    jump = abs(fire.hrr_kw[1260] - fire.hrr_kw[1259])
    assert jump < 0.05
    sm = SMOULDERING_PROPERTIES["polyurethane_foam"]
    k = 900
    assert_allclose(fire.co_g_s[k] / fire.co2_g_s[k], sm.co_yield_g_per_g / sm.co2_yield_g_per_g)
    flame = FUEL_PROPERTIES["polyurethane_foam"]
    k = 2000
    assert_allclose(fire.co_g_s[k] / fire.co2_g_s[k],
                    flame.co_yield_g_per_g / flame.co2_yield_g_per_g)


def test_smoulder_only_never_flames():
    t = np.arange(0.0, 7200.0, 5.0)
    spec = FireSpec(fuel="cotton", ignition_time_s=0.0, smoulder_hrr_kw=0.2,
                    smoulder_duration_s=1800.0, transition_to_flaming=False,
                    growth_alpha_kw_s2=0.01, peak_hrr_kw=100.0)
    fire = simulate_fire(spec, t)
    assert set(np.unique(fire.state)) == {STATE_SMOULDERING}
    assert fire.hrr_kw.max() <= 0.2 + 1e-12


def test_fuel_limited_burnout_conserves_energy():
    """EN 1991-1-2 Annex E.4: decay starts at 70 % of the fire load; the exponential tail
    is sized so the total heat released equals the fuel energy (2 %, grid error)."""
    t = np.arange(0.0, 8000.0)
    energy_kj = 2.0e5
    spec = FireSpec(fuel="wood", ignition_time_s=0.0, growth_alpha_kw_s2=0.0469,
                    peak_hrr_kw=300.0, fuel_energy_kj=energy_kj)
    fire = simulate_fire(spec, t)
    released = trapezoid(fire.hrr_kw, t)
    assert_allclose(released, energy_kj, rtol=0.02)
    t_decay = fire.extra["burnout_decay_start_s"]
    before = t < t_decay
    assert_allclose(trapezoid(fire.hrr_kw[before], t[before]), 0.7 * energy_kj, rtol=0.01)
    assert fire.state[-1] == STATE_NONE


def test_suppression_decays_with_time_constant():
    t = np.arange(0.0, 1200.0)
    spec = FireSpec(fuel="n_heptane", ignition_time_s=0.0, growth_alpha_kw_s2=0.1876,
                    peak_hrr_kw=200.0, suppression_time_s=300.0, decay_time_constant_s=30.0)
    fire = simulate_fire(spec, t)
    assert_allclose(fire.hrr_kw[330], 200.0 / np.e, rtol=1e-6)
    assert fire.state[-1] == STATE_NONE and fire.hrr_kw[-1] == 0.0
    # heptane cannot glow: once below 5 % of the knocked-down HRR it is out, not smouldering
    assert STATE_SMOULDERING not in set(fire.state.tolist())


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"fuel": "plutonium"}, "fuel"),
        ({"peak_hrr_kw": -1.0}, "peak_hrr_kw"),
        ({"growth_alpha_kw_s2": 0.0}, "growth_alpha_kw_s2"),
        ({"smoulder_duration_s": 100.0, "smoulder_hrr_kw": 0.1, "fuel": "n_heptane"}, "fuel"),
        ({"smoulder_duration_s": 100.0, "smoulder_hrr_kw": 0.0}, "smoulder_hrr_kw"),
        ({"suppression_time_s": 5.0}, "suppression_time_s"),
    ],
)
def test_invalid_spec_names_parameter(kwargs, name):
    base = dict(fuel="wood", ignition_time_s=10.0, growth_alpha_kw_s2=0.01, peak_hrr_kw=100.0)
    base.update(kwargs)
    with pytest.raises(InvalidParameterError) as err:
        simulate_fire(FireSpec(**base), np.arange(0.0, 100.0))
    assert err.value.name == name


def test_time_grid_must_increase():
    spec = FireSpec(fuel="wood", ignition_time_s=0.0, growth_alpha_kw_s2=0.01, peak_hrr_kw=1.0)
    with pytest.raises(InvalidParameterError, match="time_s"):
        simulate_fire(spec, np.array([0.0, 2.0, 1.0]))
