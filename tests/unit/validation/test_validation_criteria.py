"""Accuracy criteria of ``firesight validate`` and the FAA fuels' yields (no real data)."""

import math

import numpy as np
import pandas as pd
from numpy.testing import assert_allclose

from firesight.validation.criteria import (
    CFAST_MODEL_UNCERTAINTY,
    CRITERIA,
    evaluate_criteria,
    failing_rows,
    ratio_band,
)
from firesight.validation.faa import FAA_FUELS, carbon_balance_yields, fuel_yields


def test_ratio_band_holds_95_percent_of_the_cfast_distribution():
    """ln(M/E) ~ N(ln d - sM^2/2 + sE^2/2, sM^2 + sE^2) (FDS Validation Guide, "Quantifying
    Model Uncertainty"): the band holds 95 % of draws from that distribution."""
    delta, sm, se = 0.88, 0.26, 0.08  # CFAST, carbon dioxide concentration
    low, high = ratio_band(delta, sm, se)
    rng = np.random.default_rng(1)
    s = math.hypot(sm, se)
    ratios = np.exp(rng.normal(math.log(delta) - sm**2 / 2 + se**2 / 2, s, 200_000))
    inside = np.mean((ratios >= low) & (ratios <= high))
    assert_allclose(inside, 0.95, atol=0.003)
    # the mean of M/E is the bias delta (the guide's definition), to the delta method's order
    assert_allclose(np.mean(ratios), delta * math.exp(se**2), rtol=0.01)


def test_ratio_band_of_a_perfect_unbiased_model_is_one():
    assert ratio_band(1.0, 0.0, 0.0) == (1.0, 1.0)


def test_criteria_come_from_the_cfast_table():
    """CFAST Validation Guide summary statistics (validation_scatterplot_output_baseline.csv):
    plume temperature delta 1.08, sigma_M 0.22; CO2 0.88 / 0.26; sigma_E 0.07 for gas
    temperatures and 0.08 for gas concentrations."""
    assert CFAST_MODEL_UNCERTAINTY["plume temperature"] == (1.08, 0.22, 0.07)
    assert CFAST_MODEL_UNCERTAINTY["carbon dioxide concentration"] == (0.88, 0.26, 0.08)
    co2 = CRITERIA["co2_peak"]
    assert (co2.low, co2.high) == ratio_band(0.88, 0.26, 0.08)
    assert_allclose((co2.low, co2.high), (0.501, 1.455), atol=0.001)
    assert CRITERIA["scd41_clamp_ppm"].low == CRITERIA["scd41_clamp_ppm"].high == 40000.0
    for c in CRITERIA.values():
        assert c.source and c.applies_to and c.low <= c.high


def test_evaluate_criteria_marks_rows_outside():
    table = pd.DataFrame([
        {"test": 1, "quantity": "ceiling dT at TC23 (r = 0.12 m)", "measured_peak": 20.0,
         "model_peak": 40.0, "t_rise_measured_s": 30.0, "t_rise_model_s": 30.0},
        {"test": 1, "quantity": "CO2 rise at Mid Pan", "measured_peak": 1000.0,
         "model_peak": 1000.0, "t_rise_measured_s": 30.0, "t_rise_model_s": 60.0},
        {"test": 1, "quantity": "CO2 rise at Mid Pan, model + SCD41", "measured_peak": 1000.0,
         "model_peak": 10.0, "t_rise_measured_s": 30.0, "t_rise_model_s": 900.0},
        {"test": 2, "quantity": "DelCo burn room: upper-layer temperature", "measured_peak": 400.0,
         "model_peak": 380.0, "t_rise_measured_s": 30.0, "t_rise_model_s": 31.0},
    ])
    results = evaluate_criteria(table, scd41_delays={"FAA test 1: x": 70.0},
                                scd41_peaks_ppm={"DelCo test 2: SCD41 peak reading": 40000.0})
    by = {(r["criterion"], r["row"]): r for r in results}
    # a factor 2 on a plume temperature is outside CFAST's 95 % band (0.67-1.66)
    assert not by[("plume_temperature_peak", "FAA test 1: ceiling dT at TC23 (r = 0.12 m)")]["ok"]
    assert by[("co2_peak", "FAA test 1: CO2 rise at Mid Pan")]["ok"]
    assert not by[("threshold_crossing_time", "FAA test 1: CO2 rise at Mid Pan")]["ok"]
    assert by[("hgl_temperature_peak", "DelCo test 2: burn room: upper-layer temperature")]["ok"]
    assert not by[("scd41_added_delay_s", "FAA test 1: x")]["ok"]
    assert by[("scd41_clamp_ppm", "DelCo test 2: SCD41 peak reading")]["ok"]
    # device rows carry no physics criterion
    assert not any("model + SCD41" in row for name, row in by if name != "scd41_added_delay_s")
    assert failing_rows(results) == {
        ("plume_temperature_peak", "FAA test 1: ceiling dT at TC23 (r = 0.12 m)"),
        ("threshold_crossing_time", "FAA test 1: CO2 rise at Mid Pan"),
        ("scd41_added_delay_s", "FAA test 1: x")}


def test_faa_fuels_are_the_fds_inputs_and_their_carbon_balance():
    """FDS inputs: FAA_B707_Test_1 and FAA_DC10 C=1 H=12.2, Test_2 and _3 C=8 H=8; with CO
    0.065 and soot 0.125 g/g their carbon balance gives 1.25 and 2.82 g/g of CO2."""
    assert FAA_FUELS == {1: (1.0, 12.2), 2: (8.0, 8.0), 3: (8.0, 8.0), 4: (1.0, 12.2)}
    assert_allclose(fuel_yields(1)["co2_yield_g_per_g"], 1.25, atol=0.005)
    assert_allclose(fuel_yields(2)["co2_yield_g_per_g"], 2.82, atol=0.005)
    assert fuel_yields(4) == fuel_yields(1) and fuel_yields(3) == fuel_yields(2)
    # methane burnt completely: 44.01/16.04 = 2.74 g CO2 and 2 x 18.02/16.04 = 2.25 g H2O per g
    ch4 = carbon_balance_yields(1, 4, co_yield_g_per_g=0.0, soot_yield_g_per_g=0.0)
    assert_allclose(ch4["co2_yield_g_per_g"], 2.744, atol=0.002)
    assert_allclose(ch4["h2o_yield_g_per_g"], 2.246, atol=0.002)
