"""Shadow writers racing from separate processes on one metadata store: two processes
writing the store directly (as ``firesight shadow update`` does without ``--broker``), the
CLI itself, and the shadow service answering a device over MQTT. With conditional writes by
version no update is lost, every accepted version is distinct and increases within each
writer, and the delta reaches the device.

This test found that creating a second store on an open database (``os.open`` / ``os.close``
of the file to set its mode) dropped the process's SQLite locks, so conditional writes of
another process went through on a stale snapshot."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from firesight.adapters.local.metadata import SQLiteMetadataStore
from firesight.iot.ca import CertificateAuthority
from firesight.iot.client import ServiceClient
from firesight.iot.device_registry import DeviceRegistry
from firesight.iot.shadow import ShadowManager, ShadowService
from support.mqtt import Inbox, start_broker

pytestmark = pytest.mark.timeout(180)

THING = "race-node"
N_PER_WRITER = 25
WRITER = """
import json, sys, time
from firesight.adapters.local.metadata import SQLiteMetadataStore
from firesight.iot.shadow import ShadowManager
db, thing, prefix, n, start_at = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
manager = ShadowManager(SQLiteMetadataStore(db))
while time.time() < start_at:
    time.sleep(0.001)
versions = [manager.update(thing, {"state": {"desired": {f"{prefix}{i}": i}}})["accepted"]["version"]
            for i in range(n)]
print(json.dumps({"versions": versions, "conflicts": manager.counts["write_conflicts"]}))
"""


def _cli() -> list[str]:
    exe = Path(sys.executable).with_name("firesight")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "firesight.cli"]


def test_concurrent_writers_from_processes_lose_no_update(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    db = str(home / "metadata.db")
    store = SQLiteMetadataStore(db)
    registry = DeviceRegistry(store, CertificateAuthority(tmp_path / "pki"))
    creds = registry.register_device(THING, site="lab")
    svc = registry.register_service("shadow-service")
    broker = start_broker("embedded", registry)
    client = ServiceClient("shadow-service", broker.url, cert_path=svc.cert_path, key_path=svc.key_path,
                           ca_path=svc.ca_path).connect()
    manager = ShadowManager(SQLiteMetadataStore(db))
    service = ShadowService(manager, client).start()
    from support.mqtt import device_client

    device = device_client({"creds": {THING: creds}}, THING, broker.url).connect()
    inbox = Inbox()
    base = f"$aws/things/{THING}/shadow"
    for suffix in ("update/accepted", "update/rejected", "update/delta", "get/accepted"):
        device.subscribe(f"{base}/{suffix}", inbox, qos=1)
    env = dict(os.environ, FIRESIGHT_HOME=str(home))
    start_at = time.time() + 5.0  # every writer has imported and waits: they start together
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, db, THING, prefix, str(N_PER_WRITER), str(start_at)],
                                stdout=subprocess.PIPE, text=True, env=env) for prefix in ("a", "b")]
    cli = None
    try:
        while time.time() < start_at:
            time.sleep(0.001)
        cli = subprocess.Popen([*_cli(), "shadow", "update", THING, "--set", "cli=1"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        for i in range(N_PER_WRITER):   # the service's writes, racing the processes
            device.publish(f"{base}/update", json.dumps({"state": {"desired": {f"m{i}": i}}}), qos=1)
        results = [json.loads(w.communicate(timeout=120)[0]) for w in writers]
        out, err = cli.communicate(timeout=120)
        assert cli.returncode == 0, err
        accepted = [json.loads(p) for t, p in inbox.wait_count(N_PER_WRITER, 60) if t.endswith("update/accepted")]
        deadline = time.monotonic() + 30
        while len(accepted) < N_PER_WRITER and time.monotonic() < deadline:
            time.sleep(0.05)
            accepted = [json.loads(p) for t, p in inbox.items if t.endswith("update/accepted")]
        assert not any(t.endswith("update/rejected") for t, _ in inbox.items)
        cli_version = json.loads(out)["version"]
        service_versions = [doc["version"] for doc in accepted]
        all_versions = [v for r in results for v in r["versions"]] + service_versions + [cli_version]
        total = 3 * N_PER_WRITER + 1
        repeated = sorted(v for v in set(all_versions) if all_versions.count(v) > 1)
        lost = sorted(set(range(1, total + 1)) - set(all_versions))
        assert not repeated and not lost, (repeated, lost, cli_version)      # none lost, none repeated
        for versions in [r["versions"] for r in results] + [service_versions]:
            assert versions == sorted(versions) and len(set(versions)) == len(versions)
        doc = manager.get(THING)
        desired = doc["state"]["desired"]
        expected = {f"{p}{i}" for p in "abm" for i in range(N_PER_WRITER)} | {"cli"}
        assert set(desired) == expected and doc["version"] == total
        assert sum(r["conflicts"] for r in results) + manager.counts["write_conflicts"] > 0  # they did race
        # the delta reaches the device: the service's last delta and a get both carry every key
        deltas = [json.loads(p) for t, p in inbox.items if t.endswith("update/delta")]
        assert deltas and max(d["version"] for d in deltas) == max(service_versions)
        device.publish(f"{base}/get", b"{}", qos=1)
        assert inbox.wait_for(f"{base}/get/accepted")
        got = json.loads(next(p for t, p in inbox.items if t.endswith("get/accepted")))
        assert set(got["state"]["delta"]) == expected and got["version"] == total
    finally:
        for w in writers:
            if w.poll() is None:
                w.kill()
        if cli is not None and cli.poll() is None:
            cli.kill()
        device.close()
        service.stop()
        client.close()
        broker.stop()
