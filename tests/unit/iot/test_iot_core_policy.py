"""Policies with AWS IoT semantics, their compilation, and topic helpers."""

from __future__ import annotations

import pytest

from firesight.errors import InvalidParameterError
from firesight.iot import topics
from firesight.iot.policy import (
    BUILTIN_POLICIES,
    DEFAULT_DEVICE_POLICY_NAME,
    QUARANTINE_POLICY_NAME,
    SERVICE_POLICY_NAME,
    ConnectionContext,
    Policy,
    glob_match,
    is_allowed,
    mosquitto_acl_lines,
    to_aws_policy_document,
)

DEVICE = Policy(DEFAULT_DEVICE_POLICY_NAME, BUILTIN_POLICIES[DEFAULT_DEVICE_POLICY_NAME])
A = ConnectionContext(client_id="node-a", thing_name="node-a", thing_type="lepton35-scd41-node",
                      attributes={"site": "lab"})


def test_default_device_policy_lets_a_device_publish_only_under_its_own_name():
    allow = lambda action, target, ctx=A: is_allowed([DEVICE], action, target, ctx)  # noqa: E731
    assert allow("iot:Connect", "node-a")
    assert not allow("iot:Connect", "node-b")
    for stream in topics.DEVICE_STREAMS:
        assert allow("iot:Publish", f"firesight/v1/lab/node-a/{stream}")
        assert not allow("iot:Publish", f"firesight/v1/lab/node-b/{stream}")
    assert not allow("iot:Publish", "firesight/v1/other-site/node-a/thermal")  # site is an attribute
    assert not allow("iot:Publish", "firesight/v1/lab/node-a/thermal/extra")
    assert not allow("iot:Publish", "firesight/v1/lab/alerts")
    assert allow("iot:Publish", "$aws/things/node-a/shadow/update")
    assert allow("iot:Publish", "$aws/things/node-a/shadow/name/config/get")
    assert not allow("iot:Publish", "$aws/things/node-a/shadow/update/accepted")  # service's topic
    assert not allow("iot:Publish", "$aws/things/node-b/shadow/update")
    assert allow("iot:Subscribe", "$aws/things/node-a/shadow/*")  # literal filter in the policy
    assert allow("iot:Subscribe", "$aws/things/node-a/shadow/update/delta")
    assert not allow("iot:Subscribe", "$aws/things/node-b/shadow/update/delta")
    assert not allow("iot:Subscribe", "firesight/v1/lab/+/thermal")
    assert allow("iot:Receive", "$aws/things/node-a/shadow/get/accepted")
    assert not allow("iot:Receive", "firesight/v1/lab/node-b/thermal")


def test_unresolved_thing_variable_matches_nothing():
    """A client whose id is not its certificate's thing has no ThingName variable (AWS:
    Thing.IsAttached false), so thing-scoped statements match nothing."""
    stranger = ConnectionContext(client_id="node-b")
    assert not is_allowed([DEVICE], "iot:Connect", "node-b", stranger)
    assert not is_allowed([DEVICE], "iot:Publish", "firesight/v1/lab/node-b/thermal", stranger)


def test_explicit_deny_wins_and_default_is_deny():
    quarantine = Policy(QUARANTINE_POLICY_NAME, BUILTIN_POLICIES[QUARANTINE_POLICY_NAME])
    assert not is_allowed([DEVICE, quarantine], "iot:Publish", "firesight/v1/lab/node-a/thermal", A)
    assert not is_allowed([], "iot:Connect", "node-a", A)
    partial = Policy("p", {"Statement": [
        {"Effect": "Allow", "Action": "iot:*", "Resource": "arn:aws:iot:*:*:topic/firesight/*"},
        {"Effect": "Deny", "Action": ["iot:Publish"], "Resource": ["topic/firesight/v1/lab/node-?/status"]}]})
    assert is_allowed([partial], "iot:Publish", "firesight/v1/lab/node-a/thermal", A)
    assert is_allowed([partial], "iot:Receive", "firesight/v1/lab/node-a/status", A)
    assert not is_allowed([partial], "iot:Publish", "firesight/v1/lab/node-a/status", A)
    assert is_allowed([partial], "iot:Publish", "firesight/v1/lab/node-ab/status", A)  # ? is one char
    assert not is_allowed([partial], "iot:Connect", "node-a", A)  # topic resources don't cover clients


def test_arn_region_and_account_must_match():
    p = Policy("p", {"Statement": [{"Effect": "Allow", "Action": "iot:Connect",
                                    "Resource": "arn:aws:iot:eu-west-1:123456789012:client/*"}]})
    assert not p.decisions("iot:Connect", "client/x", A)[0]
    assert p.decisions("iot:Connect", "client/x", A, region="eu-west-1", account_id="123456789012")[0]


def test_mqtt_wildcards_are_literal_in_policies():
    assert glob_match("topic/a/+/c", "topic/a/+/c")
    assert not glob_match("topic/a/+/c", "topic/a/b/c")
    assert glob_match("topic/a/*", "topic/a/b/c")


def test_invalid_policies_are_refused():
    with pytest.raises(InvalidParameterError, match="Effect"):
        Policy("p", {"Statement": [{"Effect": "Maybe", "Action": "iot:*", "Resource": "*"}]})
    with pytest.raises(InvalidParameterError, match="Condition"):
        Policy("p", {"Statement": [{"Effect": "Allow", "Action": "iot:*", "Resource": "*", "Condition": {}}]})
    with pytest.raises(InvalidParameterError):
        Policy("p", {"Statement": []})


def test_aws_document_expands_arns_and_keeps_variables():
    doc = to_aws_policy_document(DEVICE, region="eu-west-1", account_id="123456789012")
    resources = [r for st in doc["Statement"] for r in st["Resource"]]
    assert all(r.startswith("arn:aws:iot:eu-west-1:123456789012:") for r in resources)
    assert "arn:aws:iot:eu-west-1:123456789012:client/${iot:Connection.Thing.ThingName}" in resources
    assert doc["Version"] == "2012-10-17"
    # the compiled document evaluates exactly like the source policy
    again = Policy("again", doc)
    assert again.decisions("iot:Publish", "topic/firesight/v1/lab/node-a/scd41", A, region="eu-west-1",
                           account_id="123456789012") == (True, False)


def test_mosquitto_acl_for_a_device_names_only_its_topics():
    lines = mosquitto_acl_lines([DEVICE], A)
    assert "topic write firesight/v1/lab/node-a/thermal" in lines
    assert "topic write $aws/things/node-a/shadow/name/+/update" in lines
    assert "topic read $aws/things/node-a/shadow/#" in lines
    assert not any("node-b" in line or line.endswith(" #") for line in lines)
    service = Policy(SERVICE_POLICY_NAME, BUILTIN_POLICIES[SERVICE_POLICY_NAME])
    svc = mosquitto_acl_lines([service], ConnectionContext(client_id="gateway"))
    assert svc == ["topic readwrite #", "topic readwrite $aws/#"]
    quarantine = Policy(QUARANTINE_POLICY_NAME, BUILTIN_POLICIES[QUARANTINE_POLICY_NAME])
    assert mosquitto_acl_lines([DEVICE, quarantine], A)[:2] == ["topic deny #", "topic deny $aws/#"]


def test_topic_helpers_format_parse_and_match():
    assert topics.device_topic("lab", "node-1", "thermal") == "firesight/v1/lab/node-1/thermal"
    assert topics.parse_device_topic("firesight/v1/lab/node-1/scd41") == topics.DeviceTopic("lab", "node-1", "scd41")
    assert topics.alerts_topic("lab") == "firesight/v1/lab/alerts"
    assert topics.shadow_topic("node-1", "update", "delta") == "$aws/things/node-1/shadow/update/delta"
    st = topics.parse_shadow_topic("$aws/things/node-1/shadow/name/config/get/accepted")
    assert (st.thing_name, st.shadow_name, st.operation, st.result) == ("node-1", "config", "get", "accepted")
    assert topics.topic_matches("firesight/v1/+/+/thermal", "firesight/v1/lab/node-1/thermal")
    assert not topics.topic_matches("#", "$aws/things/node-1/shadow/update")
    for bad in ("bad/name", "", "x" * 129, "a b"):
        with pytest.raises(InvalidParameterError):
            topics.validate_name(bad)
    with pytest.raises(InvalidParameterError):
        topics.parse_shadow_topic("$aws/things/node-1/shadow/patch")
