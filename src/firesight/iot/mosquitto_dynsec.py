"""Mosquitto's dynamic-security plugin as the enforcement point of firesight's rights on
Mosquitto, applied to a running broker at once, connected clients included.

Each principal (thing or service) with an ACTIVE certificate is a dynamic-security
*client* (username = certificate CN, as ``use_identity_as_username`` sets it) with one
*role* of the same name holding its policies compiled to ACLs
(:func:`firesight.iot.policy.mosquitto_acl_lines`: ``write`` → ``publishClientSend``,
``read`` → ``publishClientReceive`` + ``subscribePattern``, ``deny`` → all three
denied at a higher priority, checked first). The default access is deny for publish,
receive and subscribe, so an identity that is no client (a revoked, inactive or never
registered certificate) may do nothing; a refused SUBSCRIBE gets SUBACK 0x80.

Changes reach the broker through its ``$CONTROL/dynamic-security/v1`` topic, sent by an
admin identity only firesight holds: a certificate with CN :data:`ADMIN_USERNAME` (a dot,
which no thing or service name may contain, so it cannot be registered), whose role may
publish to and read ``$CONTROL/dynamic-security/#`` and nothing else. :func:`sync_dynsec`
compares the broker's clients and roles (``listClients`` / ``listRoles``) with the
registry and sends the difference; a principal that lost its access, or whose rights or
set of ACTIVE certificates changed (quarantine, a revoked certificate of a thing that has
another), is deleted (``deleteClient`` disconnects its connections at once, as
``disableClient`` would) and, if it keeps access, created again with its new role in the
same message, so it reconnects with the new rights.

Limits of Mosquitto 2.0 with certificate identities (``use_identity_as_username``): it
runs no authentication plugin for them, so the plugin cannot refuse a CONNECT. A
disconnected identity that may no longer connect is kept out by the CRL (revoked,
inactive); a quarantined one (ACTIVE certificate, deny-all policy) and a CA-signed
certificate that was never registered can connect but hold no right.

References
----------
1. Mosquitto 2.0 dynamic security plugin documentation ("Dynamic Security",
   mosquitto.org/documentation/dynamic-security): config file format, ``defaultACLAccess``,
   ACL types and priorities, the ``$CONTROL/dynamic-security/v1`` commands
   (``listClients``, ``listRoles``, ``createRole``, ``createClient``, ``deleteClient``,
   ``deleteRole``) and their ``/response`` topic.
2. ``mosquitto_ctrl(1)``: the same commands from a shell.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import glob
import hashlib
import json
import os
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509

from firesight.errors import FiresightError
from firesight.iot.policy import ConnectionContext, mosquitto_acl_lines
from firesight.iot.device_registry import DeviceRegistry

#: The admin identity's certificate CN, dynamic-security username and role name. Thing
#: and service names are ``[a-zA-Z0-9:_-]``, so no registered principal can be it.
ADMIN_USERNAME = "firesight.broker-admin"
CONTROL_TOPIC = "$CONTROL/dynamic-security/v1"
RESPONSE_TOPIC = f"{CONTROL_TOPIC}/response"
PLUGIN_FILE = "mosquitto_dynamic_security.so"
#: Default access for identities no role grants anything: deny (unsubscribing is harmless).
DEFAULT_ACL_ACCESS = {"publishClientSend": False, "publishClientReceive": False, "subscribe": False,
                      "unsubscribe": True}
#: Largest command message sent at once [bytes] (Mosquitto's max_packet_size is 129 KB).
MAX_COMMAND_MESSAGE_BYTES = 64 * 1024
#: Priorities: a deny is checked before every grant of the same role.
DENY_PRIORITY, ALLOW_PRIORITY = 1, 0
#: An admin certificate closer than this to its end is replaced [days].
ADMIN_CERT_RENEW_DAYS = 7

_ADMIN_ACLS = [{"acltype": t, "topic": "$CONTROL/dynamic-security/#", "priority": ALLOW_PRIORITY, "allow": True}
               for t in ("publishClientSend", "publishClientReceive", "subscribePattern")]
_KINDS = {"write": ("publishClientSend",), "read": ("publishClientReceive", "subscribePattern"),
          "readwrite": ("publishClientSend", "publishClientReceive", "subscribePattern"),
          "deny": ("publishClientSend", "publishClientReceive", "subscribePattern")}


def find_dynsec_plugin() -> str | None:
    """Path of ``mosquitto_dynamic_security.so`` (Debian/Ubuntu's ``mosquitto`` package
    ships it in the multiarch library folder), None if not installed."""
    for pattern in (f"/usr/lib/*/{PLUGIN_FILE}", f"/usr/lib/{PLUGIN_FILE}", f"/usr/lib64/{PLUGIN_FILE}",
                    f"/usr/local/lib/{PLUGIN_FILE}", f"/usr/local/lib/*/{PLUGIN_FILE}"):
        for path in sorted(glob.glob(pattern)):
            if os.access(path, os.R_OK):
                return path
    return None


@dataclass(frozen=True)
class Grant:
    """What one principal may do: its ACL lines (``topic deny|write|read|readwrite T``)
    and a digest of its ACTIVE certificate ids (a change of either cuts it off)."""

    lines: tuple[str, ...]
    certificates: str

    @property
    def acls(self) -> list[dict[str, Any]]:
        """The lines as dynamic-security ACLs."""
        out = []
        for line in self.lines:
            _, kind, topic = line.split(" ", 2)
            allow = kind != "deny"
            out += [{"acltype": t, "topic": topic, "priority": ALLOW_PRIORITY if allow else DENY_PRIORITY,
                     "allow": allow} for t in _KINDS[kind]]
        return out

    @property
    def description(self) -> str:
        return f"firesight certificates {self.certificates}"


def principal_grants(registry: DeviceRegistry) -> dict[str, Grant]:
    """One :class:`Grant` per principal with an ACTIVE certificate, compiled from the
    policies attached to its ACTIVE certificates (principals without one are absent)."""
    by_principal: dict[str, list[str]] = {}
    for cert in registry.list_certificates(status="ACTIVE"):
        by_principal.setdefault(cert["principal"], []).append(cert["certificate_id"])
    grants = {}
    for principal in sorted(by_principal):
        policies, ctx = [], ConnectionContext(client_id=principal)
        for cid in by_principal[principal]:
            ident = registry.resolve_identity(cid)
            if ident is None:
                continue
            policies.extend(ident.policies)
            if ident.principal_type == "thing":
                ctx = ConnectionContext(client_id=principal, thing_name=principal, thing_type=ident.thing_type,
                                        attributes=ident.attributes)
        digest = hashlib.sha256("\n".join(sorted(by_principal[principal])).encode()).hexdigest()[:16]
        grants[principal] = Grant(tuple(mosquitto_acl_lines(policies, ctx)), digest)
    return grants


def _role(name: str, grant: Grant) -> dict[str, Any]:
    return {"rolename": name, "textdescription": grant.description, "acls": grant.acls}


def dynsec_config(registry: DeviceRegistry) -> dict[str, Any]:
    """The plugin's configuration file: the admin identity and one client and role per
    principal with an ACTIVE certificate; default access deny."""
    grants = principal_grants(registry)
    return {
        "defaultACLAccess": dict(DEFAULT_ACL_ACCESS),
        "clients": [{"username": ADMIN_USERNAME, "roles": [{"rolename": ADMIN_USERNAME}]},
                    *({"username": p, "roles": [{"rolename": p}]} for p in grants)],
        "groups": [],
        "roles": [{"rolename": ADMIN_USERNAME, "acls": list(_ADMIN_ACLS)},
                  *(_role(p, g) for p, g in grants.items())],
    }


# ---------------------------------------------------------------------------- admin identity
def ensure_admin_certificate(ca: Any, folder: Path) -> tuple[Path, Path]:
    """The admin identity's certificate and key in ``folder`` (0700; key 0600), issued by
    the project CA when missing, not from this CA, or within
    :data:`ADMIN_CERT_RENEW_DAYS` of its end. Returns ``(cert_path, key_path)``."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    cert_path, key_path = folder / "admin.pem", folder / "admin.key"
    with contextlib.suppress(OSError, ValueError):
        if key_path.exists():
            cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
            left = cert.not_valid_after_utc - dt.datetime.now(dt.timezone.utc)
            cn = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
            if (cn and cn[0].value == ADMIN_USERNAME and ca.verify(cert)
                    and left > dt.timedelta(days=ADMIN_CERT_RENEW_DAYS)):
                return cert_path, key_path
    # CertificateAuthority's public issuers take thing and service names only; the admin's
    # name is deliberately outside that set, so it goes through the CA's general issuer
    ca._issue(ADMIN_USERNAME, cert_path=cert_path, key_path=key_path)  # noqa: SLF001
    return cert_path, key_path


# ---------------------------------------------------------------------------- control channel
class DynsecError(FiresightError):
    """The broker answered a dynamic-security command with an error, or not at all."""


class DynsecAdmin:
    """A short-lived admin connection to one Mosquitto's dynamic-security plugin.

    Firesight processes take turns through an exclusive lock on ``lock_path`` (Mosquitto
    sets the client id to the CN, so two admin connections at once would take over each
    other). Use as a context manager; :meth:`run` sends commands and returns the answers.

    Parameters
    ----------
    url : str
        ``mqtts://host:port`` of the broker (a loopback address where it listens on all).
    cert_path, key_path, ca_path : Path
        The admin certificate and key (:func:`ensure_admin_certificate`), the project CA.
    lock_path : Path
        Lock file shared by every process administering this broker.
    timeout_s : float
        Connection and per-message answer timeout [s].
    """

    def __init__(self, url: str, *, cert_path: Path | str, key_path: Path | str, ca_path: Path | str,
                 lock_path: Path | str, timeout_s: float = 10.0):
        self.url = url
        self.cert_path, self.key_path, self.ca_path = cert_path, key_path, ca_path
        self.lock_path = Path(lock_path)
        self.timeout_s = timeout_s
        self._client: Any = None
        self._lock_fd: int | None = None
        self._answers: dict[str, dict[str, Any]] = {}
        self._cond = threading.Condition()

    def __enter__(self) -> "DynsecAdmin":
        from firesight.iot.client import MqttClient

        fd = os.open(self.lock_path, os.O_CREAT | os.O_RDWR, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        self._lock_fd = fd
        try:
            self._client = MqttClient(ADMIN_USERNAME, self.url, cert_path=self.cert_path, key_path=self.key_path,
                                      ca_path=self.ca_path).connect(timeout_s=self.timeout_s)
            self._client.subscribe(RESPONSE_TOPIC, self._on_response, qos=1, timeout_s=self.timeout_s)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close(flush_timeout_s=self.timeout_s)
        fd, self._lock_fd = self._lock_fd, None
        if fd is not None:
            os.close(fd)  # releases the lock

    def _on_response(self, topic: str, payload: bytes) -> None:
        try:
            answers = json.loads(payload).get("responses") or []
        except (ValueError, AttributeError):
            return
        with self._cond:
            for a in answers:
                if isinstance(a, dict) and isinstance(a.get("correlationData"), str):
                    self._answers[a["correlationData"]] = a
            self._cond.notify_all()

    def run(self, commands: list[dict[str, Any]], *, tolerate: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        """Send ``commands`` (in messages of at most :data:`MAX_COMMAND_MESSAGE_BYTES`,
        each executed in order by the broker) and return one answer per command.

        Raises
        ------
        DynsecError
            An answer carries an error not listed in ``tolerate``, or none came in time.
        """
        if self._client is None:
            raise FiresightError("DynsecAdmin.run outside its `with` block")
        tagged = [dict(c, correlationData=uuid.uuid4().hex) for c in commands]
        answers: list[dict[str, Any]] = []
        for batch in _batches(tagged):
            self._client.publish(CONTROL_TOPIC, json.dumps({"commands": batch}), qos=1, wait_s=self.timeout_s)
            ids = [c["correlationData"] for c in batch]
            with self._cond:
                if not self._cond.wait_for(lambda: all(i in self._answers for i in ids), self.timeout_s):
                    raise DynsecError(f"no answer from {self.url} to {[c['command'] for c in batch]} "
                                      f"within {self.timeout_s} s")
                answers += [self._answers.pop(i) for i in ids]
        for command, answer in zip(tagged, answers):
            error = answer.get("error")
            if error and error not in tolerate:
                raise DynsecError(f"{command['command']} {command.get('username') or command.get('rolename') or ''}"
                                  f" refused by {self.url}: {error}")
        return answers


def _batches(commands: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    size = 0
    for c in commands:
        n = len(json.dumps(c)) + 2
        if batch and size + n > MAX_COMMAND_MESSAGE_BYTES:
            yield batch
            batch, size = [], 0
        batch.append(c)
        size += n
    if batch:
        yield batch


# ---------------------------------------------------------------------------- sync
@dataclass
class SyncReport:
    """What :func:`sync_dynsec` changed: principals given access, principals cut off (their
    connections closed) that keep access with new rights, and principals removed."""

    created: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    @property
    def disconnected(self) -> list[str]:
        """Principals whose connections the broker closed."""
        return sorted(self.replaced + self.removed)


def _acl_key(acls: list[dict[str, Any]]) -> list[tuple[str, str, int, bool]]:
    return sorted((a["acltype"], a["topic"], int(a.get("priority", 0)), bool(a["allow"])) for a in acls)


def plan_sync(clients: dict[str, list[str]], roles: dict[str, dict[str, Any]],
              grants: dict[str, Grant]) -> tuple[list[dict[str, Any]], SyncReport]:
    """The commands that turn the broker's ``clients`` (username → role names) and
    ``roles`` (name → ``listRoles`` entry) into ``grants``: deletions first (a deleted
    client is disconnected), then creations."""
    report = SyncReport()
    deletes: list[dict[str, Any]] = []
    creates: list[dict[str, Any]] = []
    for user in sorted(clients):
        if user != ADMIN_USERNAME and user not in grants:
            deletes.append({"command": "deleteClient", "username": user})
            report.removed.append(user)
    for name in sorted(roles):
        if name != ADMIN_USERNAME and name not in grants:
            deletes.append({"command": "deleteRole", "rolename": name})
    for user, grant in grants.items():
        role = roles.get(user)
        if (user in clients and clients[user] == [user] and role is not None
                and role.get("textdescription") == grant.description
                and _acl_key(role.get("acls") or []) == _acl_key(grant.acls)):
            continue
        if user in clients:
            deletes.append({"command": "deleteClient", "username": user})
            report.replaced.append(user)
        else:
            report.created.append(user)
        if role is not None:
            deletes.append({"command": "deleteRole", "rolename": user})
        creates += [{"command": "createRole", **_role(user, grant)},
                    {"command": "createClient", "username": user, "roles": [{"rolename": user}]}]
    return deletes + creates, report


def sync_dynsec(admin: DynsecAdmin, registry: DeviceRegistry) -> SyncReport:
    """Make the broker's clients and roles those of the registry (see :func:`plan_sync`);
    connections of principals that lost access or changed rights are closed at once."""
    listed = admin.run([{"command": "listClients", "verbose": True, "count": -1, "offset": 0},
                        {"command": "listRoles", "verbose": True, "count": -1, "offset": 0}])
    clients = {c["username"]: [r["rolename"] for r in c.get("roles") or []]
               for c in listed[0].get("data", {}).get("clients", [])}
    roles = {r["rolename"]: r for r in listed[1].get("data", {}).get("roles", [])}
    commands, report = plan_sync(clients, roles, principal_grants(registry))
    if commands:
        # a client or role gone already (another process got there first) is no failure
        admin.run(commands, tolerate=("Client not found", "Role not found"))
    return report
