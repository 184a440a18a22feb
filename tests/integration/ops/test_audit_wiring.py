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
