"""``firesight learning step | status`` on a firesight home with queued feedback."""

import json
import os
import subprocess
import sys

from firesight.adapters.local.queue import SQLiteMessageQueue
from firesight.agents.events import FEEDBACK_QUEUE


def _firesight(home, *args):
    env = {**os.environ, "FIRESIGHT_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "firesight.cli", "learning", *args], capture_output=True,
                          text=True, timeout=120, env=env)


def test_step_collects_feedback_below_the_threshold_and_status_shows_it(tmp_path):
    queue = SQLiteMessageQueue(str(tmp_path / "queue.db"))  # bootstrap's queue under FIRESIGHT_HOME
    queue.send(FEEDBACK_QUEUE, json.dumps({"kind": "false_alarm", "thing": "k1", "alert_id": "a1", "at_s": 1.0}))
    queue.send(FEEDBACK_QUEUE, json.dumps({"kind": "missed_fire", "thing": "k2", "alert_id": "a2", "at_s": 2.0}))
    proc = _firesight(tmp_path, "step", "--feedback-threshold", "3")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["retrained"] is False and result["evidence"]["errors"] == 2
    status = json.loads(_firesight(tmp_path, "status").stdout)
    assert status["pending_feedback"] == 2 and status["pending_by_kind"] == {"false_alarm": 1, "missed_fire": 1}
    proc = _firesight(tmp_path, "step", "--base", "[1]")
    assert proc.returncode == 2 and "--base must be a JSON object" in proc.stderr
