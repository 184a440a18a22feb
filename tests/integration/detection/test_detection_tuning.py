"""Optuna tuning on the scenario-level objective (in process, a couple of trials)."""

from __future__ import annotations

import pytest

from firesight.detection.alerts import AlertPolicy
from firesight.detection.tuning import scenario_objective, tune
from firesight.errors import InvalidParameterError


def test_objective_orders_detectors_as_fire_engineers_would():
    base = {"n_scenarios": 10, "time_to_alarm_s": {"median": 10.0}}
    good = scenario_objective({**base, "detection_rate": 1.0, "false_alarm_scenarios": 0})
    noisy = scenario_objective({**base, "detection_rate": 1.0, "false_alarm_scenarios": 1})
    blind = scenario_objective({**base, "detection_rate": 0.85, "false_alarm_scenarios": 0})
    assert good == pytest.approx(1.0 - 10 / 600)
    assert good > blind > noisy  # a false alarm in 1 of 10 scenarios costs more than 15 % detection


def test_tune_returns_trainable_params_and_is_seeded(feature_table):
    a = tune(feature_table, kind="xgb", trials=2, seed=1)
    b = tune(feature_table, kind="xgb", trials=2, seed=1)
    assert a["best_params"] == b["best_params"] and a["best_value"] == b["best_value"]
    assert len(a["trials"]) == 2
    AlertPolicy.from_dict(a["best_params"]["policy"])  # a valid policy
    assert set(a["best_params"]["xgb"]) == {"n_estimators", "max_depth", "learning_rate",
                                            "min_child_weight"}
    assert a["split"]["n_train"] + a["split"]["n_test"] == 12


def test_tune_rejects_bad_arguments(feature_table):
    with pytest.raises(InvalidParameterError, match="trials"):
        tune(feature_table, trials=0)
    with pytest.raises(InvalidParameterError, match="kind"):
        tune(feature_table, kind="svm")
