"""AWS IoT Core control plane: thing types, things, certificates, policies and topic rules,
made from firesight's own definitions (the device registry's thing types, the policies of
:mod:`firesight.iot.policy`, the rules engine's :class:`~firesight.iot.rules.TopicRule`).

Device Defender Detect is closed to new AWS customers (2026-08-31): firesight's defender
stays the detector; the template enables Defender Audit.

References
----------
1. AWS IoT API Reference: ``CreateThingType``, ``CreateThing``, ``RegisterCertificate``,
   ``UpdateCertificate``, ``CreatePolicy``, ``AttachPolicy``, ``AttachThingPrincipal``,
   ``CreateTopicRule`` / ``ReplaceTopicRule``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from firesight.adapters.aws._session import AwsSettings, ClientFactory, error_code, translate
from firesight.errors import require

CERTIFICATE_STATES = ("ACTIVE", "INACTIVE", "REVOKED")


class IoTControlPlane:
    """Provision the fleet in AWS IoT Core."""

    def __init__(self, *, settings: AwsSettings | None = None, account_id: str = ""):
        self.settings = settings or AwsSettings()
        self._clients = ClientFactory(self.settings)
        self._account_id = account_id

    @property
    def client(self) -> Any:
        return self._clients.client("iot")

    @property
    def account_id(self) -> str:
        if not self._account_id:
            self._account_id = self._clients.client("sts").get_caller_identity()["Account"]
        return self._account_id

    def _call(self, what: str, fn: str, *, exists_ok: bool = False, **kwargs: Any) -> Any:
        try:
            return getattr(self.client, fn)(**kwargs)
        except Exception as exc:
            if exists_ok and error_code(exc) in ("ResourceAlreadyExistsException",):
                return None
            raise translate(exc, what) from exc

    # -- registry -----------------------------------------------------------------------------------
    def ensure_thing_type(self, name: str, *, description: str = "",
                          searchable_attributes: Sequence[str] = ()) -> None:
        props: dict[str, Any] = {}
        if description:
            props["thingTypeDescription"] = description[:2028]
        if searchable_attributes:
            props["searchableAttributes"] = list(searchable_attributes)[:3]
        self._call(f"thing type {name}", "create_thing_type", exists_ok=True, thingTypeName=name,
                   thingTypeProperties=props)

    def ensure_thing(self, name: str, *, thing_type: str = "", attributes: Mapping[str, str] | None = None) -> str:
        """Create the thing if absent, else merge ``attributes`` into its own; return its ARN."""
        attrs = {k: str(v) for k, v in (attributes or {}).items()}
        try:
            current = self.client.describe_thing(thingName=name)
        except Exception as exc:
            if error_code(exc) != "ResourceNotFoundException":
                raise translate(exc, f"thing {name}") from exc
            current = None
        args: dict[str, Any] = {"thingName": name}
        if thing_type:
            args["thingTypeName"] = thing_type
        if current is None:
            args["attributePayload"] = {"attributes": attrs}
            return self._call(f"thing {name}", "create_thing", **args)["thingArn"]
        merged = {**current.get("attributes", {}), **attrs}   # sent whole: not every endpoint merges
        self._call(f"thing {name}", "update_thing", attributePayload={"attributes": merged, "merge": True}, **args)
        return current["thingArn"]

    def describe_thing(self, name: str) -> dict[str, Any]:
        out = self._call(f"thing {name}", "describe_thing", thingName=name)
        return {"name": out["thingName"], "thing_type": out.get("thingTypeName", ""),
                "attributes": dict(out.get("attributes", {})), "arn": out.get("thingArn", "")}

    # -- certificates ---------------------------------------------------------------------------------
    def register_certificate(self, certificate_pem: str, *, ca_certificate_pem: str = "",
                             status: str = "ACTIVE") -> dict[str, str]:
        """Register a device certificate issued by the project CA (the private key never
        leaves the device); return ``{"certificate_id", "certificate_arn"}``."""
        require(status in ("ACTIVE", "INACTIVE"), "status", "ACTIVE or INACTIVE", status)
        args: dict[str, Any] = {"certificatePem": certificate_pem, "status": status}
        if ca_certificate_pem:
            args["caCertificatePem"] = ca_certificate_pem
        out = self._call("register certificate", "register_certificate", **args)
        return {"certificate_id": out["certificateId"], "certificate_arn": out["certificateArn"]}

    def set_certificate_status(self, certificate_id: str, status: str) -> None:
        """``ACTIVE``, ``INACTIVE`` or ``REVOKED``: AWS IoT refuses the next connection of
        an inactive or revoked certificate."""
        require(status in CERTIFICATE_STATES, "status", f"one of {CERTIFICATE_STATES}", status)
        self._call(f"certificate {certificate_id}", "update_certificate", certificateId=certificate_id,
                   newStatus=status)

    def certificate_status(self, certificate_id: str) -> str:
        out = self._call(f"certificate {certificate_id}", "describe_certificate", certificateId=certificate_id)
        return out["certificateDescription"]["status"]

    # -- policies -------------------------------------------------------------------------------------
    def ensure_policy(self, policy: Any) -> str:
        """Create a firesight :class:`~firesight.iot.policy.Policy` as an AWS IoT policy
        (resources expanded to ARNs of this account and region); a changed document becomes
        the new default version. Return the policy ARN."""
        import json

        from firesight.iot.policy import to_aws_policy_document

        doc = json.dumps(to_aws_policy_document(policy, region=self.settings.region, account_id=self.account_id),
                         sort_keys=True)
        created = self._call(f"policy {policy.name}", "create_policy", exists_ok=True,
                             policyName=policy.name, policyDocument=doc)
        if created is not None:
            return created["policyArn"]
        current = self._call(f"policy {policy.name}", "get_policy", policyName=policy.name)
        if json.loads(current["policyDocument"]) != json.loads(doc):
            self._call(f"policy {policy.name}", "create_policy_version", policyName=policy.name,
                       policyDocument=doc, setAsDefault=True)
        return current["policyArn"]

    def policy_document(self, name: str) -> dict[str, Any]:
        import json

        return json.loads(self._call(f"policy {name}", "get_policy", policyName=name)["policyDocument"])

    def attach(self, *, thing_name: str, certificate_arn: str, policy_names: Sequence[str]) -> None:
        """Attach the certificate to the thing and the policies to the certificate."""
        self._call(f"attach {certificate_arn} to {thing_name}", "attach_thing_principal",
                   thingName=thing_name, principal=certificate_arn)
        for name in policy_names:
            self._call(f"attach policy {name}", "attach_policy", policyName=name, target=certificate_arn)

    def thing_principals(self, thing_name: str) -> list[str]:
        return list(self._call(f"thing {thing_name}", "list_thing_principals", thingName=thing_name)["principals"])

    # -- rules ----------------------------------------------------------------------------------------
    def ensure_topic_rule(self, rule: Any, *, role_arn: str, bucket: str = "",
                          queue_urls: Mapping[str, str] | None = None,
                          function_arns: Mapping[str, str] | None = None) -> None:
        """Create or replace the AWS IoT topic rule of a firesight
        :class:`~firesight.iot.rules.TopicRule` (same SQL, actions mapped to S3, SQS,
        Lambda and republish)."""
        from firesight.iot.rules import to_aws_topic_rule

        payload = to_aws_topic_rule(rule, role_arn=role_arn, bucket=bucket, queue_urls=queue_urls,
                                    function_arns=function_arns)
        created = self._call(f"topic rule {rule.name}", "create_topic_rule", exists_ok=True,
                             ruleName=rule.name, topicRulePayload=payload)
        if created is None:
            self._call(f"topic rule {rule.name}", "replace_topic_rule", ruleName=rule.name,
                       topicRulePayload=payload)

    def topic_rule(self, name: str) -> dict[str, Any]:
        return self._call(f"topic rule {name}", "get_topic_rule", ruleName=name)["rule"]
