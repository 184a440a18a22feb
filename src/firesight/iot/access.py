"""Who may connect to the embedded broker, and what each connection may do.

Identity comes from the client certificate (looked up by its SHA-256 id in the device
registry; the subject CN is the thing name); the TLS layer already refuses certificates
from unknown CAs. A connection is refused (CONNACK 5, "not authorized") when there is no
client certificate, when the certificate is unknown, INACTIVE or REVOKED, when the policy
denies ``iot:Connect`` on ``client/{clientId}`` (the default device policy allows only
client id = thing name), or when the CONNECT carries a last will on a topic the policy
does not let the connection publish to (as AWS IoT Core refuses it). Publish, subscribe
and receive are checked against the certificate's policies through amqtt's public plugin
interfaces (:class:`FiresightAuthPlugin`, :class:`FiresightTopicPlugin`).

A plain (unauthenticated) listener exists only when asked for by name
(``BrokerConfig.plain_port``), and its clients get :data:`PLAIN_LISTENER_POLICY_NAME`
unless another policy is named: read the site alerts, nothing else.

References
----------
1. AWS IoT Core developer guide, "Authentication", "Authorization" and "MQTT" (last will:
   "the Will message's topic must be authorized by the policy, or the connection is
   refused").
2. amqtt 0.12 documentation, "Custom plugins" (BaseAuthPlugin, BaseTopicPlugin).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from amqtt.contexts import Action
from amqtt.plugins.base import BaseAuthPlugin, BaseTopicPlugin
from cryptography import x509

from firesight.errors import NotFoundError
from firesight.iot.ca import CertificateAuthority, certificate_id, common_name
from firesight.iot.policy import BUILTIN_POLICIES, ConnectionContext, Policy, is_allowed
from firesight.iot.device_registry import DeviceRegistry, Identity
from firesight.iot.topics import TOPIC_ROOT

#: amqtt session attribute holding the connection's :class:`Access`
SESSION_KEY = "firesight.access"
ACTION_NAMES = {Action.PUBLISH: "iot:Publish", Action.SUBSCRIBE: "iot:Subscribe", Action.RECEIVE: "iot:Receive"}

#: The plain listener's default policy: connect with any client id, read the alerts of
#: every site; no publishing, no device data, no shadows.
PLAIN_LISTENER_POLICY_NAME = "firesight-plain-listener"
PLAIN_LISTENER_POLICY: dict[str, Any] = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["iot:Connect"], "Resource": ["client/*"]},
    {"Effect": "Allow", "Action": ["iot:Subscribe"], "Resource": [f"topicfilter/{TOPIC_ROOT}/*/alerts"]},
    {"Effect": "Allow", "Action": ["iot:Receive"], "Resource": [f"topic/{TOPIC_ROOT}/*/alerts"]},
]}


@dataclass(frozen=True)
class BrokerEvent:
    """Something a client did, as Device Defender counts it.

    ``kind``: ``connect``, ``connect_refused``, ``disconnect``, ``publish``,
    ``publish_denied``, ``publish_throttled``, ``deliver_dropped``, ``subscribe``,
    ``subscribe_denied``, ``receive_denied``, ``will``, ``will_denied``.
    ``principal`` is the thing (or service) name when the certificate is known.
    """

    kind: str
    client_id: str | None
    principal: str | None
    source_ip: str | None
    topic: str | None = None
    size_bytes: int = 0
    reason: str | None = None
    time_ms: int = field(default_factory=lambda: int(time.time() * 1000))


@dataclass
class Access:
    """Per-connection access state kept in the amqtt session.

    ``certificate_id`` is None on the plain listener; ``principal_type`` is ``thing``,
    ``service`` or ``plain``.
    """

    certificate_id: str | None
    context: ConnectionContext
    principal: str
    principal_type: str = "thing"


def valid_publish_topic(topic: str | None) -> bool:
    """A topic a client may publish to at all: no wildcards, no ``$`` topic except
    ``$aws/`` (AWS IoT's reserved topics)."""
    return bool(topic) and "#" not in topic and "+" not in topic and "\x00" not in topic \
        and (not topic.startswith("$") or topic.startswith("$aws/"))


class AccessGate:
    """Authentication and authorization against the registry; thread-safe.

    Parameters
    ----------
    registry : DeviceRegistry
        Certificates, things and policies.
    ca : CertificateAuthority
        Issuer that client certificates must chain to directly.
    identity_cache_s : float
        Cache lifetime of resolved identities [s].
    plain_policy : str
        Policy of plain-listener clients (a registry or built-in policy name, or
        :data:`PLAIN_LISTENER_POLICY_NAME`).
    """

    def __init__(self, registry: DeviceRegistry, ca: CertificateAuthority, *, identity_cache_s: float = 2.0,
                 plain_policy: str = PLAIN_LISTENER_POLICY_NAME):
        self.registry = registry
        self.ca = ca
        self.identity_cache_s = identity_cache_s
        self._lock = threading.Lock()
        self._identities: dict[str, tuple[Identity | None, float, int, int]] = {}
        self._decisions: dict[tuple, bool] = {}
        self._epoch = 0
        if plain_policy == PLAIN_LISTENER_POLICY_NAME:
            self._plain_policies = (Policy(PLAIN_LISTENER_POLICY_NAME, PLAIN_LISTENER_POLICY),)
        elif plain_policy in BUILTIN_POLICIES:
            self._plain_policies = (Policy(plain_policy, BUILTIN_POLICIES[plain_policy]),)
        else:
            try:
                self._plain_policies = (registry.get_policy(plain_policy),)
            except NotFoundError as exc:
                raise NotFoundError(f"plain listener policy {plain_policy!r} does not exist") from exc
        self.plain_policy = plain_policy

    def identity(self, cert_id: str) -> Identity | None:
        """The registry identity of a certificate, cached for ``identity_cache_s``."""
        return self._identity(cert_id)[0]

    def _identity(self, cert_id: str) -> tuple[Identity | None, int]:
        now = time.monotonic()
        gen = self.registry.generation
        with self._lock:
            hit = self._identities.get(cert_id)
            if hit is not None and now - hit[1] < self.identity_cache_s and hit[2] == gen:
                return hit[0], hit[3]
        ident = self.registry.resolve_identity(cert_id)
        with self._lock:
            self._epoch += 1
            self._identities[cert_id] = (ident, now, gen, self._epoch)
            if len(self._decisions) > 100_000:
                self._decisions.clear()
            if len(self._identities) > 100_000:
                self._identities.clear()
            return ident, self._epoch

    def admit(self, peer_der: bytes | None, client_id: str, *, plain: bool,
              will_topic: str | None = None) -> tuple[Access | None, str, str | None]:
        """Decide a CONNECT: (access or None, reason, principal for accounting)."""
        access, reason, principal = self._authenticate(peer_der, client_id, plain=plain)
        if access is None:
            return access, reason, principal
        if not self.allowed(access, "iot:Connect", client_id):
            return None, f"policy denies iot:Connect as client id {client_id!r}", principal
        if will_topic is not None and not (valid_publish_topic(will_topic)
                                           and self.allowed(access, "iot:Publish", will_topic)):
            return None, f"policy denies iot:Publish on the last will topic {will_topic!r}", principal
        return access, "ok", principal

    def _authenticate(self, peer_der: bytes | None, client_id: str, *,
                      plain: bool) -> tuple[Access | None, str, str | None]:
        if plain:
            return Access(None, ConnectionContext(client_id=client_id), client_id, "plain"), "ok", client_id
        if not peer_der:
            return None, "no client certificate", None
        cert = x509.load_der_x509_certificate(peer_der)
        if not self.ca.verify(cert):
            return None, "certificate not issued by the project CA or expired", None
        cid = certificate_id(cert)
        ident = self.identity(cid)
        if ident is None:
            return None, f"certificate {cid[:12]} is not registered", common_name(cert)
        if ident.status != "ACTIVE":
            return None, f"certificate {cid[:12]} is {ident.status}", ident.principal
        if ident.principal_type == "thing" and common_name(cert) != ident.principal:
            return None, "certificate CN does not name its thing", ident.principal
        access = self.access_for(ident, client_id)
        return access, "ok", ident.principal

    def access_for(self, ident: Identity, client_id: str) -> Access:
        """The access of ``client_id`` connected with the certificate ``ident``."""
        attached = ident.principal_type == "thing" and client_id == ident.principal
        ctx = ConnectionContext(client_id=client_id, thing_name=ident.principal if attached else None,
                                thing_type=ident.thing_type if attached else None,
                                attributes=ident.attributes if attached else {})
        return Access(ident.certificate_id, ctx, ident.principal, ident.principal_type)

    def restore(self, cert_id: str | None, client_id: str) -> Access | None:
        """The access of a persisted session (None when its certificate is no longer
        ACTIVE, or may no longer connect as ``client_id``)."""
        if cert_id is None:
            access = Access(None, ConnectionContext(client_id=client_id), client_id, "plain")
        else:
            ident = self.identity(cert_id)
            if ident is None or ident.status != "ACTIVE":
                return None
            access = self.access_for(ident, client_id)
        return access if self.allowed(access, "iot:Connect", client_id) else None

    def allowed(self, access: Access, action: str, target: str) -> bool:
        """Policy decision for a connected client (False once its certificate is not ACTIVE)."""
        if access.certificate_id is None:
            return is_allowed(self._plain_policies, action, target, access.context)
        ident, epoch = self._identity(access.certificate_id)
        if ident is None or ident.status != "ACTIVE":
            return False
        key = (epoch, access.context.client_id, action, target)
        with self._lock:
            hit = self._decisions.get(key)
        if hit is None:
            hit = is_allowed(ident.policies, action, target, access.context)
            with self._lock:
                self._decisions[key] = hit
        return hit

    def active(self, access: Access) -> bool:
        if access.certificate_id is None:
            return True
        ident = self.identity(access.certificate_id)
        return ident is not None and ident.status == "ACTIVE"


class FiresightAuthPlugin(BaseAuthPlugin):
    """amqtt auth plugin: accepts sessions the gate admitted after CONNECT."""

    @dataclass
    class Config:
        gate: Any = None

    async def authenticate(self, *, session: Any) -> bool | None:
        return isinstance(session.attributes.get(SESSION_KEY), Access)


class FiresightTopicPlugin(BaseTopicPlugin):
    """amqtt topic plugin: iot:Publish / iot:Subscribe / iot:Receive by policy."""

    @dataclass
    class Config:
        gate: Any = None
        emit: Any = None

    async def topic_filtering(self, *, session: Any = None, topic: str | None = None,
                              action: Action | None = None) -> bool | None:
        if session is None or topic is None or action is None:
            return False
        access = session.attributes.get(SESSION_KEY)
        if not isinstance(access, Access):
            return False
        ok = self.config.gate.allowed(access, ACTION_NAMES[action], topic)
        if action != Action.PUBLISH:  # publish events are emitted with their size by the broker
            kind = f"{action.value}{'' if ok else '_denied'}"
            if not ok or action == Action.SUBSCRIBE:
                self.config.emit(BrokerEvent(kind, session.client_id, access.principal,
                                             session.remote_address, topic=topic))
        return ok
