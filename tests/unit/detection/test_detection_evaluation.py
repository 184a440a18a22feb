"""Scenario-level metrics on hand-built timelines: exact arithmetic of design/EVALUATION.md."""

from __future__ import annotations

import numpy as np
import pytest

from firesight.detection.evaluation import (
    ScenarioTimeline, alarm_episodes, evaluate_timelines, scenario_outcome)


def timeline(sid, family, ign, alarm_windows, n=100, step=1.0, burning=None, score=None):
    """Windows at t = 1..n (s); the recording spans (0, n]; alarm True on the given indices."""
    t = np.arange(1, n + 1, dtype=float) * step
    alarm = np.zeros(n, dtype=bool)
    alarm[list(alarm_windows)] = True
    return ScenarioTimeline(scenario_id=sid, family=family, ignition_time_s=ign,
                            duration_s=n * step, start_s=0.0, time_s=t, alarm=alarm,
                            score=score, burning=burning)


def test_alarm_episodes_are_maximal_runs_with_rising_edge_start():
    t = np.array([0.0, 1, 2, 3, 4, 5, 6])
    a = np.array([1, 1, 0, 0, 1, 1, 1], dtype=bool)
    assert alarm_episodes(t, a) == [(0.0, 1.0), (4.0, 6.0)]
    assert alarm_episodes(t, np.zeros(7, bool)) == []


def test_detected_fire_time_to_alarm_is_first_rising_edge_after_ignition():
    tl = timeline("f1", "tf1", ign=40.0, alarm_windows=range(51, 70))  # alarm starts t=52
    out = scenario_outcome(tl)
    assert out["detected"] is True
    assert out["time_to_alarm_s"] == 12.0
    assert out["false_alarm_episodes"] == 0
    assert out["non_fire_time_s"] == 40.0


def test_alarm_starting_before_ignition_is_false_and_not_a_detection():
    """EVALUATION.md: an alarm that starts before t_ign is a false alarm even in a fire
    scenario; it does not count as detection (even if it lasts past t_ign)."""
    tl = timeline("f2", "tf1", ign=40.0, alarm_windows=range(29, 60))  # t=30..60, one episode
    out = scenario_outcome(tl)
    assert out["detected"] is False
    assert out["false_alarm_episodes"] == 1
    assert out["time_to_alarm_s"] is None


def test_suite_metrics_exact_values():
    fires = [
        timeline("a", "tf1", 50.0, range(54, 100)),        # tta 5 (alarm at t=55)
        timeline("b", "tf1", 50.0, range(59, 100)),        # tta 10
        timeline("c", "tf5", 20.0, range(98, 100)),        # tta 79 (t=99)
        timeline("d", "tf5", 20.0, [5, 6, 50, 51]),        # false at t=6, then detected t=51 -> 31
        timeline("e", "tf5", 20.0, []),                    # missed
    ]
    nuisance = [
        timeline("n1", "cooking", None, [10, 11, 30, 80]),  # 3 episodes
        timeline("n2", "cooking", None, []),
        timeline("n3", "heater", None, []),
    ]
    m = evaluate_timelines(fires + nuisance)
    assert m["n_scenarios"] == 8 and m["n_fire"] == 5
    assert m["detection_rate"] == 4 / 5
    # non-fire time: 50+50+20+20+20 (fires before t_ign) + 3 x 100 = 460 s
    assert m["non_fire_hours"] == pytest.approx(460 / 3600, abs=1e-15)
    # false alarm episodes: 1 (d) + 3 (n1) = 4, per 1000 h of 460 s
    assert m["false_alarm_episodes"] == 4
    assert m["false_alarms_per_1000h"] == pytest.approx(4 * 3.6e6 / 460, rel=1e-12)
    assert m["false_alarm_scenarios"] == 2
    assert m["false_alarm_ids"] == ["d", "n1"]
    tta = m["time_to_alarm_s"]
    assert tta["n"] == 4
    assert tta["median"] == 20.5                         # median of 5, 10, 31, 79
    assert tta["p90"] == pytest.approx(31 + 0.7 * 48, abs=1e-12)  # linear interpolation
    assert tta["max"] == 79.0
    assert tta["by_family"]["tf1"] == {"n": 2, "median": 7.5, "p90": 9.5, "max": 10.0,
                                       "n_fire": 2, "detection_rate": 1.0}
    assert tta["by_family"]["tf5"]["n"] == 2 and tta["by_family"]["tf5"]["n_fire"] == 3
    assert m["missed"] == [{"id": "e", "family": "tf5"}]
    assert m["false_alarms_by_family"]["cooking"]["false_alarm_episodes"] == 3
    assert m["false_alarms_by_family"]["heater"]["false_alarm_scenarios"] == 0
    assert m["roc_auc"] is None  # no scores given


def test_roc_auc_per_window_exact():
    burning = np.zeros(4, bool)
    burning[2:] = True
    score = np.array([0.1, 0.6, 0.4, 0.9])
    tl = ScenarioTimeline("s", "tf1", 2.5, 4.0, np.arange(4.0), np.zeros(4, bool),
                          score=score, burning=burning)
    # pairs (pos, neg): (0.4,0.1)+ (0.4,0.6)- (0.9,0.1)+ (0.9,0.6)+ -> 3/4
    assert evaluate_timelines([tl])["roc_auc"] == 0.75


def test_alarm_at_the_last_instant_is_not_before_the_end():
    """EVALUATION.md: detection needs an episode that starts before the scenario ends."""
    out = scenario_outcome(timeline("z", "tf1", 20.0, [99]))  # t=100 == end of recording
    assert out["detected"] is False and out["false_alarm_episodes"] == 0


def test_no_fire_scenarios_gives_null_detection_rate():
    m = evaluate_timelines([timeline("n", "cooking", None, [])])
    assert m["detection_rate"] is None
    assert m["false_alarms_per_1000h"] == 0.0
    assert m["time_to_alarm_s"]["median"] is None
