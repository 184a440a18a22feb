"""The stated policy rule counts false alarms on the extra synthetic nuisances too."""

from firesight.detection.policy import choose


def _row(alarm_on, consecutive, detection, fa, extra=None, tta=10.0):
    return {"policy": {"alarm_on": alarm_on, "min_consecutive": consecutive}, "detection_rate": detection,
            "false_alarm_scenarios": fa, "extra_false_alarm_scenarios": extra or [], "median_tta_s": tta}


def test_a_false_alarm_on_the_extra_nuisances_loses_to_a_quiet_policy_that_detects_less():
    eager = _row(0.9, 3, detection=0.9, fa=0, extra=[1])
    quiet = _row(0.95, 10, detection=0.8, fa=0, extra=[0])
    assert choose([eager, quiet]) is quiet


def test_without_extra_nuisances_the_rule_is_unchanged():
    eager = _row(0.9, 3, detection=0.9, fa=0)
    quiet = _row(0.95, 10, detection=0.8, fa=0)
    noisy = _row(0.5, 3, detection=1.0, fa=1)
    assert choose([noisy, eager, quiet]) is eager
    # a tie on detection and time goes to the more conservative policy
    assert choose([eager, _row(0.95, 3, detection=0.9, fa=0)])["policy"]["alarm_on"] == 0.95
