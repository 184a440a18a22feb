"""Scoring a feature table: timelines, fire classes and targets."""

from __future__ import annotations

import numpy as np
import pandas as pd

from firesight.detection.alerts import AlertPolicy
from firesight.detection.scoring import evaluate_probabilities, fire_classes, target_checks

POLICY = AlertPolicy(watch_on=0.3, alarm_on=0.5, alarm_off=0.5, min_consecutive=2, clear_consecutive=1)


def table():
    rows = []
    for sid, fam, label, ign, state, view in (("a", "tf1", "fire", 10.0, 2, "in_view"),
                                              ("b", "tf2", "fire", 10.0, 1, "in_view"),
                                              ("c", "gas_stove_cooking", "nuisance", np.nan, 0, "")):
        for t in range(1, 31):
            burning = int(np.isfinite(ign) and t >= ign)
            rows.append({"scenario_id": sid, "family": fam, "label": label, "ignition_time_s": ign,
                         "time_s": float(t), "burning": burning, "truth_state": state * burning,
                         "source_view": view})
    return pd.DataFrame(rows)


def test_fire_classes_from_truth_state_and_view():
    assert fire_classes(table()) == {"a": "flaming_in_view", "b": "smouldering"}


def test_probabilities_to_metrics_and_targets():
    t = table()
    p = np.zeros(len(t))
    a = (t.scenario_id == "a") & (t.time_s >= 12)       # alarm at 13 (2 consecutive) -> tta 3
    b = (t.scenario_id == "b") & (t.time_s >= 20)       # alarm at 21 -> tta 11
    c = (t.scenario_id == "c") & (t.time_s.isin([5, 6]))  # a false alarm at 6 in the stove
    p[a | b | c] = 0.9
    m = evaluate_probabilities(t, p, POLICY)
    assert m["detection_rate"] == 1.0
    assert m["time_to_alarm_s"]["by_class"]["flaming_in_view"]["median"] == 3.0
    assert m["time_to_alarm_s"]["by_class"]["smouldering"]["median"] == 11.0
    assert m["false_alarm_ids"] == ["c"]
    checks = target_checks(m, {"tf1": "fire", "tf2": "fire", "gas_stove_cooking": "nuisance"})
    assert checks["detection_rate"]["met"] and checks["median_tta_flaming_in_view_s"]["met"]
    assert checks["gas_stove_false_alarm_scenarios"] == {"value": 1, "target": 0, "met": False}
    assert checks["nuisance_false_alarm_scenarios"]["value"] == 1
