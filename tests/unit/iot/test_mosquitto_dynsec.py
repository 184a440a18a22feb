"""Dynamic-security state compiled from the registry, and the commands that sync it.

The over-the-wire behaviour (disconnects, refused subscriptions) is tested against a real
Mosquitto in tests/integration/iot/test_broker_security_mosquitto_live.py; here the
compilation and the diff are checked exactly.
"""

from __future__ import annotations

import pytest

from firesight.adapters.local.metadata import SQLiteMetadataStore
from firesight.errors import InvalidParameterError
from firesight.iot.ca import CertificateAuthority
from firesight.iot.mosquitto_dynsec import (
    ADMIN_USERNAME,
    DENY_PRIORITY,
    Grant,
    dynsec_config,
    plan_sync,
    principal_grants,
)
from firesight.iot.policy import QUARANTINE_POLICY_NAME
from firesight.iot.device_registry import DeviceRegistry
from firesight.iot.topics import validate_name


@pytest.fixture
def registry(tmp_path):
    return DeviceRegistry(SQLiteMetadataStore(str(tmp_path / "m.db")), CertificateAuthority(tmp_path / "pki"))


def _state(grants):
    """The broker's listClients / listRoles view of exactly these grants."""
    clients = {u: [u] for u in grants} | {ADMIN_USERNAME: [ADMIN_USERNAME]}
    roles = {u: {"rolename": u, "textdescription": g.description, "acls": g.acls} for u, g in grants.items()}
    roles[ADMIN_USERNAME] = {"rolename": ADMIN_USERNAME, "acls": []}
    return clients, roles


def test_the_admin_name_can_never_be_a_registered_principal():
    with pytest.raises(InvalidParameterError):
        validate_name(ADMIN_USERNAME)


def test_acl_lines_become_dynamic_security_acls_with_denies_first():
    grant = Grant(("topic deny a/#", "topic write b", "topic read c/+", "topic readwrite d"), "x")
    acls = {(a["acltype"], a["topic"], a["priority"], a["allow"]) for a in grant.acls}
    assert acls == {
        ("publishClientSend", "a/#", DENY_PRIORITY, False), ("publishClientReceive", "a/#", DENY_PRIORITY, False),
        ("subscribePattern", "a/#", DENY_PRIORITY, False),
        ("publishClientSend", "b", 0, True),
        ("publishClientReceive", "c/+", 0, True), ("subscribePattern", "c/+", 0, True),
        ("publishClientSend", "d", 0, True), ("publishClientReceive", "d", 0, True), ("subscribePattern", "d", 0, True),
    }


def test_the_config_has_the_admin_and_one_client_per_active_principal_and_denies_by_default(registry):
    registry.register_device("node-1", site="lab")
    registry.register_device("node-2", site="lab")
    registry.register_service("gateway")
    registry.set_thing_certificates_status("node-2", "REVOKED")
    conf = dynsec_config(registry)
    assert [c["username"] for c in conf["clients"]] == [ADMIN_USERNAME, "gateway", "node-1"]
    assert conf["defaultACLAccess"] == {"publishClientSend": False, "publishClientReceive": False,
                                        "subscribe": False, "unsubscribe": True}
    admin = next(r for r in conf["roles"] if r["rolename"] == ADMIN_USERNAME)
    assert {a["topic"] for a in admin["acls"]} == {"$CONTROL/dynamic-security/#"}
    node = next(r for r in conf["roles"] if r["rolename"] == "node-1")
    assert {"acltype": "publishClientSend", "topic": "firesight/v1/lab/node-1/scd41", "priority": 0,
            "allow": True} in node["acls"]


def test_nothing_to_do_when_the_broker_matches_the_registry(registry):
    registry.register_device("node-1", site="lab")
    grants = principal_grants(registry)
    commands, report = plan_sync(*_state(grants), grants)
    assert commands == [] and report.disconnected == [] and report.created == []


def test_a_revoked_thing_is_deleted_and_a_new_one_created(registry):
    registry.register_device("node-1", site="lab")
    registry.register_device("node-2", site="lab")
    before = principal_grants(registry)
    registry.set_thing_certificates_status("node-1", "REVOKED")
    registry.register_device("node-3", site="lab")
    commands, report = plan_sync(*_state(before), principal_grants(registry))
    assert [(c["command"], c.get("username") or c.get("rolename")) for c in commands] == [
        ("deleteClient", "node-1"), ("deleteRole", "node-1"), ("createRole", "node-3"), ("createClient", "node-3")]
    assert report.removed == ["node-1"] and report.created == ["node-3"] and report.disconnected == ["node-1"]


def test_a_quarantined_thing_is_replaced_by_a_deny_all_role(registry):
    creds = registry.register_device("node-1", site="lab")
    before = principal_grants(registry)
    registry.attach_policy(QUARANTINE_POLICY_NAME, creds.certificate_id)
    after = principal_grants(registry)
    commands, report = plan_sync(*_state(before), after)
    assert [c["command"] for c in commands] == ["deleteClient", "deleteRole", "createRole", "createClient"]
    assert report.replaced == ["node-1"] and report.disconnected == ["node-1"]
    assert all(not a["allow"] for a in commands[2]["acls"])


def test_a_changed_certificate_set_with_the_same_rights_still_cuts_the_thing_off(registry):
    first = registry.register_device("node-1", site="lab")
    registry.register_device("node-1", site="lab")         # a second certificate
    before = principal_grants(registry)
    registry.set_certificate_status(first.certificate_id, "REVOKED")
    after = principal_grants(registry)
    assert after["node-1"].lines == before["node-1"].lines
    _, report = plan_sync(*_state(before), after)
    assert report.replaced == ["node-1"]
