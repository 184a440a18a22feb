"""API tokens with roles for the HTTP surface (endpoint, dashboard, metrics).

A token reads ``fs_{token_id}_{secret}``: the id finds the record, the secret proves it.
Only the SHA-256 of the secret is stored (the secret is 256 random bits, so a fast hash is
enough: there is nothing to brute-force, as with GitHub's or AWS's access keys); the
plaintext is shown once, at creation. Records live in the :class:`MetadataStore` table
``api_tokens`` with the role, creation and expiry time and revocation.

Roles are ordered ``viewer < operator < admin``: a viewer reads (dashboard, model card,
metrics), an operator also acknowledges and resolves alerts and calls ``/invocations``, an
admin also manages tokens.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from firesight.errors import AccessDeniedError, NotFoundError, require
from firesight.ports import MetadataStore

TABLE = "api_tokens"
ROLES: tuple[str, ...] = ("viewer", "operator", "admin")
_PREFIX = "fs_"


class TokenRefused(AccessDeniedError):
    """A token that does not authenticate (``reason``: missing, malformed, unknown, expired,
    revoked) or whose role is too low (``role``)."""

    def __init__(self, reason: str, message: str):
        self.reason = reason
        super().__init__(message)


@dataclass(frozen=True)
class Principal:
    """Who a request acts as."""

    token_id: str
    name: str
    role: str

    def allows(self, role: str) -> bool:
        return ROLES.index(self.role) >= ROLES.index(role)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class TokenStore:
    """Create, verify, revoke and list API tokens.

    Parameters
    ----------
    store : MetadataStore
        Where the hashed records live.
    clock : callable
        Wall clock [s since epoch] (injected so tests can move time).
    """

    def __init__(self, store: MetadataStore, clock=time.time):
        self.store = store
        self.clock = clock

    def create(self, name: str, role: str, *, ttl_s: float | None = None,
               created_by: str = "") -> tuple[str, dict]:
        """A new token; returns the plaintext (shown once) and the stored record (no secret)."""
        require(role in ROLES, "role", f"one of {ROLES}", role)
        require(bool(name) and len(name) <= 100, "name", "1-100 characters", name)
        require(ttl_s is None or ttl_s > 0, "ttl_s", "> 0 or None (no expiry)", ttl_s)
        token_id = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        now = float(self.clock())
        record = {"token_id": token_id, "name": name, "role": role, "sha256": _digest(secret),
                  "created_at": now, "expires_at": None if ttl_s is None else now + float(ttl_s),
                  "revoked_at": None, "created_by": created_by}
        self.store.put(TABLE, record, key="token_id", if_absent=True)
        return f"{_PREFIX}{token_id}_{secret}", _public(record)

    def verify(self, token: str | None) -> Principal:
        """The principal of ``token``; :class:`TokenRefused` says why not."""
        if not token:
            raise TokenRefused("missing", "no API token (send 'Authorization: Bearer <token>')")
        parts = token.split("_", 2) if token.startswith(_PREFIX) else []
        if len(parts) != 3 or not parts[1] or not parts[2]:
            raise TokenRefused("malformed", "the API token is not of the form fs_<id>_<secret>")
        record = self.store.get(TABLE, parts[1])
        if record is None or not hmac.compare_digest(record["sha256"], _digest(parts[2])):
            raise TokenRefused("unknown", "the API token is not known")
        if record.get("revoked_at") is not None:
            raise TokenRefused("revoked", f"the API token {record['name']!r} was revoked")
        expires = record.get("expires_at")
        if expires is not None and float(self.clock()) >= float(expires):
            raise TokenRefused("expired", f"the API token {record['name']!r} has expired")
        return Principal(record["token_id"], record["name"], record["role"])

    def authorize(self, token: str | None, role: str) -> Principal:
        """:meth:`verify`, then require at least ``role``."""
        principal = self.verify(token)
        if not principal.allows(role):
            raise TokenRefused("role", f"role {principal.role!r} may not do this; needs {role!r}")
        return principal

    def revoke(self, token_id: str) -> dict:
        record = self.store.get(TABLE, token_id)
        if record is None:
            raise NotFoundError(f"no API token with id {token_id!r}")
        if record.get("revoked_at") is None:
            record["revoked_at"] = float(self.clock())
            self.store.put(TABLE, record, key="token_id")
        return _public(record)

    def list(self) -> list[dict]:
        return [_public(r) for r in self.store.query(TABLE)]


def _public(record: dict) -> dict:
    return {k: v for k, v in record.items() if k != "sha256"}
