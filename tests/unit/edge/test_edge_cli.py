"""``firesight edge run``: a bad configuration is one clear error; a node whose broker is
unreachable runs, buffers its status to disk and stops cleanly."""

import json
import socket
import subprocess
import sys

from firesight.edge.buffer import DiskBuffer


def _firesight(*args):
    return subprocess.run([sys.executable, "-m", "firesight.cli", "edge", *args], capture_output=True, text=True,
                          timeout=120)


def test_bad_config_is_a_clear_error(tmp_path):
    path = tmp_path / "edge.json"
    path.write_text(json.dumps({"thing": "n1", "site": "lab", "broker_url": "mqtts://h:8883", "cert_path": "c",
                                "key_path": "k", "ca_path": "a", "buffer_path": "b", "thermal": {"kind": "flir-one"}}))
    proc = _firesight("run", "--config", str(path))
    assert proc.returncode == 2 and "thermal.kind must be vospi, purethermal or none" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_offline_node_runs_and_keeps_its_messages(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    path = tmp_path / "edge.json"
    buffer_path = tmp_path / "outbox.db"
    path.write_text(json.dumps({"thing": "n1", "site": "lab", "broker_url": f"mqtt://127.0.0.1:{port}",
                                "cert_path": "", "key_path": "", "ca_path": "", "buffer_path": str(buffer_path),
                                "thermal": {"kind": "none"}, "scd41": {"kind": "none"}, "status_interval_s": 0.2}))
    proc = _firesight("run", "--config", str(path), "--duration-s", "1", "--health-every-s", "0.5")
    assert proc.returncode == 0, proc.stderr
    health = json.loads(proc.stdout.strip().splitlines()[-1])
    assert health["connected"] is False and health["counts"]["connect_failures"] >= 1
    kept = DiskBuffer(str(buffer_path)).peek(100)
    assert len(kept) >= 3 and all(m.topic == "firesight/v1/lab/n1/status" for m in kept)
    assert b'"offline"' in kept[-1].payload
