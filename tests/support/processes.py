"""Worker processes for crash tests: a Python script run in its own interpreter that prints
``ready`` once it serves, its output drained so that it never blocks on a full pipe."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest


def start_ready_script(script: str, *args: str, name: str = "worker") -> subprocess.Popen:
    """``python -c script args...``, returned once it printed ``ready`` (a test failure with
    its output otherwise)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-c", script, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env)
    line = proc.stdout.readline()
    if line.strip() != "ready":
        proc.kill()
        pytest.fail(f"{name} did not start: {line}{proc.stdout.read()}")
    threading.Thread(target=proc.stdout.read, daemon=True).start()  # keep the pipe drained
    return proc
