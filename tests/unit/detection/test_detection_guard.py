"""The co-rise guard, the monotone constraints and per-variant training parameters.

Thresholds under test are firesight's stated rule (150 ppm/min and 0.5 C/min over 60 s,
``firesight.detection.baselines.RATE_TEMPERATURE_ALARM``, reasoning given there).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from firesight.detection.alerts import AlertPolicy
from firesight.detection.boosting import XGBoostDetector
from firesight.detection.ensemble import EnsembleDetector
from firesight.detection.forest import RandomForestDetector
from firesight.detection.guard import CO2_RATE_COLUMN, TEMPERATURE_RATE_COLUMN, apply_guard, \
    make_guard
from firesight.detection.policy import choose_guard
from firesight.detection.training import train_bundle, variant_params
from firesight.errors import InvalidParameterError
from firesight.serving.fast import CompiledDetector

CO2, TEMP = CO2_RATE_COLUMN, TEMPERATURE_RATE_COLUMN


def _gas_table(n_scenarios: int = 16, n: int = 120, seed: int = 1) -> pd.DataFrame:
    """Fires (even scenarios, ignition 60 s) raise both rates; nuisances (odd) raise the CO2
    rate alone (people, a stove's CO2 without its heat reaching the sensor)."""
    rng = np.random.default_rng(seed)
    parts = []
    for s in range(n_scenarios):
        t = np.arange(1, n + 1, dtype=float)
        fire = s % 2 == 0
        on = t >= 60
        co2 = rng.normal(0, 10, n) + np.where(on, 120.0 + 4 * (t - 60), 0.0)
        temp = rng.normal(0, 0.05, n) + (np.where(on, 0.2 + 0.03 * (t - 60), 0.0) if fire else 0.0)
        parts.append(pd.DataFrame({
            "scenario_id": f"s{s:03d}", "family": "fire" if fire else "people",
            "ignition_time_s": 60.0 if fire else np.nan, "time_s": t,
            CO2: co2, TEMP: temp, "noise": rng.normal(0, 1, n),
            "burning": (on & fire).astype(np.int8)}))
    return pd.concat(parts, ignore_index=True)


def _ensemble(guard=None):
    members = [("rf", RandomForestDetector(n_estimators=10, min_samples_leaf=5, n_jobs=1)),
               ("xgb", XGBoostDetector(n_estimators=20, n_jobs=1))]
    return EnsembleDetector(estimators=members, features=[CO2, TEMP, "noise"], guard=guard)


def test_guard_fires_only_when_both_rates_and_the_model_agree():
    guard = make_guard(0.5)
    X = pd.DataFrame({CO2: [150.0, 149.9, 400.0, 400.0, np.nan, 400.0],
                      TEMP: [0.5, 2.0, 0.49, 3.0, 3.0, 3.0]})
    p = np.array([0.5, 0.9, 0.9, 0.49, 0.9, 0.7])
    out = apply_guard(guard, X, p)
    np.testing.assert_array_equal(out, [1.0, 0.9, 0.9, 0.49, 0.9, 1.0])
    np.testing.assert_array_equal(apply_guard(None, X, p), p)


@pytest.mark.parametrize("bad", [{"confirm_probability": 1.5}, {"co2_rate_ppm_per_min": -1},
                                 {"confirm_probability": float("nan")}])
def test_invalid_guards_are_refused(bad):
    guard = {**make_guard(0.5), **bad}
    table = _gas_table(4)
    with pytest.raises(InvalidParameterError):
        _ensemble(guard).fit(table, table["burning"])


def test_guard_needs_the_rate_columns():
    table = _gas_table(4)
    det = EnsembleDetector(estimators=[("rf", RandomForestDetector(n_estimators=5, n_jobs=1))],
                           features=["noise", TEMP], guard=make_guard(0.5))
    with pytest.raises(InvalidParameterError, match=CO2):
        det.fit(table, table["burning"])


def test_guarded_ensemble_scores_alike_on_every_path():
    table = _gas_table()
    det = _ensemble(make_guard(0.3)).fit(table, table["burning"])
    plain = _ensemble().fit(table, table["burning"])
    offline = det.fire_probability(table)
    fired = offline != plain.fire_probability(table)
    assert fired.any() and np.all(offline[fired] == 1.0)  # the guard raised some windows to 1
    compiled = CompiledDetector(det).predict(table[det.feature_names_].to_numpy())
    np.testing.assert_allclose(compiled, offline, atol=1e-6)
    one = table[table["scenario_id"] == "s000"].reset_index(drop=True)
    last = [det.predict_last(one.iloc[: i + 1]) for i in range(0, len(one), 7)]
    np.testing.assert_allclose(last, det.fire_probability(one)[::7], atol=1e-6)


def test_choose_guard_takes_the_lowest_level_that_adds_no_false_alarm():
    table = _gas_table()
    p = np.where(table["family"] == "people", 0.55, 0.2)  # the model half-believes the nuisance
    p = np.where((table["family"] == "fire") & (table["time_s"] > 100), 0.6, p)
    policy = AlertPolicy(watch_on=0.3, alarm_on=0.9, alarm_off=0.3, min_consecutive=3)
    result = choose_guard(table, p, policy, grid=(0.3, 0.5, 0.58, 0.7))
    levels = {r["confirm_probability"]: r for r in result["sweep"]}
    assert result["unguarded_false_alarm_scenarios"] == 0
    # nuisances have no temperature rise, so no level adds a false alarm: the lowest is kept
    assert result["guard"]["confirm_probability"] == 0.3
    assert levels[0.3]["detection_rate"] == 1.0 and levels[0.7]["detection_rate"] == 0.0
    heated = table.assign(**{TEMP: table[TEMP] + np.where(table["time_s"] >= 60, 1.0, 0.0)})
    result = choose_guard(heated, p, policy, grid=(0.3, 0.5, 0.58, 0.7))
    assert result["guard"]["confirm_probability"] == 0.58  # 0.55-believed nuisances now fire below it
    # the same nuisances as extra scenarios beside a quiet validation split: the guard must
    # add no false alarm on them either
    nuisances = heated[heated["family"] == "people"]
    p_n = np.full(len(nuisances), 0.55)
    result = choose_guard(table, p, policy, grid=(0.3, 0.5, 0.58, 0.7), extra=[(nuisances, p_n)])
    assert result["guard"]["confirm_probability"] == 0.58
    assert [r["extra_false_alarm_scenarios"][0] > 0 for r in result["sweep"]] == [True, True, False, False]
    hopeless = choose_guard(table, p, policy, grid=(0.3, 0.5), extra=[(nuisances, np.full(len(nuisances), 0.85))])
    assert hopeless["guard"] is None


@pytest.mark.parametrize("cls", [RandomForestDetector, XGBoostDetector])
def test_physical_monotone_constraint_holds_everywhere(cls):
    """Probability never falls as the CO2 rate rises, at any fixed other input."""
    table = _gas_table(seed=3)
    rng = np.random.default_rng(0)
    # labels made deliberately non-monotone in the CO2 rate: an unconstrained model follows them
    y = ((table[TEMP] > 0.4) | ((table[CO2] > 150) & (table[CO2] < 250))).astype(int)
    kwargs = {"n_estimators": 20, "n_jobs": 1}
    det = cls(features=[CO2, TEMP, "noise"], monotone="physical" if cls is XGBoostDetector
              else {CO2: 1, TEMP: 1}, **kwargs).fit(table, y)
    grid = np.linspace(-50, 1500, 60)
    for _ in range(20):
        temp, noise = rng.normal(0.5, 0.5), rng.normal()
        X = pd.DataFrame({CO2: grid, TEMP: temp, "noise": noise})
        p = det.fire_probability(X)
        assert np.all(np.diff(p) >= -1e-9), p


def test_monotone_spec_is_checked():
    table = _gas_table(4)
    with pytest.raises(InvalidParameterError):
        XGBoostDetector(features=[CO2], monotone={CO2: 2}, n_jobs=1).fit(table, table["burning"])
    with pytest.raises(InvalidParameterError):
        RandomForestDetector(features=[CO2], monotone="upward", n_jobs=1).fit(table, table["burning"])


def test_variant_parameters_override_kind_by_kind():
    params = {"rf": {"class_weight": None, "n_estimators": 5}, "xgb": {"n_estimators": 7},
              "variant_params": {"gas": {"xgb": {"monotone": "physical"}}},
              "exclude_features": {"gas": ["noise"]}}
    gas = variant_params(params, "gas")
    assert gas["xgb"] == {"n_estimators": 7, "monotone": "physical"} and gas["rf"]["n_estimators"] == 5
    assert "variant_params" not in gas and variant_params(params, "full")["xgb"] == {"n_estimators": 7}
    with pytest.raises(InvalidParameterError):
        variant_params({"variant_params": {"gas": {"svm": {}}}}, "gas")

    table = _gas_table(8)
    bundle = train_bundle(table, kind="ensemble", params={**params, "guards": {"gas": make_guard(0.4)}},
                          variants=("gas",), features={"gas": (CO2, TEMP, "noise")})
    det = bundle.variants["gas"]
    assert det.feature_names_ == [CO2, TEMP] and det.guard["confirm_probability"] == 0.4
    assert det.estimators_[1].monotone == "physical" and det.estimators_[0].monotone is None
