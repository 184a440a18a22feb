"""What an operator's machine holds and how the CLI fails, checked from outside.

Key and database modes, the CA key encrypted at rest, thing attributes that could break
the generated Mosquitto ACL, Mosquitto not running as root, and one-line errors (exit 2)
for a FIRESIGHT_HOME that is a file and for a busy broker port.
"""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from firesight.adapters.local.metadata import SQLiteMetadataStore
from firesight.errors import InvalidParameterError
from firesight.iot.ca import CertificateAuthority
from firesight.iot.mosquitto import MosquittoBroker, find_mosquitto, mosquitto_acl
from firesight.iot.device_registry import DeviceRegistry

pytestmark = pytest.mark.timeout(120)


def _cli() -> list[str]:
    exe = Path(sys.executable).with_name("firesight")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "firesight.cli"]


def _run(home, *args, env_extra=None, timeout_s=60):
    env = dict(os.environ, FIRESIGHT_HOME=str(home), **(env_extra or {}))
    return subprocess.run([*_cli(), *args], capture_output=True, text=True, env=env, timeout=timeout_s)


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_registration_leaves_owner_only_keys_database_and_an_encrypted_ca_key(tmp_path):
    home = tmp_path / "home"
    out = _run(home, "devices", "register", "node-1", "--site", "lab")
    assert out.returncode == 0, out.stderr
    assert _mode(home / "metadata.db") == 0o600
    key = home / "pki" / "ca.key"
    assert _mode(key) == 0o600 and b"ENCRYPTED PRIVATE KEY" in key.read_bytes()
    assert _mode(home / "ca-key.passphrase") == 0o600          # beside pki/, not in it
    assert not list((home / "pki").rglob("*passphrase*"))
    assert _mode(home / "pki" / "things" / "node-1.key") == 0o600
    assert _mode(home / "pki") == 0o700
    # a second command loads the encrypted key and issues with it
    again = _run(home, "devices", "register", "node-2", "--site", "lab")
    assert again.returncode == 0, again.stderr


def test_a_passphrase_from_the_environment_protects_the_ca_key(tmp_path, monkeypatch):
    from firesight.config import Config
    from firesight.iot import open_registry

    cfg = Config(home=tmp_path / "home")
    monkeypatch.setenv("FIRESIGHT_CA_PASSPHRASE", "correct horse battery staple")
    open_registry(cfg).register_device("node-1", site="lab")
    assert not (cfg.home / "ca-key.passphrase").exists()
    assert b"ENCRYPTED PRIVATE KEY" in (cfg.home / "pki" / "ca.key").read_bytes()
    monkeypatch.setenv("FIRESIGHT_CA_PASSPHRASE", "wrong")
    with pytest.raises(InvalidParameterError, match="passphrase"):
        open_registry(cfg).register_device("node-2", site="lab")
    monkeypatch.setenv("FIRESIGHT_CA_PASSPHRASE", "correct horse battery staple")
    assert open_registry(cfg).register_device("node-2", site="lab").thing_name == "node-2"


@pytest.mark.parametrize("value", ["r1\nuser intruder\ntopic readwrite #", "r1\r", "a b", "r1\x00", "#", "x" * 801])
def test_a_control_character_or_wildcard_in_an_attribute_is_refused(tmp_path, value):
    registry = DeviceRegistry(SQLiteMetadataStore(str(tmp_path / "m.db")), CertificateAuthority(tmp_path / "pki"))
    with pytest.raises(InvalidParameterError):
        registry.register_device("node-x", site="lab", attributes={"room": value})
    registry.register_device("node-y", site="lab", attributes={"room": "kitchen-2", "mounting_height_m": 2.6})
    with pytest.raises(InvalidParameterError):
        registry.update_thing_attributes("node-y", {"room": value})
    acl = mosquitto_acl(registry)
    assert "intruder" not in acl and "node-x" not in acl and "user node-y" in acl
    assert registry.describe_thing("node-y")["attributes"]["room"] == "kitchen-2"


def test_a_newline_in_an_attribute_is_a_one_line_cli_error(tmp_path):
    out = _run(tmp_path / "home", "devices", "register", "node-1", "--site", "lab", "--room", "r1\nuser x",
               env_extra={"COLUMNS": "500"})
    assert out.returncode == 2 and "Traceback" not in out.stderr and "room" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_firesight_home_pointing_at_a_file_is_a_one_line_error(tmp_path):
    f = tmp_path / "not-a-folder"
    f.write_text("x")
    out = _run(f, "devices", "list", env_extra={"COLUMNS": "500"})  # no terminal wrapping of the one line
    assert out.returncode == 2 and "FIRESIGHT_HOME" in out.stderr and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("kind", ["embedded", "mosquitto"])
def test_broker_run_on_a_busy_port_fails_with_exit_2(tmp_path, kind):
    if kind == "mosquitto" and find_mosquitto() is None:
        pytest.skip("mosquitto binary not installed")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        out = _run(tmp_path / "home", "broker", "run", "--broker", kind, "--port", str(port), timeout_s=60)
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert "mqtts://" not in out.stdout and "Traceback" not in out.stderr and str(port) in out.stderr


def test_mosquitto_does_not_run_as_root_and_persists(tmp_path):
    if find_mosquitto() is None:
        pytest.skip("mosquitto binary not installed")
    registry = DeviceRegistry(SQLiteMetadataStore(str(tmp_path / "m.db")), CertificateAuthority(tmp_path / "pki"))
    with MosquittoBroker(registry, workdir=tmp_path / "mosq") as broker:
        proc = psutil.Process(broker.pid)
        conf = broker.conf_path.read_text()
        assert "persistence true" in conf and "user root" not in conf
        if os.geteuid() == 0:
            assert proc.uids().effective != 0 and "\nuser " in conf
        else:
            assert proc.uids().effective == os.geteuid()
        assert _mode(broker.dynsec_path) == 0o600
        assert _mode(broker.admin_dir) == 0o700 and _mode(broker.admin_dir / "admin.key") == 0o600


def test_a_stale_mosquitto_pid_file_is_ignored(tmp_path):
    """`devices revoke` after the managed Mosquitto died (its pid reused by another
    program, or gone) signals nothing and does not fail."""
    import json

    from firesight.iot.mosquitto import PID_FILE, reload_managed_mosquitto

    registry = DeviceRegistry(SQLiteMetadataStore(str(tmp_path / "m.db")), CertificateAuthority(tmp_path / "pki"))
    workdir = tmp_path / "mosquitto"
    workdir.mkdir()
    assert reload_managed_mosquitto(registry, workdir) is False                  # no pid file
    for pid in (os.getpid(), 2 ** 22 + 7):                                        # another program; none
        (workdir / PID_FILE).write_text(json.dumps({"pid": pid, "conf": str(workdir / "mosquitto.conf"),
                                                    "acl": str(workdir / "acl")}))
        assert reload_managed_mosquitto(registry, workdir) is False
    assert not (workdir / "acl").exists()
