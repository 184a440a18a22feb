"""The whole offline-to-online path through the real command line, as a user runs it:
generate a dataset, draw it, judge the shipped detector on it, then play it as a device
fleet over the embedded mTLS broker with shadows and Device Defender running."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow

FIRESIGHT = [sys.executable, "-m", "firesight.cli"]


def _run(args, env, timeout=600):
    proc = subprocess.run([*FIRESIGHT, *args], env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"firesight {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}"
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    return {**os.environ, "FIRESIGHT_HOME": str(home), "NUMBA_NUM_THREADS": "1"}


def test_generate_show_evaluate_and_play_as_a_fleet(env, tmp_path):
    data = tmp_path / "data"
    _run(["generate", "--out", str(data), "--count", "3", "--seed", "3", "--duration-s", "60",
          "--families", "tf5_heptane_pool,gas_stove_cooking,people_gathering", "--frame-rate-hz", "4"], env)
    manifest = json.loads(_run(["catalog", "list", "--dataset", str(data), "--json"], env).stdout)
    assert len(manifest) == 3

    png = tmp_path / "fire.png"
    fire_id = next(r["id"] for r in manifest if r["family"] == "tf5_heptane_pool")
    _run(["show", fire_id, "--data", str(data), "--png", str(png)], env)
    assert png.stat().st_size > 20_000  # a real figure, not an empty canvas

    report_path = tmp_path / "report.json"
    _run(["evaluate", "--data", str(data), "--report", str(report_path)], env)
    report = json.loads(report_path.read_text())
    for key in ("detection_rate", "false_alarms_per_1000h", "false_alarm_scenarios", "time_to_alarm_s", "roc_auc"):
        assert key in report, key
    assert 0.0 <= report["detection_rate"] <= 1.0
    assert {"baseline_heat_ul521", "baseline_co2", "baseline_thermal_max"} <= set(report["detectors"])

    out = _run(["fleet", "simulate", "--devices", "2", "--data", str(data), "--speed", "0",
                "--duration-s", "20"], env).stdout
    summary = json.loads(out[out.index("{"):])
    assert summary["devices"] == 2
    assert summary["messages:thermal"] > 0 and summary["messages:scd41"] > 0
    assert summary["violations"] == [] and summary["quarantined"] == []
