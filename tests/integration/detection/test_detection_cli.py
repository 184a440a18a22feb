"""`firesight evaluate` and `firesight replay` end to end, with the shipped default model."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from firesight.detection.shipped_model import default_model_path

REPORT_KEYS = ("detection_rate", "false_alarms_per_1000h", "false_alarm_scenarios", "time_to_alarm_s",
               "roc_auc", "missed")


def firesight(*args, env_home=None, check=True):
    import os

    env = dict(os.environ, COLUMNS="400")  # no wrapping of error lines by the console
    if env_home is not None:
        env["FIRESIGHT_HOME"] = str(env_home)
    exe = Path(sys.executable).with_name("firesight")  # the installed console script
    out = subprocess.run([str(exe), *args], capture_output=True, text=True, env=env, timeout=900)
    if check and out.returncode != 0:
        raise AssertionError(f"firesight {' '.join(args)} failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    return out


@pytest.fixture(scope="module")
def report(detect_dataset, tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    path = tmp_path_factory.mktemp("reports") / "r.json"
    plots = path.parent / "plots"
    firesight("evaluate", "--data", detect_dataset, "--report", str(path), "--plots", str(plots),
              env_home=home)
    return json.loads(path.read_text()), plots


def test_shipped_default_model_exists_and_is_small():
    path = default_model_path()
    assert (path / "bundle.json").is_file()
    size_mb = sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6
    assert size_mb < 8.0


def test_evaluate_uses_default_model_and_writes_every_key(report):
    r, plots = report
    assert r["model"]["source"] == "default"
    for key in REPORT_KEYS:
        assert key in r
    names = set(r["detectors"])
    assert {"baseline_heat_ul521", "baseline_co2", "baseline_thermal_max"} <= names
    assert any(n.endswith("_camera_only") for n in names) and any(n.endswith("_scd41_only") for n in names)
    for name, m in r["detectors"].items():
        for key in REPORT_KEYS:
            assert key in m, (name, key)
    assert sorted(p.name for p in plots.iterdir()) == ["eval_false_alarms.png", "eval_reliability.png", "eval_roc.png",
                                                        "eval_time_to_alarm.png"]


def test_evaluate_report_is_internally_consistent(report):
    r, _ = report
    assert r["dataset"]["n_scenarios"] == 4
    for name, m in r["detectors"].items():
        n_fire = m["n_fire"]
        detected = m["time_to_alarm_s"]["n"]
        assert n_fire == r["dataset"]["n_fire"]
        assert len(m["missed"]) == n_fire - detected, name
        if n_fire:
            assert m["detection_rate"] == pytest.approx(detected / n_fire)
        assert m["false_alarm_scenarios"] == len(m["false_alarm_ids"])
        assert sum(e["false_alarm_episodes"] for e in m["false_alarms_by_family"].values()) == \
            m["false_alarm_episodes"]
        if m["non_fire_hours"] > 0:
            assert m["false_alarms_per_1000h"] == pytest.approx(
                m["false_alarm_episodes"] * 1000 / m["non_fire_hours"])
        if detected:
            t = m["time_to_alarm_s"]
            assert 0 <= t["median"] <= t["p90"] <= t["max"]


def test_replay_scd41_csv_uses_scd41_only_variant(detect_dataset, tmp_path):
    from firesight.datasets import open_dataset

    ds = open_dataset(detect_dataset)
    fire = next(i for i in ds.ids if "tf5" in i)
    s = ds.load(fire)
    csv = tmp_path / "rec.csv"
    s.scd41[["time_s", "co2_ppm", "temperature_c", "humidity_rh"]].to_csv(csv, index=False)
    out = tmp_path / "replay.json"
    firesight("replay", "--scd41", str(csv), "--report", str(out), env_home=tmp_path / "home")
    r = json.loads(out.read_text())
    assert r["variant"] == "gas"
    assert "first_alarm_s" in r and isinstance(r["changes"], list)
    for c in r["changes"]:
        assert set(c) >= {"time_s", "level", "probability"}
        assert c["level"] in ("normal", "watch", "alarm")
    alarms = [c["time_s"] for c in r["changes"] if c["level"] == "alarm"]
    assert r["first_alarm_s"] == (alarms[0] if alarms else None)


def test_replay_of_a_quiet_stuffy_room_does_not_alarm(tmp_path):
    """A recording that starts at 1,100 ppm and 27 C in a steady room: the detector must
    settle on its own baseline and not alarm because the recording begins."""
    rng = np.random.default_rng(3)
    t = 5000.0 + np.arange(0, 600, 5.0)
    csv = tmp_path / "quiet.csv"
    pd.DataFrame({"time_s": t, "co2_ppm": 1100 + rng.normal(0, 8, t.size),
                  "temperature_c": 27 + rng.normal(0, 0.05, t.size),
                  "humidity_rh": 55 + rng.normal(0, 0.3, t.size)}).to_csv(csv, index=False)
    out = tmp_path / "replay.json"
    firesight("replay", "--scd41", str(csv), "--report", str(out), env_home=tmp_path / "home")
    r = json.loads(out.read_text())
    assert r["first_alarm_s"] is None


def test_bad_inputs_give_clear_errors_and_leave_reports_alone(detect_dataset, small_model, tmp_path):
    out = tmp_path / "r.json"
    out.write_text("previous")
    bad_csv = tmp_path / "bad.csv"
    bad_csv.write_text("time_s,co2_ppm,temperature_c\n0,400,20\n")
    res = firesight("replay", "--scd41", str(bad_csv), "--report", str(out), check=False)
    assert res.returncode == 2 and "lacks columns ['humidity_rh']" in res.stderr
    assert "Traceback" not in res.stderr
    res = firesight("evaluate", "--data", str(tmp_path / "nowhere"), "--report", str(out), check=False)
    assert res.returncode == 2 and "manifest.parquet" in res.stderr
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 not parquet")
    res = firesight("evaluate", "--data", str(broken), "--model", small_model, "--report", str(out),
                    check=False)
    assert res.returncode == 2 and "not a readable parquet" in res.stderr
    assert out.read_text() == "previous"


def test_train_register_approve_then_services_use_the_approved_version(tmp_path, feature_file):
    home = tmp_path / "home"
    model = tmp_path / "m"
    firesight("train", "--data", feature_file, "--out", str(model), "--kind", "xgb",
              "--test-fraction", "0.3", "--register", env_home=home)
    assert (model / "bundle.json").is_file()
    listing = firesight("models", "list", env_home=home).stdout
    assert "PendingManualApproval" in listing
    firesight("models", "approve", "1", env_home=home)
    assert "Approved" in firesight("models", "list", env_home=home).stdout
    out = tmp_path / "r.json"
    firesight("evaluate", "--data", feature_file, "--report", str(out), "--split", "test", env_home=home)
    r = json.loads(out.read_text())
    assert r["model"]["source"] == "registry" and r["model"]["version"] == "1"
    assert r["dataset"]["n_scenarios"] == 4  # 30 % of each family's 6 scenarios, rounded
    res = firesight("models", "approve", "7", env_home=home, check=False)
    assert res.returncode == 2 and "'7'" in res.stderr
