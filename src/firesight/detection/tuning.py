"""Hyperparameter tuning with Optuna on the scenario-level objective.

Each trial trains the full variant on the training scenarios of a split by scenario and
judges it on the validation scenarios exactly as ``firesight evaluate`` does. The
objective rewards detection, punishes every scenario with a false alarm, and breaks ties
by speed:

    J = detection_rate - 2 x (false_alarm_scenarios / n_scenarios) - median_tta_s / 600

References
----------
1. Akiba, T. et al. (2019). Optuna: A Next-generation Hyperparameter Optimization
   Framework. KDD '19, 2623-2631. doi:10.1145/3292500.3330701
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from firesight.detection.alerts import AlertPolicy
from firesight.detection.scoring import evaluate_probabilities, prepare_table
from firesight.detection.splits import split_scenarios
from firesight.detection.training import DEFAULT_POLICY, make_detector, training_labels
from firesight.errors import require

#: Weights of the objective (see module docstring).
OBJECTIVE_WEIGHTS = {"false_alarm_scenarios": 2.0, "median_tta_per_s": 1.0 / 600.0}


def scenario_objective(metrics: dict) -> float:
    """Scalar objective of one evaluation (higher is better)."""
    dr = metrics["detection_rate"] or 0.0
    fa = metrics["false_alarm_scenarios"] / max(1, metrics["n_scenarios"])
    med = metrics["time_to_alarm_s"]["median"]
    med = 600.0 if med is None else float(med)
    return float(dr - OBJECTIVE_WEIGHTS["false_alarm_scenarios"] * fa
                 - OBJECTIVE_WEIGHTS["median_tta_per_s"] * med)


def _suggest(trial, kind: str) -> dict:
    if kind == "rf":
        return {"rf": {"n_estimators": trial.suggest_int("rf_n_estimators", 40, 200, step=20),
                       "max_depth": trial.suggest_int("rf_max_depth", 6, 18),
                       "min_samples_leaf": trial.suggest_int("rf_min_samples_leaf", 2, 40, log=True)}}
    if kind == "xgb":
        return {"xgb": {"n_estimators": trial.suggest_int("xgb_n_estimators", 50, 400, step=50),
                        "max_depth": trial.suggest_int("xgb_max_depth", 3, 8),
                        "learning_rate": trial.suggest_float("xgb_learning_rate", 0.02, 0.3, log=True),
                        "min_child_weight": trial.suggest_float("xgb_min_child_weight", 1.0, 20.0,
                                                                log=True)}}
    if kind == "lstm":
        return {"lstm": {"hidden_size": trial.suggest_categorical("lstm_hidden_size", [16, 32, 48]),
                         "seq_len": trial.suggest_int("lstm_seq_len", 8, 24, step=4),
                         "learning_rate": trial.suggest_float("lstm_learning_rate", 1e-3, 1e-2,
                                                              log=True)}}
    raise ValueError(kind)


def tune(table: pd.DataFrame, *, kind: str = "xgb", trials: int = 20, seed: int = 0,
         validation_fraction: float = 0.3,
         progress: Callable[[int, float], None] | None = None) -> dict:
    """Search detector and alert-policy parameters; return the best and the trial history.

    Returns
    -------
    dict with ``best_params`` (ready for ``firesight train --params``), ``best_value``,
    ``best_metrics``, ``trials`` (number, value, params) and the ``split``.
    """
    import optuna

    require(kind in ("rf", "xgb", "lstm"), "kind", "one of rf, xgb, lstm", kind)
    require(isinstance(trials, int) and trials >= 1, "trials", "an integer >= 1", trials)
    table = prepare_table(table)
    split = split_scenarios(table, test_fraction=validation_fraction, seed=seed)
    train = table[table["scenario_id"].isin(split.train_ids)].reset_index(drop=True)
    valid = table[table["scenario_id"].isin(split.test_ids)].reset_index(drop=True)
    y_train = training_labels(train)
    from firesight.detection.training import feature_sets

    features = list(feature_sets()["full"])

    def objective(trial) -> float:
        params = _suggest(trial, kind)
        policy = AlertPolicy(
            watch_on=DEFAULT_POLICY.watch_on,
            alarm_on=trial.suggest_float("alarm_on", 0.4, 0.9),
            alarm_off=DEFAULT_POLICY.alarm_off,
            min_consecutive=trial.suggest_int("min_consecutive", 1, 6),
            clear_consecutive=DEFAULT_POLICY.clear_consecutive)
        det = make_detector(kind, features=features, params=params, seed=seed)
        det.fit(train, y_train, groups=train["scenario_id"].to_numpy())
        metrics = evaluate_probabilities(valid, det.predict_proba(valid)[:, 1], policy)
        value = scenario_objective(metrics)
        trial.set_user_attr("metrics", {k: metrics[k] for k in (
            "detection_rate", "false_alarm_scenarios", "n_scenarios", "roc_auc")}
            | {"median_tta_s": metrics["time_to_alarm_s"]["median"]})
        if progress:
            progress(trial.number, value)
        return value

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize",
                                sampler=optuna.samplers.TPESampler(seed=seed))
    study.optimize(objective, n_trials=trials)
    best = study.best_trial
    best_params = _suggest(optuna.trial.FixedTrial(best.params), kind)
    best_params["policy"] = DEFAULT_POLICY.to_dict() | {
        "alarm_on": best.params["alarm_on"], "min_consecutive": best.params["min_consecutive"]}
    best_metrics = best.user_attrs.get("metrics", {})
    return {"kind": kind, "best_params": best_params, "best_value": float(best.value),
            "best_metrics": best_metrics, "objective_weights": OBJECTIVE_WEIGHTS,
            "split": split.describe(table.groupby("scenario_id")["family"].first()),
            "trials": [{"number": t.number, "value": None if t.value is None else float(t.value),
                        "params": t.params} for t in study.trials]}
