"""Policies as data, with AWS IoT Core policy semantics.

A policy is an AWS IoT policy document::

    {"Version": "2012-10-17",
     "Statement": [{"Effect": "Allow", "Action": ["iot:Publish"],
                    "Resource": ["arn:aws:iot:*:*:topic/firesight/v1/*"]}]}

Evaluation follows AWS: a request is allowed when some statement allows it and no
statement denies it (explicit Deny wins, default deny). Actions and resources match with
``*`` (any run of characters, ``/`` included) and ``?`` (one character); MQTT ``+`` and
``#`` are literal characters in policies. Resources are ``client/{clientId}`` for
``iot:Connect``, ``topic/{topic}`` for ``iot:Publish`` and ``iot:Receive`` and
``topicfilter/{filter}`` for ``iot:Subscribe``, written either as full ARNs or as the part
after ``arn:aws:iot:region:account:``. Policy variables ``${iot:Connection.Thing.ThingName}``,
``${iot:Connection.Thing.ThingTypeName}``, ``${iot:Connection.Thing.Attributes[name]}`` and
``${iot:ClientId}`` are substituted per connection; a resource whose variable cannot be
resolved (no attached thing) matches nothing.

One policy compiles to the embedded broker's checks (:class:`Policy.is_allowed`), to
Mosquitto ACL lines (:func:`mosquitto_acl_lines`) and to an AWS IoT policy document
(:func:`to_aws_policy_document`).

References
----------
1. AWS IoT Core developer guide, "AWS IoT Core policies", "AWS IoT Core policy actions",
   "Action resources", "Basic policy variables", "Thing policy variables".
2. Mosquitto 2.0 ``mosquitto.conf(5)``, section "acl_file": ``user``, ``topic [read|write|
   readwrite|deny]``, ``pattern`` with ``%u`` / ``%c``.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from firesight.errors import InvalidParameterError
from firesight.iot.topics import DEVICE_STREAMS, TOPIC_ROOT

ACTIONS = ("iot:Connect", "iot:Publish", "iot:Subscribe", "iot:Receive")
#: The resource type each action applies to [1].
RESOURCE_TYPE = {"iot:Connect": "client", "iot:Publish": "topic", "iot:Receive": "topic",
                 "iot:Subscribe": "topicfilter"}

THING_NAME_VAR = "${iot:Connection.Thing.ThingName}"
_VAR_RE = re.compile(r"\$\{([^}]*)\}")
_ARN_RE = re.compile(r"^arn:aws:iot:([^:]*):([^:]*):(.*)$", re.S)

DEFAULT_DEVICE_POLICY_NAME = "firesight-device"
SERVICE_POLICY_NAME = "firesight-service"
QUARANTINE_POLICY_NAME = "firesight-quarantine"


def _device_policy_document() -> dict[str, Any]:
    """A device may connect only as its own thing, publish only under its own thing name
    (at its registered site) and use only its own shadow topics."""
    site = "${iot:Connection.Thing.Attributes[site]}"
    own = f"{TOPIC_ROOT}/{site}/{THING_NAME_VAR}"
    shadow = f"$aws/things/{THING_NAME_VAR}/shadow"
    shadow_requests = [f"topic/{shadow}/{op}" for op in ("get", "update", "delete")]
    shadow_requests += [f"topic/{shadow}/name/*/{op}" for op in ("get", "update", "delete")]
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": ["iot:Connect"], "Resource": [f"client/{THING_NAME_VAR}"]},
            {"Effect": "Allow", "Action": ["iot:Publish"],
             "Resource": [f"topic/{own}/{s}" for s in DEVICE_STREAMS] + shadow_requests},
            {"Effect": "Allow", "Action": ["iot:Subscribe"], "Resource": [f"topicfilter/{shadow}/*"]},
            {"Effect": "Allow", "Action": ["iot:Receive"], "Resource": [f"topic/{shadow}/*"]},
        ],
    }


#: Built-in policies (names -> documents). The service policy is for firesight's own
#: services (gateway, shadow service, rules engine); quarantine is Device Defender's
#: mitigation (deny everything, which wins over any Allow).
BUILTIN_POLICIES: dict[str, dict[str, Any]] = {
    DEFAULT_DEVICE_POLICY_NAME: _device_policy_document(),
    SERVICE_POLICY_NAME: {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["iot:Connect", "iot:Publish", "iot:Subscribe", "iot:Receive"],
         "Resource": ["*"]}]},
    QUARANTINE_POLICY_NAME: {"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Action": ["iot:*"], "Resource": ["*"]}]},
}


@dataclass(frozen=True)
class ConnectionContext:
    """What policy variables resolve to for one connection.

    ``thing_name`` is None when no thing is attached to the certificate for this client id
    (then ``${iot:Connection.Thing.*}`` variables are unresolved).
    """

    client_id: str
    thing_name: str | None = None
    thing_type: str | None = None
    attributes: Mapping[str, str] = field(default_factory=dict)

    def variables(self) -> dict[str, str]:
        values = {"iot:ClientId": self.client_id}
        if self.thing_name is not None:
            values["iot:Connection.Thing.ThingName"] = self.thing_name
            values["iot:Connection.Thing.IsAttached"] = "true"
            if self.thing_type:
                values["iot:Connection.Thing.ThingTypeName"] = self.thing_type
            for k, v in self.attributes.items():
                values[f"iot:Connection.Thing.Attributes[{k}]"] = str(v)
        return values


@functools.lru_cache(maxsize=4096)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    out = []
    for ch in pattern:
        out.append(".*" if ch == "*" else "." if ch == "?" else re.escape(ch))
    return re.compile("".join(out), re.S)


def glob_match(pattern: str, value: str) -> bool:
    """AWS policy wildcard match: ``*`` any characters, ``?`` one character."""
    return _glob_regex(pattern).fullmatch(value) is not None


def _as_list(value: Any, what: str) -> list[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(x, str) for x in items):
        raise InvalidParameterError(what, "a string or a non-empty list of strings", value)
    return items


def _strip_arn(resource: str) -> tuple[str, str, str]:
    """(region pattern, account pattern, resource after the account)."""
    m = _ARN_RE.match(resource)
    if m:
        return m.group(1), m.group(2), m.group(3)
    if resource == "*":
        return "*", "*", "*"
    return "*", "*", resource


@dataclass(frozen=True)
class Statement:
    effect: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]


class Policy:
    """A parsed AWS IoT policy document.

    Parameters
    ----------
    name : str
        Policy name.
    document : dict or str
        The policy document (JSON text or parsed). ``Condition``, ``NotAction`` and
        ``NotResource`` are not supported and raise :class:`InvalidParameterError`.
    """

    def __init__(self, name: str, document: Mapping[str, Any] | str):
        self.name = name
        doc = json.loads(document) if isinstance(document, str) else copy.deepcopy(dict(document))
        statements = doc.get("Statement") if isinstance(doc, dict) else None
        if isinstance(statements, dict):
            statements = [statements]
        if not isinstance(statements, list) or not statements:
            raise InvalidParameterError("document", "a policy with a non-empty Statement list", document)
        parsed = []
        for i, st in enumerate(statements):
            unsupported = {"Condition", "NotAction", "NotResource"} & set(st)
            if unsupported:
                raise InvalidParameterError(f"Statement[{i}]", "no Condition/NotAction/NotResource",
                                            sorted(unsupported))
            effect = st.get("Effect")
            if effect not in ("Allow", "Deny"):
                raise InvalidParameterError(f"Statement[{i}].Effect", "'Allow' or 'Deny'", effect)
            parsed.append(Statement(effect, tuple(_as_list(st.get("Action"), f"Statement[{i}].Action")),
                                    tuple(_as_list(st.get("Resource"), f"Statement[{i}].Resource"))))
        self.document = doc
        self.statements = tuple(parsed)

    def __repr__(self) -> str:
        return f"Policy({self.name!r}, {len(self.statements)} statements)"

    def decisions(self, action: str, resource: str, context: ConnectionContext, *, region: str = "local",
                  account_id: str = "000000000000") -> tuple[bool, bool]:
        """(some statement allows, some statement denies) for one request."""
        if action not in RESOURCE_TYPE:
            raise InvalidParameterError("action", f"one of {ACTIONS}", action)
        variables = context.variables()
        allowed = denied = False
        for st in self.statements:
            if not any(glob_match(a, action) for a in st.actions):
                continue
            for res in st.resources:
                r_region, r_account, r_rest = _strip_arn(res)
                if not (glob_match(r_region, region) and glob_match(r_account, account_id)):
                    continue
                rest = substitute_variables(r_rest, variables)
                if rest is not None and glob_match(rest, resource):
                    if st.effect == "Deny":
                        denied = True
                    else:
                        allowed = True
                    break
        return allowed, denied


def substitute_variables(text: str, variables: Mapping[str, str]) -> str | None:
    """Replace ``${...}`` policy variables; None if one of them is unresolved."""
    missing = False

    def repl(m: re.Match[str]) -> str:
        nonlocal missing
        if m.group(1) not in variables:
            missing = True
            return ""
        return variables[m.group(1)]

    out = _VAR_RE.sub(repl, text)
    return None if missing else out


def resource_for(action: str, target: str) -> str:
    """The resource string of a request: ``client/id``, ``topic/t`` or ``topicfilter/f``."""
    if action not in RESOURCE_TYPE:
        raise InvalidParameterError("action", f"one of {ACTIONS}", action)
    return f"{RESOURCE_TYPE[action]}/{target}"


def is_allowed(policies: Iterable[Policy], action: str, target: str, context: ConnectionContext) -> bool:
    """AWS evaluation over every policy attached to a certificate: allowed when at least one
    statement allows and none denies."""
    resource = resource_for(action, target)
    any_allow = False
    for policy in policies:
        allow, deny = policy.decisions(action, resource, context)
        if deny:
            return False
        any_allow = any_allow or allow
    return any_allow


# --------------------------------------------------------------------------- compilers

def to_aws_policy_document(policy: Policy, *, region: str, account_id: str) -> dict[str, Any]:
    """The policy with every short resource expanded to a full ARN, ready for
    ``iot:CreatePolicy`` (``${iot:...}`` variables are left for AWS IoT to resolve)."""
    doc = copy.deepcopy(policy.document)
    statements = doc["Statement"] if isinstance(doc["Statement"], list) else [doc["Statement"]]
    prefix = f"arn:aws:iot:{region}:{account_id}:"
    for st in statements:
        resources = [st["Resource"]] if isinstance(st["Resource"], str) else st["Resource"]
        st["Resource"] = [r if r.startswith("arn:") else (prefix + r if r != "*" else "*") for r in resources]
        st["Action"] = [st["Action"]] if isinstance(st["Action"], str) else st["Action"]
    doc["Statement"] = statements
    doc.setdefault("Version", "2012-10-17")
    return doc


def _glob_to_mqtt(pattern: str, *, widen: bool) -> str | None:
    """Translate an AWS glob over topic strings to an MQTT filter.

    A ``*`` that fills whole trailing levels becomes ``#``, one that fills a whole inner
    level becomes ``+``. Other wildcards cannot be expressed exactly: for an Allow
    (``widen=False``) the pattern is dropped (the ACL grants less, never more); for a Deny
    (``widen=True``) the filter is widened to ``#`` from that level on (denies more).
    """
    levels = pattern.split("/")
    out = []
    for i, level in enumerate(levels):
        if level in ("+", "#"):  # literal in AWS; no MQTT filter matches only that literal
            return None if not widen else "/".join(out + ["#"])
        if "*" not in level and "?" not in level:
            out.append(level)
            continue
        if level == "*" and i == len(levels) - 1:
            out.append("#")
            break
        if level == "*":
            out.append("+")
            continue
        if widen:
            out.append("#")
            break
        return None
    return "/".join(out)


def mosquitto_acl_lines(policies: Iterable[Policy], context: ConnectionContext) -> list[str]:
    """Mosquitto ACL ``topic`` lines for one identity (a ``user`` block body).

    ``iot:Publish`` becomes ``write``; ``read`` needs both ``iot:Subscribe`` on the filter
    and ``iot:Receive`` on the topic (Mosquitto has one read right for both). Deny
    statements become ``topic deny`` lines, which Mosquitto checks before grants.
    Resources that cannot be expressed exactly are narrowed (Allow) or widened (Deny).
    """
    policies = list(policies)
    variables = context.variables()
    writes: list[str] = []
    reads: list[str] = []
    denies: list[str] = []
    for policy in policies:
        for st in policy.statements:
            for res in st.resources:
                rest = substitute_variables(_strip_arn(res)[2], variables)
                if rest is None:
                    continue
                for action in ACTIONS[1:]:
                    if not any(glob_match(a, action) for a in st.actions):
                        continue
                    rtype = RESOURCE_TYPE[action]
                    if rest == "*":
                        topic_glob = "*"
                    elif glob_match(rest.split("/", 1)[0], rtype) and "/" in rest:
                        topic_glob = rest.split("/", 1)[1]
                    else:
                        continue
                    if st.effect == "Deny":
                        mqtt = _glob_to_mqtt(topic_glob, widen=True)
                        if mqtt is not None:
                            denies += _with_dollar(mqtt)
                        continue
                    mqtt = _glob_to_mqtt(topic_glob, widen=False)
                    if mqtt is None:
                        continue
                    if action == "iot:Publish":
                        writes += _with_dollar(mqtt)
                    elif action == "iot:Receive" and is_allowed(policies, "iot:Subscribe", mqtt, context):
                        reads += _with_dollar(mqtt)
    writes, reads = list(dict.fromkeys(writes)), list(dict.fromkeys(reads))
    lines = [f"topic deny {t}" for t in dict.fromkeys(denies)]
    if "#" in denies and "$aws/#" in denies:  # everything denied: no grant can apply
        return lines
    # Mosquitto checks a user's lines in order and the first match decides, so denies go first
    lines += [f"topic readwrite {t}" for t in writes if t in reads]
    lines += [f"topic write {t}" for t in writes if t not in reads]
    lines += [f"topic read {t}" for t in reads if t not in writes]
    return lines


def _with_dollar(mqtt_filter: str) -> list[str]:
    """MQTT wildcards at the first level never match ``$``-topics [MQTT-4.7.2-1], but an AWS
    ``*`` does: add the matching ``$aws/...`` filter."""
    if mqtt_filter == "#":
        return ["#", "$aws/#"]
    if mqtt_filter.startswith("+/"):
        return [mqtt_filter, "$aws/" + mqtt_filter[2:]]
    return [mqtt_filter]
