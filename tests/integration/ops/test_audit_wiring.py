"""Administrative CLI commands leave audit records: a device registered and revoked through
`firesight devices ...` (real registry, CA and SQLite under a temporary home) is in the
trail with its actor and parameters, and the trail verifies."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from firesight.cli import app
from firesight.ops.audit import AuditTrail


def test_device_register_and_revoke_are_audited(tmp_path, monkeypatch):
    monkeypatch.setenv("FIRESIGHT_HOME", str(tmp_path))
    runner = CliRunner()
    r = runner.invoke(app, ["devices", "register", "node-7", "--site", "hq"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["devices", "revoke", "node-7"])
    assert r.exit_code == 0, r.output
    trail = AuditTrail(tmp_path / "audit")
    recs = trail.records()
    assert [x["eventName"] for x in recs] == ["RegisterDevice", "RevokeDevice"]
    assert recs[0]["requestParameters"]["thing"] == "node-7" and recs[0]["requestParameters"]["site"] == "hq"
    assert recs[0]["userIdentity"]["type"] == "LocalUser"
    listed = runner.invoke(app, ["audit", "list", "--action", "RevokeDevice"])
    assert [json.loads(line)["eventName"] for line in listed.stdout.splitlines()] == ["RevokeDevice"]
    assert runner.invoke(app, ["audit", "verify"]).exit_code == 0


def test_alert_ack_and_resolve_from_the_cli_are_audited(tmp_path, monkeypatch):
    from firesight.agents.alert_store import AlertStore
    from firesight.bootstrap import metadata_store
    from firesight.config import load_config

    monkeypatch.setenv("FIRESIGHT_HOME", str(tmp_path))
    store = AlertStore(metadata_store(load_config()))
    store.create_alert({"alert_id": "alert-cli-1", "condition": "n|alarm", "site": "hq", "thing": "n",
                        "signal": "alarm", "level": "alarm", "state": "active", "opened_s": 1.0,
                        "updated_s": 1.0, "history": []})
    runner = CliRunner()
    assert runner.invoke(app, ["alerts", "ack", "alert-cli-1", "--by", "dana"]).exit_code == 0
    assert runner.invoke(app, ["alerts", "resolve", "alert-cli-1", "--by", "dana"]).exit_code == 0
    recs = AuditTrail(tmp_path / "audit").records(actor="dana")
    assert [(r["eventName"], r["requestParameters"]["alert_id"]) for r in recs] == [
        ("AcknowledgeAlert", "alert-cli-1"), ("ResolveAlert", "alert-cli-1")]
