"""Alarms during a fire's precursor phase (the fuel heated towards ignition, state still 0):
reported apart as ``precursor_alarm_scenarios``, while still counting as false alarms
exactly as design/EVALUATION.md defines them (an alarm starting before t_ign is false)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from firesight.detection.alerts import AlertPolicy
from firesight.detection.evaluation import ScenarioTimeline, evaluate_timelines, scenario_outcome
from firesight.detection.scoring import prepare_table, scenario_timelines


def _timeline(sid, alarm_windows, *, ign=60.0, precursor_from=30.0, with_precursor=True, n=100):
    t = np.arange(1, n + 1, dtype=float)
    alarm = np.zeros(n, dtype=bool)
    alarm[list(alarm_windows)] = True
    pre = ((t >= precursor_from) & (t < ign)) if with_precursor else None
    return ScenarioTimeline(scenario_id=sid, family="cooking_oil_pan_fire", ignition_time_s=ign, duration_s=float(n),
                            time_s=t, alarm=alarm, precursor=pre)


def test_an_alarm_in_the_precursor_is_a_false_alarm_and_a_precursor_alarm():
    tl = _timeline("f1", range(39, 45))  # alarm from t = 40 s, oil heating since 30 s, ignition at 60 s
    out = scenario_outcome(tl)
    assert out["false_alarm_episodes"] == 1 and out["precursor_alarm"] is True and out["detected"] is False
    report = evaluate_timelines([tl, _timeline("f2", range(70, 80))])
    assert report["false_alarm_scenarios"] == 1 and report["false_alarm_ids"] == ["f1"]
    assert report["precursor_alarm_scenarios"] == 1 and report["precursor_alarm_ids"] == ["f1"]
    assert report["detection_rate"] == 0.5  # f2 alarms after ignition


def test_an_alarm_before_the_precursor_or_after_ignition_is_not_a_precursor_alarm():
    early = scenario_outcome(_timeline("e", range(9, 15)))  # t = 10-15 s, before the hob was on
    assert early["false_alarm_episodes"] == 1 and early["precursor_alarm"] is False
    late = scenario_outcome(_timeline("l", range(64, 70)))
    assert late["false_alarm_episodes"] == 0 and late["precursor_alarm"] is False and late["detected"]


def test_without_precursor_truth_the_count_is_zero_and_the_metrics_unchanged():
    with_pre = evaluate_timelines([_timeline("f1", range(39, 45)), _timeline("f2", range(70, 80))])
    without = evaluate_timelines([_timeline("f1", range(39, 45), with_precursor=False),
                                  _timeline("f2", range(70, 80), with_precursor=False)])
    assert without["precursor_alarm_scenarios"] == 0 and without["precursor_alarm_ids"] == []
    for key in ("false_alarm_scenarios", "false_alarm_episodes", "false_alarms_per_1000h", "detection_rate",
                "false_alarm_ids", "missed", "non_fire_hours"):
        assert with_pre[key] == without[key]


def test_a_feature_tables_precursor_column_reaches_the_timelines():
    t = np.arange(1.0, 101.0)
    table = pd.DataFrame({"scenario_id": "s", "family": "lithium_ion_battery", "ignition_time_s": 60.0, "time_s": t,
                          "burning": t >= 60.0, "precursor": (t >= 30.0) & (t < 60.0)})
    prob = np.where((t >= 40.0) & (t < 50.0), 0.99, 0.01)
    prepared = prepare_table(table)
    policy = AlertPolicy()
    timelines = scenario_timelines(prepared, prob, policy)
    np.testing.assert_array_equal(timelines[0].precursor, prepared["precursor"].to_numpy())
    report = evaluate_timelines(timelines)
    assert report["false_alarm_scenarios"] == report["precursor_alarm_scenarios"] == 1
    assert scenario_timelines(prepare_table(table.drop(columns="precursor")), prob, policy)[0].precursor is None
