"""Tamper-evident audit trail of administrative actions, after AWS CloudTrail.

Records carry CloudTrail's record fields (``eventVersion``, ``eventTime``, ``eventSource``,
``eventName``, ``userIdentity``, ``sourceIPAddress``, ``userAgent``, ``requestParameters``,
``responseElements``, ``eventID``, ``eventType``, ``readOnly``, ``recipientAccountId``) plus
the chain: ``sequence`` (1, 2, ...), ``previousHash`` and ``hash`` (SHA-256 of the record's
canonical JSON without ``hash``). They are appended, one JSON line each, to
``{home}/audit/trail.jsonl`` under an exclusive file lock, and fsynced.

Digest files, as CloudTrail log file integrity validation writes them: every
``digest_every`` records (and on :meth:`AuditTrail.write_digest`) a JSON digest in
``{home}/audit/digests/`` lists the ``[sequence, eventID, hash]`` of each record since the
previous digest, the digest's time range, and the previous digest's signature, and is signed
with an Ed25519 key (``{home}/audit/audit-signing-key.pem``, created 0600; the public key is
beside it). :meth:`AuditTrail.verify` checks the signatures and the digest chain, then every
record against the chain and the signed hashes, and names each record that was edited,
deleted, inserted or moved. As with CloudTrail, records written after the newest digest
are protected by the hash chain only until the next digest signs them.

References
----------
1. AWS CloudTrail User Guide, "CloudTrail record contents" and "Validating CloudTrail log
   file integrity" (digest files, ``previousDigestSignature``, SHA-256 with RSA there;
   Ed25519 here).
"""

from __future__ import annotations

import base64
import fcntl
import getpass
import hashlib
import json
import os
import socket
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from firesight._atomic import write_bytes_atomic
from firesight.errors import DataError
from firesight.ops import metrics

EVENT_VERSION = "1.09"
DIGEST_VERSION = "1.0"
_GENESIS = "0" * 64


def _canonical(obj: dict) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False, default=str).encode()


def record_hash(record: dict) -> str:
    """SHA-256 of ``record`` without its ``hash`` field (canonical JSON)."""
    return hashlib.sha256(_canonical({k: v for k, v in record.items() if k != "hash"})).hexdigest()


def _now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def local_identity() -> dict:
    """The CloudTrail ``userIdentity`` of whoever runs this process on this machine."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = f"uid-{os.getuid()}"
    return {"type": "LocalUser", "principalId": f"{socket.gethostname()}:{user}", "userName": user}


@dataclass(frozen=True)
class Problem:
    """One finding of :meth:`AuditTrail.verify`."""

    kind: str       # edited, deleted, inserted, reordered, malformed, digest_invalid, digest_missing
    sequence: int | None
    event_id: str | None
    detail: str

    def to_dict(self) -> dict:
        return {"kind": self.kind, "sequence": self.sequence, "eventID": self.event_id,
                "detail": self.detail}


class AuditTrail:
    """Append, sign and verify the audit trail under ``root`` (``{home}/audit``)."""

    def __init__(self, root: str | os.PathLike, *, digest_every: int = 100):
        self.root = Path(root)
        self.log_path = self.root / "trail.jsonl"
        self.digest_dir = self.root / "digests"
        self.key_path = self.root / "audit-signing-key.pem"
        self.public_key_path = self.root / "audit-signing-key.pub.pem"
        self.digest_every = int(digest_every)

    # -- keys --------------------------------------------------------------------------
    def _private_key(self):
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        if not self.key_path.exists():
            self.root.mkdir(parents=True, exist_ok=True)
            key = Ed25519PrivateKey.generate()
            pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
            try:
                fd = os.open(self.key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                return self._private_key()
            with os.fdopen(fd, "wb") as fh:
                fh.write(pem)
            pub = key.public_key().public_bytes(serialization.Encoding.PEM,
                                                serialization.PublicFormat.SubjectPublicKeyInfo)
            write_bytes_atomic(self.public_key_path, pub)
            return key
        return serialization.load_pem_private_key(self.key_path.read_bytes(), password=None)

    def _public_key(self):
        from cryptography.hazmat.primitives import serialization

        if not self.public_key_path.exists():
            raise DataError(f"{self.public_key_path}: the audit public key is missing")
        return serialization.load_pem_public_key(self.public_key_path.read_bytes())

    # -- writing -----------------------------------------------------------------------
    @contextmanager
    def _locked(self):
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def record(self, action: str, actor: dict | str | None = None, params: dict | None = None, *,
               response: dict | None = None, source: str = "firesight", source_ip: str = "",
               user_agent: str = "firesight-cli") -> dict:
        """Append one record of an administrative action; return it.

        Parameters
        ----------
        action : str
            ``eventName`` (e.g. ``RegisterDevice``, ``ApproveModelVersion``).
        actor : dict or str, optional
            ``userIdentity`` (a dict), a user name, or None for the local user.
        params : dict, optional
            ``requestParameters``.
        response : dict, optional
            ``responseElements``.
        source : str
            Area of firesight (``eventSource`` becomes ``{source}.firesight.local``).
        """
        if isinstance(actor, str):
            identity = {"type": "FiresightUser", "principalId": actor, "userName": actor}
        else:
            identity = actor or local_identity()
        with self._locked():
            last = self._last_record()
            record = {
                "eventVersion": EVENT_VERSION, "eventTime": _now_iso(),
                "eventSource": f"{source}.firesight.local", "eventName": action,
                "awsRegion": "local", "sourceIPAddress": source_ip or "127.0.0.1",
                "userAgent": user_agent, "userIdentity": identity,
                "requestParameters": params or {}, "responseElements": response,
                "eventID": str(uuid.uuid4()), "eventType": "FiresightAdminAction",
                "readOnly": False, "recipientAccountId": "local",
                "sequence": (last["sequence"] + 1) if last else 1,
                "previousHash": last["hash"] if last else _GENESIS,
            }
            record["hash"] = record_hash(record)
            line = _canonical(record) + b"\n"
            fd = os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)
            metrics.AUDIT_RECORDS.labels(action=action).inc()
            if record["sequence"] - self._last_digested() >= self.digest_every:
                self._write_digest_locked()
        return record

    def _last_record(self) -> dict | None:
        if not self.log_path.exists() or self.log_path.stat().st_size == 0:
            return None
        with open(self.log_path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            block = b""
            pos = size
            while pos > 0 and block.count(b"\n") < 2:
                step = min(4096, pos)
                pos -= step
                fh.seek(pos)
                block = fh.read(step) + block
        line = block.rstrip(b"\n").split(b"\n")[-1]
        try:
            return json.loads(line)
        except ValueError as exc:
            raise DataError(f"{self.log_path}: the last record is not JSON ({exc}); run "
                            "`firesight audit verify`") from None

    def _digests(self) -> list[dict]:
        if not self.digest_dir.exists():
            return []
        out = []
        for path in sorted(self.digest_dir.glob("*.json")):
            try:
                out.append({"path": path, **json.loads(path.read_text())})
            except ValueError:
                out.append({"path": path, "unreadable": True})
        return out

    def _last_digested(self) -> int:
        digests = [d for d in self._digests() if not d.get("unreadable")]
        return max((d["lastSequence"] for d in digests), default=0)

    def write_digest(self) -> Path | None:
        """Sign a digest of the records since the previous digest (None if there are none)."""
        with self._locked():
            return self._write_digest_locked()

    def _write_digest_locked(self) -> Path | None:
        records = [r for r in self._read_records()[0] if isinstance(r, dict)]
        digests = [d for d in self._digests() if not d.get("unreadable")]
        previous = digests[-1] if digests else None
        start = previous["lastSequence"] if previous else 0
        new = [r for r in records if r.get("sequence", 0) > start]
        if not new:
            return None
        digest = {
            "digestVersion": DIGEST_VERSION,
            "digestStartTime": new[0]["eventTime"], "digestEndTime": new[-1]["eventTime"],
            "digestCreatedTime": _now_iso(),
            "firstSequence": new[0]["sequence"], "lastSequence": new[-1]["sequence"],
            "lastHash": new[-1]["hash"], "logFile": self.log_path.name,
            "records": [[r["sequence"], r["eventID"], r["hash"]] for r in new],
            "previousDigestSignature": previous["digestSignature"] if previous else None,
            "digestSignatureAlgorithm": "Ed25519",
        }
        signature = self._private_key().sign(_canonical(digest))
        digest["digestSignature"] = base64.b64encode(signature).decode()
        self.digest_dir.mkdir(parents=True, exist_ok=True)
        path = self.digest_dir / f"{digest['lastSequence']:010d}.json"
        write_bytes_atomic(path, json.dumps(digest, indent=1, sort_keys=True).encode())
        return path

    # -- reading -----------------------------------------------------------------------
    def _read_records(self) -> tuple[list, list[Problem]]:
        records, problems = [], []
        if not self.log_path.exists():
            return records, problems
        for n, line in enumerate(self.log_path.read_bytes().split(b"\n"), start=1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                if not isinstance(rec, dict):
                    raise ValueError("not an object")
                records.append(rec)
            except ValueError as exc:
                problems.append(Problem("malformed", None, None, f"line {n} is not a record ({exc})"))
        return records, problems

    def records(self, *, actor: str | None = None, action: str | None = None,
                since: datetime | None = None) -> list[dict]:
        """Records (oldest first) filtered by actor (user name or principal id), action
        (``eventName``) and time (``eventTime`` at or after ``since``)."""
        out = []
        for rec in self._read_records()[0]:
            ident = rec.get("userIdentity") or {}
            if actor and actor not in (ident.get("userName"), ident.get("principalId")):
                continue
            if action and rec.get("eventName") != action:
                continue
            if since is not None and _parse_time(rec.get("eventTime", "")) < since:
                continue
            out.append(rec)
        return out

    def verify(self) -> dict:
        """Check signatures, the digest chain, the hash chain and every record; name each
        problem. Returns ``{"ok", "records", "digests", "signed_records", "unsigned_records",
        "problems": [...]}``."""
        from cryptography.exceptions import InvalidSignature

        records, problems = self._read_records()
        digests = self._digests()
        signed: dict[int, tuple[str, str]] = {}
        previous_sig = None
        public = self._public_key() if digests else None
        last_signed = 0
        for d in digests:
            name = d["path"].name
            if d.get("unreadable"):
                problems.append(Problem("digest_invalid", None, None, f"digest {name} is not JSON"))
                continue
            body = {k: v for k, v in d.items() if k not in ("path", "digestSignature")}
            try:
                public.verify(base64.b64decode(d.get("digestSignature", "")), _canonical(body))
            except (InvalidSignature, ValueError):
                problems.append(Problem("digest_invalid", None, None,
                                        f"digest {name}: signature does not verify"))
                continue
            if d.get("previousDigestSignature") != previous_sig or d["firstSequence"] != last_signed + 1:
                problems.append(Problem("digest_missing", d["firstSequence"], None,
                                        f"digest {name} does not follow the previous digest "
                                        f"(a digest file was deleted or replaced)"))
            previous_sig = d["digestSignature"]
            last_signed = max(last_signed, d["lastSequence"])
            for seq, event_id, h in d["records"]:
                signed[int(seq)] = (event_id, h)
        seen: dict[int, dict] = {}
        prev_seq = 0
        for rec in records:
            seq, eid = rec.get("sequence"), rec.get("eventID")
            if not isinstance(seq, int):
                problems.append(Problem("malformed", None, eid, "record has no sequence number"))
                continue
            if seq in seen:
                problems.append(Problem("inserted", seq, eid, f"a second record with sequence {seq}"))
                continue
            if seq < prev_seq:
                problems.append(Problem("reordered", seq, eid,
                                        f"record {seq} stands after record {prev_seq}"))
            prev_seq = max(prev_seq, seq)
            if record_hash(rec) != rec.get("hash"):
                problems.append(Problem("edited", seq, eid, "content does not match its hash"))
            elif seq in signed and signed[seq] != (eid, rec["hash"]):
                problems.append(Problem("edited", seq, eid, "differs from the signed digest "
                                        "(the record and its hash were rewritten)"))
            elif seq not in signed and seq <= last_signed:
                problems.append(Problem("inserted", seq, eid, "not in the signed digest that "
                                        "covers its sequence number"))
            seen[seq] = rec
        for seq, (eid, _h) in sorted(signed.items()):
            if seq not in seen:
                problems.append(Problem("deleted", seq, eid, "in a signed digest but not in the log"))
        for seq, rec in sorted(seen.items()):
            expected = seen[seq - 1]["hash"] if seq - 1 in seen else (_GENESIS if seq == 1 else None)
            if expected is None:
                if not any(p.sequence == seq - 1 and p.kind == "deleted" for p in problems):
                    problems.append(Problem("deleted", seq - 1, None,
                                            f"record {seq - 1} is missing before record {seq}"))
            elif rec.get("previousHash") != expected and not any(
                    p.sequence in (seq, seq - 1) for p in problems):
                problems.append(Problem("edited", seq - 1, seen[seq - 1].get("eventID"),
                                        f"the chain breaks between records {seq - 1} and {seq}"))
        problems.sort(key=lambda p: (p.sequence is None, p.sequence or 0, p.kind))
        return {"ok": not problems, "records": len(records), "digests": len(digests),
                "signed_records": len(signed), "unsigned_records": sum(1 for s in seen if s > last_signed),
                "problems": [p.to_dict() for p in problems]}


def _parse_time(text: str) -> datetime:
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    except ValueError:
        return datetime.min.replace(tzinfo=timezone.utc)


def default_trail(config=None) -> AuditTrail:
    """The trail under the firesight home (``{home}/audit``)."""
    from firesight.config import load_config

    cfg = (config or load_config()).resolved()
    return AuditTrail(Path(cfg.home) / "audit")


def record(action: str, actor: dict | str | None = None, params: dict | None = None, **kwargs) -> dict:
    """Append an audit record to the default trail (see :meth:`AuditTrail.record`).

    ``firesight.ops.audit.record("RevokeDevice", None, {"thing": name})`` from a CLI command
    records the local user as the actor.
    """
    return default_trail().record(action, actor, params, **kwargs)
