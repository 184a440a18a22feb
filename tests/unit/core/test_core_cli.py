"""The command line shell: typed errors become one clear line and exit code 2, usage
errors keep click's message, and no traceback reaches the user."""

import subprocess
import sys


def _firesight(*args):
    return subprocess.run([sys.executable, "-m", "firesight.cli", *args], capture_output=True, text=True,
                          timeout=120)


def test_invalid_parameter_is_one_line_naming_it(tmp_path):
    proc = _firesight("generate", "--out", str(tmp_path / "d"), "--duration-s", "-5")
    assert proc.returncode == 2
    assert "duration_s must be" in proc.stderr and "got -5" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "d").exists()


def test_usage_errors_keep_their_message_without_traceback():
    proc = _firesight("no-such-command")
    assert proc.returncode == 2
    assert "No such command" in proc.stderr and "Traceback" not in proc.stderr
    proc = _firesight("generate", "--count", "many", "--out", "x")
    assert proc.returncode == 2 and "--count" in proc.stderr and "Traceback" not in proc.stderr


def test_help_lists_every_area():
    proc = _firesight("--help")
    assert proc.returncode == 0
    for command in ("generate", "show", "validate", "features", "evaluate", "replay", "devices", "fleet", "bench"):
        assert command in proc.stdout
