"""The text an operator reads: every fact needed to act, in words."""

from __future__ import annotations

from firesight.notify.message import drivers_text, render, utc_text

ALERT = {"alert_id": "ab12cd34ef56", "site": "hq", "thing": "kitchen-3", "signal": "alarm", "level": "alarm",
         "state": "active", "opened_s": 1_764_750_012.0, "ts_ms": 1_764_750_011_500, "probability": 0.934,
         "variant": "full", "model_version": "3", "scenario_time_s": 312.5, "next_deadline_s": 1_764_750_072.0,
         "explanation": {"sensor": "both", "features": {"t_max_c": 287.04, "co2_rise_ppm": 212.0},
                         "snapshot": {"hot_region": [10, 20, 14, 26], "peak_c": 301.5}}}


def test_alarm_notification_names_site_device_probability_time_drivers_and_ack():
    n = render(ALERT, "open", "email", "ab12cd34ef56:open:email",
               ack_url_template="https://fire.example/a/{alert_id}", next_channels=("escalation",))
    assert n.subject == "[FIRE ALARM] hq/kitchen-3 p=0.93" and n.severity == "alarm"
    for fact in ("site hq, device kitchen-3", "Fire probability: 0.93 (model full 3)", "2025-12-03 08:20:12 UTC",
                 "sensor both", "t_max_c=287", "co2_rise_ppm=212", "peak_c=301.5",
                 "firesight alerts ack ab12cd34ef56 --by NAME", "https://fire.example/a/ab12cd34ef56",
                 "Acknowledge by 2025-12-03 08:21:12 UTC or it escalates to escalation", "evacuate"):
        assert fact in n.text, fact
    assert n.data["ack_url"] == "https://fire.example/a/ab12cd34ef56" and n.data["probability"] == 0.934


def test_stage_and_signal_change_the_words():
    esc = render(ALERT, "escalation-2", "chief", "k")
    assert esc.subject.startswith("[ESCALATION 2: FIRE ALARM]") and "not acknowledged in time" in esc.text
    cleared = render({**ALERT, "state": "cleared", "cleared_s": 1_764_750_100.0}, "cleared", "email", "k")
    assert cleared.subject.startswith("[CLEARED: FIRE ALARM]") and "Acknowledge:" not in cleared.text
    trouble = render({**ALERT, "signal": "trouble", "level": "offline", "probability": None,
                      "explanation": {"reason": "no reading for 60 s"}}, "open", "m", "k")
    assert trouble.subject == "[TROUBLE] hq/kitchen-3 offline"
    assert "Fire probability" not in trouble.text and "reason no reading for 60 s" in trouble.text
    acked = render({**ALERT, "acknowledged_s": 1.0, "state": "acknowledged"}, "open", "m", "k")
    assert "Acknowledge:" not in acked.text


def test_helpers():
    assert utc_text(None) == "-" and utc_text(0) == "1970-01-01 00:00:00 UTC"
    assert drivers_text({}) == "" and drivers_text("junk") == ""  # type: ignore[arg-type]
