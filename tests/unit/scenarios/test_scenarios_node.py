"""One node holds both sensors: the SCD41 sits in the Lepton's enclosure, samples the
enclosure's air (lagged by its air exchange, warmed by the node's electronics)."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from firesight.physics.psychrometrics import magnus_saturation_vapour_pressure_pa
from firesight.scenarios import FAMILIES
from firesight.scenarios.sampler import NODE_ENCLOSURE_TAU_S, NODE_SCD41_BELOW_CAMERA_M, NODE_SELF_HEATING_K
from firesight.scenarios.simulate import node_enclosure


@pytest.mark.parametrize("family", ["tf1_open_wood", "tf3_smouldering_cotton", "gas_stove_cooking", "empty_room",
                                    "normal_day"])
def test_the_scd41_is_in_the_cameras_node(family):
    for seed in range(5):
        params = FAMILIES[family].sample(np.random.default_rng(seed), 300.0)
        cam, sensor = params["camera"], params["sensor"]
        assert (sensor["x_m"], sensor["y_m"]) == (cam["x_m"], cam["y_m"])
        assert sensor["z_m"] == pytest.approx(cam["z_m"] - NODE_SCD41_BELOW_CAMERA_M, abs=1e-3)
        assert NODE_ENCLOSURE_TAU_S[0] <= sensor["enclosure_tau_s"] <= NODE_ENCLOSURE_TAU_S[1]
        assert NODE_SELF_HEATING_K[0] <= sensor["self_heating_k"] <= NODE_SELF_HEATING_K[1]
        source = params["fire"] or (params["sources"][0] if params["sources"] else None)
        if source and "x_m" in source:
            assert sensor["distance_m"] == pytest.approx(
                np.hypot(cam["x_m"] - source["x_m"], cam["y_m"] - source["y_m"]), abs=2e-3)


def test_enclosure_lags_a_step_by_its_time_constant_and_self_heating_keeps_the_vapour():
    """First-order air exchange: 1 - 1/e of a step after tau; the node's heat warms the
    air by self_heating_k at the same vapour pressure, so RH falls by the ratio of the
    Magnus saturation pressures (Sensirion, Introduction to Humidity)."""
    t = np.arange(0.0, 601.0)
    co2 = np.where(t >= 100.0, 1400.0, 400.0)
    temp = np.full(t.size, 21.0)
    rh = np.full(t.size, 50.0)
    _, c, tt, h = node_enclosure(t, co2, temp, rh, {"enclosure_tau_s": 30.0, "self_heating_k": 1.5})
    assert_allclose(c[130], 400.0 + 1000.0 * (1 - np.exp(-1.0)), rtol=0.02)
    assert c[99] == pytest.approx(400.0) and c[-1] == pytest.approx(1400.0, abs=1.0)
    assert_allclose(tt, 22.5)
    expected_rh = 50.0 * magnus_saturation_vapour_pressure_pa(21.0) / magnus_saturation_vapour_pressure_pa(22.5)
    assert_allclose(h, expected_rh, rtol=1e-9)
    # scenario files written before the node model: the room air itself
    _, c0, t0, h0 = node_enclosure(t, co2, temp, rh, {})
    assert_allclose(c0, co2)
    assert_allclose(t0, temp)
    assert_allclose(h0, rh)


def test_sites_have_a_barometric_pressure_and_the_scd41_an_altitude_setting():
    """Standard atmosphere p = 101,325 (1 - 2.25577e-5 h)^5.25588 Pa (ICAO) +- 2 kPa of
    weather; the SCD41 compensates for its altitude setting (datasheet section 3.6),
    which half of the installers set and the rest leave at sea level."""
    sites = [FAMILIES["empty_room"].sample(np.random.default_rng(seed), 300.0)["site"] for seed in range(200)]
    for site in sites:
        standard = 101325.0 * (1.0 - 2.25577e-5 * site["altitude_m"]) ** 5.25588
        assert 0.0 <= site["altitude_m"] <= 2000.0
        assert abs(site["pressure_pa"] - standard) <= 2000.5
        assert site["scd41_altitude_setting_m"] in (0.0, site["altitude_m"])
    high = [s for s in sites if s["altitude_m"] > 500.0]
    assert 20 <= len(high) <= 60  # a fifth of 200
    assert 60 <= sum(s["scd41_altitude_setting_m"] == 0.0 for s in sites) <= 140
