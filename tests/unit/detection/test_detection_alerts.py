"""Alert decision with hysteresis: one noisy window never flips the state."""

from __future__ import annotations

import numpy as np
import pytest

from firesight.detection.alerts import AlertPolicy, AlertState, alert_levels
from firesight.errors import InvalidParameterError

POLICY = AlertPolicy(watch_on=0.3, alarm_on=0.6, alarm_off=0.3, min_consecutive=3,
                     clear_consecutive=4)


def test_single_spike_raises_watch_not_alarm():
    p = [0.1, 0.1, 0.95, 0.1, 0.1]
    assert alert_levels(np.arange(5.0), p, POLICY).tolist() == [0, 0, 1, 0, 0]


def test_alarm_needs_min_consecutive_and_clears_after_clear_consecutive():
    p = [0.7, 0.7, 0.7, 0.5, 0.2, 0.2, 0.2, 0.2, 0.2]
    levels = alert_levels(np.arange(9.0), p, POLICY).tolist()
    # alarm at the 3rd window; 0.5 is inside the band (stays); clears after 4 below 0.3
    assert levels == [1, 1, 2, 2, 2, 2, 2, 0, 0]


def test_noisy_dip_inside_alarm_does_not_clear():
    p = [0.8] * 3 + [0.1, 0.8, 0.1, 0.1, 0.8] + [0.8] * 2
    levels = alert_levels(np.arange(10.0), p, POLICY)
    assert (levels[2:] == 2).all()


def test_state_records_changes_with_time_level_probability():
    st = AlertState(AlertPolicy(min_consecutive=1, clear_consecutive=1))
    for t, p in [(0, 0.1), (5, 0.9), (10, 0.05)]:
        st.update(t, p)
    assert [(c["time_s"], c["level"], c["probability"]) for c in st.changes] == [
        (5.0, "alarm", 0.9), (10.0, "normal", 0.05)]


def test_nan_probability_counts_as_no_evidence():
    levels = alert_levels(np.arange(4.0), [0.9, np.nan, 0.9, 0.9], POLICY)
    assert levels.tolist() == [1, 0, 1, 1]


@pytest.mark.parametrize("kwargs", [dict(alarm_off=0.9), dict(alarm_on=1.5),
                                    dict(min_consecutive=0), dict(watch_on=0.9)])
def test_invalid_policy_names_parameter(kwargs):
    with pytest.raises(InvalidParameterError) as err:
        AlertPolicy(**kwargs)
    assert next(iter(kwargs)) in str(err.value)


def test_the_slow_path_alarms_on_sustained_weaker_evidence_and_not_on_a_brief_flare():
    pol = AlertPolicy(watch_on=0.45, alarm_on=0.9, alarm_off=0.3, min_consecutive=3, clear_consecutive=30,
                      sustain_on=0.5, sustain_consecutive=60)
    flare = [0.1] * 10 + [0.95, 0.95] + [0.6] * 40 + [0.1] * 10   # 2 windows high, 40 medium: no alarm
    assert max(alert_levels(np.arange(len(flare)), flare, pol)) == 1
    smoulder = [0.1] * 10 + [0.6] * 59 + [0.2] + [0.6] * 60       # a dip restarts the count
    levels = alert_levels(np.arange(len(smoulder)), smoulder, pol)
    assert levels[:129].max() == 1 and levels[129] == 2            # the 60th window in a row of the second run
    plain = AlertPolicy(watch_on=0.45, alarm_on=0.9, alarm_off=0.3, min_consecutive=3, clear_consecutive=30)
    assert max(alert_levels(np.arange(len(smoulder)), smoulder, plain)) == 1  # without it: never
    assert AlertPolicy.from_dict(pol.to_dict()) == pol
    assert "sustain_on" not in plain.to_dict()                     # bundles without it read as before


@pytest.mark.parametrize("bad", [dict(sustain_on=0.5), dict(sustain_consecutive=60),
                                 dict(sustain_on=0.95, sustain_consecutive=60),   # above alarm_on
                                 dict(sustain_on=0.2, sustain_consecutive=60),    # below alarm_off
                                 dict(sustain_on=0.5, sustain_consecutive=3)])    # not slower than the fast path
def test_a_slow_path_must_be_whole_and_slower_and_lower_than_the_fast_one(bad):
    with pytest.raises(InvalidParameterError):
        AlertPolicy(watch_on=0.45, alarm_on=0.9, alarm_off=0.3, min_consecutive=3, **bad)
