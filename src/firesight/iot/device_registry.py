"""Device registry like AWS IoT Core's: thing types, things with attributes, X.509
certificates with AWS states (ACTIVE, INACTIVE, REVOKED), policies attached to
certificates. Stored behind :class:`firesight.ports.MetadataStore` (SQLite locally,
DynamoDB at scale).

Tables (partition key in brackets): ``iot_thing_types`` [name], ``iot_things``
[thing_name], ``iot_certificates`` [certificate_id], ``iot_policies`` [policy_name].

References
----------
1. AWS IoT Core API reference: CreateThingType, CreateThing, DescribeThing,
   UpdateCertificate (ACTIVE | INACTIVE | REVOKED), AttachPolicy, CreatePolicy.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from firesight.errors import ConflictError, InvalidParameterError, NotFoundError
from firesight.iot.policy import BUILTIN_POLICIES, DEFAULT_DEVICE_POLICY_NAME, SERVICE_POLICY_NAME, Policy
from firesight.iot.topics import validate_name
from firesight.ports import MetadataStore

if TYPE_CHECKING:
    from firesight.iot.ca import CertificateAuthority, IssuedCertificate

THING_TYPES, THINGS, CERTIFICATES, POLICIES = "iot_thing_types", "iot_things", "iot_certificates", "iot_policies"
CERTIFICATE_STATES = ("ACTIVE", "INACTIVE", "REVOKED")
#: The Lepton 3.5 + SCD41 node; ``site`` is required because device topics and the
#: default policy use it.
DEFAULT_THING_TYPE = "lepton35-scd41-node"
DEFAULT_THING_TYPES = {
    DEFAULT_THING_TYPE: {"description": "FLIR Lepton 3.5 radiometric camera + Sensirion SCD41 CO2/T/RH",
                         "searchable_attributes": ["site", "room", "mounting_height_m"]},
}


log = logging.getLogger(__name__)

#: AWS IoT attribute values: ``[a-zA-Z0-9_.,@/:#=\[\]-]*``, at most 800 characters; here
#: without ``#`` (an MQTT wildcard: a value substituted into a Mosquitto ACL topic must
#: not widen it). No whitespace or control character can reach a generated file.
_ATTRIBUTE_VALUE_RE = re.compile(r"[a-zA-Z0-9_.,@/:=\[\]-]{0,800}")


def validate_attribute_value(name: str, value: object) -> str:
    """The attribute value as the string stored, or :class:`InvalidParameterError`."""
    text = str(value)
    if not _ATTRIBUTE_VALUE_RE.fullmatch(text):
        raise InvalidParameterError(f"attribute {name!r}", "at most 800 characters of [a-zA-Z0-9_.,@/:=[]-] "
                                    "(no spaces, control characters or MQTT wildcards)", text)
    return text


def _now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True)
class DeviceCredentials:
    """What ``register_device`` hands back: where the device's files are."""

    thing_name: str
    certificate_id: str
    cert_path: str
    key_path: str
    ca_path: str


@dataclass(frozen=True)
class Identity:
    """A certificate resolved for a connection: status, principal and attached policies."""

    certificate_id: str
    status: str
    principal: str               # thing name or service name
    principal_type: str          # "thing" or "service"
    policies: tuple[Policy, ...]
    thing_type: str | None = None
    attributes: Mapping[str, str] = field(default_factory=dict)


class DeviceRegistry:
    """Things, thing types, certificates and policies; thread-safe within one process.

    Parameters
    ----------
    store : MetadataStore
        Where items live.
    ca : CertificateAuthority, optional
        Needed to issue certificates and to keep the CRL file current.
    """

    def __init__(self, store: MetadataStore, ca: CertificateAuthority | None = None):
        self.store = store
        self.ca = ca
        self._lock = threading.RLock()
        self._generation = 0
        self._access_listeners: list[Callable[[DeviceRegistry], object]] = []
        self._slot_locks: list[int] = []

    @property
    def generation(self) -> int:
        """Increases on every change made through this object (for caches)."""
        return self._generation

    def add_access_listener(self, callback: Callable[[DeviceRegistry], object]) -> None:
        """Call ``callback(registry)`` after every change of who may do what (certificate
        states, policies, attachments, thing attributes): e.g. to reload a running
        Mosquitto's ACL and CRL. A failing callback is logged, not raised."""
        self._access_listeners.append(callback)

    def _changed(self) -> None:
        self._generation += 1
        for callback in list(self._access_listeners):
            try:
                callback(self)
            except Exception:  # the registry change itself has happened; report, go on
                log.exception("registry access listener failed")

    # ------------------------------------------------------------------ thing types
    def create_thing_type(self, name: str, *, description: str = "",
                          searchable_attributes: list[str] | tuple[str, ...] = ()) -> dict[str, Any]:
        validate_name(name, "thing_type")
        item = {"name": name, "description": description,
                "searchable_attributes": list(searchable_attributes), "deprecated": False,
                "created_ms": _now_ms()}
        self.store.put(THING_TYPES, item, key="name", if_absent=True)
        return item

    def describe_thing_type(self, name: str) -> dict[str, Any]:
        item = self.store.get(THING_TYPES, name)
        if item is None:
            if name in DEFAULT_THING_TYPES:
                try:
                    return self.create_thing_type(name, **DEFAULT_THING_TYPES[name])
                except ConflictError:
                    return self.describe_thing_type(name)
            raise NotFoundError(f"thing type {name!r} does not exist")
        return item

    def list_thing_types(self) -> list[dict[str, Any]]:
        return self.store.query(THING_TYPES)

    # ------------------------------------------------------------------ things
    def create_thing(self, thing_name: str, *, thing_type: str | None = DEFAULT_THING_TYPE,
                     attributes: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Create a thing; attributes are strings (AWS stores them as strings).

        Raises ConflictError if it exists.
        """
        validate_name(thing_name)
        attrs = {str(k): validate_attribute_value(str(k), v) for k, v in (attributes or {}).items()}
        for k in attrs:
            validate_name(k, "attribute name")
        if "site" in attrs:
            validate_name(attrs["site"], "site")
        if thing_type is not None:
            self.describe_thing_type(thing_type)
        item = {"thing_name": thing_name, "thing_type": thing_type, "attributes": attrs, "version": 1,
                "created_ms": _now_ms()}
        with self._lock:
            self.store.put(THINGS, item, key="thing_name", if_absent=True)
            self._changed()
        return item

    def describe_thing(self, thing_name: str) -> dict[str, Any]:
        item = self.store.get(THINGS, thing_name)
        if item is None:
            raise NotFoundError(f"thing {thing_name!r} does not exist")
        return item

    def list_things(self, *, thing_type: str | None = None) -> list[dict[str, Any]]:
        return self.store.query(THINGS, where={"thing_type": thing_type} if thing_type else None)

    def update_thing_attributes(self, thing_name: str, attributes: Mapping[str, Any]) -> dict[str, Any]:
        """Merge attributes (a None value deletes one)."""
        with self._lock:
            item = self.describe_thing(thing_name)
            for k, v in attributes.items():
                if v is None:
                    item["attributes"].pop(k, None)
                else:
                    item["attributes"][validate_name(str(k), "attribute name")] = validate_attribute_value(str(k), v)
            item["version"] += 1
            self.store.put(THINGS, item, key="thing_name")
            self._changed()
        return item

    def delete_thing(self, thing_name: str) -> None:
        """Delete a thing that has no certificate attached (as AWS requires)."""
        with self._lock:
            self.describe_thing(thing_name)
            if self.list_certificates(thing_name=thing_name):
                raise ConflictError(f"thing {thing_name!r} still has certificates attached")
            self.store.delete(THINGS, thing_name)
            self._changed()

    # ------------------------------------------------------------------ policies
    def put_policy(self, policy_name: str, document: Mapping[str, Any] | str) -> Policy:
        """Create or replace a policy (validated by parsing)."""
        validate_name(policy_name, "policy_name")
        policy = Policy(policy_name, document)
        with self._lock:
            self.store.put(POLICIES, {"policy_name": policy_name, "document": policy.document,
                                      "updated_ms": _now_ms()}, key="policy_name")
            self._changed()
        return policy

    def get_policy(self, policy_name: str) -> Policy:
        item = self.store.get(POLICIES, policy_name)
        if item is not None:
            return Policy(policy_name, item["document"])
        if policy_name in BUILTIN_POLICIES:
            return Policy(policy_name, BUILTIN_POLICIES[policy_name])
        raise NotFoundError(f"policy {policy_name!r} does not exist")

    def list_policies(self) -> list[str]:
        return sorted({i["policy_name"] for i in self.store.query(POLICIES)} | set(BUILTIN_POLICIES))

    def attach_policy(self, policy_name: str, certificate_id: str) -> None:
        self.get_policy(policy_name)
        with self._lock:
            cert = self.describe_certificate(certificate_id)
            if policy_name not in cert["policies"]:
                cert["policies"].append(policy_name)
                self.store.put(CERTIFICATES, cert, key="certificate_id")
                self._changed()

    def detach_policy(self, policy_name: str, certificate_id: str) -> None:
        with self._lock:
            cert = self.describe_certificate(certificate_id)
            if policy_name in cert["policies"]:
                cert["policies"].remove(policy_name)
                self.store.put(CERTIFICATES, cert, key="certificate_id")
                self._changed()

    # ------------------------------------------------------------------ certificates
    def register_certificate(self, cert_pem: bytes, *, principal: str, principal_type: str = "thing",
                             status: str = "ACTIVE", policies: tuple[str, ...] = ()) -> dict[str, Any]:
        """Record a certificate (issued by the project CA) attached to a thing or service."""
        from cryptography import x509

        from firesight.iot.ca import certificate_id

        if status not in CERTIFICATE_STATES:
            raise InvalidParameterError("status", f"one of {CERTIFICATE_STATES}", status)
        if principal_type not in ("thing", "service"):
            raise InvalidParameterError("principal_type", "'thing' or 'service'", principal_type)
        if principal_type == "thing":
            self.describe_thing(principal)
        cert = x509.load_pem_x509_certificate(cert_pem)
        item = {"certificate_id": certificate_id(cert), "principal": principal,
                "principal_type": principal_type, "thing_name": principal if principal_type == "thing" else None,
                "status": status, "serial_number": str(cert.serial_number),
                "not_after_ms": int(cert.not_valid_after_utc.timestamp() * 1000),
                "pem": cert_pem.decode("ascii"), "policies": list(policies), "created_ms": _now_ms()}
        with self._lock:
            self.store.put(CERTIFICATES, item, key="certificate_id", if_absent=True)
            self._changed()
        return item

    def describe_certificate(self, certificate_id: str) -> dict[str, Any]:
        item = self.store.get(CERTIFICATES, certificate_id)
        if item is None:
            raise NotFoundError(f"certificate {certificate_id!r} does not exist")
        return item

    def list_certificates(self, *, thing_name: str | None = None, status: str | None = None) -> list[dict[str, Any]]:
        where: dict[str, Any] = {}
        if thing_name is not None:
            where["thing_name"] = thing_name
        if status is not None:
            where["status"] = status
        return self.store.query(CERTIFICATES, where=where or None)

    def set_certificate_status(self, certificate_id: str, status: str) -> dict[str, Any]:
        """ACTIVE <-> INACTIVE, anything -> REVOKED (final, as in AWS). Rewrites the CRL."""
        if status not in CERTIFICATE_STATES:
            raise InvalidParameterError("status", f"one of {CERTIFICATE_STATES}", status)
        with self._lock:
            cert = self.describe_certificate(certificate_id)
            if cert["status"] == "REVOKED" and status != "REVOKED":
                raise ConflictError(f"certificate {certificate_id} is REVOKED and cannot become {status}")
            cert["status"] = status
            cert["updated_ms"] = _now_ms()
            self.store.put(CERTIFICATES, cert, key="certificate_id")
            self._changed()
            self.write_crl()
        return cert

    def set_thing_certificates_status(self, thing_name: str, status: str) -> list[str]:
        """Set every (non-revoked, unless revoking) certificate of a thing; returns their ids."""
        self.describe_thing(thing_name)
        ids = []
        for cert in self.list_certificates(thing_name=thing_name):
            if cert["status"] == "REVOKED":
                continue
            self.set_certificate_status(cert["certificate_id"], status)
            ids.append(cert["certificate_id"])
        return ids

    def write_crl(self) -> None:
        """Regenerate the CRL file from the stored statuses (no-op without a CA)."""
        if self.ca is None:
            return
        entries = [(int(c["serial_number"]), c["status"]) for c in self.store.query(CERTIFICATES)
                   if c["status"] != "ACTIVE"]
        self.ca.write_crl(entries)

    # ------------------------------------------------------------------ provisioning
    def _require_ca(self) -> CertificateAuthority:
        if self.ca is None:
            raise InvalidParameterError("ca", "a CertificateAuthority to issue certificates", None)
        return self.ca

    def register_device(self, thing_name: str, *, site: str, thing_type: str = DEFAULT_THING_TYPE,
                        attributes: Mapping[str, Any] | None = None,
                        policy_name: str = DEFAULT_DEVICE_POLICY_NAME) -> DeviceCredentials:
        """Create the thing (if new), issue a key + certificate (CN = thing name), record it
        ACTIVE and attach ``policy_name``. A second call issues an additional certificate."""
        ca = self._require_ca()
        attrs = {**(attributes or {}), "site": site}
        try:
            self.create_thing(thing_name, thing_type=thing_type, attributes=attrs)
        except ConflictError:
            existing = self.describe_thing(thing_name)
            if existing["attributes"].get("site") != site:
                raise ConflictError(f"thing {thing_name!r} exists at site "
                                    f"{existing['attributes'].get('site')!r}, not {site!r}") from None
        issued = ca.issue_thing_certificate(thing_name)
        self.register_certificate(issued.cert_pem, principal=thing_name, policies=(policy_name,))
        return DeviceCredentials(thing_name, issued.certificate_id, str(issued.cert_path),
                                 str(issued.key_path), str(ca.ca_path))

    def register_service(self, service_name: str, *, policy_name: str = SERVICE_POLICY_NAME) -> DeviceCredentials:
        """Issue a certificate for a firesight service (gateway, shadow service, rules engine)
        with the service policy; reuses the service's current ACTIVE certificate if any."""
        ca = self._require_ca()
        cert_path, key_path = ca.service_paths(service_name)
        if cert_path.exists() and key_path.exists():
            from firesight.iot.ca import certificate_id
            cid = certificate_id(cert_path.read_bytes())
            item = self.store.get(CERTIFICATES, cid)
            if item is not None and item["status"] == "ACTIVE":
                return DeviceCredentials(service_name, cid, str(cert_path), str(key_path), str(ca.ca_path))
        issued: IssuedCertificate = ca.issue_service_certificate(service_name)
        self.register_certificate(issued.cert_pem, principal=service_name, principal_type="service",
                                  policies=(policy_name,))
        return DeviceCredentials(service_name, issued.certificate_id, str(issued.cert_path),
                                 str(issued.key_path), str(ca.ca_path))

    def register_service_instance(self, service_name: str, *, max_instances: int = 64,
                                  policy_name: str = SERVICE_POLICY_NAME) -> DeviceCredentials:
        """Credentials for one running instance of a service, distinct from those of every
        other instance running now on this machine: the first free slot ``k`` (held by an
        exclusive lock on ``pki/services/.slots/{service_name}-{k}.lock`` until this
        registry object or its process goes) gives the principal ``service_name``
        (``k = 0``) or ``{service_name}-{k}``, with its own reused certificate. Mosquitto
        sets a client's id to its certificate's CN, so two instances sharing one
        certificate would take over each other's connection; with a slot each they do not.

        Raises
        ------
        ConflictError
            All ``max_instances`` slots are taken.
        """
        import fcntl

        ca = self._require_ca()
        validate_name(service_name, "service_name")
        slots = ca.pki_dir / "services" / ".slots"
        slots.mkdir(parents=True, exist_ok=True)
        for k in range(max_instances):
            principal = service_name if k == 0 else f"{service_name}-{k}"
            fd = os.open(slots / f"{principal}.lock", os.O_CREAT | os.O_RDWR, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                continue
            self._slot_locks.append(fd)  # held for the lifetime of this registry object
            return self.register_service(principal, policy_name=policy_name)
        raise ConflictError(f"all {max_instances} instance slots of service {service_name!r} are in use")

    # ------------------------------------------------------------------ identity
    def resolve_identity(self, certificate_id: str) -> Identity | None:
        """The identity of a connection presenting this certificate (None if unknown)."""
        cert = self.store.get(CERTIFICATES, certificate_id)
        if cert is None:
            return None
        policies = []
        for name in cert["policies"]:
            try:
                policies.append(self.get_policy(name))
            except NotFoundError:
                continue
        thing_type, attrs = None, {}
        if cert["principal_type"] == "thing":
            thing = self.store.get(THINGS, cert["principal"])
            if thing is None:
                return None
            thing_type, attrs = thing.get("thing_type"), thing.get("attributes", {})
        return Identity(certificate_id=certificate_id, status=cert["status"], principal=cert["principal"],
                        principal_type=cert["principal_type"], policies=tuple(policies),
                        thing_type=thing_type, attributes=attrs)
