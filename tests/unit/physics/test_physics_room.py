"""Room zone model: mass balance, ventilation, occupants, humidity and the hot layer."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from firesight.errors import InvalidParameterError
from firesight.physics.fire import FireSpec, simulate_fire
from firesight.physics.room import (
    Room,
    RoomSources,
    magnus_saturation_vapour_pressure_pa,
    occupant_co2_g_s,
    occupant_heat_w,
    relative_humidity_from_vapour_pressure,
    simulate_room,
)

R = 8.314462618
P = 101325.0


def ppm_per_g_m3(temperature_c):
    """ppm of CO2 for 1 g/m3 at the given temperature (ideal gas)."""
    return R * (temperature_c + 273.15) / (P * 44.0095) * 1e6


def test_steady_state_co2_with_ventilation():
    """Well-mixed mass balance: C_ss = C_out + G / Q_v (ASHRAE 62.1 Appendix D); 1 %."""
    room = Room(width_m=5.0, depth_m=4.0, height_m=2.5, air_changes_per_hour=1.0)
    g = 0.02  # g/s
    t = np.arange(0.0, 6 * 3600.0, 10.0)
    hist = simulate_room(t, room, RoomSources(plume_hrr_kw=0.0, plume_xy_m=np.zeros(2),
                                              co2_g_s=g), sensor_xyz_m=[2.5, 2.0, 1.5])
    q_v = 1.0 * room.volume_m3 / 3600.0
    expected = 420.0 + g / q_v * ppm_per_g_m3(21.0)
    assert_allclose(hist.co2_ppm_mean[-1], expected, rtol=0.01)
    assert_allclose(hist.co2_ppm_at_sensor[-1], expected, rtol=0.01)


def test_ventilation_decay_is_exponential():
    """With no sources the excess decays as exp(-ACH t) (tracer-gas decay, ASTM E741); 1 %."""
    room = Room(width_m=4.0, depth_m=4.0, height_m=2.5, air_changes_per_hour=2.0,
                initial_co2_ppm=2420.0)
    t = np.arange(0.0, 3600.0)
    hist = simulate_room(t, room, RoomSources(plume_hrr_kw=0.0, plume_xy_m=np.zeros(2)),
                         sensor_xyz_m=[1.0, 1.0, 1.2])
    expected = 420.0 + 2000.0 * np.exp(-2.0 * t / 3600.0)
    assert_allclose(hist.co2_ppm_mean, expected, rtol=0.01)


def test_closed_room_conserves_co2_mass():
    """ACH = 0, no heat: every gram released stays in the room (0.5 %)."""
    room = Room(width_m=3.0, depth_m=3.0, height_m=2.4, air_changes_per_hour=0.0)
    t = np.arange(0.0, 1800.0)
    g = np.where(t < 900, 0.05, 0.0)
    hist = simulate_room(t, room, RoomSources(plume_hrr_kw=0.0, plume_xy_m=np.zeros(2),
                                              co2_g_s=g), sensor_xyz_m=[1.0, 1.0, 2.3])
    released_g = 0.05 * 900.0
    expected = 420.0 + released_g / room.volume_m3 * ppm_per_g_m3(21.0)
    assert_allclose(hist.co2_ppm_mean[-1], expected, rtol=0.005)


def test_occupants_co2_and_heat():
    """Persily & de Jonge (2017) / ASHRAE 62.1: an adult at 1.2 met exhales about
    0.0052 L/s of CO2 (0.31 L/min at 273 K) — BMR spread between adults is ~20 %, so
    15 %; ASHRAE Fundamentals Ch. 9/18: ~125-130 W total heat at 1.2 met (10 %)."""
    g_s = occupant_co2_g_s(1.0, activity_met=1.2)
    litres_s = g_s / 44.0095 * R * 273.15 / P * 1000.0
    assert_allclose(litres_s, 0.0052, rtol=0.15)
    assert_allclose(occupant_heat_w(1.0, activity_met=1.2), 130.0, rtol=0.10)
    assert_allclose(occupant_co2_g_s(4.0), 4 * occupant_co2_g_s(1.0))
    with pytest.raises(InvalidParameterError, match="n_people"):
        occupant_co2_g_s(-1)


def test_magnus_saturation_pressure():
    """Magnus (Alduchov & Eskridge 1996) vs. the WMO/IAPWS values 611.2 Pa at 0 C,
    2339 Pa at 20 C and 4246 Pa at 30 C (within 0.3 %)."""
    assert_allclose(magnus_saturation_vapour_pressure_pa([0.0, 20.0, 30.0]),
                    [611.2, 2339.0, 4246.0], rtol=0.003)
    assert_allclose(relative_humidity_from_vapour_pressure(1169.5, 20.0), 50.0, rtol=0.003)


def test_heating_lowers_relative_humidity_at_constant_vapour():
    """Warming air without adding water lowers RH as e / e_s(T) (Magnus)."""
    room = Room(width_m=4.0, depth_m=4.0, height_m=2.5, air_changes_per_hour=0.0,
                ambient_temperature_c=20.0, relative_humidity_rh=50.0)
    t = np.arange(0.0, 1800.0, 2.0)
    hist = simulate_room(t, room, RoomSources(plume_hrr_kw=0.0, plume_xy_m=np.zeros(2),
                                              distributed_heat_kw=2.0),
                         sensor_xyz_m=[2.0, 2.0, 1.5])
    temp = hist.temperature_c_at_sensor[-1]
    assert temp > 25.0
    e = 0.5 * magnus_saturation_vapour_pressure_pa(20.0)
    assert_allclose(hist.humidity_rh_at_sensor[-1],
                    100 * e / magnus_saturation_vapour_pressure_pa(temp), rtol=0.01)


def _fire_room(sensor_xyz):
    t = np.arange(0.0, 900.0)
    fire = simulate_fire(FireSpec(fuel="wood", ignition_time_s=60.0, growth_alpha_kw_s2=0.0029,
                                  peak_hrr_kw=30.0), t)
    room = Room(width_m=6.0, depth_m=5.0, height_m=3.0, air_changes_per_hour=0.5)
    src = RoomSources(plume_hrr_kw=fire.hrr_kw, plume_xy_m=np.array([3.0, 2.5]),
                      plume_radiative_fraction=fire.radiative_fraction, co2_g_s=fire.co2_g_s,
                      h2o_g_s=fire.h2o_g_s, soot_g_s=fire.soot_g_s)
    return t, fire, simulate_room(t, room, src, sensor_xyz_m=sensor_xyz)


def test_ceiling_sensor_sees_fire_earlier_and_stronger_than_room_average():
    """Two-zone behaviour (CFAST TRG): products collect in the upper layer first, so a
    ceiling sensor crosses +100 ppm before the room average does and, while the layer
    is still filling, reads at least 1.5x the average excess."""
    t, _, ceiling = _fire_room([5.0, 4.0, 2.95])
    _, _, low = _fire_room([5.0, 4.0, 0.5])

    def first_rise(series, delta):
        idx = np.flatnonzero(series - series[0] > delta)
        return t[idx[0]] if idx.size else np.inf

    assert first_rise(ceiling.co2_ppm_at_sensor, 100) < first_rise(ceiling.co2_ppm_mean, 100)
    k = int(first_rise(ceiling.co2_ppm_mean, 300))
    assert ceiling.co2_ppm_at_sensor[k] - 420 > 1.5 * (ceiling.co2_ppm_mean[k] - 420)
    assert ceiling.temperature_c_at_sensor.max() > low.temperature_c_at_sensor.max() + 5.0
    assert ceiling.layer_depth_m.max() > 0.3
    assert np.all(ceiling.smoke_optical_density_per_m >= 0)
    assert ceiling.smoke_optical_density_per_m.max() > 0


def test_ceiling_jet_near_plume_at_least_alpert():
    """Directly above the fire the sensor reads at least the Alpert plume-impingement
    rise 16.9 Q^(2/3)/H^(5/3) (it sits in a layer already above ambient), with Q the
    HRR of an Alpert test fire (74 % convective) of the same convective output."""
    t, fire, hist = _fire_room([3.0, 2.5, 3.0])
    k = 800
    q_eq = fire.hrr_kw[k] * (1 - fire.radiative_fraction) / 0.74
    alpert = 16.9 * q_eq ** (2 / 3) / 3.0 ** (5 / 3)
    assert hist.temperature_c_at_sensor[k] - 21.0 >= alpert * 0.99


def test_ceiling_jet_is_a_rise_over_the_entrained_gas_not_over_the_layer():
    """Alpert's correlations give the jet's rise over the gas the plume entrains (SFPE
    Handbook 5th ed., ch. 14): directly above the fire (no travel lag) the sensor reads
    the hotter of its layer and lower layer + jet rise, never layer + jet rise."""
    t, _, hist = _fire_room([3.0, 2.5, 3.0])
    jet = hist.lower_layer_temperature_c + hist.ceiling_jet_temperature_rise_k
    expected = np.maximum(hist.upper_layer_temperature_c, jet)
    burning = hist.ceiling_jet_temperature_rise_k > 0
    assert_allclose(hist.temperature_c_at_sensor[burning], expected[burning], atol=1e-9)
    # the layer is well above ambient by the end, and the reading is not layer + jet
    k = 800
    assert hist.upper_layer_temperature_c[k] > 30.0
    assert hist.temperature_c_at_sensor[k] < hist.upper_layer_temperature_c[k] + hist.ceiling_jet_temperature_rise_k[k] - 5


def test_ceiling_jet_carries_the_plumes_co2_as_its_heat():
    """Products and heat are diluted by the same entrainment (Heskestad & Delichatsios,
    NBS GCR 77-86; NFPA 72 Annex B.4): the jet's CO2 excess per kelvin is the plume's CO2
    per convected heat times c_p, in mole fraction times M_air/M_CO2. For red oak
    (Tewarson, SFPE Handbook Table 3-4.14: 1.27 g CO2 per g, 12.4 kJ/g, radiative fraction
    0.35) that is 1.27/12.4 g/kJ x 1.005 kJ/(kg K) / 0.65 x 28.96/44.01 = 104 g/kg per
    1000 K, i.e. 104 ppm/K."""
    expected_ppm_per_k = 1.27 / 12.4 * 1.005 / (1.0 - 0.35) * 28.9647 / 44.0095 * 1e-3 * 1e6
    assert 100.0 < expected_ppm_per_k < 108.0
    t, fire, hist = _fire_room([3.0, 2.5, 2.95])
    k = 100  # 40 s after ignition, 4.6 kW: the jet dominates a thin layer
    assert hist.ceiling_jet_temperature_rise_k[k] > hist.upper_layer_temperature_c[k] - 21.0
    lower_co2 = 420.0  # no products below the layer yet: room air
    assert hist.co2_ppm_mean[k] < 460.0
    ratio = (hist.co2_ppm_at_sensor[k] - lower_co2) / (
        hist.temperature_c_at_sensor[k] - hist.lower_layer_temperature_c[k])
    assert_allclose(ratio, expected_ppm_per_k, rtol=0.02)
    # and above what the filling layer alone holds
    assert hist.co2_ppm_at_sensor[k] > hist.upper_layer_co2_ppm[k] + 200.0


def test_mass_balance_of_fire_products():
    """Closed room: the CO2 in the room grows by what the fire released, less what the
    thermal expansion pushed out through leaks. At constant pressure the expelled
    fraction of the room's gas is 1 - T_amb/T_mean; the gas that leaves is upper-layer
    gas, richer in CO2 than the mean, so the CO2 lost lies between 0.5x and 2x that."""
    t = np.arange(0.0, 900.0)
    fire = simulate_fire(FireSpec(fuel="wood", ignition_time_s=0.0, growth_alpha_kw_s2=0.0029,
                                  peak_hrr_kw=30.0), t)
    room = Room(width_m=6.0, depth_m=5.0, height_m=3.0, air_changes_per_hour=0.0)
    src = RoomSources(plume_hrr_kw=fire.hrr_kw, plume_xy_m=np.array([3.0, 2.5]),
                      co2_g_s=fire.co2_g_s)
    hist = simulate_room(t, room, src, sensor_xyz_m=[1.0, 1.0, 2.9])
    released = float(np.sum(0.5 * (fire.co2_g_s[1:] + fire.co2_g_s[:-1]) * np.diff(t)))
    gained = hist.co2_mass_g[-1] - hist.co2_mass_g[0]
    lost_fraction = 1.0 - gained / released
    expelled_fraction = 1.0 - 294.15 / (hist.temperature_c_mean[-1] + 273.15)
    assert 0.5 * expelled_fraction <= lost_fraction <= 2.0 * expelled_fraction
    # and without heat nothing leaves: a pure CO2 source is conserved to 0.5 %
    src = RoomSources(plume_hrr_kw=0.0, plume_xy_m=np.zeros(2), co2_g_s=fire.co2_g_s)
    hist = simulate_room(t, room, src, sensor_xyz_m=[1.0, 1.0, 2.9])
    assert_allclose(hist.co2_mass_g[-1] - hist.co2_mass_g[0], released, rtol=0.005)


def test_window_opening_array_overrides_ach():
    room = Room(width_m=4.0, depth_m=4.0, height_m=2.5, air_changes_per_hour=0.0,
                initial_co2_ppm=1420.0)
    t = np.arange(0.0, 1200.0)
    ach = np.where(t >= 600, 6.0, 0.0)
    hist = simulate_room(t, room, RoomSources(plume_hrr_kw=0.0, plume_xy_m=np.zeros(2),
                                              air_changes_per_hour=ach),
                         sensor_xyz_m=[2.0, 2.0, 1.5])
    assert_allclose(hist.co2_ppm_mean[599], 1420.0, rtol=1e-6)
    assert_allclose(hist.co2_ppm_mean[-1], 420 + 1000 * np.exp(-6.0 * 599 / 3600), rtol=0.01)


@pytest.mark.parametrize(
    "room_kw, src_kw, sensor, name",
    [
        ({"height_m": -1.0}, {}, [1, 1, 1], "height_m"),
        ({"air_changes_per_hour": -0.1}, {}, [1, 1, 1], "air_changes_per_hour"),
        ({}, {"co2_g_s": -1.0}, [1, 1, 1], "co2_g_s"),
        ({}, {"plume_hrr_kw": np.ones(3)}, [1, 1, 1], "plume_hrr_kw"),
        ({}, {}, [1, 1, 9], "sensor_xyz_m[2]"),
        ({}, {"plume_radiative_fraction": 1.0}, [1, 1, 1], "plume_radiative_fraction"),
    ],
)
def test_invalid_inputs_name_parameter(room_kw, src_kw, sensor, name):
    room = Room(**{"width_m": 3.0, "depth_m": 3.0, "height_m": 2.5, **room_kw})
    src = RoomSources(**{"plume_hrr_kw": 0.0, "plume_xy_m": np.zeros(2), **src_kw})
    with pytest.raises(InvalidParameterError) as err:
        simulate_room(np.arange(10.0), room, src, sensor_xyz_m=sensor)
    assert err.value.name == name
