"""``firesight workflow``: list, validate, run (a failing execution exits 2 with its error)."""

import json
import os
import subprocess
import sys


def _firesight(tmp_path, *args):
    env = {**os.environ, "FIRESIGHT_HOME": str(tmp_path / "home")}
    return subprocess.run([sys.executable, "-m", "firesight.cli", "workflow", *args], capture_output=True,
                          text=True, timeout=120, env=env)


def test_list_validate_and_a_failing_run(tmp_path):
    proc = _firesight(tmp_path, "validate")
    assert proc.returncode == 0, proc.stderr
    assert "training-pipeline: valid" in proc.stdout and "retraining: valid" in proc.stdout
    broken = tmp_path / "broken.asl.json"
    broken.write_text(json.dumps({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nowhere"}}}))
    proc = _firesight(tmp_path, "validate", str(broken))
    assert proc.returncode == 2 and "Next target 'Nowhere'" in proc.stdout
    out = tmp_path / "execution.json"
    proc = _firesight(tmp_path, "run", "training-pipeline", "--input", '{"train": {"count": 0}}',
                      "--output", str(out))
    assert proc.returncode == 2 and "InvalidParameterError" in proc.stderr
    record = json.loads(out.read_text())
    assert record["status"] == "FAILED" and record["history"][0]["state"] == "Prepare"
    proc = _firesight(tmp_path, "run", "training-pipeline", "--input", "[1]")
    assert proc.returncode == 2 and "--input must be a JSON object" in proc.stderr
