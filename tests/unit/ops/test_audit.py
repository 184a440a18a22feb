"""The audit trail: CloudTrail record fields, the hash chain and signed digests, and
`verify` naming each edited, deleted, inserted or reordered record."""

from __future__ import annotations

import json
import os
import stat
from datetime import datetime, timedelta, timezone

from firesight.ops.audit import AuditTrail, record_hash

FIELDS = {"eventVersion", "eventTime", "eventSource", "eventName", "userIdentity",
          "requestParameters", "responseElements", "eventID", "eventType", "sourceIPAddress",
          "userAgent", "readOnly", "sequence", "previousHash", "hash"}


def _trail(tmp_path, n=6, digest_every=4):
    trail = AuditTrail(tmp_path / "audit", digest_every=digest_every)
    for i in range(n):
        trail.record("RegisterDevice" if i % 2 == 0 else "ApproveModelVersion",
                     "alice" if i < 3 else "bob", {"thing": f"t{i}"}, source="devices")
    return trail


def _lines(trail):
    return trail.log_path.read_text().splitlines()


def _write(trail, lines):
    trail.log_path.write_text("\n".join(lines) + "\n")


def _kinds(report):
    return [(p["kind"], p["sequence"]) for p in report["problems"]]


def test_records_have_cloudtrail_fields_and_a_chain(tmp_path):
    trail = _trail(tmp_path, n=3)
    recs = trail.records()
    assert FIELDS <= set(recs[0])
    assert recs[0]["eventSource"] == "devices.firesight.local"
    assert recs[0]["userIdentity"]["userName"] == "alice"
    assert [r["sequence"] for r in recs] == [1, 2, 3]
    assert recs[1]["previousHash"] == recs[0]["hash"] == record_hash(recs[0])
    assert trail.verify()["ok"]


def test_key_is_private_and_digests_are_signed(tmp_path):
    trail = _trail(tmp_path, n=6, digest_every=4)
    assert stat.S_IMODE(os.stat(trail.key_path).st_mode) == 0o600
    report = trail.verify()
    assert report["ok"] and report["digests"] == 1
    assert report["signed_records"] == 4 and report["unsigned_records"] == 2
    trail.write_digest()
    assert trail.verify()["signed_records"] == 6


def test_edited_record_is_named(tmp_path):
    trail = _trail(tmp_path)
    lines = _lines(trail)
    rec = json.loads(lines[1])
    rec["requestParameters"]["thing"] = "someone-else"
    lines[1] = json.dumps(rec)
    _write(trail, lines)
    assert _kinds(trail.verify()) == [("edited", 2)]


def test_edit_with_recomputed_hash_is_caught_by_the_signed_digest(tmp_path):
    trail = _trail(tmp_path)
    lines = _lines(trail)
    rec = json.loads(lines[2])
    rec["userIdentity"]["userName"] = "mallory"
    rec["hash"] = record_hash(rec)
    lines[2] = json.dumps(rec)
    _write(trail, lines)
    problems = trail.verify()["problems"]
    assert problems[0]["kind"] == "edited" and problems[0]["sequence"] == 3
    assert problems[0]["eventID"] == rec["eventID"]


def test_edit_with_recomputed_hash_after_the_last_digest_breaks_the_chain(tmp_path):
    trail = _trail(tmp_path, n=7)  # 1-4 signed, 5-7 chain only
    lines = _lines(trail)
    rec = json.loads(lines[4])
    rec["requestParameters"] = {"thing": "x"}
    rec["hash"] = record_hash(rec)
    lines[4] = json.dumps(rec)
    _write(trail, lines)
    assert ("edited", 5) in _kinds(trail.verify())


def test_deleted_record_is_named(tmp_path):
    trail = _trail(tmp_path)
    lines = _lines(trail)
    deleted = json.loads(lines[1])
    _write(trail, lines[:1] + lines[2:])
    problems = trail.verify()["problems"]
    assert [(p["kind"], p["sequence"], p["eventID"]) for p in problems] == [("deleted", 2, deleted["eventID"])]


def test_deleted_unsigned_record_in_the_middle_is_named(tmp_path):
    trail = _trail(tmp_path, n=7)
    lines = _lines(trail)
    _write(trail, lines[:5] + lines[6:])  # drop record 6 (unsigned)
    assert _kinds(trail.verify()) == [("deleted", 6)]


def test_inserted_record_is_named(tmp_path):
    trail = _trail(tmp_path)
    lines = _lines(trail)
    forged = json.loads(lines[1])
    forged["eventID"] = "forged"
    forged["hash"] = record_hash(forged)
    _write(trail, lines[:2] + [json.dumps(forged)] + lines[2:])
    assert ("inserted", 2) in _kinds(trail.verify())


def test_reordered_records_are_named(tmp_path):
    trail = _trail(tmp_path)
    lines = _lines(trail)
    lines[1], lines[2] = lines[2], lines[1]
    _write(trail, lines)
    assert _kinds(trail.verify()) == [("reordered", 2)]


def test_a_tampered_digest_fails_its_signature(tmp_path):
    trail = _trail(tmp_path)
    path = sorted(trail.digest_dir.glob("*.json"))[0]
    digest = json.loads(path.read_text())
    digest["records"][0][2] = "0" * 64
    path.write_text(json.dumps(digest))
    assert [p["kind"] for p in trail.verify()["problems"]][0] == "digest_invalid"


def test_list_filters_by_actor_action_and_time(tmp_path):
    trail = _trail(tmp_path)
    assert len(trail.records(actor="alice")) == 3
    assert len(trail.records(action="ApproveModelVersion")) == 3
    assert len(trail.records(actor="bob", action="RegisterDevice")) == 1
    future = datetime.now(timezone.utc) + timedelta(hours=1)
    assert trail.records(since=future) == []
    assert len(trail.records(since=datetime.now(timezone.utc) - timedelta(hours=1))) == 6


def test_cli_verify_exits_1_and_names_the_record(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from firesight.cli import app

    monkeypatch.setenv("FIRESIGHT_HOME", str(tmp_path))
    trail = AuditTrail(tmp_path / "audit")
    for i in range(3):
        trail.record("RevokeDevice", "carol", {"thing": f"d{i}"})
    runner = CliRunner()
    ok = runner.invoke(app, ["audit", "verify"])
    assert ok.exit_code == 0, ok.output
    listed = runner.invoke(app, ["audit", "list", "--actor", "carol", "--since", "1h"])
    assert len(listed.stdout.strip().splitlines()) == 3
    lines = trail.log_path.read_text().splitlines()
    _write(trail, [lines[0], lines[2]])
    bad = runner.invoke(app, ["audit", "verify"])
    assert bad.exit_code == 1
    assert "deleted: record 2" in bad.output
