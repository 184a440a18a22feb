"""End to end, live: one room catches fire while the others cook, heat and fill with people.

Everything real and embedded: a generated dataset (fixed seed), the mTLS broker, the
simulated fleet publishing full-rate Lepton frames and SCD41 readings, the monitoring,
analysis and response agents under the coordinator, and an SMTP server (aiosmtpd) as the
operator's mailbox. The fire's alarm must reach the mailbox at the scenario time offline
replay of the same model gives (the running system adds no delay to the model's decision,
so it meets the 15 s flaming target whenever the model does), and no other room may alarm.
"""

from __future__ import annotations

import pytest

from firesight.commands.live import run_live_demo
from firesight.datasets.generate import generate_dataset

FAMILIES = ["tf4_flaming_polyurethane", "gas_stove_cooking", "space_heater", "people_gathering"]
FLAMING_TARGET_S = 15.0


@pytest.mark.slow
def test_the_fire_room_alarm_reaches_the_mailbox_and_nothing_else_alarms(tmp_path, monkeypatch):
    monkeypatch.setenv("FIRESIGHT_HOME", str(tmp_path / "home"))
    data = str(tmp_path / "data")
    generate_dataset(data, count=len(FAMILIES), seed=2026, duration_s=90.0, families=FAMILIES, workers=2)
    summary = run_live_demo(data, str(tmp_path / "out"), speed=20.0, home=str(tmp_path / "home"), quiet=True)
    rows = {r["family"]: r for r in summary["devices"]}
    assert sorted(rows) == sorted(FAMILIES)
    fire = rows["tf4_flaming_polyurethane"]
    assert fire["is_fire"] and fire["ignition_s"] is not None
    assert fire["time_to_alarm_s"] is not None, fire
    # the running system adds no delay to the model's decision: the live alarm comes at the
    # scenario time offline replay of the same readings gives (within one window)
    offline = replay_first_alarm_s(data, fire["scenario_id"])
    assert offline is not None and abs(fire["first_alarm_s"] - offline) <= 1.0, (fire, offline)
    emails = [n for n in fire["notifications"] if n["channel"] == "email" and n["signal"] == "alarm"]
    assert emails, fire["notifications"]
    mailbox = [m["subject"] for m in summary["mailbox"]]
    assert any(fire["device"] in s and "ALARM" in s.upper() for s in mailbox), mailbox
    for family, row in rows.items():
        if family == "tf4_flaming_polyurethane":
            continue
        assert row["first_alarm_s"] is None and not row["false_alarm"], row
        assert not [n for n in row["notifications"] if n["signal"] == "alarm"], row
        assert not any(row["device"] in s and "ALARM" in s.upper() and "PRE-ALARM" not in s.upper()
                       for s in mailbox), mailbox
    assert summary["totals"]["false_alarms"] == 0
    # every room's camera works: none is reported missing, not even during the 15 min of SCD41
    # history the fleet plays before the scenario's first frame (the camera's start-up grace)
    for row in summary["devices"]:
        assert not [c for c in row["conditions"] if c in ("trouble:camera_failed", "supervisory:degraded:gas")], row
        assert not [n for n in row["notifications"] if n["level"] in ("camera_failed", "degraded:gas")], row
    assert summary["latency_publish_to_notification_ms"]["n"] >= 1
    # The detection target (flaming in view <= 15 s after ignition) is the model's: the live
    # alarm is checked above to come when the model decides; whether the model meets the
    # target is judged over the test set by `firesight evaluate` (docs/evaluation.md, which
    # reports it not met by the shipped model: 33 s median). Here the system must not make
    # it later than the model does, and must meet the target whenever the model does.
    offline_tta = offline - fire["ignition_s"]
    assert fire["time_to_alarm_s"] <= max(FLAMING_TARGET_S, offline_tta) + 1.0, (fire, offline_tta)


def replay_first_alarm_s(data, scenario_id):
    """First alarm [s] of the shipped model replayed offline over the scenario's readings."""
    import numpy as np

    from firesight.datasets import open_dataset
    from firesight.detection.shipped_model import default_model_path, load_bundle
    from firesight.detection.online import replay_recording
    from firesight.sensors.frames import LeptonFrames

    sc = open_dataset(data).load(scenario_id)
    th = sc.thermal
    valid = np.asarray(th.valid)
    rec = LeptonFrames(time_s=np.asarray(th.time_s)[valid], frames=np.asarray(th.frames[:])[valid],
                       resolution_k=np.asarray(th.resolution_k)[valid], ffc_state=np.asarray(th.ffc_state)[valid])
    report = replay_recording(load_bundle(default_model_path()), sc.scd41[sc.scd41["status"] == 0], rec)
    return report["first_alarm_s"]
